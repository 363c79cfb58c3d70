import { expect, test } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { useTwoReplicas } from '../support/suite.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';

// Two replicas on one database, as in production behind a load balancer.
const replicas = useTwoReplicas();

test('a token issued by one replica is verified and refreshed by the other', async () => {
  const tenant = await createTenant(replicas.a);
  const { email } = await createUser(replicas.a, tenant);
  const flow = await replicas.a.call('POST', '/api/v1/auth/identify', { body: { email } });
  const signedIn = await replicas.b.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: flow.body.flow_token, password: strongPassword } });
  expect(signedIn.status).toBe(200);
  const refreshed = await replicas.a.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: signedIn.body.refresh_token } });
  expect(refreshed.status).toBe(200);
  const me = await replicas.b.call('GET', '/api/v1/me', { token: refreshed.body.access_token });
  expect(me.status).toBe(200);
  // Reuse detected on either replica revokes the family everywhere.
  replicas.b.clock.advance(replicas.b.config.REFRESH_REUSE_GRACE + 1);
  expect((await replicas.b.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: signedIn.body.refresh_token } })).status).toBe(401);
  expect((await replicas.a.call('GET', '/api/v1/me', { token: refreshed.body.access_token })).status).toBe(401);
});

test('a key rotated on one replica is picked up by the other; old tokens keep working', async () => {
  const tenant = await createTenant(replicas.a);
  const { email } = await createUser(replicas.a, tenant);
  const before = await replicas.a.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
  const oldKid = decodeProtectedHeader(before.body.access_token).kid;
  const newKid = await replicas.a.domain.signingKeys.rotate();
  const after = await replicas.a.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
  expect(decodeProtectedHeader(after.body.access_token).kid).toBe(newKid);
  expect((await replicas.b.call('GET', '/api/v1/me', { token: after.body.access_token })).status).toBe(200);
  expect((await replicas.b.call('GET', '/api/v1/me', { token: before.body.access_token })).status).toBe(200);
  const kids = (await replicas.b.call('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
  // b may serve a cached set for up to a minute, but it learns the new kid on first sight.
  expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
});
