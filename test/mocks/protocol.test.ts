/**
 * Mock mode for the OpenID provider's endpoints, over HTTP (npm run mock) and through MSW: a
 * frontend's sign-in round trip (discovery → authorize → redirect with a code → token → userinfo
 * → logout) without a server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupServer } from 'msw/node';
import { createHandlers } from '../../mocks/msw.ts';
import { MOCK_CODE } from '../../mocks/protocol.ts';
import { startMockServer, type RunningMockServer } from '../../mocks/server.ts';
import { createLogger } from '../../handlers/core/logger.ts';

async function roundTrip(base: string, issuerPath: string, oauthPath: string): Promise<void> {
  const discovery = await (await fetch(`${base}${issuerPath}/.well-known/openid-configuration`)).json();
  expect(discovery.issuer).toBe(`${base}${issuerPath}`);
  expect(discovery.authorization_endpoint).toBe(`${base}${oauthPath}/authorize`);
  const jwks = await (await fetch(discovery.jwks_uri)).json();
  expect(jwks.keys.length).toBeGreaterThan(0);

  const authorize = await fetch(`${discovery.authorization_endpoint}?response_type=code&client_id=app&redirect_uri=${encodeURIComponent('http://localhost:3000/cb')}&scope=openid&state=s1`, { redirect: 'manual' });
  expect(authorize.status).toBe(303);
  const location = new URL(authorize.headers.get('location')!);
  expect([location.origin + location.pathname, location.searchParams.get('code'), location.searchParams.get('state')]).toEqual(['http://localhost:3000/cb', MOCK_CODE, 's1']);
  expect((await fetch(`${discovery.authorization_endpoint}?client_id=app`, { redirect: 'manual' })).status).toBe(400);

  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const token = await fetch(discovery.token_endpoint, { method: 'POST', headers: form, body: `grant_type=authorization_code&code=${MOCK_CODE}&redirect_uri=x` });
  expect(token.status).toBe(200);
  const tokens = await token.json();
  expect(tokens).toMatchObject({ token_type: 'Bearer', id_token: expect.any(String), refresh_token: expect.any(String) });
  const service = await (await fetch(discovery.token_endpoint, { method: 'POST', headers: form, body: 'grant_type=client_credentials' })).json();
  expect(service.refresh_token).toBeUndefined();
  expect((await (await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()).sub).toEqual(expect.any(String));
  expect((await (await fetch(discovery.introspection_endpoint, { method: 'POST', headers: form, body: 'token=x' })).json()).active).toBe(true);
  expect((await fetch(discovery.revocation_endpoint, { method: 'POST', headers: form, body: 'token=x' })).status).toBe(200);
  const logout = await fetch(`${discovery.end_session_endpoint}?post_logout_redirect_uri=${encodeURIComponent('http://localhost:3000/bye')}&state=z`, { redirect: 'manual' });
  expect([logout.status, logout.headers.get('location')]).toEqual([303, 'http://localhost:3000/bye?state=z']);
}

describe('HTTP mock', () => {
  let mock: RunningMockServer;
  beforeAll(async () => {
    mock = await startMockServer({ port: 0, logger: createLogger('silent') });
  });
  afterAll(async () => {
    await mock?.close();
  });
  it('tenant issuer round trip', () => roundTrip(mock.url, '/api/v1/auth/tenants/acme', '/api/v1/auth/tenants/acme/oauth'));
  it('platform issuer round trip', () => roundTrip(mock.url, '/api/v1/platform/oauth', '/api/v1/platform/oauth'));
});

describe('MSW', () => {
  const server = setupServer(...createHandlers());
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());
  it('tenant issuer round trip', () => roundTrip('https://idp.example.test', '/api/v1/auth/tenants/acme', '/api/v1/auth/tenants/acme/oauth'));
  it('platform issuer round trip', () => roundTrip('https://idp.example.test', '/api/v1/platform/oauth', '/api/v1/platform/oauth'));
});
