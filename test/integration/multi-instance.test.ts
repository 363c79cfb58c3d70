import { afterAll, beforeAll, expect, test } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';

// Two replicas on one database, as in production behind a load balancer.
let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  a = await startTestServer();
  b = await startTestServer({}, { shareDatabaseWith: a });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

test('a token issued by one replica is verified and refreshed by the other', async () => {
  const tenant = await createTenant(a);
  const { email } = await createUser(a, tenant);
  const flow = await a.call('POST', '/api/v1/auth/identify', { body: { email } });
  const signedIn = await b.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: flow.body.flow_token, password: strongPassword } });
  expect(signedIn.status).toBe(200);
  const refreshed = await a.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: signedIn.body.refresh_token } });
  expect(refreshed.status).toBe(200);
  const me = await b.call('GET', '/api/v1/me', { token: refreshed.body.access_token });
  expect(me.status).toBe(200);
  // Reuse detected on either replica revokes the family everywhere.
  b.clock.advance(b.config.REFRESH_REUSE_GRACE + 1);
  expect((await b.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: signedIn.body.refresh_token } })).status).toBe(401);
  expect((await a.call('GET', '/api/v1/me', { token: refreshed.body.access_token })).status).toBe(401);
});

test('a key rotated on one replica is picked up by the other; old tokens keep working', async () => {
  const tenant = await createTenant(a);
  const { email } = await createUser(a, tenant);
  const before = await a.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
  const oldKid = decodeProtectedHeader(before.body.access_token).kid;
  const newKid = await a.domain.signingKeys.rotate();
  const after = await a.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
  expect(decodeProtectedHeader(after.body.access_token).kid).toBe(newKid);
  expect((await b.call('GET', '/api/v1/me', { token: after.body.access_token })).status).toBe(200);
  expect((await b.call('GET', '/api/v1/me', { token: before.body.access_token })).status).toBe(200);
  const kids = (await b.call('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
  // b may serve a cached set for up to a minute, but it learns the new kid on first sight.
  expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
});
