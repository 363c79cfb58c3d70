// Admin Auth and Applications against the real server and database: admin sign-in through the one
// pipeline (lockout, MFA through the portal's verify, refresh, logout, me), the bootstrap admin,
// and the applications rules per role (visibility 404s, creation rules, secrets shown once).
import { generate } from 'otplib';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, enrolTotpDirectly, strongPassword } from '../support/fixtures.ts';
import { Applications } from '../../handlers/domain/applications/applications.ts';
import { tenantPublicId, userPublicId } from '../../handlers/core/public-ids.ts';

const BOOTSTRAP = { email: 'root@platform.test', password: 'bootstrap passphrase long enough' };
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: BOOTSTRAP.email, SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: BOOTSTRAP.password, LOCKOUT_THRESHOLD: '3' });
});
afterAll(async () => {
  await server?.stop();
});

async function adminLogin(email: string, password: string) {
  return server.call('POST', '/api/v1/admin/auth/login', { body: { email, password } });
}

async function tokenOf(email: string, password = strongPassword): Promise<string> {
  const reply = await adminLogin(email, password);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.access_token;
}

async function tenantAdmin(tenant: Awaited<ReturnType<typeof createTenant>>) {
  const { user, email } = await createUser(server, tenant);
  await server.domain.users.grantAdminRole(user._id, 'tenant_admin');
  return { user, email, token: await tokenOf(email) };
}

describe('bootstrap admin', () => {
  test('is created once in the platform tenant and can sign in; the platform tenant is not a portal tenant', async () => {
    const reply = await adminLogin(BOOTSTRAP.email, BOOTSTRAP.password);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'SUCCESS', token_type: 'bearer', user: { email: BOOTSTRAP.email, role: 'super_admin', tenant_slug: 'platform', partner_id: null } });
    expect(reply.body.expires_in).toBeGreaterThan(0);
    expect(decodeJwt(reply.body.access_token)).toMatchObject({ role: 'super_admin' });
    // Not offered by identify, not a portal account, no hosted page.
    const identify = await server.call('POST', '/api/v1/auth/identify', { body: { email: BOOTSTRAP.email } });
    expect(identify.body.tenants).toEqual([]);
    expect((await server.call('POST', '/api/v1/auth/login', { body: BOOTSTRAP })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/tenants/platform/login', { body: BOOTSTRAP })).status).toBe(404);
  });

  test('a later start (also two at once) creates nothing and never overwrites the password', async () => {
    const [a, b] = await Promise.all([
      startTestServer({ SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: BOOTSTRAP.email, SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: 'another password entirely here' }, { shareDatabaseWith: server }),
      startTestServer({ SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: 'second@platform.test', SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: 'another password entirely here' }, { shareDatabaseWith: server }),
    ]);
    await Promise.all([a.stop(), b.stop()]);
    const supers = await server.database.db.collection('users').countDocuments({ 'admin.role': 'super_admin' });
    expect(supers).toBe(1);
    expect((await adminLogin(BOOTSTRAP.email, 'another password entirely here')).status).toBe(401);
    expect((await adminLogin(BOOTSTRAP.email, BOOTSTRAP.password)).status).toBe(200);
    expect(await server.database.db.collection('tenants').countDocuments({ slug: 'platform' })).toBe(1);
  });

  test('two fresh replicas racing on an empty database create exactly one', async () => {
    const env = { SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: 'race@platform.test', SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: 'race passphrase long enough' };
    const first = await startTestServer(env);
    const second = await startTestServer(env, { shareDatabaseWith: first });
    try {
      expect(await first.database.db.collection('users').countDocuments({ 'admin.role': 'super_admin' })).toBe(1);
      const { bootstrapAdmin } = await import('../../handlers/domain/admin/bootstrap-admin.ts');
      const { createLogger } = await import('../../handlers/core/logger.ts');
      // Straight at the race: wipe, then two bootstraps at once.
      await first.database.db.collection('users').deleteMany({});
      const deps = { users: first.domain.users, tenants: first.domain.tenants, audit: first.domain.audit, clock: first.clock, logger: createLogger('silent') };
      const deps2 = { ...deps, users: second.domain.users, tenants: second.domain.tenants };
      const outcomes = await Promise.all([bootstrapAdmin(deps, { email: env.SCAIKEY_BOOTSTRAP_ADMIN_EMAIL, password: env.SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD }), bootstrapAdmin(deps2, { email: env.SCAIKEY_BOOTSTRAP_ADMIN_EMAIL, password: env.SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD })]);
      expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
      expect(await first.database.db.collection('users').countDocuments({ 'admin.role': 'super_admin' })).toBe(1);
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});

describe('admin sign-in', () => {
  test('a non-admin gets the same 401 as a wrong password; me, refresh and logout work for an admin', async () => {
    const tenant = await createTenant(server);
    const { email } = await createUser(server, tenant);
    const nonAdmin = await adminLogin(email, strongPassword);
    const wrong = await adminLogin(BOOTSTRAP.email, 'not the right password at all');
    expect([nonAdmin.status, nonAdmin.body]).toEqual([401, { detail: 'Invalid email or password' }]);
    expect([wrong.status, wrong.body]).toEqual([401, { detail: 'Invalid email or password' }]);

    const admin = await tenantAdmin(tenant);
    const claims = decodeJwt(admin.token);
    expect(claims).toMatchObject({ role: 'tenant_admin', tenant_id: tenantPublicId(tenant._id) });
    const me = await server.call('GET', '/api/v1/admin/auth/me', { token: admin.token });
    expect(me.body).toMatchObject({ email: admin.email, role: 'tenant_admin', tenant_slug: tenant.slug });

    const login = await adminLogin(admin.email, strongPassword);
    const refreshed = await server.call('POST', '/api/v1/admin/auth/refresh', { body: { refresh_token: login.body.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token)).toMatchObject({ role: 'tenant_admin' });
    expect((await server.call('POST', '/api/v1/admin/auth/refresh', { body: { refresh_token: 'rt_nope' } })).status).toBe(401);

    const logout = await server.call('POST', '/api/v1/admin/auth/logout', { token: refreshed.body.access_token });
    expect([logout.status, logout.body]).toEqual([200, { message: 'Logged out.' }]);
    expect((await server.call('GET', '/api/v1/admin/auth/me', { token: refreshed.body.access_token })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/admin/auth/refresh', { body: { refresh_token: refreshed.body.refresh_token } })).status).toBe(401);
  });

  test('a portal token of a non-admin gets 403 from admin endpoints; a removed role stops working at once', async () => {
    const tenant = await createTenant(server);
    const { email } = await createUser(server, tenant);
    const portal = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect(await server.call('GET', '/api/v1/admin/auth/me', { token: portal.body.access_token })).toMatchObject({ status: 403, body: { detail: 'Admin privileges required' } });
    expect((await server.call('GET', '/api/v1/admin/applications/', { token: portal.body.access_token })).status).toBe(403);

    const admin = await tenantAdmin(tenant);
    expect((await server.call('GET', '/api/v1/admin/applications/', { token: admin.token })).status).toBe(200);
    await server.domain.users.revokeAdminRole(admin.user._id);
    expect((await server.call('GET', '/api/v1/admin/applications/', { token: admin.token })).status).toBe(403);
  });

  test('lockout: wrong passwords lock the admin account like any other (429)', async () => {
    const tenant = await createTenant(server);
    const { user, email } = await createUser(server, tenant);
    await server.domain.users.grantAdminRole(user._id, 'tenant_admin');
    for (let i = 0; i < 3; i++) expect((await adminLogin(email, `wrong password number ${i}`)).status).toBe(401);
    const locked = await adminLogin(email, strongPassword);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBeTruthy();
  });

  test('MFA: a challenge, answered at the portal verify, gives admin tokens', async () => {
    const tenant = await createTenant(server);
    const { user, email } = await createUser(server, tenant);
    await server.domain.users.grantAdminRole(user._id, 'partner_admin', 'prt_mfa');
    const secret = await enrolTotpDirectly(server, user._id);
    const challenge = await adminLogin(email, strongPassword);
    expect(challenge.body).toMatchObject({ status: 'MFA_REQUIRED', access_token: null, user_id: userPublicId(user._id), available_methods: ['totp'] });
    const wrong = await server.call('POST', '/api/v1/auth/mfa/verify', { body: { mfa_token: challenge.body.mfa_token, user_id: challenge.body.user_id, method: 'totp', code: '000000' } });
    expect(wrong.status).toBe(401);
    const verified = await server.call('POST', '/api/v1/auth/mfa/verify', {
      body: { mfa_token: challenge.body.mfa_token, user_id: challenge.body.user_id, method: 'totp', code: await generate({ secret, epoch: Math.floor(server.clock.now().getTime() / 1000) }) },
    });
    expect(verified.status).toBe(200);
    expect(decodeJwt(verified.body.access_token)).toMatchObject({ role: 'partner_admin', partner_id: 'prt_mfa' });
    expect((await server.call('GET', '/api/v1/admin/auth/me', { token: verified.body.access_token })).body).toMatchObject({ role: 'partner_admin', partner_id: 'prt_mfa' });
  });
});

describe('applications', () => {
  let root: string;
  beforeAll(async () => {
    root = await tokenOf(BOOTSTRAP.email, BOOTSTRAP.password);
  });

  const create = (token: string, body: Record<string, unknown>) => server.call('POST', '/api/v1/admin/applications/', { token, body });

  test('super admin: create (secret once, hash never shown), read, list, patch replaces allowed_scopes, rotate, soft delete', async () => {
    const created = await create(root, { name: 'Aggregator', application_type: 'SERVICE', scope: 'GLOBAL', allowed_scopes: ['openid', 'admin:read'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ scope: 'GLOBAL', tenant_id: null, token_lifetime: 3600, is_confidential: true, status: 'active' });
    expect(created.body.id).toMatch(/^app_/);
    const secret = created.body.client_secret as string;
    expect(secret).toMatch(/^sks_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(created.body)).not.toContain('hash');
    const id = created.body.id as string;

    const got = await server.call('GET', `/api/v1/admin/applications/${id}`, { token: root });
    expect(got.status).toBe(200);
    expect(got.body.client_secret).toBeUndefined();
    expect(JSON.stringify(got.body)).not.toContain('hash');

    const patched = await server.call('PATCH', `/api/v1/admin/applications/${id}`, { token: root, body: { allowed_scopes: ['admin:write'] } });
    expect(patched.body.allowed_scopes).toEqual(['admin:write']);

    const stored = (await server.domain.applications.get(id))!;
    expect(Applications.secretMatches(stored, secret)).toBe(true);
    const rotated = await server.call('POST', `/api/v1/admin/applications/${id}/regenerate-secret`, { token: root });
    expect(rotated.status).toBe(200);
    expect(rotated.body.client_secret).not.toBe(secret);
    const after = (await server.domain.applications.get(id))!;
    expect(Applications.secretMatches(after, secret)).toBe(false);
    expect(Applications.secretMatches(after, rotated.body.client_secret)).toBe(true);

    const endpoints = await server.call('GET', `/api/v1/admin/applications/${id}/endpoints`, { token: root });
    expect(endpoints.body).toMatchObject({ issuer: `${server.config.PUBLIC_BASE_URL}/api/v1/platform/oauth`, token_endpoint: `${server.config.PUBLIC_BASE_URL}/api/v1/platform/oauth/token` });

    const listed = await server.call('GET', '/api/v1/admin/applications/?scope=GLOBAL&search=aggreg&per_page=5', { token: root });
    expect(listed.body).toMatchObject({ page: 1, per_page: 5 });
    expect(listed.body.items.map((a: { id: string }) => a.id)).toContain(id);

    expect((await server.call('DELETE', `/api/v1/admin/applications/${id}`, { token: root })).status).toBe(204);
    expect((await server.call('GET', `/api/v1/admin/applications/${id}`, { token: root })).status).toBe(404);
    expect((await server.call('DELETE', `/api/v1/admin/applications/${id}`, { token: root })).status).toBe(404);

    const audit = await server.database.db.collection('audit_events').find({ type: { $regex: '^admin\\.application\\.' } }).toArray();
    const createEvent = audit.find((e) => e.type === 'admin.application.create' && e.details.target.id === id)!;
    expect(createEvent).toMatchObject({ outcome: 'success', details: { actor: { kind: 'user', role: 'super_admin' }, request_id: expect.any(String) } });
    expect(audit.some((e) => e.type === 'admin.application.delete' && e.details.target.id === id && e.outcome === 'success')).toBe(true);
  });

  test('bad input: 422 for redirect URIs with a fragment, a wildcard or http off loopback, an unknown type, a scope change', async () => {
    const tenant = await createTenant(server);
    const base = { name: 'Web', application_type: 'WEB', scope: 'TENANT', tenant_id: tenant._id.toHexString() };
    for (const uri of ['https://app.example.com/cb#x', 'https://*.example.com/cb', 'http://app.example.com/cb']) {
      const reply = await create(root, { ...base, redirect_uris: [uri] });
      expect(reply.status, uri).toBe(422);
      expect(reply.body.detail[0].loc).toEqual(['body', 'redirect_uris']);
    }
    expect((await create(root, { ...base, application_type: 'DESKTOP' })).status).toBe(422);
    const ok = await create(root, { ...base, redirect_uris: ['http://localhost:3000/cb'] });
    expect(ok.status).toBe(201);
    const change = await server.call('PATCH', `/api/v1/admin/applications/${ok.body.id}`, { token: root, body: { scope: 'GLOBAL' } });
    expect(change.status).toBe(422);
    expect(change.body.detail[0].loc).toEqual(['body', 'scope']);
    const spa = await create(root, { ...base, application_type: 'SPA', redirect_uris: ['https://spa.example.com/cb'] });
    expect(spa.body.client_secret).toBeNull();
    expect((await server.call('POST', `/api/v1/admin/applications/${spa.body.id}/regenerate-secret`, { token: root })).status).toBe(422);
  });

  test('tenant admin: only its own tenant; others 404; GLOBAL visible but not manageable', async () => {
    const [mine, other] = await Promise.all([createTenant(server), createTenant(server)]);
    const admin = await tenantAdmin(mine);
    const own = await create(admin.token, { name: 'Own SPA', application_type: 'SPA', scope: 'TENANT', redirect_uris: ['https://own.example.com/cb'] });
    expect(own.status).toBe(201);
    expect(own.body.tenant_id).toBe(tenantPublicId(mine._id));
    const global = await create(root, { name: 'Global one', application_type: 'SERVICE', scope: 'GLOBAL' });
    const foreign = await create(root, { name: 'Foreign', application_type: 'SERVICE', scope: 'TENANT', tenant_id: other._id.toHexString() });

    expect((await create(admin.token, { name: 'G', application_type: 'SERVICE', scope: 'GLOBAL' })).status).toBe(403);
    expect((await create(admin.token, { name: 'X', application_type: 'SERVICE', scope: 'TENANT', tenant_id: tenantPublicId(other._id) })).status).toBe(403);

    const list = await server.call('GET', '/api/v1/admin/applications/?per_page=100', { token: admin.token });
    const ids = list.body.items.map((a: { id: string }) => a.id);
    expect(ids).toEqual(expect.arrayContaining([own.body.id, global.body.id]));
    expect(ids).not.toContain(foreign.body.id);
    expect((await server.call('GET', `/api/v1/admin/applications/${foreign.body.id}`, { token: admin.token })).status).toBe(404);
    expect((await server.call('DELETE', `/api/v1/admin/applications/${foreign.body.id}`, { token: admin.token })).status).toBe(404);
    expect((await server.call('GET', `/api/v1/admin/applications/${global.body.id}`, { token: admin.token })).status).toBe(200);
    expect(await server.call('PATCH', `/api/v1/admin/applications/${global.body.id}`, { token: admin.token, body: { name: 'Mine now' } })).toMatchObject({ status: 403, body: { detail: 'Insufficient admin privileges for this resource' } });
    const endpoints = await server.call('GET', `/api/v1/admin/applications/${own.body.id}/endpoints`, { token: admin.token });
    expect(endpoints.body.authorization_endpoint).toBe(`${server.config.PUBLIC_BASE_URL}/api/v1/auth/tenants/${mine.slug}/oauth/authorize`);
  });

  test('partner admin: its PARTNER apps and its tenants’ TENANT apps; nothing of another partner', async () => {
    const [inside, outside] = await Promise.all([createTenant(server), createTenant(server)]);
    await server.domain.tenants.update(inside.slug, { partnerId: 'prt_acme' });
    const { user, email } = await createUser(server, inside);
    await server.domain.users.grantAdminRole(user._id, 'partner_admin', 'prt_acme');
    const token = await tokenOf(email);
    expect(decodeJwt(token)).toMatchObject({ role: 'partner_admin', partner_id: 'prt_acme' });

    const partnerApp = await create(token, { name: 'Partner app', application_type: 'WEB', scope: 'PARTNER', redirect_uris: ['https://p.example.com/cb'] });
    expect(partnerApp.body).toMatchObject({ status: 'active', scope: 'PARTNER', partner_id: 'prt_acme' });
    const tenantApp = await create(token, { name: 'Inside', application_type: 'SERVICE', scope: 'TENANT', tenant_id: inside._id.toHexString() });
    expect(tenantApp.status).toBe(201);
    expect((await create(token, { name: 'Out', application_type: 'SERVICE', scope: 'TENANT', tenant_id: outside._id.toHexString() })).status).toBe(403);
    expect((await create(token, { name: 'Other partner', application_type: 'SERVICE', scope: 'PARTNER', partner_id: 'prt_other' })).status).toBe(403);
    expect((await create(token, { name: 'G', application_type: 'SERVICE', scope: 'GLOBAL' })).status).toBe(403);
    const otherPartner = await create(root, { name: 'Theirs', application_type: 'SERVICE', scope: 'PARTNER', partner_id: 'prt_other' });
    const outsideApp = await create(root, { name: 'Outside', application_type: 'SERVICE', scope: 'TENANT', tenant_id: outside._id.toHexString() });

    const ids = (await server.call('GET', '/api/v1/admin/applications/?per_page=100', { token })).body.items.map((a: { id: string }) => a.id);
    expect(ids).toEqual(expect.arrayContaining([partnerApp.body.id, tenantApp.body.id]));
    expect(ids).not.toContain(otherPartner.body.id);
    expect(ids).not.toContain(outsideApp.body.id);
    expect((await server.call('GET', `/api/v1/admin/applications/${outsideApp.body.id}`, { token })).status).toBe(404);
    const filtered = await server.call('GET', '/api/v1/admin/applications/?partner_id=prt_acme&per_page=100', { token: root });
    expect(filtered.body.items.map((a: { id: string }) => a.id).sort()).toEqual([partnerApp.body.id, tenantApp.body.id].sort());

    // A tenant admin of a partner's tenant sees the partner's PARTNER apps too.
    const ta = await tenantAdmin(inside);
    expect((await server.call('GET', `/api/v1/admin/applications/${partnerApp.body.id}`, { token: ta.token })).status).toBe(200);
  });

  test('unauthenticated: 401', async () => {
    expect((await server.call('GET', '/api/v1/admin/applications/')).status).toBe(401);
  });
});

describe('validation', () => {
  test('every new operation answers a FastAPI-shaped 422', async () => {
    const root = await tokenOf(BOOTSTRAP.email, BOOTSTRAP.password);
    const long = 'x'.repeat(65);
    const checks: Array<[string, string, unknown?]> = [
      ['POST', '/api/v1/admin/auth/login', { email: 'not an email', password: 'p' }],
      ['POST', '/api/v1/admin/auth/refresh', {}],
      ['GET', '/api/v1/admin/applications/?per_page=0'],
      ['POST', '/api/v1/admin/applications/', { name: 'x' }],
      ['GET', `/api/v1/admin/applications/${long}`],
      ['PATCH', `/api/v1/admin/applications/${long}`, {}],
      ['DELETE', `/api/v1/admin/applications/${long}`],
      ['POST', `/api/v1/admin/applications/${long}/regenerate-secret`],
      ['GET', `/api/v1/admin/applications/${long}/endpoints`],
    ];
    for (const [method, path, body] of checks) {
      const reply = await server.call(method, path, { token: root, ...(body === undefined ? {} : { body }) });
      expect(reply.status, `${method} ${path}`).toBe(422);
      expect(reply.body.detail[0]).toMatchObject({ loc: expect.any(Array), msg: expect.any(String), type: expect.any(String) });
    }
    const me = await server.call('GET', '/api/v1/admin/auth/me', { headers: { authorization: `Bearer ${'x'.repeat(9000)}` } });
    expect([401, 422]).toContain(me.status);
  });
});
