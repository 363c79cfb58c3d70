// The Tenants admin group against the real server and database, per role: super admins write,
// partner admins read their partner's tenants, tenant admins their own (404 beyond, 403 for
// writes to what they see); slugs unique under races; suspension and soft delete end sessions
// and close the hosted pages at once (also on another replica); branding on the hosted pages.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startIssuerServer, startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { bootstrapEnv, partnerAdminToken, platformToken, superToken, tenantAdminToken } from '../support/admin-roles.ts';
import { parsePublicId } from '../../handlers/core/public-ids.ts';

let server: TestServer;
let root: string;
const T = '/api/v1/admin/tenants/';

beforeAll(async () => {
  server = await startIssuerServer(bootstrapEnv);
  root = await superToken(server);
});
afterAll(async () => {
  await server?.stop();
});

let n = 0;
const slug = (base: string) => `${base}-${++n}-${Math.random().toString(36).slice(2, 6)}`;
const newPartner = async (extra: Record<string, unknown> = {}) => (await server.call('POST', '/api/v1/admin/partners/', { token: root, body: { name: 'P', slug: slug('p'), ...extra } })).body as { id: string };
const newTenant = async (body: Record<string, unknown> = {}, token = root) => server.call('POST', T, { token, body: { name: 'Tenant', slug: slug('t'), ...body } });

describe('super admin', () => {
  test('create (platform defaults), get, list with filters, patch settings and branding, soft delete', async () => {
    const partner = await newPartner();
    const created = await newTenant({ name: 'Acme', partner_id: partner.id, contact_email: 'it@acme.example', settings: { mfa_required: true, password_policy: { min_length: 16 } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.id).toMatch(/^tnt_[0-9a-f]{24}$/);
    expect(created.body).toMatchObject({ name: 'Acme', status: 'active', partner_id: partner.id, contact_email: 'it@acme.example', settings: { mfa_required: true, password_policy: { min_length: 16, max_length: 128, block_common: true } }, branding: { name: null, logo_url: null } });
    const id = created.body.id as string;
    expect(parsePublicId('tenant', id)).not.toBeNull();

    expect((await server.call('GET', `${T}${id}`, { token: root })).body).toMatchObject({ id, slug: created.body.slug });
    expect((await server.call('GET', `${T}${id.slice(4)}`, { token: root })).status).toBe(200); // legacy bare hex
    const listed = await server.call('GET', `${T}?partner_id=${partner.id}&status=active&search=acme`, { token: root });
    expect(listed.body).toMatchObject({ total: 1, page: 1, per_page: 20, items: [{ id }] });
    expect((await server.call('GET', `${T}?partner_id=${partner.id}&status=suspended`, { token: root })).body.total).toBe(0);
    // The platform tenant is never listed nor reachable here.
    const all = await server.call('GET', `${T}?per_page=100&search=platform`, { token: root });
    expect(all.body.items.map((t: { slug: string }) => t.slug)).not.toContain('platform');
    const platform = await server.database.db.collection('tenants').findOne({ slug: 'platform' });
    expect((await server.call('GET', `${T}tnt_${platform!._id.toHexString()}`, { token: root })).status).toBe(404);
    expect((await server.call('PATCH', `${T}tnt_${platform!._id.toHexString()}`, { token: root, body: { name: 'x' } })).status).toBe(404);

    const patched = await server.call('PATCH', `${T}${id}`, { token: root, body: {
      name: 'Acme Corp', contact_email: null,
      settings: { self_registration: true, allowed_redirect_uris: ['https://app.acme.example/cb', 'http://localhost:3000/cb'], access_token_ttl: 900, lockout: { threshold: 5, duration_seconds: 600 }, password_policy: { max_length: 256 } },
      branding: { name: 'Acme', primary_color: '#0055AA', logo_url: 'https://cdn.acme.example/logo.png' },
    } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({
      name: 'Acme Corp', contact_email: null,
      settings: { self_registration: true, mfa_required: true, access_token_ttl: 900, lockout: { threshold: 5, duration_seconds: 600 }, password_policy: { min_length: 16, max_length: 256 } },
      branding: { name: 'Acme', primary_color: '#0055aa', logo_url: 'https://cdn.acme.example/logo.png', background_color: null },
    });

    expect((await server.call('DELETE', `${T}${id}`, { token: root })).status).toBe(204);
    expect((await server.call('GET', `${T}${id}`, { token: root })).status).toBe(404);
    expect((await server.call('DELETE', `${T}${id}`, { token: root })).status).toBe(404);
    expect((await server.call('GET', `${T}?partner_id=${partner.id}`, { token: root })).body.total).toBe(0);
    const audit = await server.database.db.collection('audit_events').find({ 'details.target.id': id, outcome: 'success' }).toArray();
    expect(audit.map((e) => e.type)).toEqual(['admin.tenant.create', 'admin.tenant.update', 'admin.tenant.delete']);
  });

  test('422: unknown fields, wrong types, bad slugs, settings out of range, bad redirect URIs, bad branding, unknown partner', async () => {
    const tenant = (await newTenant()).body;
    const bad: Array<Record<string, unknown>> = [
      { extra: true },
      { name: 5 },
      { slug: 'Not A Slug' },
      { status: 'deleted' },
      { settings: { access_token_ttl: 5 } },
      { settings: { mfa_methods: ['sms'] } },
      { settings: { mfa_methods: [] } },
      { settings: { unknown: 1 } },
      { settings: { password_policy: { min_length: 4 } } },
      { settings: { password_policy: { min_length: 100, max_length: 64 } } },
      { settings: { allowed_redirect_uris: ['ftp://x.example/cb'] } },
      { settings: { allowed_redirect_uris: ['http://evil.example/cb'] } },
      { settings: { allowed_redirect_uris: ['https://x.example/cb#f'] } },
      { branding: { logo_url: 'http://cdn.example/logo.png' } },
      { branding: { logo_url: 'javascript:alert(1)' } },
      { branding: { primary_color: 'red' } },
      { branding: { background_color: '#fff;}' } },
      { partner_id: 'not-a-partner' },
      { partner_id: 'prt_doesnotexist00' },
    ];
    for (const body of bad) {
      const reply = await server.call('PATCH', `${T}${tenant.id}`, { token: root, body });
      expect(reply.status, JSON.stringify(body)).toBe(422);
    }
    expect((await newTenant({ settings: { refresh_idle_ttl: 1 } })).status).toBe(422);
    expect((await newTenant({ slug: 'platform' })).status).toBe(422);
    expect((await newTenant({ partner_id: 'prt_doesnotexist00' })).status).toBe(422);
    expect((await server.call('GET', `${T}?per_page=0`, { token: root })).status).toBe(422);
    expect((await server.call('GET', `${T}${'f'.repeat(80)}`, { token: root })).status).toBe(422);
    expect((await server.call('DELETE', `${T}${'f'.repeat(80)}`, { token: root })).status).toBe(422);
    expect((await server.call('GET', `${T}tnt_nothex`, { token: root })).status).toBe(404);
    // Nothing was written by the refusals.
    expect((await server.call('GET', `${T}${tenant.id}`, { token: root })).body).toMatchObject({ status: 'active', partner_id: null, branding: { logo_url: null } });
  });

  test('slugs: parallel creates with one slug give one 201; a rename onto a taken slug is 409 and writes nothing; a renamed slug moves the hosted pages', async () => {
    const s = slug('race');
    const replies = await Promise.all(Array.from({ length: 6 }, () => newTenant({ slug: s })));
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(replies.find((r) => r.status === 409)!.body).toEqual({ detail: 'A tenant with this slug already exists' });
    const other = (await newTenant({ name: 'Other' })).body;
    const clash = await server.call('PATCH', `${T}${other.id}`, { token: root, body: { slug: s, name: 'Changed' } });
    expect([clash.status, clash.body]).toEqual([409, { detail: 'A tenant with this slug already exists' }]);
    expect((await server.call('GET', `${T}${other.id}`, { token: root })).body.name).toBe('Other');

    expect((await fetch(`${server.url}/t/${other.slug}/login`)).status).toBe(200);
    const renamed = slug('renamed');
    expect((await server.call('PATCH', `${T}${other.id}`, { token: root, body: { slug: renamed } })).body.slug).toBe(renamed);
    expect((await fetch(`${server.url}/t/${other.slug}/login`)).status).toBe(404);
    expect((await fetch(`${server.url}/t/${renamed}/login`)).status).toBe(200);
  });

  test('moving a tenant between partners: the target limit applies, slots move with it', async () => {
    const full = await newPartner({ max_tenants: 1 });
    const roomy = await newPartner({ max_tenants: 5 });
    expect((await newTenant({ partner_id: full.id })).status).toBe(201);
    const mover = (await newTenant({ partner_id: roomy.id })).body;
    const refused = await server.call('PATCH', `${T}${mover.id}`, { token: root, body: { partner_id: full.id } });
    expect([refused.status, refused.body]).toEqual([409, { detail: "The partner's tenant limit has been reached" }]);
    expect((await server.call('GET', `${T}${mover.id}`, { token: root })).body.partner_id).toBe(roomy.id);
    const spare = await newPartner({ max_tenants: 1 });
    expect((await server.call('PATCH', `${T}${mover.id}`, { token: root, body: { partner_id: spare.id } })).body.partner_id).toBe(spare.id);
    const counts = async (id: string) => (await server.call('GET', `/api/v1/admin/partners/${id}`, { token: root })).body.tenant_count;
    expect([await counts(roomy.id), await counts(spare.id)]).toEqual([0, 1]);
    expect((await server.call('PATCH', `${T}${mover.id}`, { token: root, body: { partner_id: null } })).body.partner_id).toBeNull();
    expect(await counts(spare.id)).toBe(0);
  });
});

describe('suspension and soft delete', () => {
  test('suspending ends the tenant\'s sessions and closes its hosted sign-in; reactivating opens it again', async () => {
    const tenant = (await newTenant({ settings: { require_email_verification: false } })).body;
    const doc = await server.domain.tenants.getLiveBySlug(tenant.slug);
    const { email } = await createUser(server, doc!);
    const login = () => server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword } });
    expect((await login()).status).toBe(200);
    const session = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect(session.status).toBe(200);
    expect((await server.call('GET', '/api/v1/me', { token: session.body.access_token })).status).toBe(200);

    const suspended = await server.call('PATCH', `${T}${tenant.id}`, { token: root, body: { status: 'suspended' } });
    expect(suspended.body.status).toBe('suspended');
    expect((await server.call('GET', '/api/v1/me', { token: session.body.access_token })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: session.body.refresh_token } })).status).toBe(401);
    expect((await login()).status).toBe(404);
    expect((await fetch(`${server.url}/t/${tenant.slug}/login`)).status).toBe(404);
    expect((await server.call('GET', `${T}?status=suspended&search=${tenant.slug}`, { token: root })).body.total).toBe(1);
    const open = await server.database.db.collection('sessions').countDocuments({ tenant_id: doc!._id, revoked_at: null });
    expect(open).toBe(0);

    await server.call('PATCH', `${T}${tenant.id}`, { token: root, body: { status: 'active' } });
    expect((await login()).status).toBe(200);
  });

  test('a tenant suspended through one replica is closed on another within the poll interval', async () => {
    const other = await startTestServer({}, { shareDatabaseWith: server });
    try {
      const tenant = (await newTenant({ settings: { require_email_verification: false } })).body;
      const doc = await server.domain.tenants.getLiveBySlug(tenant.slug);
      const { email } = await createUser(server, doc!);
      const login = () => other.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword } });
      expect((await login()).status).toBe(200);
      const session = await other.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
      expect(session.status).toBe(200);
      expect((await other.call('GET', '/api/v1/me', { token: session.body.access_token })).status).toBe(200);
      await server.call('PATCH', `${T}${tenant.id}`, { token: root, body: { status: 'suspended' } });
      await other.database.pollInvalidations();
      expect((await other.call('GET', '/api/v1/me', { token: session.body.access_token })).status).toBe(401);
      expect((await login()).status).toBe(404);
    } finally {
      await other.stop();
    }
  });

  test('a deleted tenant is gone everywhere: hosted pages, identify, the token endpoints, the API', async () => {
    const tenant = (await newTenant({ settings: { require_email_verification: false } })).body;
    const doc = await server.domain.tenants.getLiveBySlug(tenant.slug);
    const { email } = await createUser(server, doc!);
    const session = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect(session.status).toBe(200);
    expect((await server.call('GET', '/api/v1/me', { token: session.body.access_token })).status).toBe(200);
    expect((await server.call('DELETE', `${T}${tenant.id}`, { token: root })).status).toBe(204);
    expect((await server.call('GET', '/api/v1/me', { token: session.body.access_token })).status).toBe(401);
    expect((await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword } })).status).toBe(404);
    expect((await fetch(`${server.url}/t/${tenant.slug}/login`)).status).toBe(404);
    expect((await server.call('POST', '/api/v1/auth/identify', { body: { email } })).body.tenants).toEqual([]);
    expect((await fetch(`${server.url}/api/v1/auth/tenants/${tenant.slug}/.well-known/openid-configuration`)).status).toBe(404);
    // Its slug stays taken (links and issuers must not come back as another tenant).
    expect((await newTenant({ slug: tenant.slug })).status).toBe(409);
  });
});

describe('other roles', () => {
  test('partner admin: reads its partner\'s tenants only; 403 for writes to them, 404 for others', async () => {
    const partner = await newPartner();
    const mine = (await newTenant({ partner_id: partner.id })).body;
    const theirs = (await newTenant()).body;
    const token = await partnerAdminToken(server, await createTenant(server), partner.id);
    const listed = await server.call('GET', `${T}?per_page=100`, { token });
    expect(listed.body.items.map((t: { id: string }) => t.id)).toEqual([mine.id]);
    expect((await server.call('GET', `${T}?partner_id=prt_someoneelse0000`, { token })).body.total).toBe(0);
    expect((await server.call('GET', `${T}${mine.id}`, { token })).status).toBe(200);
    expect((await server.call('GET', `${T}${theirs.id}`, { token })).status).toBe(404);
    expect(await server.call('PATCH', `${T}${mine.id}`, { token, body: { name: 'x' } })).toMatchObject({ status: 403, body: { detail: 'Insufficient admin privileges for this resource' } });
    expect((await server.call('PATCH', `${T}${theirs.id}`, { token, body: { name: 'x' } })).status).toBe(404);
    expect((await server.call('DELETE', `${T}${mine.id}`, { token })).status).toBe(403);
    expect((await server.call('DELETE', `${T}${theirs.id}`, { token })).status).toBe(404);
    expect((await newTenant({ partner_id: partner.id }, token)).status).toBe(403);
    const refusal = await server.database.db.collection('audit_events').findOne({ type: 'admin.tenant.update', outcome: 'failure', 'details.target.id': mine.id });
    expect(refusal?.details).toMatchObject({ reason: 'adminOutOfReach', actor: { role: 'partner_admin' } });
  });

  test('tenant admin: reads its own tenant only; writes 403 (own) / 404 (others)', async () => {
    const own = (await newTenant()).body;
    const other = (await newTenant()).body;
    const doc = await server.domain.tenants.getLiveBySlug(own.slug);
    const token = await tenantAdminToken(server, doc!);
    expect((await server.call('GET', T, { token })).body).toMatchObject({ total: 1, items: [{ id: own.id }] });
    expect((await server.call('GET', `${T}${own.id}`, { token })).status).toBe(200);
    expect((await server.call('GET', `${T}${other.id}`, { token })).status).toBe(404);
    expect((await server.call('PATCH', `${T}${own.id}`, { token, body: { status: 'suspended' } })).status).toBe(403);
    expect((await server.call('PATCH', `${T}${other.id}`, { token, body: { status: 'suspended' } })).status).toBe(404);
    expect((await newTenant({}, token)).status).toBe(403);
    expect((await server.call('GET', `${T}${own.id}`, { token: root })).body.status).toBe('active');
  });

  test('platform tokens: admin:read lists and reads, admin:write creates, no scope is refused', async () => {
    const reader = await platformToken(server, ['admin:read']);
    const writer = await platformToken(server, ['admin:write']);
    const none = await platformToken(server, []);
    expect((await server.call('GET', T, { token: reader })).status).toBe(200);
    expect(await newTenant({}, reader)).toMatchObject({ status: 403, body: { detail: 'Platform token requires admin:read or admin:write scope' } });
    const made = await newTenant({}, writer);
    expect(made.status).toBe(201);
    expect((await server.call('GET', `${T}${made.body.id}`, { token: reader })).status).toBe(200);
    expect((await server.call('PATCH', `${T}${made.body.id}`, { token: writer, body: { name: 'By token' } })).body.name).toBe('By token');
    expect(await server.call('GET', T, { token: none })).toMatchObject({ status: 403, body: { detail: 'Platform token requires admin:read or admin:write scope' } });
    expect((await server.call('GET', T)).status).toBe(401);
  });
});

describe('branding on the hosted pages', () => {
  test('a branded tenant\'s login page shows its name and https logo; colours come from its stylesheet; everything escaped', async () => {
    const tenant = (await newTenant({ name: 'Plain <Name>', branding: { name: 'Acme <b>"Brand"</b>', logo_url: 'https://cdn.acme.example/logo.png?a=1&b="2"', primary_color: '#0055aa', background_color: '#FAFAFA' } })).body;
    expect(tenant.branding).toMatchObject({ primary_color: '#0055aa', background_color: '#fafafa' });
    const page = await fetch(`${server.url}/t/${tenant.slug}/login`);
    const body = await page.text();
    expect(page.status).toBe(200);
    expect(body).toContain('Acme &lt;b&gt;&quot;Brand&quot;&lt;/b&gt;');
    expect(body).not.toContain('<b>"Brand"</b>');
    expect(body).toContain('class="brand-logo" src="https://cdn.acme.example/logo.png?a=1&amp;b=%222%22"');
    expect(body).toContain(`<link rel="stylesheet" href="/t/${tenant.slug}/branding.css">`);
    expect(page.headers.get('content-security-policy')).toContain("img-src 'self' data: https://cdn.acme.example");
    const css = await fetch(`${server.url}/t/${tenant.slug}/branding.css`);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(await css.text()).toContain('--primary:#0055aa');

    const plain = (await newTenant({ name: 'Unbranded' })).body;
    const plainBody = await (await fetch(`${server.url}/t/${plain.slug}/login`)).text();
    expect(plainBody).not.toContain('brand-logo');
    expect(plainBody).not.toContain('branding.css');
    expect((await fetch(`${server.url}/t/no-such-tenant-x/branding.css`)).status).toBe(404);
  });
});

describe('the CLI goes through the same TenantAdmin', () => {
  test('tenant create into a partner, update (suspend, settings), delete: same rules, same audit', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const run = promisify(execFile);
    const scaikey = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'scripts/scaikey.ts', ...args], {
      env: { ...process.env, MONGODB_URI: server.testDb.uri, MONGODB_DB: server.testDb.dbName, BCRYPT_COST: '4', LOG_LEVEL: 'silent' }, timeout: 90_000,
    });
    const partner = await newPartner({ max_tenants: 1 });
    const s = slug('cli');
    const created = JSON.parse((await scaikey('tenant', 'create', s, '--name', 'CLI', '--partner', partner.id, '--min-password-length', '20')).stdout);
    expect(created).toMatchObject({ id: expect.stringMatching(/^tnt_/), slug: s, partner_id: partner.id, settings: { password_policy: { min_length: 20, max_length: 128 } } });
    await expect(scaikey('tenant', 'create', slug('cli2'), '--name', 'Over', '--partner', partner.id)).rejects.toMatchObject({ stderr: expect.stringContaining("tenant limit") });
    const suspended = JSON.parse((await scaikey('tenant', 'update', s, '--status', 'suspended', '--mfa-required', 'true')).stdout);
    expect(suspended).toMatchObject({ status: 'suspended', settings: { mfa_required: true } });
    await scaikey('tenant', 'delete', s);
    expect((await server.call('GET', `${T}${created.id}`, { token: root })).status).toBe(404);
    const audit = await server.database.db.collection('audit_events').find({ 'details.target.id': created.id, outcome: 'success' }).sort({ created_at: 1, _id: 1 }).toArray();
    expect(audit.map((e) => [e.type, e.details.actor.id])).toEqual([['admin.tenant.create', 'scaikey-cli'], ['admin.tenant.update', 'scaikey-cli'], ['admin.tenant.delete', 'scaikey-cli']]);
  }, 400_000);
});
