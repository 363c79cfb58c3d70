import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

// A tiny per-address budget: IP_RATE_LIMIT 1 → 10 identifies per window.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ IP_RATE_LIMIT: '1', IP_RATE_WINDOW: '60' });
});
afterAll(async () => {
  await server?.stop();
});

test('identify is limited per client address, with Retry-After, and the window ends', async () => {
  for (let i = 0; i < 10; i++) {
    expect((await server.call('POST', '/api/v1/auth/identify', { body: { email: `probe${i}@example.com` } })).status).toBe(200);
  }
  const limited = await server.call('POST', '/api/v1/auth/identify', { body: { email: 'probe-x@example.com' } });
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(limited.body).toEqual({ detail: 'Too many attempts. Please try again later.' });
  server.clock.advance(61);
  expect((await server.call('POST', '/api/v1/auth/identify', { body: { email: 'probe-y@example.com' } })).status).toBe(200);
});
