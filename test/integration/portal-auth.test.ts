import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generate } from 'otplib';
import { SignJWT, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { createHmac, randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, enrolTotpDirectly, strongPassword } from '../support/fixtures.ts';
import { deriveKeys, developmentKey, hashToken } from '../../handlers/domain/crypto/secrets.ts';
import { RefreshTokenCodec } from '../../handlers/domain/sessions/refresh-token-codec.ts';
import { errorCatalogue } from '../../handlers/core/errors.ts';
import { AccessTokens } from '../../handlers/domain/tokens/access-tokens.ts';
import { tenantPublicId, userPublicId } from '../../handlers/core/public-ids.ts';
import type { SessionDoc } from '../../handlers/store/sessions.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ LOCKOUT_THRESHOLD: '5', LOCKOUT_DURATION: '900' });
});
afterAll(async () => {
  await server?.stop();
});

async function identify(email: string) {
  const reply = await server.call('POST', '/api/v1/auth/identify', { body: { email } });
  expect(reply.status).toBe(200);
  return reply.body as { flow_token: string; tenants: Array<{ id: string; slug: string; name: string }>; requires_tenant_selection: boolean };
}

async function signIn(email: string, password: string, tenantId?: string) {
  const flow = await identify(email);
  return server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: flow.flow_token, password, ...(tenantId ? { tenant_id: tenantId } : {}) } });
}

const enrolTotp = (userId: import('mongodb').ObjectId) => enrolTotpDirectly(server, userId);

const totpAt = (secret: string, clockSeconds: number) => generate({ secret, epoch: clockSeconds });
const nowSeconds = () => Math.floor(server.clock.now().getTime() / 1000);

describe('identify', () => {
  test('lists the tenants of a known email and asks for a choice when there are several', async () => {
    const a = await createTenant(server, {}, 'Acme');
    const b = await createTenant(server, {}, 'Globex');
    const email = `multi.${Date.now()}@example.com`;
    await createUser(server, a, { email });
    await createUser(server, b, { email: email.toUpperCase() });
    const flow = await identify(email);
    // Sealed (AES-GCM): the flow's id, the address and its expiry; nothing is stored until it is answered.
    expect(flow.flow_token).toMatch(/^ft_v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(flow.tenants.map((t) => t.slug).sort()).toEqual([a.slug, b.slug].sort());
    expect(flow.requires_tenant_selection).toBe(true);
  });

  test('answers an unknown email in the same shape, with a fresh flow token', async () => {
    const one = await identify('nobody-here@example.com');
    const two = await identify('nobody-here@example.com');
    expect(Object.keys(one).sort()).toEqual(['flow_token', 'requires_tenant_selection', 'tenants']);
    expect(one).toMatchObject({ tenants: [], requires_tenant_selection: false });
    expect(one.flow_token).not.toBe(two.flow_token);
  });

  test('stores the flow token only as a hash', async () => {
    const flow = await identify('hash-check@example.com');
    const stored = await server.database.db.collection('flows').findOne({}, { sort: { created_at: -1 } });
    expect(JSON.stringify(stored)).not.toContain(flow.flow_token);
  });

  test('rejects a malformed email, a missing body and broken JSON in FastAPI shape', async () => {
    const bad = await server.call('POST', '/api/v1/auth/identify', { body: { email: 'not-an-email' } });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0]).toMatchObject({ loc: ['body', 'email'], type: 'value_error' });
    const missing = await server.call('POST', '/api/v1/auth/identify', { headers: { 'content-type': 'application/json' } });
    expect(missing.status).toBe(422);
    expect(missing.body.detail).toEqual([{ loc: ['body'], msg: 'Field required', type: 'missing' }]);
    const broken = await server.call('POST', '/api/v1/auth/identify', { raw: '{"email": ', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(422);
    expect(broken.body.detail[0]).toMatchObject({ type: 'json_invalid', msg: 'JSON decode error' });
    expect(broken.body.detail[0].loc[0]).toBe('body');
  });
});

describe('authenticate', () => {
  test('issues tokens and the user for the right password; the flow works once', async () => {
    const tenant = await createTenant(server);
    const { email, password, user } = await createUser(server, tenant);
    const flow = await identify(email);
    const ok = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: flow.flow_token, password } });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('SUCCESS');
    // rt_<session id>.<generation>.<r|n>2.<family nonce, 128 bits>.<HMAC-SHA256, base64url>
    expect(ok.body.refresh_token).toMatch(/^rt_[0-9a-f]{24}\.0\.n2\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(ok.body.user).toMatchObject({ id: userPublicId(user._id), tenant_id: tenantPublicId(tenant._id), tenant_slug: tenant.slug, email });
    const header = decodeProtectedHeader(ok.body.access_token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(header.kid).toBeTruthy();
    const again = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: flow.flow_token, password } });
    expect(again.status).toBe(400);
    expect(again.body.detail).toBe(errorCatalogue.flowExpired.detail);
  });

  test('wrong password, unknown email, wrong tenant and a disabled account answer identically', async () => {
    const tenant = await createTenant(server);
    const other = await createTenant(server);
    const { email } = await createUser(server, tenant);
    const disabled = await createUser(server, tenant, { status: 'disabled' });
    const replies = [
      await signIn(email, 'wrong password entirely'),
      await signIn(`ghost.${Date.now()}@example.com`, strongPassword),
      await signIn(email, strongPassword, other._id.toHexString()),
      await signIn(disabled.email, strongPassword),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({ detail: errorCatalogue.invalidCredentials.detail });
    }
  });

  test('an unknown or expired flow token is refused', async () => {
    const unknown = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: 'ft_made-up', password: 'x' } });
    expect(unknown.status).toBe(400);
    const tenant = await createTenant(server);
    const { email, password } = await createUser(server, tenant);
    const flow = await identify(email);
    server.clock.advance(server.config.FLOW_TOKEN_TTL + 1);
    const expired = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: flow.flow_token, password } });
    expect(expired.status).toBe(400);
    expect(expired.body.detail).toBe(errorCatalogue.flowExpired.detail);
  });

  test('an email in several tenants needs tenant_id, asked only after the right password', async () => {
    const a = await createTenant(server);
    const b = await createTenant(server);
    const email = `two.${Date.now()}@example.com`;
    await createUser(server, a, { email });
    await createUser(server, b, { email });
    const wrong = await signIn(email, 'not the password at all');
    expect(wrong.status).toBe(401);
    const ask = await signIn(email, strongPassword);
    expect(ask.status).toBe(400);
    expect(ask.body.detail).toBe(errorCatalogue.tenantSelectionRequired.detail);
    const chosen = await signIn(email, strongPassword, b._id.toHexString());
    expect(chosen.status).toBe(200);
    expect(chosen.body.user.tenant_id).toBe(tenantPublicId(b._id));
  });

  test('an unverified user of a tenant that requires verification is told so only with the right password', async () => {
    const tenant = await createTenant(server, { require_email_verification: true });
    const { email } = await createUser(server, tenant, { emailVerified: false });
    expect((await signIn(email, 'wrong wrong wrong wrong')).status).toBe(401);
    const right = await signIn(email, strongPassword);
    expect(right.status).toBe(403);
    expect(right.body.detail).toBe(errorCatalogue.emailNotVerified.detail);
  });

  test('returns MFA_REQUIRED without tokens when the user has TOTP', async () => {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    await enrolTotp(user._id);
    const reply = await signIn(email, strongPassword);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'MFA_REQUIRED', access_token: null, refresh_token: null, user: null, user_id: userPublicId(user._id), available_methods: ['totp'] });
    expect(reply.body.mfa_token).toMatch(/^mfa_/);
  });
});

describe('WebAuthn-only accounts in the portal', () => {
  test('are never signed in without a second factor; they are sent to the hosted page', async () => {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    await server.database.users.adjustWebauthnCount(user._id, 1, new Date());
    const reply = await signIn(email, strongPassword);
    expect(reply.status).toBe(400);
    expect(reply.body.detail).toBe(errorCatalogue.mfaMethodUnavailable.detail);
  });
});

describe('one-step login', () => {
  test('signs in with email and password, and with tenant_id across tenants', async () => {
    const a = await createTenant(server);
    const b = await createTenant(server);
    const { email, password } = await createUser(server, a);
    const ok = await server.call('POST', '/api/v1/auth/login', { body: { email, password } });
    expect(ok.status).toBe(200);
    expect(ok.body.user.email).toBe(email);
    await createUser(server, b, { email });
    const ask = await server.call('POST', '/api/v1/auth/login', { body: { email, password } });
    expect(ask.status).toBe(400);
    const wrongPw = await server.call('POST', '/api/v1/auth/login', { body: { email, password: 'nope nope nope nope' } });
    expect(wrongPw.body).toEqual({ detail: errorCatalogue.invalidCredentials.detail });
    const chosen = await server.call('POST', '/api/v1/auth/login', { body: { email, password, tenant_id: a._id.toHexString() } });
    expect(chosen.status).toBe(200);
  });

  test('refuses MFA users, who must use the two-step flow', async () => {
    const tenant = await createTenant(server);
    const { email, password, user } = await createUser(server, tenant);
    await enrolTotp(user._id);
    const reply = await server.call('POST', '/api/v1/auth/login', { body: { email, password } });
    expect(reply.status).toBe(403);
    expect(reply.body.detail).toBe(errorCatalogue.mfaRequiredUseTwoStep.detail);
  });
});

describe('portal MFA verify', () => {
  test('TOTP completes the login once; a replayed code and a wrong code are refused alike', async () => {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    const secret = await enrolTotp(user._id);
    const first = await signIn(email, strongPassword);
    const code = await totpAt(secret, nowSeconds());
    const wrong = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: first.body.mfa_token, user_id: user._id.toHexString(), method: 'totp', code: code === '000000' ? '111111' : '000000' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.detail).toBe(errorCatalogue.invalidCode.detail);
    const ok = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: first.body.mfa_token, user_id: user._id.toHexString(), method: 'totp', code } });
    expect(ok.status).toBe(200);
    expect(ok.body.user.id).toBe(userPublicId(user._id));
    expect(ok.body.access_token).toBeTruthy();
    // The MFA token is single-use, and the same code cannot be replayed in a new flow.
    const reuse = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: first.body.mfa_token, user_id: user._id.toHexString(), method: 'totp', code } });
    expect(reuse.status).toBe(401);
    const second = await signIn(email, strongPassword);
    const replay = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: second.body.mfa_token, user_id: user._id.toHexString(), method: 'totp', code } });
    expect(replay.status).toBe(401);
    const unenrolled = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: second.body.mfa_token, user_id: user._id.toHexString(), method: 'email', code: '123456' } });
    expect(unenrolled.body).toEqual(wrong.body);
  });

  test('a backup code works exactly once', async () => {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    await enrolTotp(user._id);
    const codes = server.domain.backupCodes.generate();
    await server.database.users.replaceBackupCodes(user._id, codes.stored, new Date());
    const flow1 = await signIn(email, strongPassword);
    expect(flow1.body.available_methods).toEqual(['totp', 'backup_code']);
    const ok = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: flow1.body.mfa_token, user_id: user._id.toHexString(), method: 'backup_code', code: codes.plain[0] } });
    expect(ok.status).toBe(200);
    const flow2 = await signIn(email, strongPassword);
    const again = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: flow2.body.mfa_token, user_id: user._id.toHexString(), method: 'backup_code', code: codes.plain[0] } });
    expect(again.status).toBe(401);
    const stored = await server.database.users.findById(user._id);
    expect(stored!.mfa.backup_codes).toHaveLength(9);
    expect(JSON.stringify(stored)).not.toContain(codes.plain[1]);
  });

  test('the MFA token is bound to its user and ends after too many wrong codes', async () => {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    const other = await createUser(server, tenant);
    const secret = await enrolTotp(user._id);
    const flow = await signIn(email, strongPassword);
    const mismatch = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: flow.body.mfa_token, user_id: other.user._id.toHexString(), method: 'totp', code: await totpAt(secret, nowSeconds()) } });
    expect(mismatch.status).toBe(401);
    for (let i = 0; i < 5; i++) {
      await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: flow.body.mfa_token, user_id: user._id.toHexString(), method: 'totp', code: '999999' } });
    }
    server.clock.advance(31);
    const late = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: flow.body.mfa_token, user_id: user._id.toHexString(), method: 'totp', code: await totpAt(secret, nowSeconds()) } });
    expect([401, 429]).toContain(late.status);
    server.clock.advance(server.config.LOCKOUT_DURATION + 1);
  });
});

describe('refresh and logout', () => {
  async function tokens() {
    const tenant = await createTenant(server);
    const { email, password, user } = await createUser(server, tenant);
    const reply = await signIn(email, password);
    expect(reply.status).toBe(200);
    return { access: reply.body.access_token as string, refresh: reply.body.refresh_token as string, user, tenant };
  }

  test('rotates on every use; the predecessor inside the grace window yields the same successor', async () => {
    const t = await tokens();
    const r1 = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } });
    expect(r1.status).toBe(200);
    expect(r1.body.refresh_token).not.toBe(t.refresh);
    const concurrentTab = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } });
    expect(concurrentTab.status).toBe(200);
    expect(concurrentTab.body.refresh_token).toBe(r1.body.refresh_token);
    const r2 = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: r1.body.refresh_token } });
    expect(r2.status).toBe(200);
    const me = await server.call('POST', '/api/v1/auth/logout', { token: r2.body.access_token });
    expect(me.status).toBe(200);
  });

  test('reuse after the grace window revokes the whole family', async () => {
    const t = await tokens();
    const r1 = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } });
    server.clock.advance(server.config.REFRESH_REUSE_GRACE + 1);
    const reuse = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.detail).toBe(errorCatalogue.invalidRefreshToken.detail);
    const successor = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: r1.body.refresh_token } });
    expect(successor.status).toBe(401);
    const access = await server.call('POST', '/api/v1/auth/logout', { token: r1.body.access_token });
    expect(access.status).toBe(401);
  });

  test('a grandparent token is reuse even inside the grace window', async () => {
    const t = await tokens();
    const r1 = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } });
    const r2 = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: r1.body.refresh_token } });
    expect(r2.status).toBe(200);
    const grandparent = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } });
    expect(grandparent.status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: r2.body.refresh_token } })).status).toBe(401);
  });

  test('concurrent refreshes of one token all get the same single successor', async () => {
    const t = await tokens();
    const replies = await Promise.all(Array.from({ length: 10 }, () => server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } })));
    const successors = new Set(replies.filter((r) => r.status === 200).map((r) => r.body.refresh_token));
    expect(successors.size).toBe(1);
    // Exactly one rotation happened: the family moved one generation on, and the successor is its current token.
    const session = await server.database.db.collection<SessionDoc>('sessions').findOne({ user_id: t.user._id });
    expect(session?.refresh).toMatchObject({ generation: 1 });
    expect(server.domain.sessions.isCurrentRefreshToken(session!, [...successors][0]!)).toBe(true);
    expect(server.domain.sessions.isCurrentRefreshToken(session!, t.refresh)).toBe(false);
  });

  test('a token with a wrong MAC is refused without touching its family; a genuine token of any age is reuse', async () => {
    const t = await tokens();
    const sessions = server.database.db.collection<SessionDoc>('sessions');
    const before = await sessions.findOne({ user_id: t.user._id });
    const last = t.refresh.at(-1) === 'A' ? 'B' : 'A';
    const forged = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: `${t.refresh.slice(0, -1)}${last}` } });
    expect(forged.status).toBe(401);
    expect(await sessions.findOne({ user_id: t.user._id })).toEqual(before);
    let current = t.refresh;
    for (let i = 0; i < 20; i++) {
      const next = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: current } });
      expect(next.status).toBe(200);
      current = next.body.refresh_token;
    }
    server.clock.advance(server.config.REFRESH_REUSE_GRACE + 1);
    // Twenty generations back (no history is kept): still recognised, and the family ends.
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: current } })).status).toBe(401);
  });

  test('a genuine token never issued (a later generation, another nonce) is refused and revokes nothing', async () => {
    const t = await tokens();
    // The test server runs on the development key: mint what only a holder of the key could.
    const codec = new RefreshTokenCodec(deriveKeys(developmentKey()).refreshKey);
    const parsed = codec.parse(t.refresh);
    if (!parsed || parsed === 'forged' || parsed.nonce === null) throw new Error('not a derived token');
    for (const never of [codec.mint(parsed.sessionId, 5, false, parsed.nonce), codec.mint(parsed.sessionId, 0, false, codec.newNonce()), codec.mint(parsed.sessionId, 1, false, codec.newNonce())]) {
      expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: never } })).status).toBe(401);
    }
    const still = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } });
    expect(still.status).toBe(200);
    expect(still.body.refresh_token).toBe(codec.mint(parsed.sessionId, 1, false, parsed.nonce));
  });

  test('a family of random tokens (stored before derived ones) keeps working and moves to derived tokens', async () => {
    const t = await tokens();
    const sessions = server.database.db.collection<SessionDoc>('sessions');
    const session = (await sessions.findOne({ user_id: t.user._id }))!;
    const random = (generation: number) => `rt_${session._id.toHexString()}.${generation}.n.${randomBytes(32).toString('base64url')}`;
    const older = random(2);
    const token = random(3);
    await sessions.updateOne({ _id: session._id }, { $set: { refresh: { hash: hashToken(token), generation: 3, previous_hash: hashToken(older), previous_rotated_at: server.clock.now(), previous_successor_enc: null, rotated: { '2': hashToken(older) } } } });
    const moved = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: token } });
    expect(moved.status).toBe(200);
    expect(moved.body.refresh_token).toMatch(/^rt_[0-9a-f]{24}\.4\.n2\./);
    // The random token again within the grace window (a second tab): the same derived successor.
    const secondTab = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: token } });
    expect(secondTab.body.refresh_token).toBe(moved.body.refresh_token);
    const next = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: moved.body.refresh_token } });
    expect(next.status).toBe(200);
    // Past the random token's immediate successor, it no longer gets the grace answer: it is reuse.
    const late = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: token } });
    expect(late.status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: next.body.refresh_token } })).status).toBe(401);
  });

  test('an earlier random token of a moved family is reuse', async () => {
    const t = await tokens();
    const sessions = server.database.db.collection<SessionDoc>('sessions');
    const session = (await sessions.findOne({ user_id: t.user._id }))!;
    const older = `rt_${session._id.toHexString()}.2.n.${randomBytes(32).toString('base64url')}`;
    const token = `rt_${session._id.toHexString()}.3.n.${randomBytes(32).toString('base64url')}`;
    await sessions.updateOne({ _id: session._id }, { $set: { refresh: { hash: hashToken(token), generation: 3, previous_hash: null, previous_rotated_at: null, previous_successor_enc: null, rotated: { '2': hashToken(older) } } } });
    const moved = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: token } });
    expect(moved.status).toBe(200);
    // A random token this family never issued is refused and revokes nothing.
    const never = `rt_${session._id.toHexString()}.1.n.${randomBytes(32).toString('base64url')}`;
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: never } })).status).toBe(401);
    expect(await sessions.findOne({ _id: session._id })).toMatchObject({ revoked_at: null });
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: older } })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: moved.body.refresh_token } })).status).toBe(401);
  });

  test('expired, unknown and idle-expired refresh tokens are refused', async () => {
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: 'rt_nope' } })).status).toBe(401);
    const t = await tokens();
    server.clock.advance(server.config.REFRESH_IDLE_TTL + 1);
    const idle = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } });
    expect(idle.status).toBe(401);
  });

  test('logout revokes the session: its access and refresh tokens stop working', async () => {
    const t = await tokens();
    const out = await server.call('POST', '/api/v1/auth/logout', { token: t.access });
    expect(out.status).toBe(200);
    expect((await server.call('POST', '/api/v1/auth/logout', { token: t.access })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } })).status).toBe(401);
  });

  test('disabling a user ends access at once', async () => {
    const t = await tokens();
    await server.domain.users.setStatus(t.user._id, 'disabled');
    await server.domain.sessions.revokeAllForUser(t.user._id, 'disabled');
    expect((await server.call('POST', '/api/v1/auth/logout', { token: t.access })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: t.refresh } })).status).toBe(401);
  });
});

describe('access tokens', () => {
  async function access() {
    const tenant = await createTenant(server);
    const { email, password } = await createUser(server, tenant);
    return (await signIn(email, password)).body.access_token as string;
  }
  const logoutWith = (token: string) => server.call('POST', '/api/v1/auth/logout', { token });

  test('missing and malformed bearer values get 401 with WWW-Authenticate', async () => {
    const none = await server.call('POST', '/api/v1/auth/logout');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ detail: errorCatalogue.notAuthenticated.detail });
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const garbage = await server.call('POST', '/api/v1/auth/logout', { headers: { authorization: 'Basic abc' } });
    expect(garbage.status).toBe(401);
    expect(garbage.body).toEqual({ detail: errorCatalogue.invalidToken.detail });
  });

  test('a tampered payload or signature is rejected', async () => {
    const token = await access();
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.sub = '000000000000000000000000';
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    expect((await logoutWith(forged)).status).toBe(401);
    const badSig = `${h}.${p}.${s!.slice(0, -4)}AAAA`;
    expect((await logoutWith(badSig)).status).toBe(401);
  });

  test('alg none and HMAC signed with the public key are rejected', async () => {
    const token = await access();
    const [h, p] = token.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    const none = `${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}.${p}.`;
    expect((await logoutWith(none)).status).toBe(401);
    const jwks = (await server.call('GET', '/.well-known/jwks.json')).body.keys as JWK[];
    const hmacKey = createHmac('sha256', JSON.stringify(jwks[0])).digest();
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const hs = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: header.kid, typ: 'at+jwt' }).sign(hmacKey);
    expect((await logoutWith(hs)).status).toBe(401);
  });

  test('an unknown kid, another audience and an expired token are rejected', async () => {
    const token = await access();
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    const { generateKeyPair } = await import('jose');
    const stranger = await generateKeyPair('ES256');
    const foreign = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'someone-else', typ: 'at+jwt' }).sign(stranger.privateKey);
    expect((await logoutWith(foreign)).status).toBe(401);
    const otherAudience = new AccessTokens(server.domain.signingKeys, server.clock, { issuer: server.config.PUBLIC_BASE_URL, audience: 'another-api', ttlSeconds: 900 });
    const wrongAud = await otherAudience.issue({ userId: payload.sub, tenantId: payload.tid, sessionId: payload.sid });
    expect((await logoutWith(wrongAud.token)).status).toBe(401);
    const fresh = await access();
    server.clock.advance(server.config.ACCESS_TOKEN_TTL + 5);
    expect((await logoutWith(fresh)).status).toBe(401);
  });

  test('JWKS publishes the public key that verifies issued tokens', async () => {
    const token = await access();
    const reply = await server.call('GET', '/.well-known/jwks.json');
    expect(reply.headers.get('cache-control')).toContain('max-age');
    const { kid } = decodeProtectedHeader(token);
    const jwk = (reply.body.keys as JWK[]).find((k) => k.kid === kid)!;
    expect(jwk).toBeTruthy();
    expect(jwk).not.toHaveProperty('d');
    const { jwtVerify } = await import('jose');
    const verified = await jwtVerify(token, await importJWK(jwk, 'ES256'), { currentDate: server.clock.now() });
    expect(verified.payload.aud).toBe(server.config.JWT_AUDIENCE);
    const stored = await server.database.db.collection<{ _id: string }>('signing_keys').findOne({ _id: kid! });
    expect(JSON.stringify(stored)).not.toContain('"d":');
  });
});

describe('brute force', () => {
  test('locks the account temporarily after the threshold, for right and wrong passwords alike', async () => {
    const tenant = await createTenant(server);
    const { email, password } = await createUser(server, tenant);
    for (let i = 0; i < 5; i++) expect((await signIn(email, `wrong-${i}-password-x`)).status).toBe(401);
    const locked = await signIn(email, password);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(locked.body.detail).toBe(errorCatalogue.tooManyRequests.detail);
    const ghost = `ghost-lock.${Date.now()}@example.com`;
    for (let i = 0; i < 5; i++) await signIn(ghost, `wrong-${i}-password-x`);
    expect((await signIn(ghost, 'anything at all here')).status).toBe(429);
    server.clock.advance(server.config.LOCKOUT_DURATION + 1);
    expect((await signIn(email, password)).status).toBe(200);
  });

  test('parallel wrong passwords: no more than the threshold are evaluated', async () => {
    const tenant = await createTenant(server);
    const { email } = await createUser(server, tenant);
    const flows = await Promise.all(Array.from({ length: 20 }, () => identify(email)));
    const replies = await Promise.all(flows.map((f, i) => server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: f.flow_token, password: `parallel-wrong-${i}` } })));
    const evaluated = replies.filter((r) => r.status === 401).length;
    const refused = replies.filter((r) => r.status === 429).length;
    expect(evaluated).toBeLessThanOrEqual(5);
    expect(evaluated + refused).toBe(20);
    server.clock.advance(server.config.LOCKOUT_DURATION + 1);
  });
});
