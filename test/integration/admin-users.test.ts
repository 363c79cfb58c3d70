// The Users admin API against the real server and database: per role (super admin, partner admin,
// tenant admin, platform tokens with and without the admin scopes), happy and sad paths, the
// parallel-create race, mail through a real SMTP server, and a suspended user's token that stops
// working (here and on a second replica).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startIssuerServer, startTestServer, type TestServer } from '../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';
import { createTenant, createUser, enrolTotpDirectly, strongPassword } from '../support/fixtures.ts';
import { parsePublicId } from '../../handlers/core/public-ids.ts';

const BOOTSTRAP = { email: 'root@platform.test', password: 'bootstrap passphrase long enough' };
let server: TestServer;
let smtp: TestSmtpServer;
let root: string;

beforeAll(async () => {
  smtp = await startSmtpServer();
  server = await startIssuerServer({
    SMTP_URL: smtp.url,
    SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: BOOTSTRAP.email,
    SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: BOOTSTRAP.password,
    LOCKOUT_THRESHOLD: '3',
  });
  root = await adminToken(BOOTSTRAP.email, BOOTSTRAP.password);
});
afterAll(async () => {
  await server?.stop();
  await smtp?.close();
});

const USERS = '/api/v1/admin/users/';
const userPath = (id: string, tail = '') => `/api/v1/admin/users/${id}${tail}`;

async function adminToken(email: string, password = strongPassword): Promise<string> {
  const reply = await server.call('POST', '/api/v1/admin/auth/login', { body: { email, password } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.access_token;
}

async function portalLogin(email: string, password = strongPassword) {
  return server.call('POST', '/api/v1/auth/login', { body: { email, password } });
}

async function tenantAdmin(tenant: Awaited<ReturnType<typeof createTenant>>) {
  const { user, email } = await createUser(server, tenant);
  await server.domain.users.grantAdminRole(user._id, 'tenant_admin');
  return { user, email, token: await adminToken(email) };
}

async function partnerAdmin(partnerId: string) {
  const home = await createTenant(server);
  await server.domain.tenants.update(home.slug, { partnerId });
  const { user, email } = await createUser(server, home);
  await server.domain.users.grantAdminRole(user._id, 'partner_admin', partnerId);
  return { home, user, email, token: await adminToken(email) };
}

/** A GLOBAL SERVICE app's client_credentials token with exactly these scopes. */
async function platformToken(scopes: string[]): Promise<string> {
  const { application, clientSecret } = await server.domain.applications.create({
    name: `Automation ${scopes.join(' ')}`, application_type: 'SERVICE', scope: 'GLOBAL', allowed_scopes: ['openid', ...scopes],
  });
  const response = await fetch(`${server.url}/api/v1/platform/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${application.client_id}:${clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: scopes.length > 0 ? scopes.join(' ') : 'openid' }).toString(),
  });
  const body = (await response.json()) as { access_token: string };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token;
}

const tid = (tenant: { _id: { toHexString(): string } }) => `tnt_${tenant._id.toHexString()}`;
const uid = (user: { _id: { toHexString(): string } }) => `usr_${user._id.toHexString()}`;

describe('super admin', () => {
  test('create, get, list, patch: public ids, no secrets; bad input is 422 and writes nothing', async () => {
    const tenant = await createTenant(server);
    const created = await server.call('POST', USERS, {
      token: root,
      body: { tenant_id: tid(tenant), email: 'Ada@Example.com', password: strongPassword, first_name: 'Ada', last_name: 'Lovelace', title: 'Engineer', custom_attributes: { cost_center: '42' }, email_verified: true },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ email: 'Ada@Example.com', tenant_id: tid(tenant), status: 'active', title: 'Engineer', has_password: true, admin_role: null, custom_attributes: { cost_center: '42' } });
    expect(created.body.id).toMatch(/^usr_[0-9a-f]{24}$/);
    expect(JSON.stringify(created.body)).not.toMatch(/password_hash|secret/);
    const id = created.body.id as string;
    expect((await portalLogin('ada@example.com')).status).toBe(200);

    expect((await server.call('GET', userPath(id), { token: root })).body).toMatchObject({ id, email: 'Ada@Example.com' });
    // The bare hex works too.
    expect((await server.call('GET', userPath(parsePublicId('user', id)!.toHexString()), { token: root })).status).toBe(200);

    const listed = await server.call('GET', `${USERS}?tenant_id=${tid(tenant)}&search=LOVE&status=active&per_page=5`, { token: root });
    expect(listed.body).toMatchObject({ total: 1, page: 1, per_page: 5 });
    expect(listed.body.items[0].id).toBe(id);
    expect((await server.call('GET', `${USERS}?tenant_id=${tid(tenant)}&search=nobody`, { token: root })).body.total).toBe(0);

    const patched = await server.call('PATCH', userPath(id), { token: root, body: { display_name: 'Countess', department: 'Analytical Engines', phone: '+44 20 0000' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ display_name: 'Countess', department: 'Analytical Engines', title: 'Engineer' });
    for (const body of [{ password: 'x' }, { status: 'suspended' }, { email: 'b@example.com' }, { first_name: 5 }]) {
      const refused = await server.call('PATCH', userPath(id), { token: root, body });
      expect(refused.status, JSON.stringify(body)).toBe(422);
    }

    const weak = await server.call('POST', USERS, { token: root, body: { tenant_id: tid(tenant), email: 'weak@example.com', password: 'password' } });
    expect(weak.status).toBe(422);
    expect(weak.body.detail[0].loc).toEqual(['body', 'password']);
    expect(await server.domain.users.findInTenant(tenant._id, 'weak@example.com')).toBeNull();
    expect((await server.call('POST', USERS, { token: root, body: { tenant_id: tid(tenant), email: 'x@example.com', role: 'admin' } })).status).toBe(422);
    expect((await server.call('POST', USERS, { token: root, body: { email: 'no-tenant@example.com' } })).status).toBe(422);
    expect((await server.call('POST', USERS, { token: root, body: { tenant_id: 'tnt_000000000000000000000000', email: 'ghost@example.com' } })).status).toBe(422);

    const dup = await server.call('POST', USERS, { token: root, body: { tenant_id: tid(tenant), email: 'ADA@example.com' } });
    expect([dup.status, dup.body]).toEqual([409, { detail: 'A user with this email already exists in this tenant' }]);

    const audit = await server.database.db.collection('audit_events').find({ type: 'admin.user.create' }).toArray();
    expect(audit.some((e) => e.outcome === 'success' && e.details.target.id === id && e.details.actor.role === 'super_admin' && typeof e.details.request_id === 'string')).toBe(true);
    expect(audit.some((e) => e.outcome === 'failure' && e.details.reason === 'userEmailTaken')).toBe(true);
  });

  test('parallel creates of one email: exactly one 201, the rest 409, one document', async () => {
    const tenant = await createTenant(server);
    const replies = await Promise.all(Array.from({ length: 6 }, () => server.call('POST', USERS, { token: root, body: { tenant_id: tid(tenant), email: 'race@example.com', password: strongPassword } })));
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await server.database.db.collection('users').countDocuments({ tenant_id: tenant._id, email_normalized: 'race@example.com' })).toBe(1);
  });

  test('an invitation: no password, a set-password link by email that works', async () => {
    const tenant = await createTenant(server);
    const created = await server.call('POST', USERS, { token: root, body: { tenant_id: tid(tenant), email: 'invitee@example.com', first_name: 'Ivy', send_invitation: true } });
    expect(created.status).toBe(201);
    expect(created.body.has_password).toBe(false);
    const mail = await smtp.waitFor((m) => m.to === 'invitee@example.com');
    // Its own mail (not a reset's), with a link that lasts three days.
    expect(mail.subject).toBe(`You have been invited to ${tenant.name}`);
    expect(mail.text).toContain('The link expires in 3 days');
    const link = new URL(smtp.linkIn(mail, '/reset-password')!);
    const token = link.searchParams.get('token')!;
    expect(token).toBeTruthy();
    const reset = await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/password/reset`, { body: { token, new_password: 'a brand new passphrase for ivy' } });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect((await portalLogin('invitee@example.com', 'a brand new passphrase for ivy')).status).toBe(200);
    // A password and an invitation together make no sense.
    expect((await server.call('POST', USERS, { token: root, body: { tenant_id: tid(tenant), email: 'both@example.com', password: strongPassword, send_invitation: true } })).status).toBe(422);
  });

  test('suspend ends sessions and the bearer token, on this replica and another; activate restores sign-in; self-suspend is 409', async () => {
    const tenant = await createTenant(server);
    const { user, email } = await createUser(server, tenant);
    const login = await portalLogin(email);
    const token = login.body.access_token as string;
    const replica = await startTestServer({ PUBLIC_BASE_URL: server.config.PUBLIC_BASE_URL, AUTH_CACHE_POLL_MS: '50' }, { shareDatabaseWith: server });
    try {
      expect((await server.call('GET', '/api/v1/me', { token })).status).toBe(200);
      expect((await replica.call('GET', '/api/v1/me', { token })).status).toBe(200); // now cached there
      const suspended = await server.call('POST', userPath(uid(user), '/suspend'), { token: root });
      expect(suspended.status).toBe(200);
      expect(suspended.body.status).toBe('suspended');
      expect((await server.call('GET', '/api/v1/me', { token })).status).toBe(401);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await replica.call('GET', '/api/v1/me', { token })).status).toBe(401);
    } finally {
      await replica.stop();
    }
    expect((await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: login.body.refresh_token } })).status).toBe(401);
    expect((await portalLogin(email)).status).toBe(401);
    const listed = await server.call('GET', `${USERS}?tenant_id=${tid(tenant)}&status=suspended`, { token: root });
    expect(listed.body.items.map((u: { id: string }) => u.id)).toEqual([uid(user)]);

    const activated = await server.call('POST', userPath(uid(user), '/activate'), { token: root });
    expect([activated.status, activated.body.status]).toEqual([200, 'active']);
    expect((await portalLogin(email)).status).toBe(200);

    const rootId = (await server.call('GET', '/api/v1/admin/auth/me', { token: root })).body.id as string;
    const self = await server.call('POST', userPath(rootId, '/suspend'), { token: root });
    expect([self.status, self.body.detail]).toEqual([409, 'Administrators cannot suspend, delete or change the admin role of their own account']);
  });

  test('reset-password: an admin-set password (policy, sessions end) or the emailed link; exactly one of the two', async () => {
    const tenant = await createTenant(server);
    const { user, email } = await createUser(server, tenant);
    const token = (await portalLogin(email)).body.access_token as string;
    expect((await server.call('POST', userPath(uid(user), '/reset-password'), { token: root, body: { password: 'short' } })).status).toBe(422);
    expect((await server.call('POST', userPath(uid(user), '/reset-password'), { token: root, body: {} })).status).toBe(422);
    expect((await server.call('POST', userPath(uid(user), '/reset-password'), { token: root, body: { password: 'another long passphrase', send_email: true } })).status).toBe(422);
    const set = await server.call('POST', userPath(uid(user), '/reset-password'), { token: root, body: { password: 'the admin chose this passphrase' } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ email_sent: false, sessions_revoked: 1 });
    expect((await server.call('GET', '/api/v1/me', { token })).status).toBe(401);
    expect((await portalLogin(email)).status).toBe(401);
    expect((await portalLogin(email, 'the admin chose this passphrase')).status).toBe(200);

    const mailed = await server.call('POST', userPath(uid(user), '/reset-password'), { token: root, body: { send_email: true } });
    expect([mailed.status, mailed.body.email_sent]).toEqual([200, true]);
    const mail = await smtp.waitFor((m) => m.to === email);
    expect(smtp.linkIn(mail, '/reset-password')).toContain(`/t/${tenant.slug}/reset-password?token=`);
  });

  test('an administrator does not set their own password nor reset their own MFA there (409); the profile, which asks for the current password, does', async () => {
    const { user, email, token } = await tenantAdmin(await createTenant(server));
    const created = uid(user);
    const self = await server.call('POST', userPath(created, '/reset-password'), { token, body: { password: 'a takeover passphrase' } });
    expect([self.status, self.body.detail]).toEqual([409, 'Administrators change their own password with POST /api/v1/me/password, which asks for the current one']);
    expect((await server.call('GET', '/api/v1/admin/auth/me', { token })).status).toBe(200);
    expect(await adminToken(email)).toMatch(/\./);
    // The emailed link stays open to them: it needs the mailbox, not just the token.
    const mailed = await server.call('POST', userPath(created, '/reset-password'), { token, body: { send_email: true } });
    expect([mailed.status, mailed.body.email_sent]).toEqual([200, true]);
    const mfa = await server.call('POST', userPath(created, '/reset-mfa'), { token });
    expect([mfa.status, mfa.body.detail]).toEqual([409, 'Administrators remove their own second factors in their profile, which asks for the current password']);
    const changed = await server.call('POST', '/api/v1/me/password', { token, body: { current_password: strongPassword, new_password: 'a passphrase of my own choosing' } });
    expect(changed.status).toBe(200);
    expect(await adminToken(email, 'a passphrase of my own choosing')).toMatch(/\./);
  });

  test('unlock lifts a lockout; reset-mfa removes every factor (audited user.mfa_reset); GET mfa shows the factors', async () => {
    const tenant = await createTenant(server);
    const { user, email } = await createUser(server, tenant);
    for (let i = 0; i < 3; i++) expect((await portalLogin(email, `wrong password number ${i}`)).status).toBe(401);
    expect((await portalLogin(email)).status).toBe(429);
    const unlocked = await server.call('POST', userPath(uid(user), '/unlock'), { token: root });
    expect([unlocked.status, unlocked.body.locked_until]).toEqual([200, null]);
    expect((await portalLogin(email)).status).toBe(200);

    await enrolTotpDirectly(server, user._id);
    await server.database.db.collection('users').updateOne({ _id: user._id }, { $set: { 'mfa.email_enabled': true, 'mfa.backup_codes': ['a', 'b'] } });
    const mfa = await server.call('GET', userPath(uid(user), '/mfa'), { token: root });
    expect(mfa.body).toMatchObject({ user_id: uid(user), enabled: true, methods: ['totp', 'email'], totp: true, email: true, backup_codes_remaining: 2 });
    expect(JSON.stringify(mfa.body)).not.toMatch(/secret/);
    const reset = await server.call('POST', userPath(uid(user), '/reset-mfa'), { token: root });
    expect(reset.status).toBe(200);
    expect(reset.body.mfa).toEqual({ enabled: false, methods: [], totp: false, webauthn_credentials: 0, email: false, backup_codes_remaining: 0 });
    const event = await server.database.db.collection('audit_events').findOne({ type: 'user.mfa_reset', user_id: user._id });
    expect(event).toMatchObject({ outcome: 'success', details: { removed: ['totp', 'email'], actor: { role: 'super_admin' } } });
  });

  test('sessions: list and revoke all (200 with the count); security events paginated', async () => {
    const tenant = await createTenant(server);
    const { user, email } = await createUser(server, tenant);
    await portalLogin(email);
    const second = await portalLogin(email);
    const sessions = await server.call('GET', userPath(uid(user), '/sessions'), { token: root });
    expect(sessions.body).toMatchObject({ total: 2, page: 1, per_page: 20 });
    expect(sessions.body.items[0]).toMatchObject({ user_id: uid(user), tenant_id: tid(tenant), amr: ['pwd'] });
    const revoked = await server.call('DELETE', userPath(uid(user), '/sessions'), { token: root });
    expect([revoked.status, revoked.body]).toEqual([200, { revoked: 2 }]);
    expect((await server.call('GET', '/api/v1/me', { token: second.body.access_token })).status).toBe(401);
    expect((await server.call('GET', userPath(uid(user), '/sessions'), { token: root })).body.total).toBe(0);

    const events = await server.call('GET', userPath(uid(user), '/security-events?per_page=1'), { token: root });
    expect(events.status).toBe(200);
    expect(events.body.items).toHaveLength(1);
    expect(events.body.total).toBeGreaterThanOrEqual(3);
    expect(events.body.items[0].type).toBe('admin.user.sessions_revoked');
  });

  test('delete: soft, hidden from lists, never signs in, email freed; again 404; self 409', async () => {
    const tenant = await createTenant(server);
    const { user, email } = await createUser(server, tenant);
    const token = (await portalLogin(email)).body.access_token as string;
    expect((await server.call('DELETE', userPath(uid(user)), { token: root })).status).toBe(204);
    expect((await server.call('GET', '/api/v1/me', { token })).status).toBe(401);
    expect((await portalLogin(email)).status).toBe(401);
    expect((await server.call('GET', userPath(uid(user)), { token: root })).body).toMatchObject({ status: 'deleted', deleted_at: expect.any(String) });
    expect((await server.call('GET', `${USERS}?tenant_id=${tid(tenant)}`, { token: root })).body.total).toBe(0);
    expect((await server.call('GET', `${USERS}?tenant_id=${tid(tenant)}&status=deleted`, { token: root })).body.items[0].id).toBe(uid(user));
    expect((await server.call('DELETE', userPath(uid(user)), { token: root })).status).toBe(404);
    expect((await server.call('POST', userPath(uid(user), '/activate'), { token: root })).status).toBe(404);
    const again = await server.call('POST', USERS, { token: root, body: { tenant_id: tid(tenant), email, password: strongPassword } });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(uid(user));
    const rootId = (await server.call('GET', '/api/v1/admin/auth/me', { token: root })).body.id as string;
    expect((await server.call('DELETE', userPath(rootId), { token: root })).status).toBe(409);
  });

  test('parallel deletes of one user: exactly one 204, the rest 404; one audit success', async () => {
    const tenant = await createTenant(server);
    const { user } = await createUser(server, tenant);
    const replies = await Promise.all(Array.from({ length: 5 }, () => server.call('DELETE', userPath(uid(user)), { token: root })));
    expect(replies.map((r) => r.status).sort()).toEqual([204, 404, 404, 404, 404]);
    expect(await server.database.db.collection('audit_events').countDocuments({ type: 'admin.user.delete', outcome: 'success', 'details.target.id': uid(user) })).toBe(1);
  });

  test('admin roles: assign and remove; partner_admin needs its partner; removing one that is not there is 404', async () => {
    const tenant = await createTenant(server);
    const { user, email } = await createUser(server, tenant);
    const assigned = await server.call('PUT', userPath(uid(user), '/admin-role'), { token: root, body: { role: 'tenant_admin' } });
    expect(assigned.status).toBe(200);
    expect(assigned.body.admin_role).toMatchObject({ role: 'tenant_admin', partner_id: null });
    const token = await adminToken(email);
    expect((await server.call('GET', USERS, { token })).status).toBe(200);
    expect((await server.call('PUT', userPath(uid(user), '/admin-role'), { token: root, body: { role: 'partner_admin' } })).status).toBe(422);
    expect((await server.call('PUT', userPath(uid(user), '/admin-role'), { token: root, body: { role: 'super_admin' } })).status).toBe(422); // not a platform-tenant user
    expect((await server.call('PUT', userPath(uid(user), '/admin-role'), { token: root, body: { role: 'partner_admin', partner_id: 'prt_roles' } })).body.admin_role).toMatchObject({ role: 'partner_admin', partner_id: 'prt_roles' });
    expect((await server.call('DELETE', userPath(uid(user), '/admin-role'), { token: root })).status).toBe(204);
    expect((await server.call('GET', USERS, { token })).status).toBe(403);
    expect((await server.call('DELETE', userPath(uid(user), '/admin-role'), { token: root })).status).toBe(404);
    const rootId = (await server.call('GET', '/api/v1/admin/auth/me', { token: root })).body.id as string;
    expect((await server.call('DELETE', userPath(rootId, '/admin-role'), { token: root })).status).toBe(409);
  });

  test('identity-source mismatches: an empty list until federation exists', async () => {
    const reply = await server.call('GET', '/api/v1/admin/users/identity-source/mismatches?fix=true', { token: root });
    expect([reply.status, reply.body]).toEqual([200, { items: [], total: 0, fixed: 0 }]);
  });
});

describe('tenant admin', () => {
  test('its own tenant only: another tenant’s users are 404 for every call; the platform tenant too', async () => {
    const [mine, other] = await Promise.all([createTenant(server), createTenant(server)]);
    const admin = await tenantAdmin(mine);
    const { user: local } = await createUser(server, mine);
    const { user: foreign } = await createUser(server, other);

    const created = await server.call('POST', USERS, { token: admin.token, body: { email: 'new-in-mine@example.com', password: strongPassword } });
    expect([created.status, created.body.tenant_id]).toEqual([201, tid(mine)]);
    expect((await server.call('POST', USERS, { token: admin.token, body: { tenant_id: tid(other), email: 'x@example.com' } })).status).toBe(404);

    const ids = (await server.call('GET', `${USERS}?per_page=100`, { token: admin.token })).body.items.map((u: { id: string }) => u.id);
    expect(ids).toEqual(expect.arrayContaining([uid(local), uid(admin.user), created.body.id]));
    expect(ids).not.toContain(uid(foreign));
    expect((await server.call('GET', `${USERS}?tenant_id=${tid(other)}`, { token: admin.token })).body.total).toBe(0);

    const rootId = (await server.call('GET', '/api/v1/admin/auth/me', { token: root })).body.id as string;
    for (const target of [uid(foreign), rootId]) {
      const calls: Array<[string, string, unknown?]> = [
        ['GET', userPath(target)], ['PATCH', userPath(target), { title: 'x' }], ['DELETE', userPath(target)],
        ['POST', userPath(target, '/suspend')], ['POST', userPath(target, '/activate')], ['POST', userPath(target, '/unlock')],
        ['POST', userPath(target, '/reset-mfa')], ['POST', userPath(target, '/reset-password'), { send_email: true }],
        ['GET', userPath(target, '/sessions')], ['DELETE', userPath(target, '/sessions')], ['GET', userPath(target, '/security-events')],
        ['GET', userPath(target, '/mfa')], ['PUT', userPath(target, '/admin-role'), { role: 'tenant_admin' }], ['DELETE', userPath(target, '/admin-role')],
      ];
      for (const [method, path, body] of calls) {
        const reply = await server.call(method, path, { token: admin.token, ...(body === undefined ? {} : { body }) });
        expect(reply.status, `${method} ${path}`).toBe(404);
      }
    }
    expect((await server.call('GET', `/api/v1/admin/users/identity-source/mismatches?tenant_id=${tid(other)}`, { token: admin.token })).status).toBe(404);
    expect((await server.call('GET', '/api/v1/admin/users/identity-source/mismatches', { token: admin.token })).status).toBe(200);
    const foreignAfter = (await server.domain.users.findById(foreign._id))!;
    expect(foreignAfter.status).toBe('active');

    // Within its tenant: tenant_admin may be granted; partner and super may not; a higher admin is 403.
    expect((await server.call('PUT', userPath(uid(local), '/admin-role'), { token: admin.token, body: { role: 'tenant_admin' } })).status).toBe(200);
    expect((await server.call('PUT', userPath(created.body.id, '/admin-role'), { token: admin.token, body: { role: 'partner_admin', partner_id: 'prt_x' } })).status).toBe(403);
    const { user: boss } = await createUser(server, mine);
    await server.domain.users.grantAdminRole(boss._id, 'partner_admin', 'prt_boss');
    const refused = await server.call('POST', userPath(uid(boss), '/suspend'), { token: admin.token });
    expect([refused.status, refused.body.detail]).toEqual([403, 'Insufficient admin privileges for this resource']);
    expect((await server.call('GET', userPath(uid(boss)), { token: admin.token })).status).toBe(200);
  });
});

describe('partner admin', () => {
  test("the users of its partner's tenants; nothing of another partner or tenant", async () => {
    const partner = await partnerAdmin('prt_usersA');
    const [inside, outside] = await Promise.all([createTenant(server), createTenant(server)]);
    await server.domain.tenants.update(inside.slug, { partnerId: 'prt_usersA' });
    await server.domain.tenants.update(outside.slug, { partnerId: 'prt_usersB' });
    const { user: mine } = await createUser(server, inside);
    const { user: theirs } = await createUser(server, outside);

    const ids = (await server.call('GET', `${USERS}?per_page=100`, { token: partner.token })).body.items.map((u: { id: string }) => u.id);
    expect(ids).toEqual(expect.arrayContaining([uid(mine), uid(partner.user)]));
    expect(ids).not.toContain(uid(theirs));
    const byPartner = await server.call('GET', `${USERS}?partner_id=prt_usersA&tenant_id=${tid(inside)}`, { token: root });
    expect(byPartner.body.items.map((u: { id: string }) => u.id)).toEqual([uid(mine)]);
    expect((await server.call('GET', `${USERS}?partner_id=prt_usersB`, { token: partner.token })).body.total).toBe(0);

    expect((await server.call('POST', userPath(uid(mine), '/suspend'), { token: partner.token })).status).toBe(200);
    expect((await server.call('POST', userPath(uid(theirs), '/suspend'), { token: partner.token })).status).toBe(404);
    expect((await server.call('GET', userPath(uid(theirs)), { token: partner.token })).status).toBe(404);
    expect((await server.call('POST', USERS, { token: partner.token, body: { tenant_id: tid(inside), email: 'p-new@example.com' } })).status).toBe(201);
    expect((await server.call('POST', USERS, { token: partner.token, body: { tenant_id: tid(outside), email: 'p-new@example.com' } })).status).toBe(404);
    expect((await server.call('POST', USERS, { token: partner.token, body: { email: 'p-none@example.com' } })).status).toBe(422);
    // tenant_admin within its partner: yes; partner_admin: only super admins.
    expect((await server.call('PUT', userPath(uid(mine), '/admin-role'), { token: partner.token, body: { role: 'tenant_admin' } })).status).toBe(200);
    expect((await server.call('PUT', userPath(uid(mine), '/admin-role'), { token: partner.token, body: { role: 'partner_admin', partner_id: 'prt_usersA' } })).status).toBe(403);
    expect((await server.call('DELETE', userPath(uid(partner.user), '/admin-role'), { token: partner.token })).status).toBe(409);
  });
});

describe('platform tokens and the unauthenticated', () => {
  test('admin:read reads but writes 403; admin:write writes; no admin scope 403; no token 401', async () => {
    const tenant = await createTenant(server);
    const { user } = await createUser(server, tenant);
    const reader = await platformToken(['admin:read']);
    const writer = await platformToken(['admin:write']);
    const neither = await platformToken(['users:read']);
    const scopeDetail = { detail: 'Platform token requires admin:read or admin:write scope' };
    expect((await server.call('GET', `${USERS}?tenant_id=${tid(tenant)}`, { token: reader })).body.total).toBe(1);
    expect((await server.call('GET', userPath(uid(user)), { token: reader })).status).toBe(200);
    const refusedWrite = await server.call('POST', userPath(uid(user), '/suspend'), { token: reader });
    expect([refusedWrite.status, refusedWrite.body]).toEqual([403, scopeDetail]);
    const refusedCreate = await server.call('POST', USERS, { token: reader, body: { tenant_id: tid(tenant), email: 'svc@example.com' } });
    expect([refusedCreate.status, refusedCreate.body]).toEqual([403, scopeDetail]);
    expect(await server.domain.users.findInTenant(tenant._id, 'svc@example.com')).toBeNull();
    expect((await server.call('POST', USERS, { token: writer, body: { tenant_id: tid(tenant), email: 'svc@example.com' } })).status).toBe(201);
    expect((await server.call('PATCH', userPath(uid(user)), { token: writer, body: { locale: 'de' } })).body.locale).toBe('de');
    // A token never grants super_admin.
    const platformUser = await createUser(server, await server.domain.tenants.ensurePlatform());
    expect((await server.call('PUT', userPath(uid(platformUser.user), '/admin-role'), { token: writer, body: { role: 'super_admin' } })).status).toBe(403);
    const none = await server.call('GET', USERS, { token: neither });
    expect([none.status, none.body]).toEqual([403, scopeDetail]);
    expect((await server.call('GET', USERS)).status).toBe(401);
  });
});

describe('validation', () => {
  test('every Users operation answers a FastAPI-shaped 422', async () => {
    const long = 'x'.repeat(65);
    const checks: Array<[string, string, unknown?]> = [
      ['GET', `${USERS}?per_page=0`],
      ['POST', USERS, { email: 'not an email' }],
      ['GET', '/api/v1/admin/users/identity-source/mismatches?fix=maybe'],
      ['GET', userPath(long)],
      ['PATCH', userPath(long), {}],
      ['DELETE', userPath(long)],
      ['POST', userPath(long, '/suspend')],
      ['POST', userPath(long, '/activate')],
      ['POST', userPath(long, '/reset-password'), { send_email: true }],
      ['POST', userPath(long, '/unlock')],
      ['POST', userPath(long, '/reset-mfa')],
      ['GET', userPath(long, '/sessions')],
      ['DELETE', userPath(long, '/sessions')],
      ['GET', userPath(long, '/security-events')],
      ['PUT', userPath(long, '/admin-role'), { role: 'tenant_admin' }],
      ['DELETE', userPath(long, '/admin-role')],
      ['GET', userPath(long, '/mfa')],
    ];
    for (const [method, path, body] of checks) {
      const reply = await server.call(method, path, { token: root, ...(body === undefined ? {} : { body }) });
      expect(reply.status, `${method} ${path}`).toBe(422);
      expect(reply.body.detail[0]).toMatchObject({ loc: expect.any(Array), msg: expect.any(String), type: expect.any(String) });
    }
  });
});
