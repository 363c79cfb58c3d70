// Issue 16, items 5–10 and 12: races and ambiguities in sign-in and security state, and the
// hosted session cookie. Real server, real database; failures are injected at the driver.
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { generate } from 'otplib';
import { createHash } from 'node:crypto';
import type { Collection } from 'mongodb';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, enrolTotpDirectly, strongPassword } from '../support/fixtures.ts';
import { errorCatalogue } from '../../handlers/core/errors.ts';
import type { CounterDoc } from '../../handlers/store/counters.ts';
import { tenantPublicId, userPublicId } from '../../handlers/core/public-ids.ts';

let server: TestServer;
/** The same server code behind a proxy it trusts (X-Forwarded-Proto decides the scheme). */
let proxied: TestServer;
beforeAll(async () => {
  server = await startTestServer({ LOCKOUT_THRESHOLD: '5', LOCKOUT_DURATION: '900' });
  proxied = await startTestServer({ TRUST_PROXY: 'loopback' });
});
afterAll(async () => {
  await proxied?.stop();
  await server?.stop();
});

const login = (email: string, password: string, tenantId?: string) =>
  server.call('POST', '/api/v1/auth/login', { body: { email, password, ...(tenantId ? { tenant_id: tenantId } : {}) } });
const counter = (key: string) => server.database.db.collection<CounterDoc>('counters').findOne({ _id: key });
const accountKey = (tenantId: { toHexString(): string }, email: string) => `acct:tenant:${tenantId.toHexString()}:${email.toLowerCase()}`;
const nowSeconds = () => Math.floor(server.clock.now().getTime() / 1000);

describe('item 5: parallel password changes', () => {
  test('of 10 parallel changes with the right current password one wins; the others get currentPasswordIncorrect', async () => {
    const tenant = await createTenant(server);
    const { email } = await createUser(server, tenant);
    const signedIn = await login(email, strongPassword);
    expect(signedIn.status).toBe(200);
    const next = (i: number) => `a brand new passphrase number ${i}`;
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => server.call('POST', '/api/v1/me/password', { token: signedIn.body.access_token, body: { current_password: strongPassword, new_password: next(i) } })),
    );
    const winners = replies.flatMap((r, i) => (r.status === 200 ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const loser of replies.filter((r) => r.status !== 200)) {
      expect(loser.status).toBe(400);
      expect(loser.body).toEqual({ detail: errorCatalogue.currentPasswordIncorrect.detail });
    }
    // The winner's password is the one that holds.
    expect((await login(email, next(winners[0]!))).status).toBe(200);
    expect((await login(email, next(winners[0] === 0 ? 1 : 0))).status).toBe(401);
  });
});

describe('item 6: a refresh whose answer is lost', () => {
  const refresh = (token: string) => server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: token } });
  /**
   * Rotation is one write on the session. The worst failure left is the database applying it and
   * the answer getting lost: the driver's next findOneAndUpdate on `sessions` completes, then fails.
   */
  function loseNextSessionWriteAnswer() {
    const collection = (server.database.sessions as unknown as { collection: Collection }).collection;
    const original = collection.findOneAndUpdate.bind(collection);
    return vi.spyOn(collection, 'findOneAndUpdate').mockImplementationOnce((async (...args: Parameters<typeof original>) => {
      await original(...args);
      throw new Error('injected: connection reset after the write');
    }) as never);
  }

  test('a retry of the same token within the grace window gets the successor; the session lives', async () => {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    const signedIn = await login(email, strongPassword);
    const spy = loseNextSessionWriteAnswer();
    try {
      const failed = await refresh(signedIn.body.refresh_token);
      expect(failed.status).toBe(500);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
    const retried = await refresh(signedIn.body.refresh_token);
    expect(retried.status).toBe(200);
    expect(retried.body.refresh_token).toMatch(/^rt_/);
    // A further retry (another tab) gets that same successor.
    expect((await refresh(signedIn.body.refresh_token)).body.refresh_token).toBe(retried.body.refresh_token);
    expect((await server.call('GET', '/api/v1/me', { token: retried.body.access_token })).status).toBe(200);
    const next = await refresh(retried.body.refresh_token);
    expect(next.status).toBe(200);
    expect((await server.call('GET', '/api/v1/me', { token: next.body.access_token })).status).toBe(200);
    const session = await server.database.db.collection('sessions').findOne({ user_id: user._id });
    expect(session?.revoked_at).toBeNull();
  });

  test('a retry that comes only after the grace window is reuse, as any late replay', async () => {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    const signedIn = await login(email, strongPassword);
    const spy = loseNextSessionWriteAnswer();
    try {
      expect((await refresh(signedIn.body.refresh_token)).status).toBe(500);
    } finally {
      spy.mockRestore();
    }
    server.clock.advance(server.config.REFRESH_REUSE_GRACE + 1);
    const late = await refresh(signedIn.body.refresh_token);
    expect(late.status).toBe(401);
    expect(late.body).toEqual({ detail: errorCatalogue.invalidRefreshToken.detail });
    const session = await server.database.db.collection('sessions').findOne({ user_id: user._id });
    expect(session?.revoked_reason).toBe('refresh token reuse');
  });

});

describe('item 7: tenant-less sign-in is deterministic', () => {
  test('a pending account (anyone can register one) is neither listed nor counted', async () => {
    const mine = await createTenant(server);
    const open = await createTenant(server);
    const { email, user } = await createUser(server, mine);
    await createUser(server, open, { email, password: 'the squatter picked this one', status: 'pending', emailVerified: false });
    const identified = await server.call('POST', '/api/v1/auth/identify', { body: { email } });
    expect(identified.body).toMatchObject({ tenants: [{ id: tenantPublicId(mine._id) }], requires_tenant_selection: false });
    const ok = await login(email, strongPassword);
    expect(ok.status).toBe(200);
    expect(ok.body.user.id).toBe(userPublicId(user._id));
  });

  test('several live accounts: a password right for any of them asks for the tenant, every time; a wrong one counts on each account', async () => {
    const a = await createTenant(server);
    const b = await createTenant(server);
    const email = `several.${Date.now()}@example.com`;
    await createUser(server, a, { email, password: 'the password of account a' });
    await createUser(server, b, { email, password: 'the password of account b' });
    for (const password of ['the password of account a', 'the password of account b', 'the password of account b']) {
      const reply = await login(email, password);
      expect(reply.status).toBe(400);
      expect(reply.body.detail).toBe(errorCatalogue.tenantSelectionRequired.detail);
    }
    // Right passwords release what they reserved: nothing counted on either account.
    expect((await counter(accountKey(a._id, email)))?.count ?? 0).toBe(0);
    expect((await counter(accountKey(b._id, email)))?.count ?? 0).toBe(0);
    const wrong = await login(email, 'right for neither account');
    expect(wrong.status).toBe(401);
    expect((await counter(accountKey(a._id, email)))?.count).toBe(1);
    expect((await counter(accountKey(b._id, email)))?.count).toBe(1);
    expect((await login(email, 'the password of account b', tenantPublicId(b._id))).status).toBe(200);
  });
});

describe('item 8: MFA flows are bound to their channel', () => {
  test("a hosted page's mfa_token is refused by the portal's verify like an unknown token, and still works where it belongs", async () => {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    const secret = await enrolTotpDirectly(server, user._id);
    const hosted = await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword } });
    const mfaToken = hosted.body.data.mfa_token as string;
    const code = await generate({ secret, epoch: nowSeconds() });
    const crossed = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: mfaToken, user_id: user._id.toHexString(), method: 'totp', code } });
    const unknown = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: 'mfa_unknown', user_id: user._id.toHexString(), method: 'totp', code } });
    expect(crossed.status).toBe(401);
    expect(crossed.body).toEqual(unknown.body);
    expect(crossed.body.access_token).toBeUndefined();
    const there = await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/mfa/verify`, { body: { mfa_token: mfaToken, user_id: user._id.toHexString(), method: 'totp', code } });
    expect(there.status).toBe(200);
  });
});

describe('item 9: parallel MFA answers', () => {
  async function mfaSignIn() {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    await enrolTotpDirectly(server, user._id);
    const codes = server.domain.backupCodes.generate();
    await server.database.users.replaceBackupCodes(user._id, codes.stored, new Date());
    const first = await server.call('POST', '/api/v1/auth/identify', { body: { email } });
    const started = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: first.body.flow_token, password: strongPassword } });
    expect(started.body.status).toBe('MFA_REQUIRED');
    const verify = (code: string) => server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: started.body.mfa_token, user_id: user._id.toHexString(), method: 'backup_code', code } });
    return { user, codes, verify, mfaToken: started.body.mfa_token as string };
  }

  test('five valid backup codes at once: one session, one code used', async () => {
    const { user, codes, verify } = await mfaSignIn();
    const replies = await Promise.all(codes.plain.slice(0, 5).map(verify));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    for (const loser of replies.filter((r) => r.status !== 200)) expect(loser.body).toEqual({ detail: errorCatalogue.invalidCode.detail });
    expect((await server.database.users.findById(user._id))!.mfa.backup_codes).toHaveLength(9);
  });

  test('a wrong answer still counts on the flow and the account, and the flow stays usable', async () => {
    const { user, codes, verify } = await mfaSignIn();
    expect((await verify('aaaaa-aaaaa')).status).toBe(401);
    const flow = await server.database.db.collection('flows').findOne({ user_id: user._id, kind: 'mfa' }, { sort: { created_at: -1, _id: -1 } });
    expect(flow).toMatchObject({ failed_attempts: 1, consumed_at: null });
    expect((await counter(`acct:mfa:${user._id.toHexString()}`))?.count).toBe(1);
    expect((await verify(codes.plain[0]!)).status).toBe(200);
  });
});

describe('item 10: parallel right passwords', () => {
  test('20 parallel sign-ins with the right password all succeed (nothing locks)', async () => {
    const tenant = await createTenant(server);
    const { email } = await createUser(server, tenant);
    const replies = await Promise.all(Array.from({ length: 20 }, () => login(email, strongPassword)));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect((await counter(accountKey(tenant._id, email)))?.count ?? 0).toBe(0);
  });

  test('20 parallel sign-ins on the hosted page with the right password all succeed', async () => {
    const tenant = await createTenant(server);
    const { email } = await createUser(server, tenant);
    const replies = await Promise.all(Array.from({ length: 20 }, () => server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword } })));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
  });
});

describe('item 12: the hosted session cookie', () => {
  const hostedLogin = async (s: TestServer, headers: Record<string, string> = {}) => {
    const tenant = await createTenant(s);
    const { email, user } = await createUser(s, tenant);
    const reply = await s.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword }, headers });
    expect(reply.status).toBe(200);
    return { reply, user, cookie: reply.headers.get('set-cookie')! };
  };

  test('over HTTPS behind a trusted proxy: __Host-scaikey_session, Secure, Path=/, no Domain', async () => {
    const { cookie } = await hostedLogin(proxied, { 'x-forwarded-proto': 'https' });
    expect(cookie).toMatch(/^__Host-scaikey_session=bs_[0-9a-f]{24}\.[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; Secure/i);
    expect(cookie).toMatch(/; Path=\/(;|$)/i);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).not.toMatch(/Domain=/i);
  });

  test('over plain http, or when the proxy header comes from an untrusted peer: the unprefixed name without Secure', async () => {
    for (const [s, headers] of [[proxied, {}], [server, { 'x-forwarded-proto': 'https' }]] as const) {
      const { cookie } = await hostedLogin(s, headers);
      expect(cookie).toMatch(/^scaikey_session=bs_/);
      expect(cookie).not.toMatch(/Secure/i);
    }
  });

  test('the cookie carries the session’s own secret (stored hashed), which /auth/refresh refuses', async () => {
    const { cookie, reply, user } = await hostedLogin(server);
    const value = /^scaikey_session=([^;]+)/.exec(cookie)![1]!;
    const session = await server.database.db.collection('sessions').findOne({ user_id: user._id });
    expect(session?._id.toHexString()).toBe(reply.body.data.session_id);
    expect(session?.browser_secret_hash).toBe(createHash('sha256').update(value).digest('base64url'));
    expect(JSON.stringify(session)).not.toContain(value);
    const refused = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: value } });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ detail: errorCatalogue.invalidRefreshToken.detail });
    expect((await server.database.db.collection('sessions').findOne({ _id: session!._id }))?.revoked_at).toBeNull();
  });
});
