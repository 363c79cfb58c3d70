// Platform settings against the real server and database: super admin only, validated ranges,
// one atomic partial update (parallel patches of different fields all land), and new tenants'
// settings start from them (the admin API and the domain path the CLI uses).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startIssuerServer, type TestServer } from '../support/server.ts';
import { createTenant } from '../support/fixtures.ts';
import { bootstrapEnv, partnerAdminToken, platformToken, superToken, tenantAdminToken } from '../support/admin-roles.ts';

let server: TestServer;
let root: string;
const S = '/api/v1/admin/platform-settings';

beforeAll(async () => {
  server = await startIssuerServer(bootstrapEnv);
  root = await superToken(server);
});
afterAll(async () => {
  await server?.stop();
});

describe('platform settings', () => {
  test('built-in defaults until changed; a patch changes only what it names; new tenants start from them', async () => {
    const initial = await server.call('GET', S, { token: root });
    expect(initial.status).toBe(200);
    expect(initial.body).toEqual({
      self_registration: false, require_email_verification: true, mfa_required: false, mfa_methods: ['totp', 'webauthn', 'backup_code'],
      password_policy: { min_length: 15, max_length: 128, block_common: true }, access_token_ttl: null, refresh_idle_ttl: null, refresh_absolute_ttl: null, updated_at: null,
    });
    const patched = await server.call('PATCH', S, { token: root, body: { mfa_required: true, mfa_methods: ['totp', 'webauthn'], password_policy: { min_length: 16 }, access_token_ttl: 600 } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ mfa_required: true, mfa_methods: ['totp', 'webauthn'], password_policy: { min_length: 16, max_length: 128, block_common: true }, access_token_ttl: 600, self_registration: false });
    expect(patched.body.updated_at).toEqual(expect.any(String));
    const again = await server.call('PATCH', S, { token: root, body: { password_policy: { block_common: false } } });
    expect(again.body.password_policy).toEqual({ min_length: 16, max_length: 128, block_common: false });

    const made = await server.call('POST', '/api/v1/admin/tenants/', { token: root, body: { name: 'New', slug: `ps-${Date.now()}`, settings: { mfa_required: false } } });
    expect(made.status).toBe(201);
    expect(made.body.settings).toMatchObject({ mfa_required: false, mfa_methods: ['totp', 'webauthn'], password_policy: { min_length: 16, block_common: false }, access_token_ttl: 600 });
    // The domain path (fixtures, the CLI) too.
    const viaDomain = await createTenant(server);
    expect(viaDomain.settings).toMatchObject({ mfa_methods: ['totp', 'webauthn'], password_policy: { min_length: 16 }, access_token_ttl: 600 });
    // Existing tenants keep theirs.
    await server.call('PATCH', S, { token: root, body: { access_token_ttl: 1200 } });
    expect((await server.call('GET', `/api/v1/admin/tenants/${made.body.id}`, { token: root })).body.settings.access_token_ttl).toBe(600);
    const audit = await server.database.db.collection('audit_events').countDocuments({ type: 'admin.platform_settings.update', outcome: 'success' });
    expect(audit).toBeGreaterThanOrEqual(3);
    await server.call('PATCH', S, { token: root, body: { mfa_required: false, mfa_methods: ['totp', 'webauthn', 'backup_code'], password_policy: { min_length: 15, block_common: true }, access_token_ttl: null } });
  });

  test('parallel patches of different fields all land (one atomic update each)', async () => {
    await Promise.all([
      server.call('PATCH', S, { token: root, body: { self_registration: true } }),
      server.call('PATCH', S, { token: root, body: { refresh_idle_ttl: 3600 } }),
      server.call('PATCH', S, { token: root, body: { refresh_absolute_ttl: 86400 } }),
      server.call('PATCH', S, { token: root, body: { require_email_verification: false } }),
    ]);
    expect((await server.call('GET', S, { token: root })).body).toMatchObject({ self_registration: true, refresh_idle_ttl: 3600, refresh_absolute_ttl: 86400, require_email_verification: false });
    await server.call('PATCH', S, { token: root, body: { self_registration: false, refresh_idle_ttl: null, refresh_absolute_ttl: null, require_email_verification: true } });
  });

  test('racing policy changes cannot together leave a minimum above its maximum: each is checked against the other', async () => {
    await server.call('PATCH', S, { token: root, body: { password_policy: { min_length: 8, max_length: 64 } } });
    for (let round = 0; round < 5; round++) {
      // Each alone is consistent with the stored policy; both together would be min 40 > max 30.
      const [raise, lower] = await Promise.all([
        server.call('PATCH', S, { token: root, body: { password_policy: { min_length: 40 } } }),
        server.call('PATCH', S, { token: root, body: { password_policy: { max_length: 30 } } }),
      ]);
      expect([raise.status, lower.status].sort()).toEqual([200, 422]);
      const policy = (await server.call('GET', S, { token: root })).body.password_policy;
      expect(policy.min_length).toBeLessThanOrEqual(policy.max_length);
      expect((await server.call('PATCH', S, { token: root, body: { password_policy: { min_length: 8, max_length: 64 } } })).status).toBe(200);
    }
  });

  test('422: unknown fields, wrong types, out of range, inconsistent policy; nothing written', async () => {
    const before = (await server.call('GET', S, { token: root })).body;
    const bad: Array<Record<string, unknown>> = [
      { unknown: 1 },
      { mfa_required: 'maybe' },
      { access_token_ttl: 'soon' },
      { access_token_ttl: 10 },
      { refresh_idle_ttl: 99_999_999 },
      { mfa_methods: [] },
      { mfa_methods: ['sms'] },
      { mfa_methods: ['totp', 'totp'] },
      { password_policy: { min_length: 7 } },
      { password_policy: { max_length: 32 } },
      { password_policy: { min_length: 100, max_length: 64 } },
      { password_policy: { other: 1 } },
    ];
    for (const body of bad) expect((await server.call('PATCH', S, { token: root, body })).status, JSON.stringify(body)).toBe(422);
    expect((await server.call('GET', S, { token: root })).body).toEqual(before);
  });

  test('partner and tenant admins 403; platform tokens by scope; no token 401', async () => {
    const home = await createTenant(server);
    const partnerAdmin = await partnerAdminToken(server, home, 'prt_settingsPartner1');
    const tenantAdmin = await tenantAdminToken(server, await createTenant(server));
    for (const token of [partnerAdmin, tenantAdmin]) {
      expect(await server.call('GET', S, { token })).toMatchObject({ status: 403, body: { detail: 'Super admin privileges required' } });
      expect((await server.call('PATCH', S, { token, body: { mfa_required: true } })).status).toBe(403);
    }
    const reader = await platformToken(server, ['admin:read']);
    const writer = await platformToken(server, ['admin:write']);
    const none = await platformToken(server, []);
    expect((await server.call('GET', S, { token: reader })).status).toBe(200);
    expect(await server.call('PATCH', S, { token: reader, body: { mfa_required: false } })).toMatchObject({ status: 403, body: { detail: 'Platform token requires admin:read or admin:write scope' } });
    expect((await server.call('PATCH', S, { token: writer, body: { mfa_required: false } })).status).toBe(200);
    expect((await server.call('GET', S, { token: none })).status).toBe(403);
    expect((await server.call('GET', S)).status).toBe(401);
    expect((await server.call('GET', S, { token: root })).body.mfa_required).toBe(false);
  });
});
