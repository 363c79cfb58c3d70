// Audit admin group against the real server and database: entries of real events (sign-ins,
// admin writes) with actor, resource, partner and request id; the filters; the catalogues; and
// per role (super, partner admin, tenant admin reaching another tenant → 404, platform tokens).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { isKnownAction } from '../../handlers/domain/audit/audit-actions.ts';

const BOOTSTRAP = { email: 'root@platform.test', password: 'bootstrap passphrase long enough' };
let server: TestServer;
let root: string;

beforeAll(async () => {
  server = await startTestServer({ SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: BOOTSTRAP.email, SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: BOOTSTRAP.password });
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

async function platformToken(scopes: string[]): Promise<string> {
  const { application, clientSecret } = await server.domain.applications.create({ name: `svc ${scopes.join(' ')}`, application_type: 'SERVICE', scope: 'GLOBAL', allowed_scopes: scopes });
  const response = await fetch(`${server.url}/api/v1/platform/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: application.client_id, client_secret: clientSecret!, scope: scopes.join(' ') }).toString(),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function world() {
  const partnerId = `prt_${Math.random().toString(36).slice(2, 12)}`;
  const a = await createTenant(server);
  const b = await createTenant(server);
  await server.domain.tenants.update(a.slug, { partnerId });
  const userA = await createUser(server, a);
  const userB = await createUser(server, b);
  // A failed and a successful sign-in in each tenant.
  for (const u of [userA, userB]) {
    await server.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'a wrong password entirely' }, headers: { 'x-forwarded-for': '198.51.100.23' } });
    await server.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: strongPassword } });
  }
  const adminA = await createUser(server, a);
  await server.domain.users.grantAdminRole(adminA.user._id, 'tenant_admin');
  const partnerAdmin = await createUser(server, b);
  await server.domain.users.grantAdminRole(partnerAdmin.user._id, 'partner_admin', partnerId);
  return { partnerId, a, b, userA, userB, adminA, tenantAdminToken: await adminToken(adminA.email), partnerToken: await adminToken(partnerAdmin.email) };
}

const list = (token: string, query = '') => server.call('GET', `/api/v1/admin/audit/${query}`, { token });

describe('audit', () => {
  test('super admin: entries with the documented view, filters, one entry by id', async () => {
    const w = await world();
    const userId = `usr_${w.userA.user._id.toHexString()}`;
    const logins = await list(root, `?actor_id=${userId}&action=login`);
    expect(logins.status).toBe(200);
    expect(logins.body.total).toBe(2);
    const [newest, older] = logins.body.items;
    expect(newest).toMatchObject({ action: 'login', result: 'success', actor: { id: userId, type: 'user' }, resource: { type: 'user', id: userId }, tenant_id: `tnt_${w.a._id.toHexString()}`, partner_id: w.partnerId });
    expect(older.result).toBe('failure');
    expect(newest.id).toMatch(/^aud_[0-9a-f]{24}$/);
    expect(Date.parse(newest.timestamp)).toBeGreaterThanOrEqual(Date.parse(older.timestamp));

    expect((await list(root, `?actor_id=${userId}&result=failure`)).body.total).toBe(1);
    expect((await list(root, `?actor_email=${encodeURIComponent(w.userA.email.toUpperCase())}&action=login`)).body.total).toBe(2);
    // userB's two, and the partner admin's console sign-in (it lives in tenant B).
    expect((await list(root, `?tenant_id=tnt_${w.b._id.toHexString()}&action=login`)).body.total).toBe(3);
    expect((await list(root, `?partner_id=${w.partnerId}&action=login&per_page=100`)).body.items.every((e: { tenant_id: string }) => e.tenant_id === `tnt_${w.a._id.toHexString()}`)).toBe(true);
    expect((await list(root, `?resource_type=user&resource_id=${userId}&action=login`)).body.total).toBe(2);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await list(root, `?actor_id=${userId}&start_time=${encodeURIComponent(future)}`)).body.total).toBe(0);
    expect((await list(root, `?actor_id=${userId}&end_time=${encodeURIComponent(future)}`)).body.total).toBeGreaterThanOrEqual(2);
    expect((await list(root, `?ip_address=192.0.2.250`)).body.total).toBe(0);

    const one = await server.call('GET', `/api/v1/admin/audit/${newest.id}`, { token: root });
    expect([one.status, one.body]).toEqual([200, newest]);
    expect((await server.call('GET', '/api/v1/admin/audit/aud_000000000000000000000000', { token: root })).status).toBe(404);
  });

  test('an admin write is an entry with its admin actor, resource and request id', async () => {
    const w = await world();
    const created = await server.call('POST', '/api/v1/admin/applications/', { token: w.tenantAdminToken, body: { name: 'Audited', application_type: 'SPA', scope: 'TENANT', redirect_uris: ['https://app.example.com/cb'] } });
    expect(created.status).toBe(201);
    const entries = await list(root, `?action=admin.application.create&actor_id=usr_${w.adminA.user._id.toHexString()}`);
    expect(entries.body.total).toBe(1);
    expect(entries.body.items[0]).toMatchObject({ result: 'success', actor: { type: 'admin', email: w.adminA.email }, resource: { type: 'application', id: created.body.id } });
    expect(entries.body.items[0].request_id).toBeTruthy();
  });

  test('validation: 422 for an unknown result, a bad date, an end before the start, an over-long id', async () => {
    expect((await list(root, '?result=maybe')).status).toBe(422);
    expect((await list(root, '?start_time=yesterday')).status).toBe(422);
    expect((await list(root, '?start_time=')).status).toBe(422); // strict input: empty is not "no filter"
    const reversed = await list(root, `?start_time=${encodeURIComponent('2026-05-02T00:00:00Z')}&end_time=${encodeURIComponent('2026-05-01T00:00:00Z')}`);
    expect(reversed.status).toBe(422);
    expect((await server.call('GET', `/api/v1/admin/audit/${'x'.repeat(65)}`, { token: root })).status).toBe(422);
  });

  test('catalogues: actions (every type the code records) and resource types', async () => {
    const actions = await server.call('GET', '/api/v1/admin/audit/actions', { token: root });
    expect(actions.status).toBe(200);
    expect(actions.body.total).toBe(actions.body.items.length);
    expect(actions.body.items.map((a: { action: string }) => a.action)).toEqual(expect.arrayContaining(['login', 'admin.session.revoke', 'admin.application.create']));
    const types = await server.call('GET', '/api/v1/admin/audit/resource-types', { token: root });
    expect(types.status).toBe(200);
    const known = new Set(types.body.items.map((t: { resource_type: string }) => t.resource_type));
    for (const action of actions.body.items) expect(known.has(action.resource_type)).toBe(true);
  });

  test('every audit type the code records is in the catalogue', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk(join(import.meta.dirname, '../../handlers/domain'));
    const patterns = [/audit\.record\(\{\s*type: '([^']+)'/g, /factorChanged\(account, '([^']+)'/g, /this\.audited\(actor, request, '([^']+)'/g, /confirm(?:Password)?\([^)]*\{ type: '([^']+)'/g, /const event = \{ type: '([^']+)'/g];
    const recorded = new Set<string>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of patterns) for (const match of text.matchAll(pattern)) recorded.add(match[1]!);
    }
    expect(recorded.size).toBeGreaterThan(15);
    expect([...recorded].filter((type) => !isKnownAction(type))).toEqual([]);
  });

  test("tenant admin: its tenant's entries only; another tenant's entry is 404", async () => {
    const w = await world();
    const own = await list(w.tenantAdminToken, '?per_page=100');
    expect(own.status).toBe(200);
    expect(own.body.items.every((e: { tenant_id: string }) => e.tenant_id === `tnt_${w.a._id.toHexString()}`)).toBe(true);
    const foreign = (await list(root, `?tenant_id=tnt_${w.b._id.toHexString()}`)).body.items[0];
    expect((await server.call('GET', `/api/v1/admin/audit/${foreign.id}`, { token: w.tenantAdminToken })).status).toBe(404);
    expect((await list(w.tenantAdminToken, `?tenant_id=tnt_${w.b._id.toHexString()}`)).body.total).toBe(0);
    // Platform entries (no tenant) are the super admin's only.
    const bootstrap = (await list(root, '?action=admin.bootstrap')).body.items[0];
    expect((await server.call('GET', `/api/v1/admin/audit/${bootstrap.id}`, { token: w.tenantAdminToken })).status).toBe(404);
  });

  test("partner admin: its partner's tenants' entries; others 404", async () => {
    const w = await world();
    const seen = await list(w.partnerToken, '?per_page=100');
    expect(seen.body.total).toBeGreaterThan(0);
    expect(seen.body.items.every((e: { tenant_id: string }) => e.tenant_id === `tnt_${w.a._id.toHexString()}`)).toBe(true);
    const foreign = (await list(root, `?tenant_id=tnt_${w.b._id.toHexString()}`)).body.items[0];
    expect((await server.call('GET', `/api/v1/admin/audit/${foreign.id}`, { token: w.partnerToken })).status).toBe(404);
  });

  test('platform tokens: admin:read reads; no admin scope: 403; a portal user: 403; none: 401', async () => {
    const reader = await platformToken(['admin:read']);
    expect((await list(reader)).status).toBe(200);
    expect((await server.call('GET', '/api/v1/admin/audit/actions', { token: reader })).status).toBe(200);
    const none = await platformToken(['openid']);
    const refused = await list(none);
    expect([refused.status, refused.body]).toEqual([403, { detail: 'Platform token requires admin:read or admin:write scope' }]);
    expect((await server.call('GET', '/api/v1/admin/audit/resource-types', { token: none })).status).toBe(403);
    const tenant = await createTenant(server);
    const { email } = await createUser(server, tenant);
    const portal = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect((await list(portal.body.access_token)).status).toBe(403);
    expect((await server.call('GET', '/api/v1/admin/audit/')).status).toBe(401);
  });
});
