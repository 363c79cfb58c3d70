import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser } from '../support/fixtures.ts';

// A real cost so hashing dominates; limits raised so nothing is throttled during the measurement.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '2', LOCKOUT_THRESHOLD: '100000', IP_RATE_LIMIT: '100000' });
});
afterAll(async () => {
  await server?.stop();
});

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

async function timed(body: unknown): Promise<{ ms: number; status: number; body: unknown }> {
  const start = performance.now();
  const reply = await server.call('POST', '/api/v1/auth/login', { body });
  return { ms: performance.now() - start, status: reply.status, body: reply.body };
}

test('unknown email and wrong password take the same time and give the same answer', async () => {
  const tenant = await createTenant(server);
  const { email } = await createUser(server, tenant);
  const known: number[] = [];
  const unknown: number[] = [];
  // Warm-up, then interleave so drift in machine load hits both alike.
  await timed({ email, password: 'warm up password' });
  for (let i = 0; i < 30; i++) {
    const k = await timed({ email, password: `wrong password ${i}` });
    const u = await timed({ email: `nobody${i}@example.com`, password: `wrong password ${i}` });
    expect(k.status).toBe(401);
    expect(u.body).toEqual(k.body);
    known.push(k.ms);
    unknown.push(u.ms);
  }
  const difference = Math.abs(median(known) - median(unknown));
  // Both paths do one password-hash comparison at the same cost; allow 30% or 4 ms of noise.
  expect(difference).toBeLessThan(Math.max(4, 0.3 * Math.max(median(known), median(unknown))));
});
