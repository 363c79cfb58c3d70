import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { SoftAuthenticator } from '../support/soft-authenticator.ts';
import { errorCatalogue } from '../../handlers/core/errors.ts';
import type { TenantSettings } from '../../handlers/store/tenants.ts';

let server: TestServer;
let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startSmtpServer();
  server = await startTestServer({ SMTP_URL: smtp.url, LOCKOUT_THRESHOLD: '5', MFA_TOKEN_TTL: '300' });
});
afterAll(async () => {
  await server?.stop();
  await smtp?.close();
});

const base = (slug: string) => `/api/v1/auth/tenants/${slug}`;
const origin = () => new URL(server.config.PUBLIC_BASE_URL).origin;
const allMethods: TenantSettings['mfa_methods'] = ['totp', 'email', 'webauthn', 'backup_code'];

/** A user signed in to the portal (no second factor yet), with a fresh soft authenticator. */
async function signedIn(settings: Partial<TenantSettings> = {}, authenticatorOrigin = origin()) {
  const tenant = await createTenant(server, { mfa_methods: allMethods, ...settings });
  const { email, user } = await createUser(server, tenant);
  const login = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
  expect(login.status).toBe(200);
  return { tenant, email, user, userId: user._id.toHexString(), access: login.body.access_token as string, key: new SoftAuthenticator({ origin: authenticatorOrigin }) };
}
type Account = Awaited<ReturnType<typeof signedIn>>;

async function registrationOptions(s: Account, password = strongPassword) {
  return server.call('POST', '/api/v1/me/mfa/webauthn/registration/options', { token: s.access, body: { current_password: password } });
}

async function registerKey(s: Account, name?: string, key = s.key) {
  const options = await registrationOptions(s);
  expect(options.status).toBe(200);
  const credential = key.register(options.body.options);
  const reply = await server.call('POST', '/api/v1/me/mfa/webauthn/registration', { token: s.access, body: { challenge_id: options.body.challenge_id, credential, ...(name ? { name } : {}) } });
  expect(reply.status).toBe(200);
  return reply.body;
}

async function hostedLogin(s: Account) {
  const reply = await server.call('POST', `${base(s.tenant.slug)}/login`, { body: { email: s.email, password: strongPassword } });
  expect(reply.status).toBe(200);
  return reply.body.data;
}

async function begin(s: Account, mfaToken: string) {
  return server.call('POST', `${base(s.tenant.slug)}/mfa/webauthn/begin?mfa_token=${encodeURIComponent(mfaToken)}&user_id=${s.userId}`);
}

async function verify(s: Account, mfaToken: string, challengeId: string, credential: unknown) {
  return server.call('POST', `${base(s.tenant.slug)}/mfa/verify`, { body: { mfa_token: mfaToken, user_id: s.userId, method: 'webauthn', challenge_id: challengeId, credential } });
}

const invalidCode = { detail: errorCatalogue.invalidCode.detail };

describe('WebAuthn registration', () => {
  test('registers a key with real `none` attestation; options prefer discoverable credentials; the challenge works once', async () => {
    const s = await signedIn();
    const wrong = await registrationOptions(s, 'not my password at all');
    expect(wrong.status).toBe(400);
    expect(wrong.body.detail).toBe(errorCatalogue.currentPasswordIncorrect.detail);

    const options = await registrationOptions(s);
    expect(options.status).toBe(200);
    expect(options.body.challenge_id).toMatch(/^[0-9a-f]{24}$/);
    expect(options.body.options).toMatchObject({
      rp: { id: 'localhost', name: s.tenant.name },
      user: { name: s.email },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      excludeCredentials: [],
    });
    expect(options.body.options.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toContain(-7);

    const credential = s.key.register(options.body.options);
    const body = { challenge_id: options.body.challenge_id, credential, name: 'YubiKey 5C' };
    const reply = await server.call('POST', '/api/v1/me/mfa/webauthn/registration', { token: s.access, body });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ name: 'YubiKey 5C', credential_id: credential.id, device_type: 'singleDevice', backed_up: false, transports: ['usb'], last_used_at: null });

    const again = await server.call('POST', '/api/v1/me/mfa/webauthn/registration', { token: s.access, body });
    expect(again.status).toBe(400);
    expect(again.body.detail).toBe(errorCatalogue.webauthnRegistrationFailed.detail);

    const list = await server.call('GET', '/api/v1/me/mfa/webauthn/credentials', { token: s.access });
    expect(list.body.credentials).toHaveLength(1);
    expect(list.body.credentials[0].id).toBe(reply.body.id);
    const me = await server.call('GET', '/api/v1/me', { token: s.access });
    expect(me.body).toMatchObject({ mfa_enabled: true, mfa_methods: ['webauthn'] });
    const status = await server.call('GET', '/api/v1/me/mfa', { token: s.access });
    expect(status.body).toMatchObject({ mfa_enabled: true, methods: ['webauthn'], webauthn_credentials: 1 });

    const notice = await smtp.waitFor((m) => m.to === s.email && /security notice/i.test(m.subject), 10_000);
    expect(notice.text).toContain('A security key or passkey was added');
    const events = await server.call('GET', '/api/v1/me/security-events?limit=5', { token: s.access });
    // Newest first: the refused second attempt, then the registration.
    expect(events.body.events[0]).toMatchObject({ type: 'mfa.webauthn.added', outcome: 'failure' });
    expect(events.body.events[1]).toMatchObject({ type: 'mfa.webauthn.added', outcome: 'success', details: { name: 'YubiKey 5C' } });

    // The next registration excludes the key already registered.
    const next = await registrationOptions(s);
    expect(next.body.options.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([credential.id]);
    const passkey = new SoftAuthenticator({ origin: origin(), backedUp: true, transports: ['internal', 'hybrid'] });
    const second = await server.call('POST', '/api/v1/me/mfa/webauthn/registration', {
      token: s.access,
      body: { challenge_id: next.body.challenge_id, credential: passkey.register(next.body.options) },
    });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ name: 'Passkey', device_type: 'multiDevice', backed_up: true, transports: ['internal', 'hybrid'] });
  });

  test('refuses answers from another origin or relying party, to another challenge, or from another session', async () => {
    const s = await signedIn();
    const attempts = [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }, { challenge: 'c29tZS1vdGhlci1jaGFsbGVuZ2U' }];
    for (const override of attempts) {
      const options = await registrationOptions(s);
      const credential = s.key.register(options.body.options, override);
      const reply = await server.call('POST', '/api/v1/me/mfa/webauthn/registration', { token: s.access, body: { challenge_id: options.body.challenge_id, credential } });
      expect(reply.status, JSON.stringify(override)).toBe(400);
      expect(reply.body.detail).toBe(errorCatalogue.webauthnRegistrationFailed.detail);
    }
    const options = await registrationOptions(s);
    const otherSession = await server.call('POST', '/api/v1/auth/login', { body: { email: s.email, password: strongPassword } });
    const stolen = await server.call('POST', '/api/v1/me/mfa/webauthn/registration', {
      token: otherSession.body.access_token,
      body: { challenge_id: options.body.challenge_id, credential: s.key.register(options.body.options) },
    });
    expect(stolen.status).toBe(400);
    const garbage = await server.call('POST', '/api/v1/me/mfa/webauthn/registration', { token: s.access, body: { challenge_id: 'nope', credential: { id: 'x' } } });
    expect(garbage.status).toBe(400);
    expect((await server.call('GET', '/api/v1/me/mfa/webauthn/credentials', { token: s.access })).body.credentials).toEqual([]);
    expect((await server.call('POST', '/api/v1/me/mfa/webauthn/registration/options', { body: { current_password: strongPassword } })).status).toBe(401);
  });

  test('a tenant that does not allow WebAuthn refuses registration', async () => {
    const s = await signedIn({ mfa_methods: ['totp', 'backup_code'] });
    const reply = await registrationOptions(s);
    expect(reply.status).toBe(400);
    expect(reply.body.detail).toBe(errorCatalogue.mfaMethodUnavailable.detail);
  });

  test('the relying party ID and origins come from the tenant settings when set', async () => {
    const s = await signedIn({ webauthn_rp_id: 'login.example.com', webauthn_origins: ['https://login.example.com'] }, 'https://login.example.com');
    const options = await registrationOptions(s);
    expect(options.body.options.rp.id).toBe('login.example.com');
    const fromDefaultOrigin = new SoftAuthenticator({ origin: origin() }).register(options.body.options);
    const refused = await server.call('POST', '/api/v1/me/mfa/webauthn/registration', { token: s.access, body: { challenge_id: options.body.challenge_id, credential: fromDefaultOrigin } });
    expect(refused.status).toBe(400);
    await registerKey(s);
    const challenge = await hostedLogin(s);
    const started = await begin(s, challenge.mfa_token);
    expect(started.body.options.rpId).toBe('login.example.com');
    const ok = await verify(s, challenge.mfa_token, started.body.challenge_id, s.key.assert(started.body.options));
    expect(ok.status).toBe(200);
  });
});

describe('WebAuthn as the second factor on the hosted login page', () => {
  test('begin gives a challenge bound to the flow; the assertion signs in; challenges and assertions work once', async () => {
    const s = await signedIn({ allowed_redirect_uris: ['https://app.example.com/cb'] });
    const registered = await registerKey(s, 'Desk key');
    const challenge = await hostedLogin(s);
    expect(challenge).toMatchObject({ status: 'mfa_required', available_methods: ['webauthn'], default_method: 'webauthn' });

    const started = await begin(s, challenge.mfa_token);
    expect(started.status).toBe(200);
    expect(started.body.challenge_id).toMatch(/^[0-9a-f]{24}$/);
    expect(started.body.options).toMatchObject({ rpId: 'localhost', userVerification: 'preferred', allowCredentials: [{ id: registered.credential_id, type: 'public-key' }] });
    const assertion = s.key.assert(started.body.options);
    const ok = await verify(s, challenge.mfa_token, started.body.challenge_id, assertion);
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ status: 'success', redirect_uri: 'https://app.example.com/cb' });
    expect(ok.headers.get('set-cookie')).toMatch(/^scaikey_session=bs_/);
    const stored = await server.database.webauthnCredentials.findForUserByCredentialId(s.user._id, s.tenant._id, registered.credential_id);
    expect(stored).toMatchObject({ counter: 1 });
    expect(stored?.last_used_at).toBeInstanceOf(Date);
    const session = await server.database.db.collection('sessions').findOne({ _id: new (await import('mongodb')).ObjectId(ok.body.data.session_id) });
    expect(session?.amr).toEqual(['pwd', 'hwk']);

    // The used flow is gone.
    expect((await verify(s, challenge.mfa_token, started.body.challenge_id, assertion)).status).toBe(401);
    // A new flow: the old challenge belongs to the old flow, and the old assertion answers the old challenge.
    const next = await hostedLogin(s);
    expect((await verify(s, next.mfa_token, started.body.challenge_id, assertion)).body).toEqual(invalidCode);
    const fresh = await begin(s, next.mfa_token);
    expect((await verify(s, next.mfa_token, fresh.body.challenge_id, assertion)).body).toEqual(invalidCode);
    // That attempt used the challenge up, even with a good assertion now.
    expect((await verify(s, next.mfa_token, fresh.body.challenge_id, s.key.assert(fresh.body.options))).body).toEqual(invalidCode);
    const third = await begin(s, next.mfa_token);
    expect((await verify(s, next.mfa_token, third.body.challenge_id, s.key.assert(third.body.options))).status).toBe(200);

    const events = await server.call('GET', '/api/v1/me/security-events?limit=50', { token: s.access });
    const types = events.body.events.map((e: { type: string; outcome: string }) => `${e.type}:${e.outcome}`);
    expect(types).toContain('mfa.verify:success');
    expect(types).toContain('mfa.verify:failure');
  });

  test('a wrong signature, a foreign credential and an unenrolled method give the same error; failures end the flow', async () => {
    const s = await signedIn();
    await registerKey(s);
    const challenge = await hostedLogin(s);
    const started = await begin(s, challenge.mfa_token);
    const tampered = await verify(s, challenge.mfa_token, started.body.challenge_id, s.key.assert(started.body.options, { tamper: true }));
    expect(tampered.status).toBe(401);
    expect(tampered.body).toEqual(invalidCode);

    const stranger = new SoftAuthenticator({ origin: origin() });
    const strangerOptions = await registrationOptions(await signedIn());
    stranger.register(strangerOptions.body.options); // registered nowhere for this user
    const foreignStart = await begin(s, challenge.mfa_token);
    const foreign = await verify(s, challenge.mfa_token, foreignStart.body.challenge_id, stranger.assert({ ...foreignStart.body.options, allowCredentials: [] }));
    expect(foreign.body).toEqual(invalidCode);

    const missing = await verify(s, challenge.mfa_token, 'ffffffffffffffffffffffff', s.key.assert((await begin(s, challenge.mfa_token)).body.options));
    expect(missing.body).toEqual(invalidCode);
    const unenrolled = await server.call('POST', `${base(s.tenant.slug)}/mfa/verify`, { body: { mfa_token: challenge.mfa_token, method: 'totp', code: '123456' } });
    expect(unenrolled.status).toBe(401);
    expect(unenrolled.body).toEqual(invalidCode);

    const fifth = await begin(s, challenge.mfa_token);
    expect((await verify(s, challenge.mfa_token, fifth.body.challenge_id, s.key.assert(fifth.body.options, { tamper: true }))).body).toEqual(invalidCode);

    // Five failures end the flow, and the account's MFA attempts are locked for a while.
    expect((await begin(s, challenge.mfa_token)).status).toBe(401);
    const again = await hostedLogin(s);
    const locked = await begin(s, again.mfa_token);
    const refused = await verify(s, again.mfa_token, locked.body.challenge_id, s.key.assert(locked.body.options));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    server.clock.advance(server.config.LOCKOUT_DURATION + 1);
    const later = await hostedLogin(s);
    const ok = await begin(s, later.mfa_token);
    expect((await verify(s, later.mfa_token, ok.body.challenge_id, s.key.assert(ok.body.options))).status).toBe(200);
  });

  test('a user without a key cannot begin, and a WebAuthn answer is refused like a wrong code', async () => {
    const s = await signedIn();
    await server.call('POST', '/api/v1/me/mfa/backup-codes', { token: s.access, body: { current_password: strongPassword } });
    const backup = await server.call('GET', '/api/v1/me/mfa', { token: s.access });
    expect(backup.body.methods).toEqual([]); // backup codes alone are not a second factor
    expect(await server.database.users.enableEmailMfa(s.user._id, new Date())).toBe(true);
    const challenge = await hostedLogin(s);
    expect(challenge.available_methods).toEqual(['email', 'backup_code']);
    const started = await begin(s, challenge.mfa_token);
    expect(started.status).toBe(400);
    expect(started.body.detail).toBe(errorCatalogue.mfaMethodUnavailable.detail);
    const stranger = new SoftAuthenticator({ origin: origin() });
    stranger.register((await registrationOptions(s)).body.options);
    const reply = await verify(s, challenge.mfa_token, 'ffffffffffffffffffffffff', stranger.assert({ challenge: 'AAAA', rpId: 'localhost' }));
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual(invalidCode);
    const badToken = await server.call('POST', `${base(s.tenant.slug)}/mfa/webauthn/begin?mfa_token=mfa_made-up&user_id=${s.userId}`);
    expect(badToken.status).toBe(401);
  });

  test('a cloned key whose counter does not move forward is refused; a key without a counter keeps working', async () => {
    const s = await signedIn();
    await registerKey(s);
    const first = await hostedLogin(s);
    const one = await begin(s, first.mfa_token);
    expect((await verify(s, first.mfa_token, one.body.challenge_id, s.key.assert(one.body.options))).status).toBe(200);
    const second = await hostedLogin(s);
    const two = await begin(s, second.mfa_token);
    const cloned = await verify(s, second.mfa_token, two.body.challenge_id, s.key.assert(two.body.options, { counter: 1 }));
    expect(cloned.body).toEqual(invalidCode);
    const three = await begin(s, second.mfa_token);
    expect((await verify(s, second.mfa_token, three.body.challenge_id, s.key.assert(three.body.options, { counter: 7 }))).status).toBe(200);
    expect((await server.database.webauthnCredentials.listForUser(s.user._id, s.tenant._id)).map((c) => c.counter)).toEqual([7]);

    const t = await signedIn();
    const noCounter = new SoftAuthenticator({ origin: origin(), useCounter: false });
    await registerKey(t, 'Phone', noCounter);
    for (let i = 0; i < 2; i++) {
      const flow = await hostedLogin(t);
      const started = await begin(t, flow.mfa_token);
      expect((await verify(t, flow.mfa_token, started.body.challenge_id, noCounter.assert(started.body.options))).status).toBe(200);
    }
  });

  test('challenges expire with the flow', async () => {
    const s = await signedIn();
    await registerKey(s);
    const challenge = await hostedLogin(s);
    const started = await begin(s, challenge.mfa_token);
    server.clock.advance(301);
    expect((await verify(s, challenge.mfa_token, started.body.challenge_id, s.key.assert(started.body.options))).body).toEqual(invalidCode);
    expect((await begin(s, challenge.mfa_token)).status).toBe(401);
  });
});

describe('managing WebAuthn credentials', () => {
  test('rename, remove with the password, and removal ends WebAuthn sign-in', async () => {
    const s = await signedIn();
    const key = await registerKey(s, 'Old name');
    const renamed = await server.call('PATCH', `/api/v1/me/mfa/webauthn/credentials/${key.id}`, { token: s.access, body: { name: '  Office key ' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: key.id, name: 'Office key' });
    const blank = await server.call('PATCH', `/api/v1/me/mfa/webauthn/credentials/${key.id}`, { token: s.access, body: { name: '   ' } });
    expect(blank.status).toBe(422);
    expect(blank.body.detail[0].loc).toEqual(['body', 'name']);

    const other = await signedIn();
    const notMine = await server.call('PATCH', `/api/v1/me/mfa/webauthn/credentials/${key.id}`, { token: other.access, body: { name: 'Mine now' } });
    expect(notMine.status).toBe(404);
    const notMineRemove = await server.call('DELETE', `/api/v1/me/mfa/webauthn/credentials/${key.id}`, { token: other.access, body: { current_password: strongPassword } });
    expect(notMineRemove.status).toBe(404);

    const wrong = await server.call('DELETE', `/api/v1/me/mfa/webauthn/credentials/${key.id}`, { token: s.access, body: { current_password: 'wrong wrong wrong' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.detail).toBe(errorCatalogue.currentPasswordIncorrect.detail);
    const removed = await server.call('DELETE', `/api/v1/me/mfa/webauthn/credentials/${key.id}`, { token: s.access, body: { current_password: strongPassword } });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ mfa_enabled: false, methods: [], webauthn_credentials: 0 });
    await smtp.waitFor((m) => m.to === s.email && m.text.includes('A security key or passkey was removed'), 10_000);
    expect((await server.call('GET', '/api/v1/me/mfa/webauthn/credentials', { token: s.access })).body.credentials).toEqual([]);
    expect((await hostedLogin(s)).status).toBe('success');
    expect((await server.call('DELETE', `/api/v1/me/mfa/webauthn/credentials/${key.id}`, { token: s.access, body: { current_password: strongPassword } })).status).toBe(404);
  });

  test('where the tenant requires MFA, the last key cannot be removed', async () => {
    const s = await signedIn({ mfa_required: false });
    const key = await registerKey(s);
    await server.domain.tenants.update(s.tenant.slug, { settings: { mfa_required: true } });
    const refused = await server.call('DELETE', `/api/v1/me/mfa/webauthn/credentials/${key.id}`, { token: s.access, body: { current_password: strongPassword } });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toBe(errorCatalogue.mfaFactorRequired.detail);
    const second = await registerKey(s, 'Spare', new SoftAuthenticator({ origin: origin() }));
    const ok = await server.call('DELETE', `/api/v1/me/mfa/webauthn/credentials/${key.id}`, { token: s.access, body: { current_password: strongPassword } });
    expect(ok.status).toBe(200);
    expect(ok.body.webauthn_credentials).toBe(1);
    void second;
  });
});
