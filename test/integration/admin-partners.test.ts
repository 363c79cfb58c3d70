// The Partners admin group against the real server and database: platform admins only (super
// admin, GLOBAL platform tokens by scope), others 403; slugs unique under races; limits held
// exactly under parallel creates of tenants, users and applications; soft delete.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startIssuerServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { bootstrapEnv, partnerAdminToken, platformToken, superToken, tenantAdminToken } from '../support/admin-roles.ts';
import { tenantPublicId } from '../../handlers/core/public-ids.ts';

let server: TestServer;
let root: string;
const P = '/api/v1/admin/partners/';

beforeAll(async () => {
  server = await startIssuerServer(bootstrapEnv);
  root = await superToken(server);
});
afterAll(async () => {
  await server?.stop();
});

let n = 0;
const slug = (base: string) => `${base}-${++n}-${Math.random().toString(36).slice(2, 6)}`;
const createPartner = (body: Record<string, unknown>, token = root) => server.call('POST', P, { token, body });

describe('super admin', () => {
  test('create, get, list with filters, patch, soft delete', async () => {
    const s = slug('acme');
    const created = await createPartner({ name: 'Acme Hosting', slug: s, contact_email: 'ops@acme.example', max_tenants: 5 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'Acme Hosting', slug: s, status: 'active', contact_email: 'ops@acme.example', max_tenants: 5, max_users_per_tenant: null, max_applications_per_tenant: null, tenant_count: 0 });
    expect(created.body.id).toMatch(/^prt_[A-Za-z0-9]{16}$/);
    const id = created.body.id as string;

    expect((await server.call('GET', `${P}${id}`, { token: root })).body).toMatchObject({ id, slug: s });
    const listed = await server.call('GET', `${P}?search=${s}`, { token: root });
    expect(listed.body).toMatchObject({ total: 1, page: 1, per_page: 20, items: [{ id }] });
    const patched = await server.call('PATCH', `${P}${id}`, { token: root, body: { status: 'suspended', max_tenants: null, name: 'Acme 2' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ status: 'suspended', max_tenants: null, name: 'Acme 2' });
    expect((await server.call('GET', `${P}?status=suspended&search=${s}`, { token: root })).body.total).toBe(1);
    expect((await server.call('GET', `${P}?status=active&search=${s}`, { token: root })).body.total).toBe(0);

    expect((await server.call('DELETE', `${P}${id}`, { token: root })).status).toBe(204);
    expect((await server.call('GET', `${P}${id}`, { token: root })).status).toBe(404);
    expect((await server.call('DELETE', `${P}${id}`, { token: root })).status).toBe(404);
    expect((await server.call('GET', `${P}?search=${s}`, { token: root })).body.total).toBe(0);
    // Audited, with actor and request id.
    const events = await server.database.db.collection('audit_events').find({ type: { $in: ['admin.partner.create', 'admin.partner.delete'] }, 'details.target.id': id }).toArray();
    // The second delete (404) is audited as a refusal.
    expect(events.map((e) => [e.type, e.outcome, e.details.reason])).toEqual([['admin.partner.create', 'success', undefined], ['admin.partner.delete', 'success', undefined], ['admin.partner.delete', 'failure', 'notFound']]);
    expect(events[0]!.details).toMatchObject({ actor: { kind: 'user', role: 'super_admin' }, request_id: expect.any(String) });
  });

  test('422 for unknown fields, wrong types, bad slugs and ids; 404 for an unknown partner', async () => {
    expect((await createPartner({ name: 'X', slug: slug('x'), extra: 1 })).status).toBe(422);
    expect((await createPartner({ name: 'X', slug: 'Bad Slug' })).status).toBe(422);
    expect((await createPartner({ name: 'X', slug: slug('x'), max_tenants: -1 })).status).toBe(422);
    expect((await createPartner({ name: 'X', slug: slug('x'), max_tenants: 'ten' })).status).toBe(422);
    expect((await server.call('GET', `${P}?per_page=101`, { token: root })).status).toBe(422);
    expect((await server.call('GET', `${P}?status=gone`, { token: root })).status).toBe(422);
    // Strict input (x-scaikey-strict-input): a repeated scalar filter is refused, not read as its last value.
    const repeated = await server.call('GET', `${P}?search=a&search=b`, { token: root });
    expect(repeated.status).toBe(422);
    expect(repeated.body.detail[0].loc).toEqual(['query', 'search']);
    expect((await createPartner({ name: 'X', slug: slug('x'), max_tenants: 1, status: 1 })).status).toBe(422);
    // Text the database cannot store (PostgreSQL under FerretDB refuses U+0000): a 422, nothing written.
    const nul = await createPartner({ name: 'Nul\u0000Corp', slug: slug('nul') });
    expect([201, 422]).toContain(nul.status);
    if (nul.status === 422) expect(nul.body.detail[0].msg).toContain('NUL');
    expect((await server.call('GET', `${P}prt_nope`, { token: root })).status).toBe(404);
    expect((await server.call('PATCH', `${P}prt_nope`, { token: root, body: { name: 'x' } })).status).toBe(404);
    expect((await server.call('PATCH', `${P}prt_nope`, { token: root, body: { bogus: true } })).status).toBe(422);
    expect((await server.call('DELETE', `${P}${'x'.repeat(80)}`, { token: root })).status).toBe(422);
    expect((await server.call('GET', `${P}${'x'.repeat(80)}`, { token: root })).status).toBe(422);
  });

  test('slugs are unique: parallel creates with one slug give one 201 and 409s, and a rename onto a taken slug is 409', async () => {
    const s = slug('race');
    const replies = await Promise.all(Array.from({ length: 6 }, () => createPartner({ name: 'Race', slug: s })));
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(replies.find((r) => r.status === 409)!.body).toEqual({ detail: 'A partner with this slug already exists' });
    expect(await server.database.db.collection('partners').countDocuments({ slug: s })).toBe(1);
    const other = await createPartner({ name: 'Other', slug: slug('other') });
    const renamed = await server.call('PATCH', `${P}${other.body.id}`, { token: root, body: { slug: s, name: 'Changed' } });
    expect([renamed.status, renamed.body]).toEqual([409, { detail: 'A partner with this slug already exists' }]);
    expect((await server.call('GET', `${P}${other.body.id}`, { token: root })).body.name).toBe('Other');
  });

  test('a partner with tenants cannot be deleted (409) until they are gone', async () => {
    const partner = (await createPartner({ name: 'Busy', slug: slug('busy') })).body;
    const tenant = await server.call('POST', '/api/v1/admin/tenants/', { token: root, body: { name: 'T', slug: slug('busy-t'), partner_id: partner.id } });
    expect(tenant.status).toBe(201);
    expect(await server.call('DELETE', `${P}${partner.id}`, { token: root })).toMatchObject({ status: 409, body: { detail: 'The partner still has tenants' } });
    expect((await server.call('DELETE', `/api/v1/admin/tenants/${tenant.body.id}`, { token: root })).status).toBe(204);
    expect((await server.call('DELETE', `${P}${partner.id}`, { token: root })).status).toBe(204);
  });
});

describe('other callers', () => {
  test('partner and tenant admins get 403 for every partner operation; non-admins 403; no token 401', async () => {
    const partner = (await createPartner({ name: 'Mine', slug: slug('mine') })).body;
    const home = await createTenant(server);
    const partnerAdmin = await partnerAdminToken(server, home, partner.id);
    const tenantAdmin = await tenantAdminToken(server, await createTenant(server));
    for (const token of [partnerAdmin, tenantAdmin]) {
      expect(await server.call('GET', P, { token })).toMatchObject({ status: 403, body: { detail: 'Super admin privileges required' } });
      expect((await server.call('GET', `${P}${partner.id}`, { token })).status).toBe(403);
      expect((await createPartner({ name: 'No', slug: slug('no') }, token)).status).toBe(403);
      expect((await server.call('PATCH', `${P}${partner.id}`, { token, body: { name: 'No' } })).status).toBe(403);
      expect((await server.call('DELETE', `${P}${partner.id}`, { token })).status).toBe(403);
    }
    const { email } = await createUser(server, home);
    const portal = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect(await server.call('GET', P, { token: portal.body.access_token })).toMatchObject({ status: 403, body: { detail: 'Admin privileges required' } });
    expect((await server.call('GET', P)).status).toBe(401);
    expect((await server.call('GET', `${P}${partner.id}`, { token: root })).body.name).toBe('Mine');
  });

  test('platform tokens: admin:read reads, admin:write writes, neither is refused', async () => {
    const reader = await platformToken(server, ['admin:read']);
    const writer = await platformToken(server, ['admin:write']);
    const none = await platformToken(server, []);
    expect((await server.call('GET', P, { token: reader })).status).toBe(200);
    expect(await createPartner({ name: 'R', slug: slug('r') }, reader)).toMatchObject({ status: 403, body: { detail: 'Platform token requires admin:read or admin:write scope' } });
    const made = await createPartner({ name: 'W', slug: slug('w') }, writer);
    expect(made.status).toBe(201);
    expect((await server.call('GET', `${P}${made.body.id}`, { token: writer })).status).toBe(200);
    expect(await server.call('GET', P, { token: none })).toMatchObject({ status: 403, body: { detail: 'Platform token requires admin:read or admin:write scope' } });
    const audited = await server.database.db.collection('audit_events').findOne({ type: 'admin.partner.create', 'details.target.id': made.body.id });
    expect(audited?.details).toMatchObject({ actor: { kind: 'client', role: 'platform_token' } });
  });
});

describe('a suspended partner', () => {
  test("closes its tenants (sign-in, tokens, hosted pages) and ends their sessions; activating opens them again", async () => {
    const partner = (await createPartner({ name: 'Pausing', slug: slug('pausing') })).body;
    const tenant = await server.domain.tenants.create({ slug: slug('pausing-t'), name: 'Paused tenant', partnerId: partner.id, settings: { require_email_verification: false } });
    const other = await createTenant(server);
    const { email } = await createUser(server, tenant);
    const elsewhere = await createUser(server, other);
    const hosted = () => server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword } });
    expect((await hosted()).status).toBe(200);
    const signedIn = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect(signedIn.status).toBe(200);
    const token = signedIn.body.access_token as string;
    expect((await server.call('GET', '/api/v1/me', { token })).status).toBe(200);

    expect((await server.call('PATCH', `${P}${partner.id}`, { token: root, body: { status: 'suspended' } })).status).toBe(200);
    expect((await server.call('GET', '/api/v1/me', { token })).status).toBe(401);
    expect((await hosted()).status).toBe(404);
    expect((await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/auth/identify', { body: { email } })).body.tenants ?? []).toEqual([]);
    expect(await server.database.db.collection('sessions').countDocuments({ tenant_id: tenant._id, revoked_at: null })).toBe(0);
    // Its own status is kept, and other partners' and unpartnered tenants are untouched.
    expect((await server.database.db.collection('tenants').findOne({ _id: tenant._id }))).toMatchObject({ status: 'active', partner_suspended: true });
    expect((await server.call('POST', `/api/v1/auth/tenants/${other.slug}/login`, { body: { email: elsewhere.email, password: strongPassword } })).status).toBe(200);
    // No tenant joins a suspended partner.
    const joining = await server.call('PATCH', `/api/v1/admin/tenants/${tenantPublicId(other._id)}`, { token: root, body: { partner_id: partner.id } });
    expect(joining.status).not.toBe(200);

    expect((await server.call('PATCH', `${P}${partner.id}`, { token: root, body: { status: 'active' } })).status).toBe(200);
    expect((await hosted()).status).toBe(200);
    expect((await server.database.db.collection('tenants').findOne({ _id: tenant._id }))).toMatchObject({ status: 'active', partner_suspended: false });
  });

  test('a tenant moved out of a suspended partner opens; parallel suspend and activate leave the tenants as the partner ends up', async () => {
    const partner = (await createPartner({ name: 'Flapping', slug: slug('flap') })).body;
    const a = await server.domain.tenants.create({ slug: slug('flap-a'), name: 'A', partnerId: partner.id, settings: { require_email_verification: false } });
    const b = await server.domain.tenants.create({ slug: slug('flap-b'), name: 'B', partnerId: partner.id, settings: { require_email_verification: false } });
    await Promise.all(['suspended', 'active', 'suspended', 'active', 'suspended'].map((status) => server.call('PATCH', `${P}${partner.id}`, { token: root, body: { status } })));
    const final = (await server.call('GET', `${P}${partner.id}`, { token: root })).body.status as string;
    const flags = await server.database.db.collection('tenants').find({ partner_id: partner.id }).toArray();
    expect(flags.map((t) => !!t['partner_suspended'])).toEqual([final === 'suspended', final === 'suspended']);
    expect((await server.call('PATCH', `${P}${partner.id}`, { token: root, body: { status: 'suspended' } })).status).toBe(200);
    const moved = await server.call('PATCH', `/api/v1/admin/tenants/${tenantPublicId(a._id)}`, { token: root, body: { partner_id: null } });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(await server.database.db.collection('tenants').findOne({ _id: a._id })).toMatchObject({ partner_id: null, partner_suspended: false });
    expect(await server.database.db.collection('tenants').findOne({ _id: b._id })).toMatchObject({ partner_suspended: true });
    const { email } = await createUser(server, a);
    expect((await server.call('POST', `/api/v1/auth/tenants/${a.slug}/login`, { body: { email, password: strongPassword } })).status).toBe(200);
  });
});

describe('limits hold exactly under parallel creates', () => {
  test('max_tenants: 10 parallel tenant creates into a partner allowing 3 give 3 tenants, the rest 409, nothing else written', async () => {
    const partner = (await createPartner({ name: 'Cap', slug: slug('cap'), max_tenants: 3 })).body;
    const base = slug('cap-t');
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => server.call('POST', '/api/v1/admin/tenants/', { token: root, body: { name: `T${i}`, slug: `${base}-${i}`, partner_id: partner.id } })));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = replies.filter((r) => r.status === 409);
    expect(refused).toHaveLength(7);
    expect(refused[0]!.body).toEqual({ detail: "The partner's tenant limit has been reached" });
    expect(await server.database.db.collection('tenants').countDocuments({ partner_id: partner.id })).toBe(3);
    expect((await server.call('GET', `${P}${partner.id}`, { token: root })).body.tenant_count).toBe(3);
    // A delete gives the slot back; a slug collision does not use one up.
    const one = replies.find((r) => r.status === 201)!.body;
    expect((await server.call('DELETE', `/api/v1/admin/tenants/${one.id}`, { token: root })).status).toBe(204);
    const taken = await server.call('POST', '/api/v1/admin/tenants/', { token: root, body: { name: 'Dup', slug: replies.find((r) => r.status === 201 && r.body.id !== one.id)!.body.slug, partner_id: partner.id } });
    expect(taken.status).toBe(409);
    expect(taken.body).toEqual({ detail: 'A tenant with this slug already exists' });
    expect((await server.call('POST', '/api/v1/admin/tenants/', { token: root, body: { name: 'Again', slug: `${base}-again`, partner_id: partner.id } })).status).toBe(201);
    expect((await server.call('GET', `${P}${partner.id}`, { token: root })).body.tenant_count).toBe(3);
  });

  test('max_users_per_tenant: parallel self-registrations and admin creates stop exactly at the limit', async () => {
    const partner = (await createPartner({ name: 'Users cap', slug: slug('ucap'), max_users_per_tenant: 4 })).body;
    const tenant = await server.call('POST', '/api/v1/admin/tenants/', {
      token: root, body: { name: 'Reg', slug: slug('reg'), partner_id: partner.id, settings: { self_registration: true, require_email_verification: false } },
    });
    expect(tenant.status, JSON.stringify(tenant.body)).toBe(201);
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => server.call('POST', `/api/v1/auth/tenants/${tenant.body.slug}/register`, {
      body: { email: `u${i}@limits.test`, password: strongPassword, first_name: 'U', last_name: `${i}` },
      headers: { 'x-forwarded-for': `10.9.0.${i}` },
    })));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201 || s === 200)).toHaveLength(4);
    const refused = replies.filter((r) => r.status === 409);
    expect(refused).toHaveLength(4);
    expect(refused[0]!.body).toEqual({ detail: "The partner's user limit for this tenant has been reached" });
    const doc = await server.domain.tenants.getLiveBySlug(tenant.body.slug);
    expect(await server.database.db.collection('users').countDocuments({ tenant_id: doc!._id })).toBe(4);
    // The domain path (admin creation, the CLI) is held by the same slot.
    await expect(createUser(server, doc!)).rejects.toMatchObject({ id: 'userLimitReached', status: 409 });
    expect(await server.database.db.collection('users').countDocuments({ tenant_id: doc!._id })).toBe(4);
    // A duplicate email inside the limit gives its slot back.
    await server.call('PATCH', `${P}${partner.id}`, { token: root, body: { max_users_per_tenant: 5 } });
    const { email } = await createUser(server, doc!);
    await expect(createUser(server, doc!, { email })).rejects.toThrow();
    expect((await server.database.db.collection('tenants').findOne({ _id: doc!._id }))?.user_count).toBe(5);
    await expect(createUser(server, doc!)).rejects.toMatchObject({ id: 'userLimitReached' });
  });

  test('max_applications_per_tenant: parallel app creates stop exactly at the limit; a delete frees a slot', async () => {
    const partner = (await createPartner({ name: 'Apps cap', slug: slug('acap'), max_applications_per_tenant: 2 })).body;
    const tenant = (await server.call('POST', '/api/v1/admin/tenants/', { token: root, body: { name: 'Apps', slug: slug('apps'), partner_id: partner.id } })).body;
    const make = () => server.call('POST', '/api/v1/admin/applications/', { token: root, body: { name: 'App', application_type: 'SERVICE', scope: 'TENANT', tenant_id: tenant.id.replace(/^tnt_/, '') } });
    const replies = await Promise.all(Array.from({ length: 6 }, make));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(2);
    const refused = replies.filter((r) => r.status === 409);
    expect(refused).toHaveLength(4);
    expect(refused[0]!.body).toEqual({ detail: "The partner's application limit for this tenant has been reached" });
    const first = replies.find((r) => r.status === 201)!.body;
    expect((await server.call('DELETE', `/api/v1/admin/applications/${first.id}`, { token: root })).status).toBe(204);
    expect((await make()).status).toBe(201);
    expect((await make()).status).toBe(409);
  });
});
