// Identify stores nothing: its token seals the flow (id, address, expiry), and the flow document
// is written only when the token is first answered. It must still work exactly once, end after
// five wrong answers, expire, refuse tampering, and old stored flows must keep working.
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { errorCatalogue } from '../../handlers/core/errors.ts';
import { hashToken } from '../../handlers/domain/crypto/secrets.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ LOCKOUT_THRESHOLD: '100', IP_RATE_LIMIT: '100000' });
});
afterAll(async () => {
  await server?.stop();
});

const flows = () => server.database.db.collection('flows');
const identify = async (email: string) => (await server.call('POST', '/api/v1/auth/identify', { body: { email } })).body.flow_token as string;
const authenticate = (flowToken: string, password: string) => server.call('POST', '/api/v1/auth/authenticate', { body: { flow_token: flowToken, password } });
const expired = { detail: errorCatalogue.flowExpired.detail };

async function account() {
  const tenant = await createTenant(server);
  return createUser(server, tenant);
}

test('identify writes no flow; the first answer does, and the token works once', async () => {
  const { email } = await account();
  const before = await flows().countDocuments({});
  const token = await identify(email);
  expect(await flows().countDocuments({})).toBe(before);
  expect((await authenticate(token, strongPassword)).status).toBe(200);
  const stored = await flows().findOne({ token_hash: hashToken(token) });
  expect(stored).toMatchObject({ kind: 'identify', email_normalized: email.toLowerCase(), consumed_at: expect.any(Date) });
  const again = await authenticate(token, strongPassword);
  expect(again.status).toBe(400);
  expect(again.body).toEqual(expired);
});

test('five wrong answers end the flow, even before it was stored', async () => {
  const { email } = await account();
  const token = await identify(email);
  for (let i = 0; i < 5; i++) expect((await authenticate(token, 'not the password, no')).status).toBe(401);
  expect((await flows().findOne({ token_hash: hashToken(token) }))?.failed_attempts).toBe(5);
  const right = await authenticate(token, strongPassword);
  expect(right.status).toBe(400);
  expect(right.body).toEqual(expired);
});

test('of ten parallel right answers exactly one signs in', async () => {
  const { email } = await account();
  const token = await identify(email);
  const replies = await Promise.all(Array.from({ length: 10 }, () => authenticate(token, strongPassword)));
  expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
  for (const r of replies.filter((r) => r.status !== 200)) expect(r.body).toEqual(expired);
});

test('a tampered, truncated, padded or expired token is an expired flow', async () => {
  const { email } = await account();
  const token = await identify(email);
  const body = token.split('.')[2]!;
  const flipped = token.replace(body, `${body.slice(0, -1)}${body.endsWith('A') ? 'B' : 'A'}`);
  for (const bad of [flipped, token.slice(0, -2), `${token}=`, `${token}\u0000`.replace('\u0000', '.x')]) {
    const reply = await authenticate(bad, strongPassword);
    expect({ bad: bad.slice(-8), status: reply.status, body: reply.body }).toEqual({ bad: bad.slice(-8), status: 400, body: expired });
  }
  server.clock.advance(server.config.FLOW_TOKEN_TTL + 1);
  const late = await authenticate(token, strongPassword);
  expect(late.status).toBe(400);
  expect(late.body).toEqual(expired);
});

test('a flow stored by an earlier version (its token hashed in flows) still signs in once', async () => {
  const { email } = await account();
  const token = `ft_${'a'.repeat(40)}abc`;
  const now = server.clock.now();
  await flows().insertOne({
    _id: new ObjectId(), token_hash: hashToken(token), kind: 'identify', email_normalized: email.toLowerCase(), user_id: null, tenant_id: null,
    channel: 'portal', remember_me: false, redirect_uri: null, failed_attempts: 0, created_at: now, expires_at: new Date(now.getTime() + 600_000), consumed_at: null,
  });
  expect((await authenticate(token, strongPassword)).status).toBe(200);
  expect((await authenticate(token, strongPassword)).status).toBe(400);
});
