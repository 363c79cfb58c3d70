// Sessions admin group and the user's own sessions against the real server and database: per
// role (super, partner admin, tenant admin reaching another tenant → 404, platform tokens with
// admin:read only → writes 403, without admin scopes → 403), revocation of a session with its
// refresh tokens, revoke-all by user and tenant, and a revoked session refused on a second replica.
// The user's own sessions (/api/v1/me/sessions) are in me-sessions.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { parsePublicId } from '../../handlers/core/public-ids.ts';

const BOOTSTRAP = { email: 'root@platform.test', password: 'bootstrap passphrase long enough' };
// A long cache TTL, a short poll: a second replica drops a revoked session by the invalidation, not by expiry.
const ENV = { SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: BOOTSTRAP.email, SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: BOOTSTRAP.password, AUTH_CACHE_TTL_MS: '60000', AUTH_CACHE_POLL_MS: '100' };
let server: TestServer;
let root: string;

beforeAll(async () => {
  server = await startTestServer(ENV);
  root = await adminToken(BOOTSTRAP.email, BOOTSTRAP.password);
});
afterAll(async () => {
  await server?.stop();
});

async function adminToken(email: string, password = strongPassword): Promise<string> {
  const reply = await server.call('POST', '/api/v1/admin/auth/login', { body: { email, password } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.access_token;
}

async function portalLogin(email: string) {
  const reply = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as { access_token: string; refresh_token: string };
}

async function platformToken(scopes: string[]): Promise<string> {
  const { application, clientSecret } = await server.domain.applications.create({ name: `svc ${scopes.join(' ')}`, application_type: 'SERVICE', scope: 'GLOBAL', allowed_scopes: scopes });
  const response = await fetch(`${server.url}/api/v1/platform/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: application.client_id, client_secret: clientSecret!, scope: scopes.join(' ') }).toString(),
  });
  const body = (await response.json()) as { access_token: string };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token;
}

/** Two tenants of one partner, a third of none; a signed-in user in each; their admins. */
async function world() {
  const partnerId = `prt_${Math.random().toString(36).slice(2, 12)}`;
  const a = await createTenant(server);
  const b = await createTenant(server);
  const other = await createTenant(server);
  await server.domain.tenants.update(a.slug, { partnerId });
  await server.domain.tenants.update(b.slug, { partnerId });
  const userA = await createUser(server, a);
  const userB = await createUser(server, b);
  const userOther = await createUser(server, other);
  const adminA = await createUser(server, a);
  await server.domain.users.grantAdminRole(adminA.user._id, 'tenant_admin');
  const partnerAdmin = await createUser(server, other);
  await server.domain.users.grantAdminRole(partnerAdmin.user._id, 'partner_admin', partnerId);
  return {
    partnerId, a, b, other, userA, userB, userOther,
    sessionA: await portalLogin(userA.email),
    sessionB: await portalLogin(userB.email),
    sessionOther: await portalLogin(userOther.email),
    tenantAdminToken: await adminToken(adminA.email),
    partnerToken: await adminToken(partnerAdmin.email),
  };
}


async function sessionIdOf(token: string, userId: string): Promise<string> {
  const listed = await server.call('GET', `/api/v1/admin/sessions/?user_id=${userId}`, { token });
  expect(listed.status).toBe(200);
  return listed.body.items[0].id;
}

describe('admin sessions', () => {
  test('super admin: list (filters, newest first, no secrets), get, revoke (its refresh token too), then 404', async () => {
    const w = await world();
    const userId = `usr_${w.userA.user._id.toHexString()}`;
    const listed = await server.call('GET', `/api/v1/admin/sessions/?user_id=${userId}&per_page=5`, { token: root });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ total: 1, page: 1, per_page: 5 });
    const view = listed.body.items[0];
    expect(view).toMatchObject({ user_id: userId, user_email: w.userA.email, kind: 'portal', client_id: null, active: true, revoked_at: null, amr: ['pwd'] });
    expect(view.id).toMatch(/^ses_[0-9a-f]{24}$/);
    expect(parsePublicId('tenant', view.tenant_id)?.equals(w.a._id)).toBe(true);
    expect(JSON.stringify(listed.body)).not.toMatch(/hash|refresh|rt_/);

    const byPartner = await server.call('GET', `/api/v1/admin/sessions/?partner_id=${w.partnerId}`, { token: root });
    // userA, userB and tenant A's admin (signed in to the console).
    expect(byPartner.body.total).toBe(3);
    const byTenant = await server.call('GET', `/api/v1/admin/sessions/?tenant_id=tnt_${w.b._id.toHexString()}`, { token: root });
    expect(byTenant.body.items.map((s: { user_email: string }) => s.user_email)).toEqual([w.userB.email]);
    expect((await server.call('GET', '/api/v1/admin/sessions/?tenant_id=nonsense', { token: root })).body.total).toBe(0);

    const got = await server.call('GET', `/api/v1/admin/sessions/${view.id}`, { token: root });
    expect([got.status, got.body.id]).toEqual([200, view.id]);

    expect((await server.call('DELETE', `/api/v1/admin/sessions/${view.id}`, { token: root })).status).toBe(204);
    expect((await server.call('GET', '/api/v1/me', { token: w.sessionA.access_token })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: w.sessionA.refresh_token } })).status).toBe(401);
    const after = await server.call('GET', `/api/v1/admin/sessions/${view.id}`, { token: root });
    expect(after.body).toMatchObject({ active: false, revoked_reason: 'admin revoked' });
    expect((await server.call('DELETE', `/api/v1/admin/sessions/${view.id}`, { token: root })).status).toBe(404);
    expect((await server.call('GET', `/api/v1/admin/sessions/?user_id=${userId}`, { token: root })).body.total).toBe(0);

    const audit = await server.database.db.collection('audit_events').findOne({ type: 'admin.session.revoke', outcome: 'success', 'resource.id': view.id });
    expect(audit).toMatchObject({ actor: { type: 'admin', email: BOOTSTRAP.email }, partner_id: w.partnerId });
    expect(audit?.request_id).toBeTruthy();
  });

  test('validation: 422 for bad paging, an over-long id and a revoke-all without exactly one target', async () => {
    const long = 'x'.repeat(65);
    expect((await server.call('GET', '/api/v1/admin/sessions/?per_page=0', { token: root })).status).toBe(422);
    expect((await server.call('GET', `/api/v1/admin/sessions/${long}`, { token: root })).status).toBe(422);
    expect((await server.call('DELETE', `/api/v1/admin/sessions/${long}`, { token: root })).status).toBe(422);
    expect((await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: root, body: {} })).status).toBe(422);
    // A fixed path is its own resource: its 405 advertises only its own method, not its templated sibling's.
    const options = await server.call('OPTIONS', '/api/v1/admin/sessions/revoke-all', { token: root });
    expect(options.status).toBe(405);
    expect(options.headers.get('allow')).toBe('POST');
    const both = await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: root, body: { user_id: 'usr_x', tenant_id: 'tnt_y' } });
    expect(both.status).toBe(422);
    expect((await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: root, body: { user_id: 'a', extra: 1 } })).status).toBe(422);
    expect((await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: root, body: { user_id: 5 } })).status).toBe(422);
    expect((await server.call('GET', '/api/v1/admin/sessions/ses_000000000000000000000000', { token: root })).status).toBe(404);
    expect((await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: root, body: { user_id: 'usr_000000000000000000000000' } })).status).toBe(404);
  });

  test('revoke-all: one user, then a whole tenant; counts what it ended', async () => {
    const w = await world();
    await portalLogin(w.userA.email);
    const one = await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: root, body: { user_id: `usr_${w.userA.user._id.toHexString()}` } });
    expect([one.status, one.body]).toEqual([200, { revoked: 2 }]);
    expect((await server.call('GET', '/api/v1/me', { token: w.sessionA.access_token })).status).toBe(401);
    await portalLogin(w.userB.email);
    const tenant = await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: root, body: { tenant_id: `tnt_${w.b._id.toHexString()}` } });
    expect(tenant.body).toEqual({ revoked: 2 });
    expect((await server.call('GET', '/api/v1/me', { token: w.sessionB.access_token })).status).toBe(401);
    // Other tenants untouched.
    expect((await server.call('GET', '/api/v1/me', { token: w.sessionOther.access_token })).status).toBe(200);
  });

  test("tenant admin: its own tenant's sessions only; another tenant's answer 404 and nothing is revoked", async () => {
    const w = await world();
    const listed = await server.call('GET', '/api/v1/admin/sessions/', { token: w.tenantAdminToken });
    expect(listed.status).toBe(200);
    const tenants = new Set(listed.body.items.map((s: { tenant_id: string }) => parsePublicId('tenant', s.tenant_id)!.toHexString()));
    expect([...tenants]).toEqual([w.a._id.toHexString()]);
    const foreign = await sessionIdOf(root, `usr_${w.userB.user._id.toHexString()}`);
    expect((await server.call('GET', `/api/v1/admin/sessions/${foreign}`, { token: w.tenantAdminToken })).status).toBe(404);
    expect((await server.call('DELETE', `/api/v1/admin/sessions/${foreign}`, { token: w.tenantAdminToken })).status).toBe(404);
    expect((await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: w.tenantAdminToken, body: { tenant_id: `tnt_${w.b._id.toHexString()}` } })).status).toBe(404);
    expect((await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: w.tenantAdminToken, body: { user_id: `usr_${w.userB.user._id.toHexString()}` } })).status).toBe(404);
    expect((await server.call('GET', `/api/v1/admin/sessions/?tenant_id=tnt_${w.b._id.toHexString()}`, { token: w.tenantAdminToken })).body.total).toBe(0);
    expect((await server.call('GET', '/api/v1/me', { token: w.sessionB.access_token })).status).toBe(200);
    const refused = await server.database.db.collection('audit_events').findOne({ type: 'admin.session.revoke', outcome: 'failure', 'resource.id': foreign });
    expect(refused?.details).toMatchObject({ reason: 'notFound' });
    // Its own tenant's: allowed.
    const own = await sessionIdOf(w.tenantAdminToken, `usr_${w.userA.user._id.toHexString()}`);
    expect((await server.call('DELETE', `/api/v1/admin/sessions/${own}`, { token: w.tenantAdminToken })).status).toBe(204);
  });

  test("partner admin: its partner's tenants' sessions; a tenant outside the partner answers 404", async () => {
    const w = await world();
    const listed = await server.call('GET', '/api/v1/admin/sessions/?per_page=100', { token: w.partnerToken });
    const emails = listed.body.items.map((s: { user_email: string }) => s.user_email);
    expect(emails).toEqual(expect.arrayContaining([w.userA.email, w.userB.email]));
    expect(emails).not.toContain(w.userOther.email);
    const outside = await sessionIdOf(root, `usr_${w.userOther.user._id.toHexString()}`);
    expect((await server.call('GET', `/api/v1/admin/sessions/${outside}`, { token: w.partnerToken })).status).toBe(404);
    const revoked = await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: w.partnerToken, body: { tenant_id: `tnt_${w.b._id.toHexString()}` } });
    expect([revoked.status, revoked.body.revoked]).toEqual([200, 1]);
  });

  test('platform tokens: admin:read reads but may not revoke (403); no admin scope: 403', async () => {
    const w = await world();
    const reader = await platformToken(['admin:read']);
    const listed = await server.call('GET', '/api/v1/admin/sessions/', { token: reader });
    expect(listed.status).toBe(200);
    const id = await sessionIdOf(reader, `usr_${w.userA.user._id.toHexString()}`);
    const refused = await server.call('DELETE', `/api/v1/admin/sessions/${id}`, { token: reader });
    expect([refused.status, refused.body]).toEqual([403, { detail: 'Platform token requires admin:read or admin:write scope' }]);
    expect((await server.call('POST', '/api/v1/admin/sessions/revoke-all', { token: reader, body: { user_id: 'usr_x' } })).status).toBe(403);
    const none = await platformToken(['openid']);
    expect((await server.call('GET', '/api/v1/admin/sessions/', { token: none })).status).toBe(403);
    const writer = await platformToken(['admin:write']);
    expect((await server.call('DELETE', `/api/v1/admin/sessions/${id}`, { token: writer })).status).toBe(204);
    // A portal user is no admin.
    expect((await server.call('GET', '/api/v1/admin/sessions/', { token: w.sessionB.access_token })).status).toBe(403);
    expect((await server.call('GET', '/api/v1/admin/sessions/')).status).toBe(401);
  });

  test('a revoked session stops working on a second replica within the poll interval', async () => {
    const replica = await startTestServer(ENV, { shareDatabaseWith: server });
    try {
      const tenant = await createTenant(server);
      const { email, user } = await createUser(server, tenant);
      const session = await portalLogin(email);
      // The replica reads (and caches) the session.
      expect((await replica.call('GET', '/api/v1/me', { token: session.access_token })).status).toBe(200);
      const id = await sessionIdOf(root, `usr_${user._id.toHexString()}`);
      expect((await server.call('DELETE', `/api/v1/admin/sessions/${id}`, { token: root })).status).toBe(204);
      let status = 200;
      for (let i = 0; i < 40 && status === 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await replica.call('GET', '/api/v1/me', { token: session.access_token })).status;
      }
      expect(status).toBe(401);
    } finally {
      await replica.stop();
    }
  });
});
