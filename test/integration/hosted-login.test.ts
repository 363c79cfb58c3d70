import { describe, expect, test } from 'vitest';
import { generate } from 'otplib';
import { useServerWithMail } from '../support/suite.ts';
import { createTenant, createUser, enrolTotpDirectly, strongPassword } from '../support/fixtures.ts';
import { errorCatalogue } from '../../handlers/core/errors.ts';
import type { UserDoc } from '../../handlers/store/users.ts';
import { parsePublicId, userPublicId } from '../../handlers/core/public-ids.ts';

const suite = useServerWithMail({ LOCKOUT_THRESHOLD: '5' });

const base = (slug: string) => `/api/v1/auth/tenants/${slug}`;
const mailTo = (to: string, subject: RegExp) => suite.smtp.waitFor((m) => m.to === to && subject.test(m.subject), 10_000);

const enrolTotp = (userId: import('mongodb').ObjectId) => enrolTotpDirectly(suite.server, userId);
const totpNow = (secret: string) => generate({ secret, epoch: Math.floor(suite.server.clock.now().getTime() / 1000) });

describe('register and verify email', () => {
  test('registers, emails a verification link that works once, then the user can sign in', async () => {
    const tenant = await createTenant(suite.server, { self_registration: true, require_email_verification: true, allowed_redirect_uris: ['https://app.example.com/cb'] });
    const email = `new.${Date.now()}@example.com`;
    const reply = await suite.server.call('POST', `${base(tenant.slug)}/register`, {
      body: { email, password: strongPassword, first_name: 'Ada', last_name: 'Lovelace', custom_data: { plan: 'pro' }, redirect_uri: 'https://app.example.com/cb' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({ status: 'pending_verification' });
    expect(reply.body.meta.request_id).toBe(reply.headers.get('x-request-id'));
    const stored = await suite.server.database.users.findById(parsePublicId('user', reply.body.data.user_id)!);
    expect(stored?.custom_data).toEqual({ plan: 'pro' });
    expect(stored?.password_hash).toMatch(/^\$argon2id\$v=19\$/); // hashed (Argon2id by default), never stored plain

    const before = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: strongPassword } });
    expect(before.status).toBe(403);
    expect(before.body.detail).toBe(errorCatalogue.emailNotVerified.detail);

    const mail = await mailTo(email, /verify/i);
    expect(mail.html).toContain('verify-email');
    const link = new URL(suite.smtp.linkIn(mail)!);
    const token = link.searchParams.get('token')!;
    const verified = await suite.server.call('GET', `${base(tenant.slug)}/verify-email?token=${encodeURIComponent(token)}`);
    expect(verified.status).toBe(200);
    expect(verified.body.email_verified).toBe(true);
    const again = await suite.server.call('GET', `${base(tenant.slug)}/verify-email?token=${encodeURIComponent(token)}`);
    expect(again.status).toBe(400);
    expect(again.body.detail).toBe(errorCatalogue.invalidLinkToken.detail);

    const login = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: strongPassword } });
    expect(login.status).toBe(200);
    expect(login.body.data).toMatchObject({ status: 'success', mfa_required: false, redirect_uri: 'https://app.example.com/cb' });
  });

  test('registering an existing email answers the same and emails the owner instead', async () => {
    const tenant = await createTenant(suite.server, { self_registration: true });
    const { email } = await createUser(suite.server, tenant);
    const reply = await suite.server.call('POST', `${base(tenant.slug)}/register`, { body: { email, password: 'another long passphrase here', first_name: 'Eve', last_name: 'X' } });
    const fresh = await suite.server.call('POST', `${base(tenant.slug)}/register`, { body: { email: `fresh.${Date.now()}@example.com`, password: 'another long passphrase here', first_name: 'Eve', last_name: 'X' } });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body.data).sort()).toEqual(Object.keys(fresh.body.data).sort());
    expect(reply.body.data.status).toBe(fresh.body.data.status);
    expect(reply.body.data.message).toBe(fresh.body.data.message);
    const notice = await mailTo(email, /.+/);
    expect(notice.text).toMatch(/sign in|reset/i);
    expect(await suite.server.database.db.collection<UserDoc>('users').countDocuments({ tenant_id: tenant._id, email_normalized: email })).toBe(1);
  });

  test('policy, disabled registration, unknown tenant and foreign redirect URIs are refused clearly', async () => {
    const closed = await createTenant(suite.server, { self_registration: false });
    const open = await createTenant(suite.server, { self_registration: true });
    const body = { email: `p.${Date.now()}@example.com`, password: strongPassword, first_name: 'A', last_name: 'B' };
    expect((await suite.server.call('POST', `${base(closed.slug)}/register`, { body })).body).toEqual({ detail: errorCatalogue.registrationDisabled.detail });
    expect((await suite.server.call('POST', `${base('no-such-tenant')}/register`, { body })).status).toBe(404);
    const short = await suite.server.call('POST', `${base(open.slug)}/register`, { body: { ...body, password: 'short' } });
    expect(short.status).toBe(422);
    expect(short.body.detail[0]).toMatchObject({ loc: ['body', 'password'], type: 'value_error' });
    const common = await suite.server.call('POST', `${base(open.slug)}/register`, { body: { ...body, password: 'passwordpassword' } });
    expect(common.status).toBe(422);
    const long = await suite.server.call('POST', `${base(open.slug)}/register`, { body: { ...body, password: 'x'.repeat(30) + ' long but fine ' + 'y'.repeat(30) } });
    expect(long.status).toBe(200);
    const redirect = await suite.server.call('POST', `${base(open.slug)}/register`, { body: { ...body, email: `r.${Date.now()}@example.com`, redirect_uri: 'https://evil.example/steal' } });
    expect(redirect.status).toBe(400);
    const injection = await suite.server.call('POST', `${base(open.slug)}/register`, { body: { ...body, email: `c.${Date.now()}@example.com`, custom_data: { $where: 'x' } } });
    expect(injection.status).toBe(422);
  });
});

describe('forgot and reset password', () => {
  test('the same answer for known and unknown emails; the emailed link resets once and ends sessions', async () => {
    const tenant = await createTenant(suite.server);
    const { email, user } = await createUser(suite.server, tenant);
    const session = await suite.server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect(session.status).toBe(200);
    const known = await suite.server.call('POST', `${base(tenant.slug)}/forgot-password`, { body: { email } });
    const unknown = await suite.server.call('POST', `${base(tenant.slug)}/password/forgot`, { body: { email: `ghost.${Date.now()}@example.com` } });
    expect(known.status).toBe(200);
    expect(unknown.body).toEqual(known.body);
    const mail = await mailTo(email, /reset/i);
    const token = new URL(suite.smtp.linkIn(mail)!).searchParams.get('token')!;
    const weak = await suite.server.call('POST', `${base(tenant.slug)}/password/reset`, { body: { token, new_password: 'short' } });
    expect(weak.status).toBe(422);
    const newPassword = 'a brand new long passphrase';
    const ok = await suite.server.call('POST', `${base(tenant.slug)}/password/reset`, { body: { token, new_password: newPassword } });
    expect(ok.status).toBe(200);
    const reused = await suite.server.call('POST', `${base(tenant.slug)}/password/reset`, { body: { token, new_password: newPassword } });
    expect(reused.status).toBe(400);
    expect((await suite.server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: session.body.refresh_token } })).status).toBe(401);
    expect((await suite.server.call('GET', '/api/v1/me', { token: session.body.access_token })).status).toBe(401);
    await mailTo(email, /password/i);
    expect((await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: strongPassword } })).status).toBe(401);
    expect((await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: newPassword } })).status).toBe(200);
    void user;
  });

  test('an expired reset link is refused and reset does not bypass MFA', async () => {
    const tenant = await createTenant(suite.server);
    const { email, user } = await createUser(suite.server, tenant);
    await enrolTotp(user._id);
    await suite.server.call('POST', `${base(tenant.slug)}/forgot-password`, { body: { email } });
    const mail = await mailTo(email, /reset/i);
    const token = new URL(suite.smtp.linkIn(mail)!).searchParams.get('token')!;
    const ok = await suite.server.call('POST', `${base(tenant.slug)}/password/reset`, { body: { token, new_password: 'completely different passphrase' } });
    expect(ok.status).toBe(200);
    const login = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: 'completely different passphrase' } });
    expect(login.body.data.status).toBe('mfa_required');

    await suite.server.call('POST', `${base(tenant.slug)}/forgot-password`, { body: { email } });
    const second = await suite.smtp.waitFor((m) => m.to === email && /reset/i.test(m.subject) && m !== mail, 10_000);
    const token2 = new URL(suite.smtp.linkIn(second)!).searchParams.get('token')!;
    suite.server.clock.advance(3601);
    const expired = await suite.server.call('POST', `${base(tenant.slug)}/password/reset`, { body: { token: token2, new_password: 'yet another long passphrase' } });
    expect(expired.status).toBe(400);
  });

  test('forgot-password is rate limited per email', async () => {
    const tenant = await createTenant(suite.server);
    const email = `limit.${Date.now()}@example.com`;
    const replies = [];
    for (let i = 0; i < 7; i++) replies.push(await suite.server.call('POST', `${base(tenant.slug)}/forgot-password`, { body: { email } }));
    expect(replies.slice(0, 5).every((r) => r.status === 200)).toBe(true);
    expect(replies[6]!.status).toBe(429);
    expect(replies[6]!.headers.get('retry-after')).toBeTruthy();
  });
});

describe('hosted login and MFA', () => {
  test('sets an HttpOnly session cookie and returns the session', async () => {
    const tenant = await createTenant(suite.server, { allowed_redirect_uris: ['https://app.example.com/cb'] });
    const { email, user } = await createUser(suite.server, tenant);
    const reply = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: strongPassword, remember_me: true } });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({ status: 'success', user_id: userPublicId(user._id), redirect_uri: 'https://app.example.com/cb' });
    const cookie = reply.headers.get('set-cookie')!;
    // Plain http (the test server): the unprefixed name; the value is the session's own secret, not a refresh token.
    expect(cookie).toMatch(/^scaikey_session=bs_[0-9a-f]{24}\.[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/Path=\//i);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const session = await suite.server.database.db.collection('sessions').findOne({ user_id: user._id });
    expect(session?.remember_me).toBe(true);
  });

  test('wrong password, unknown user and unknown tenant are refused without enumeration', async () => {
    const tenant = await createTenant(suite.server);
    const { email } = await createUser(suite.server, tenant);
    const wrong = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: 'wrong wrong wrong' } });
    const unknown = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email: 'ghost@example.com', password: 'wrong wrong wrong' } });
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect((await suite.server.call('POST', `${base('nope-nope')}/login`, { body: { email, password: strongPassword } })).body).toEqual({ detail: errorCatalogue.tenantNotFound.detail });
  });

  test('TOTP challenge, trust this device, then sign-in without MFA; password change revokes the device', async () => {
    const tenant = await createTenant(suite.server);
    const { email, user } = await createUser(suite.server, tenant);
    const secret = await enrolTotp(user._id);
    const challenge = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: strongPassword } });
    expect(challenge.body.data).toMatchObject({ status: 'mfa_required', mfa_required: true, available_methods: ['totp'], default_method: 'totp', session_id: null });
    const verify = await suite.server.call('POST', `${base(tenant.slug)}/mfa/verify`, {
      body: { mfa_token: challenge.body.data.mfa_token, user_id: user._id.toHexString(), method: 'totp', code: await totpNow(secret), trust_device: true, device_fingerprint: 'laptop' },
    });
    expect(verify.status).toBe(200);
    expect(verify.body.data.status).toBe('success');
    const deviceToken = verify.body.data.trusted_device_token as string;
    expect(deviceToken).toMatch(/^td_/);
    const trusted = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: strongPassword, trusted_device_token: deviceToken } });
    expect(trusted.body.data.status).toBe('success');
    const otherUser = await createUser(suite.server, tenant);
    await enrolTotp(otherUser.user._id);
    const stolen = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email: otherUser.email, password: strongPassword, trusted_device_token: deviceToken } });
    expect(stolen.body.data.status).toBe('mfa_required');

    const portal = await suite.server.call('POST', '/api/v1/auth/authenticate', {
      body: { flow_token: (await suite.server.call('POST', '/api/v1/auth/identify', { body: { email } })).body.flow_token, password: strongPassword },
    });
    suite.server.clock.advance(31);
    const tokens = await suite.server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: portal.body.mfa_token, user_id: user._id.toHexString(), method: 'totp', code: await totpNow(secret) } });
    expect(tokens.status).toBe(200);
    const changed = await suite.server.call('POST', '/api/v1/me/password', { token: tokens.body.access_token, body: { current_password: strongPassword, new_password: 'a changed long passphrase' } });
    expect(changed.status).toBe(200);
    const revoked = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: 'a changed long passphrase', trusted_device_token: deviceToken } });
    expect(revoked.body.data.status).toBe('mfa_required');
  });

  test('email codes: sent by mail, resend limited, accepted once; WebAuthn without a credential is refused', async () => {
    const tenant = await createTenant(suite.server, { mfa_methods: ['totp', 'email', 'backup_code'] });
    const { email, user } = await createUser(suite.server, tenant);
    expect(await suite.server.database.users.enableEmailMfa(user._id, new Date())).toBe(true);
    const challenge = await suite.server.call('POST', `${base(tenant.slug)}/login`, { body: { email, password: strongPassword } });
    expect(challenge.body.data.available_methods).toEqual(['email']);
    const q = `mfa_token=${encodeURIComponent(challenge.body.data.mfa_token)}&user_id=${user._id.toHexString()}`;
    const sent = await suite.server.call('POST', `${base(tenant.slug)}/mfa/email/send?${q}`);
    expect(sent.status).toBe(200);
    expect(sent.body.expires_in).toBe(600);
    const tooSoon = await suite.server.call('POST', `${base(tenant.slug)}/mfa/email/send?${q}`);
    expect(tooSoon.status).toBe(429);
    const mail = await mailTo(email, /code/i);
    const code = suite.smtp.codeIn(mail)!;
    expect(code).toMatch(/^\d{6}$/);
    const stored = await suite.server.database.db.collection('flows').findOne({ user_id: user._id, kind: 'mfa' });
    expect(JSON.stringify(stored)).not.toContain(`"${code}"`);
    const webauthn = await suite.server.call('POST', `${base(tenant.slug)}/mfa/webauthn/begin?${q}`);
    expect(webauthn.status).toBe(400);
    const ok = await suite.server.call('POST', `${base(tenant.slug)}/mfa/verify`, { body: { mfa_token: challenge.body.data.mfa_token, method: 'email', code } });
    expect(ok.status).toBe(200);
    const reuse = await suite.server.call('POST', `${base(tenant.slug)}/mfa/verify`, { body: { mfa_token: challenge.body.data.mfa_token, method: 'email', code } });
    expect(reuse.status).toBe(401);
  });
});

describe('profile', () => {
  async function signedIn(settings = {}) {
    const tenant = await createTenant(suite.server, settings);
    const { email, user } = await createUser(suite.server, tenant);
    const reply = await suite.server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    return { tenant, email, user, access: reply.body.access_token as string, refresh: reply.body.refresh_token as string };
  }

  test('GET /me returns the profile; no or bad token gets 401', async () => {
    const s = await signedIn();
    const me = await suite.server.call('GET', '/api/v1/me', { token: s.access });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: userPublicId(s.user._id), email: s.email, tenant_slug: s.tenant.slug, mfa_enabled: false, mfa_methods: [] });
    expect((await suite.server.call('GET', '/api/v1/me')).status).toBe(401);
    expect((await suite.server.call('GET', '/api/v1/me', { token: 'abc.def.ghi' })).status).toBe(401);
  });

  test('PATCH /me updates given fields, null clears, invalid values get 422', async () => {
    const s = await signedIn();
    const updated = await suite.server.call('PATCH', '/api/v1/me', { token: s.access, body: { display_name: 'Ada', phone: '+441632960961', locale: 'en-gb', timezone: 'Europe/London' } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ display_name: 'Ada', phone: '+441632960961', locale: 'en-GB', timezone: 'Europe/London', first_name: 'Test' });
    const cleared = await suite.server.call('PATCH', '/api/v1/me', { token: s.access, body: { display_name: null } });
    expect(cleared.body.display_name).toBeNull();
    expect(cleared.body.phone).toBe('+441632960961');
    const badPhone = await suite.server.call('PATCH', '/api/v1/me', { token: s.access, body: { phone: '12345' } });
    expect(badPhone.status).toBe(422);
    expect(badPhone.body.detail[0]).toMatchObject({ loc: ['body', 'phone'], type: 'string_pattern_mismatch' });
    const badZone = await suite.server.call('PATCH', '/api/v1/me', { token: s.access, body: { timezone: 'Mars/Olympus' } });
    expect(badZone.status).toBe(422);
    expect(badZone.body.detail[0]).toMatchObject({ loc: ['body', 'timezone'], type: 'enum' });
    const badType = await suite.server.call('PATCH', '/api/v1/me', { token: s.access, body: { first_name: 42 } });
    expect(badType.body.detail[0]).toMatchObject({ loc: ['body', 'first_name'], type: 'string_type' });
  });

  test('change password checks the current one, the policy and reuse, and ends other sessions', async () => {
    const s = await signedIn();
    const other = await suite.server.call('POST', '/api/v1/auth/login', { body: { email: s.email, password: strongPassword } });
    const wrong = await suite.server.call('POST', '/api/v1/me/password', { token: s.access, body: { current_password: 'nope', new_password: 'a new long passphrase ok' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.detail).toBe(errorCatalogue.currentPasswordIncorrect.detail);
    const same = await suite.server.call('POST', '/api/v1/me/password', { token: s.access, body: { current_password: strongPassword, new_password: strongPassword } });
    expect(same.status).toBe(400);
    const weak = await suite.server.call('POST', '/api/v1/me/password', { token: s.access, body: { current_password: strongPassword, new_password: 'short' } });
    expect(weak.status).toBe(422);
    const ok = await suite.server.call('POST', '/api/v1/me/password', { token: s.access, body: { current_password: strongPassword, new_password: 'a new long passphrase ok' } });
    expect(ok.status).toBe(200);
    expect((await suite.server.call('GET', '/api/v1/me', { token: s.access })).status).toBe(200);
    expect((await suite.server.call('GET', '/api/v1/me', { token: other.body.access_token })).status).toBe(401);
    const notice = await mailTo(s.email, /password/i);
    expect(notice.text).not.toContain('a new long passphrase ok');
  });

  test('request email verification: sends when unverified, says so when verified, rate limited', async () => {
    const tenant = await createTenant(suite.server, { require_email_verification: false });
    const { email } = await createUser(suite.server, tenant, { emailVerified: false });
    const access = (await suite.server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } })).body.access_token;
    const sent = await suite.server.call('POST', '/api/v1/me/verify-email', { token: access });
    expect(sent.body.message).toBe('Verification email sent.');
    const mail = await mailTo(email, /verify/i);
    const token = new URL(suite.smtp.linkIn(mail)!).searchParams.get('token')!;
    await suite.server.call('POST', '/api/v1/me/verify-email', { token: access });
    await suite.server.call('POST', '/api/v1/me/verify-email', { token: access });
    const limited = await suite.server.call('POST', '/api/v1/me/verify-email', { token: access });
    expect(limited.status).toBe(429);
    expect((await suite.server.call('GET', `${base(tenant.slug)}/verify-email?token=${encodeURIComponent(token)}`)).status).toBe(200);
    const done = await suite.server.call('POST', '/api/v1/me/verify-email', { token: access });
    expect(done.body.message).toBe('Email address is already verified.');
  });
});
