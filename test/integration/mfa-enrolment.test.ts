import { describe, expect, test } from 'vitest';
import { generate } from 'otplib';
import { useServerWithMail } from '../support/suite.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { errorCatalogue } from '../../handlers/core/errors.ts';
import type { TenantSettings } from '../../handlers/store/tenants.ts';
import { userPublicId } from '../../handlers/core/public-ids.ts';

const suite = useServerWithMail({ LOCKOUT_THRESHOLD: '5' });

const base = (slug: string) => `/api/v1/auth/tenants/${slug}`;
const allMethods: TenantSettings['mfa_methods'] = ['totp', 'email', 'webauthn', 'backup_code'];
const totpNow = (secret: string) => generate({ secret, epoch: Math.floor(suite.server.clock.now().getTime() / 1000) });
const notice = (to: string, text: string) => suite.smtp.waitFor((m) => m.to === to && /security notice/i.test(m.subject) && m.text.includes(text), 10_000);
const detail = (id: keyof typeof errorCatalogue) => ({ detail: errorCatalogue[id].detail });

/** A user signed in to the portal, before any second factor. */
async function signedIn(settings: Partial<TenantSettings> = {}, user: { emailVerified?: boolean } = {}) {
  const tenant = await createTenant(suite.server, { mfa_methods: allMethods, ...settings });
  const created = await createUser(suite.server, tenant, user);
  const login = await suite.server.call('POST', '/api/v1/auth/login', { body: { email: created.email, password: strongPassword } });
  expect(login.status).toBe(200);
  return { tenant, email: created.email, user: created.user, userId: userPublicId(created.user._id), access: login.body.access_token as string };
}
type Account = Awaited<ReturnType<typeof signedIn>>;

const call = (s: Account, method: string, path: string, body?: unknown) => suite.server.call(method, path, { token: s.access, ...(body === undefined ? {} : { body }) });
const withPassword = { current_password: strongPassword };

/** Enrols TOTP through the API; the clock then moves to a fresh time step. */
async function enrolTotp(s: Account): Promise<string> {
  const started = await call(s, 'POST', '/api/v1/me/mfa/totp', withPassword);
  expect(started.status).toBe(200);
  const confirmed = await call(s, 'POST', '/api/v1/me/mfa/totp/confirm', { code: await totpNow(started.body.secret) });
  expect(confirmed.status).toBe(200);
  suite.server.clock.advance(30);
  return started.body.secret as string;
}

async function hostedLogin(s: Account, extra: Record<string, unknown> = {}) {
  const reply = await suite.server.call('POST', `${base(s.tenant.slug)}/login`, { body: { email: s.email, password: strongPassword, ...extra } });
  expect(reply.status).toBe(200);
  return reply.body.data;
}

async function hostedVerify(s: Account, mfaToken: string, method: string, code: string, extra: Record<string, unknown> = {}) {
  return suite.server.call('POST', `${base(s.tenant.slug)}/mfa/verify`, { body: { mfa_token: mfaToken, user_id: s.userId, method, code, ...extra } });
}

async function portalChallenge(s: Account) {
  const flow = await suite.server.call('POST', '/api/v1/auth/identify', { body: { email: s.email } });
  const reply = await suite.server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: flow.body.flow_token, password: strongPassword } });
  expect(reply.body.status).toBe('MFA_REQUIRED');
  return reply.body as { mfa_token: string; user_id: string; available_methods: string[] };
}

describe('authenticator app (TOTP)', () => {
  test('enrols through the API: secret, otpauth URI and QR code; a first code confirms; the secret is encrypted at rest', async () => {
    const s = await signedIn();
    expect(await call(s, 'POST', '/api/v1/me/mfa/totp', { current_password: 'not the password' }).then((r) => [r.status, r.body])).toEqual([400, detail('currentPasswordIncorrect')]);

    const started = await call(s, 'POST', '/api/v1/me/mfa/totp', withPassword);
    expect(started.status).toBe(200);
    const { secret, otpauth_uri: uri, qr_code: qr, expires_in: expiresIn } = started.body;
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(expiresIn).toBe(600);
    const parsed = new URL(uri);
    expect(parsed.protocol).toBe('otpauth:');
    expect(parsed.searchParams.get('secret')).toBe(secret);
    expect(parsed.searchParams.get('issuer')).toBe(s.tenant.name);
    expect(decodeURIComponent(parsed.pathname)).toContain(s.email);
    expect(qr).toMatch(/^data:image\/png;base64,/);
    expect(Buffer.from(qr.split(',')[1], 'base64').subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const stored = await suite.server.database.users.findById(s.user._id);
    expect(stored?.mfa.totp_pending?.secret_enc).toBeTruthy();
    expect(JSON.stringify(stored)).not.toContain(secret);

    // Not a factor until confirmed.
    expect((await call(s, 'GET', '/api/v1/me/mfa')).body).toMatchObject({ totp_enabled: false, methods: [], mfa_enabled: false });
    expect((await hostedLogin(s)).status).toBe('success');
    const wrong = await call(s, 'POST', '/api/v1/me/mfa/totp/confirm', { code: (await totpNow(secret)) === '000000' ? '111111' : '000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual(detail('invalidEnrolmentCode'));

    const code = await totpNow(secret);
    const confirmed = await call(s, 'POST', '/api/v1/me/mfa/totp/confirm', { code });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ mfa_enabled: true, methods: ['totp'], totp_enabled: true });
    expect(confirmed.body.totp_confirmed_at).toBeTruthy();
    const after = await suite.server.database.users.findById(s.user._id);
    expect(after?.mfa.totp_pending).toBeNull();
    expect(JSON.stringify(after)).not.toContain(secret);
    await notice(s.email, 'An authenticator app was added');
    expect((await call(s, 'POST', '/api/v1/me/mfa/totp', withPassword)).status).toBe(409);
    expect((await call(s, 'GET', '/api/v1/me')).body.mfa_methods).toEqual(['totp']);

    // Signing in now asks for a code; the confirming code's time step is already used.
    const challenge = await hostedLogin(s);
    expect(challenge).toMatchObject({ status: 'mfa_required', available_methods: ['totp'], default_method: 'totp' });
    expect((await hostedVerify(s, challenge.mfa_token, 'totp', code)).body).toEqual(detail('invalidCode'));
    suite.server.clock.advance(30);
    expect((await hostedVerify(s, challenge.mfa_token, 'totp', await totpNow(secret))).status).toBe(200);

    // And the portal's two-step sign-in completes with the next code.
    const portal = await portalChallenge(s);
    expect(portal.available_methods).toEqual(['totp']);
    suite.server.clock.advance(30);
    const tokens = await suite.server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: portal.mfa_token, user_id: s.userId, method: 'totp', code: await totpNow(secret) } });
    expect(tokens.status).toBe(200);
    expect(tokens.body.user.id).toBe(s.userId);

    const events = (await call(s, 'GET', '/api/v1/me/security-events?limit=100')).body.events.map((e: { type: string; outcome: string }) => `${e.type}:${e.outcome}`);
    expect(events).toEqual(expect.arrayContaining(['mfa.totp.enabled:success', 'mfa.totp.enabled:failure', 'password.reauthenticate:failure', 'mfa.verify:success', 'mfa.verify:failure']));
  });

  test('an enrolment expires after ten minutes and allows five codes', async () => {
    const s = await signedIn();
    const first = await call(s, 'POST', '/api/v1/me/mfa/totp', withPassword);
    suite.server.clock.advance(601);
    expect((await call(s, 'POST', '/api/v1/me/mfa/totp/confirm', { code: await totpNow(first.body.secret) })).body).toEqual(detail('invalidEnrolmentCode'));

    const second = await call(s, 'POST', '/api/v1/me/mfa/totp', withPassword);
    const right = await totpNow(second.body.secret);
    const wrongCode = right === '123456' ? '654321' : '123456';
    for (let i = 0; i < 5; i++) expect((await call(s, 'POST', '/api/v1/me/mfa/totp/confirm', { code: wrongCode })).status).toBe(400);
    expect((await call(s, 'POST', '/api/v1/me/mfa/totp/confirm', { code: right })).body).toEqual(detail('invalidEnrolmentCode'));
    expect((await call(s, 'GET', '/api/v1/me/mfa')).body.totp_enabled).toBe(false);

    const third = await call(s, 'POST', '/api/v1/me/mfa/totp', withPassword);
    expect((await call(s, 'POST', '/api/v1/me/mfa/totp/confirm', { code: await totpNow(third.body.secret) })).status).toBe(200);
    expect((await call(s, 'POST', '/api/v1/me/mfa/totp/confirm', { code: await totpNow(third.body.secret) })).status).toBe(400);
  });

  test('removing needs the password; afterwards sign-in asks for no code; a tenant that requires MFA keeps the last factor', async () => {
    const s = await signedIn();
    await enrolTotp(s);
    expect((await call(s, 'DELETE', '/api/v1/me/mfa/totp', { current_password: 'wrong password here' })).body).toEqual(detail('currentPasswordIncorrect'));
    const removed = await call(s, 'DELETE', '/api/v1/me/mfa/totp', withPassword);
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ totp_enabled: false, totp_confirmed_at: null, methods: [], mfa_enabled: false });
    await notice(s.email, 'An authenticator app was removed');
    expect((await call(s, 'DELETE', '/api/v1/me/mfa/totp', withPassword)).status).toBe(404);
    expect((await hostedLogin(s)).status).toBe('success');

    const strict = await signedIn();
    await enrolTotp(strict);
    await suite.server.domain.tenants.update(strict.tenant.slug, { settings: { mfa_required: true } });
    const refused = await call(strict, 'DELETE', '/api/v1/me/mfa/totp', withPassword);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual(detail('mfaFactorRequired'));
    expect((await call(strict, 'GET', '/api/v1/me/mfa')).body).toMatchObject({ mfa_required: true, totp_enabled: true });
  });

  test('a tenant that does not allow TOTP refuses to start an enrolment', async () => {
    const s = await signedIn({ mfa_methods: ['webauthn'] });
    expect((await call(s, 'POST', '/api/v1/me/mfa/totp', withPassword)).body).toEqual(detail('mfaMethodUnavailable'));
  });
});

describe('backup codes', () => {
  test('ten codes shown once and stored hashed; each works once; regenerating replaces them; the count is readable', async () => {
    const s = await signedIn();
    expect((await call(s, 'GET', '/api/v1/me/mfa/backup-codes')).body).toEqual({ remaining: 0, created_at: null });
    expect((await call(s, 'POST', '/api/v1/me/mfa/backup-codes', { current_password: 'nope nope nope' })).body).toEqual(detail('currentPasswordIncorrect'));
    const generated = await call(s, 'POST', '/api/v1/me/mfa/backup-codes', withPassword);
    expect(generated.status).toBe(200);
    const codes = generated.body.codes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    const stored = JSON.stringify(await suite.server.database.users.findById(s.user._id));
    for (const code of codes) expect(stored).not.toContain(code);
    expect((await call(s, 'GET', '/api/v1/me/mfa/backup-codes')).body).toMatchObject({ remaining: 10, created_at: generated.body.created_at });
    await notice(s.email, 'New backup codes were generated');
    // Backup codes alone are not a second factor.
    expect((await hostedLogin(s)).status).toBe('success');

    await enrolTotp(s);
    const challenge = await hostedLogin(s);
    expect(challenge.available_methods).toEqual(['totp', 'backup_code']);
    expect((await hostedVerify(s, challenge.mfa_token, 'backup_code', codes[0]!.toUpperCase())).status).toBe(200);
    expect((await call(s, 'GET', '/api/v1/me/mfa/backup-codes')).body.remaining).toBe(9);
    const again = await hostedLogin(s);
    expect((await hostedVerify(s, again.mfa_token, 'backup_code', codes[0]!)).body).toEqual(detail('invalidCode'));
    const portal = await portalChallenge(s);
    expect((await suite.server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: portal.mfa_token, user_id: s.userId, method: 'backup_code', code: codes[1] } })).status).toBe(200);
    expect((await call(s, 'GET', '/api/v1/me/mfa')).body).toMatchObject({ backup_codes_remaining: 8, methods: ['totp', 'backup_code'] });

    const regenerated = await call(s, 'POST', '/api/v1/me/mfa/backup-codes', withPassword);
    expect(regenerated.body.remaining).toBe(10);
    const third = await hostedLogin(s);
    expect((await hostedVerify(s, third.mfa_token, 'backup_code', codes[2]!)).body).toEqual(detail('invalidCode'));
    expect((await hostedVerify(s, third.mfa_token, 'backup_code', regenerated.body.codes[0])).status).toBe(200);
    expect((await call(s, 'GET', '/api/v1/me/mfa/backup-codes')).body.remaining).toBe(9);
  });

  test('a tenant that does not allow backup codes refuses to generate them', async () => {
    const s = await signedIn({ mfa_methods: ['totp'] });
    expect((await call(s, 'POST', '/api/v1/me/mfa/backup-codes', withPassword)).body).toEqual(detail('mfaMethodUnavailable'));
  });
});

describe('email codes as a factor', () => {
  test('needs a tenant that allows it and a verified address', async () => {
    const closed = await signedIn({ mfa_methods: ['totp', 'webauthn', 'backup_code'] });
    expect((await call(closed, 'POST', '/api/v1/me/mfa/email', withPassword)).body).toEqual(detail('mfaMethodUnavailable'));
    const unverified = await signedIn({ require_email_verification: false }, { emailVerified: false });
    const refused = await call(unverified, 'POST', '/api/v1/me/mfa/email', withPassword);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(detail('emailNotVerified'));
  });

  test('enabled with the password, codes arrive by mail and sign in; disabling turns it off', async () => {
    const s = await signedIn();
    expect((await call(s, 'POST', '/api/v1/me/mfa/email', { current_password: 'wrong wrong wrong' })).status).toBe(400);
    const enabled = await call(s, 'POST', '/api/v1/me/mfa/email', withPassword);
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ email_enabled: true, methods: ['email'], mfa_enabled: true });
    await notice(s.email, 'Sign-in codes by email were turned on');
    expect((await call(s, 'POST', '/api/v1/me/mfa/email', withPassword)).body.email_enabled).toBe(true);

    const challenge = await hostedLogin(s);
    expect(challenge.available_methods).toEqual(['email']);
    const sent = await suite.server.call('POST', `${base(s.tenant.slug)}/mfa/email/send?mfa_token=${encodeURIComponent(challenge.mfa_token)}&user_id=${s.userId}`);
    expect(sent.status).toBe(200);
    const mail = await suite.smtp.waitFor((m) => m.to === s.email && /code/i.test(m.subject), 10_000);
    const code = suite.smtp.codeIn(mail)!;
    expect((await hostedVerify(s, challenge.mfa_token, 'email', code)).status).toBe(200);

    const disabled = await call(s, 'DELETE', '/api/v1/me/mfa/email', withPassword);
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ email_enabled: false, methods: [], mfa_enabled: false });
    await notice(s.email, 'Sign-in codes by email were turned off');
    expect((await hostedLogin(s)).status).toBe('success');
  });
});

describe('trusted devices', () => {
  test('listed newest first without their tokens; revoking one or all makes sign-in ask again', async () => {
    const s = await signedIn();
    const secret = await enrolTotp(s);
    const tokens: string[] = [];
    for (const label of ['Work laptop', 'Home desktop']) {
      const challenge = await hostedLogin(s);
      const verified = await hostedVerify(s, challenge.mfa_token, 'totp', await totpNow(secret), { trust_device: true, device_fingerprint: label });
      expect(verified.status).toBe(200);
      tokens.push(verified.body.data.trusted_device_token);
      suite.server.clock.advance(30);
    }
    const list = await call(s, 'GET', '/api/v1/me/mfa/trusted-devices');
    expect(list.status).toBe(200);
    expect(list.body.devices.map((d: { device_fingerprint: string }) => d.device_fingerprint)).toEqual(['Home desktop', 'Work laptop']);
    expect(JSON.stringify(list.body)).not.toContain(tokens[0]);
    expect((await call(s, 'GET', '/api/v1/me/mfa')).body.trusted_devices).toBe(2);
    const [home, work] = list.body.devices as Array<{ id: string }>;

    const other = await signedIn();
    expect((await call(other, 'DELETE', `/api/v1/me/mfa/trusted-devices/${work!.id}`)).status).toBe(404);
    expect((await call(s, 'DELETE', '/api/v1/me/mfa/trusted-devices/not-an-id')).status).toBe(404);
    const revoked = await call(s, 'DELETE', `/api/v1/me/mfa/trusted-devices/${work!.id}`);
    expect(revoked.body).toEqual({ message: 'Trusted device revoked.' });
    expect((await call(s, 'DELETE', `/api/v1/me/mfa/trusted-devices/${work!.id}`)).status).toBe(404);
    expect((await hostedLogin(s, { trusted_device_token: tokens[0] })).status).toBe('mfa_required');
    expect((await hostedLogin(s, { trusted_device_token: tokens[1] })).status).toBe('success');

    const all = await call(s, 'DELETE', '/api/v1/me/mfa/trusted-devices');
    expect(all.body).toEqual({ message: 'Trusted devices revoked.', revoked: 1 });
    expect((await call(s, 'GET', '/api/v1/me/mfa/trusted-devices')).body.devices).toEqual([]);
    expect((await hostedLogin(s, { trusted_device_token: tokens[1] })).status).toBe('mfa_required');
    const events = (await call(s, 'GET', '/api/v1/me/security-events')).body.events.map((e: { type: string }) => e.type);
    expect(events).toEqual(expect.arrayContaining(['trusted_device.revoked', 'trusted_devices.revoked']));
    void home;
  });
});

describe('security events', () => {
  test('the user reads their own events, newest first, page by page', async () => {
    const s = await signedIn();
    await call(s, 'POST', '/api/v1/me/mfa/backup-codes', { current_password: 'wrong password one' });
    suite.server.clock.advance(1);
    await call(s, 'POST', '/api/v1/me/mfa/backup-codes', withPassword);
    suite.server.clock.advance(1);
    await call(s, 'POST', '/api/v1/me/mfa/email', withPassword);
    const other = await signedIn();
    await call(other, 'POST', '/api/v1/me/mfa/backup-codes', withPassword);

    const all = await call(s, 'GET', '/api/v1/me/security-events?limit=100');
    expect(all.status).toBe(200);
    const types = all.body.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(['mfa.email.enabled', 'mfa.backup_codes.generated', 'password.reauthenticate', 'login']);
    expect(all.body.next_before).toBeNull();
    const times = all.body.events.map((e: { created_at: string }) => Date.parse(e.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(all.body.events[3]).toMatchObject({ outcome: 'success', details: { amr: ['pwd'] } });
    expect(all.body.events[2]).toMatchObject({ outcome: 'failure' });

    const first = await call(s, 'GET', '/api/v1/me/security-events?limit=3');
    expect(first.body.events.map((e: { id: string }) => e.id)).toEqual(all.body.events.slice(0, 3).map((e: { id: string }) => e.id));
    expect(first.body.next_before).toBe(all.body.events[2].id);
    const second = await call(s, 'GET', `/api/v1/me/security-events?limit=3&before=${first.body.next_before}`);
    expect(second.body.events.map((e: { id: string }) => e.id)).toEqual([all.body.events[3].id]);
    expect(second.body.next_before).toBeNull();

    const othersEvent = (await call(other, 'GET', '/api/v1/me/security-events')).body.events[0].id;
    const foreign = await call(s, 'GET', `/api/v1/me/security-events?before=${othersEvent}`);
    expect(foreign.body).toEqual({ events: [], next_before: null });
    for (const query of ['limit=0', 'limit=101', 'limit=ten', 'before=not-an-id']) {
      const invalid = await call(s, 'GET', `/api/v1/me/security-events?${query}`);
      expect(invalid.status).toBe(422);
      expect(invalid.body.detail[0].loc).toEqual(['query', query.split('=')[0]]);
    }
    expect((await suite.server.call('GET', '/api/v1/me/security-events')).status).toBe(401);
  });
});
