// Tokens for every admin role the admin API tests need: the bootstrap super admin, a partner
// admin of a given partner, a tenant admin of a given tenant, and platform client_credentials
// tokens (GLOBAL SERVICE apps) with admin:read, admin:write or neither.
import { expect } from 'vitest';
import type { TestServer } from './server.ts';
import { createUser, strongPassword } from './fixtures.ts';
import type { TenantDoc } from '../../handlers/store/tenants.ts';

export const BOOTSTRAP = { email: 'root@platform.test', password: 'bootstrap passphrase long enough' };
export const bootstrapEnv = { SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: BOOTSTRAP.email, SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: BOOTSTRAP.password };

export async function adminToken(server: TestServer, email: string, password = strongPassword): Promise<string> {
  const reply = await server.call('POST', '/api/v1/admin/auth/login', { body: { email, password } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.access_token as string;
}

export const superToken = (server: TestServer) => adminToken(server, BOOTSTRAP.email, BOOTSTRAP.password);

export async function partnerAdminToken(server: TestServer, home: TenantDoc, partnerId: string): Promise<string> {
  const { user, email } = await createUser(server, home);
  await server.domain.users.grantAdminRole(user._id, 'partner_admin', partnerId);
  return adminToken(server, email);
}

export async function tenantAdminToken(server: TestServer, tenant: TenantDoc): Promise<string> {
  const { user, email } = await createUser(server, tenant);
  await server.domain.users.grantAdminRole(user._id, 'tenant_admin');
  return adminToken(server, email);
}

/** A platform token (client_credentials of a GLOBAL SERVICE app) with these scopes; needs startIssuerServer. */
export async function platformToken(server: TestServer, scopes: string[]): Promise<string> {
  const { application, clientSecret } = await server.domain.applications.create({ name: `svc ${scopes.join(' ') || 'none'}`, application_type: 'SERVICE', scope: 'GLOBAL', allowed_scopes: ['openid', ...scopes] });
  const response = await fetch(`${server.url}/api/v1/platform/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${application.client_id}:${clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: ['openid', ...scopes].join(' ') }).toString(),
  });
  const body = (await response.json()) as { access_token: string };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token;
}
