// Refusals the sign-in operations really give, each reached here, so VALIDATE_RESPONSES (which
// now holds error statuses to the spec too: an undocumented one becomes a 500 in tests) proves
// the spec documents them.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorCatalogue } from '../../handlers/core/errors.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const detail = (id: keyof typeof errorCatalogue) => ({ detail: errorCatalogue[id].detail });

async function identify(email: string): Promise<string> {
  const reply = await server.call('POST', '/api/v1/auth/identify', { body: { email } });
  expect(reply.status).toBe(200);
  return reply.body.flow_token as string;
}

describe('an address with accounts in several tenants, no tenant chosen', () => {
  let email: string;
  beforeAll(async () => {
    email = `shared.${Date.now()}@example.com`;
    await createUser(server, await createTenant(server), { email });
    await createUser(server, await createTenant(server), { email });
  });

  test('portalLogin: 400 Please select a tenant to continue', async () => {
    const reply = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect([reply.status, reply.body, reply.headers.get('x-contract-violation')]).toEqual([400, detail('tenantSelectionRequired'), null]);
  });

  test('authenticateUser: 400 Please select a tenant to continue', async () => {
    const reply = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: await identify(email), password: strongPassword } });
    expect([reply.status, reply.body, reply.headers.get('x-contract-violation')]).toEqual([400, detail('tenantSelectionRequired'), null]);
  });
});

describe('a tenant that requires verified addresses, an unverified account', () => {
  let email: string;
  let slug: string;
  beforeAll(async () => {
    const tenant = await createTenant(server, { require_email_verification: true });
    slug = tenant.slug;
    ({ email } = await createUser(server, tenant, { emailVerified: false }));
  });

  test('authenticateUser: 403 Email address not verified', async () => {
    const reply = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: await identify(email), password: strongPassword } });
    expect([reply.status, reply.body, reply.headers.get('x-contract-violation')]).toEqual([403, detail('emailNotVerified'), null]);
  });

  test('portalLogin and tenantLogin: 403 Email address not verified', async () => {
    const portal = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect([portal.status, portal.body]).toEqual([403, detail('emailNotVerified')]);
    const hosted = await server.call('POST', `/api/v1/auth/tenants/${slug}/login`, { body: { email, password: strongPassword } });
    expect([hosted.status, hosted.body]).toEqual([403, detail('emailNotVerified')]);
  });
});

describe('a tenant that requires MFA, an account with no second factor', () => {
  let email: string;
  let slug: string;
  beforeAll(async () => {
    const tenant = await createTenant(server, { mfa_required: true });
    slug = tenant.slug;
    ({ email } = await createUser(server, tenant));
  });

  test('tenantLogin, portalLogin and authenticateUser: 400 This verification method is not available', async () => {
    const hosted = await server.call('POST', `/api/v1/auth/tenants/${slug}/login`, { body: { email, password: strongPassword } });
    expect([hosted.status, hosted.body, hosted.headers.get('x-contract-violation')]).toEqual([400, detail('mfaMethodUnavailable'), null]);
    const portal = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect([portal.status, portal.body, portal.headers.get('x-contract-violation')]).toEqual([400, detail('mfaMethodUnavailable'), null]);
    const twoStep = await server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: await identify(email), password: strongPassword } });
    expect([twoStep.status, twoStep.body, twoStep.headers.get('x-contract-violation')]).toEqual([400, detail('mfaMethodUnavailable'), null]);
  });
});
