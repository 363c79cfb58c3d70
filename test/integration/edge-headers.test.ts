// The HTTP edge's answers as a whole: every API response, errors included, says Cache-Control:
// no-store; /metrics is served only to METRICS_TOKEN's bearer, never to the public.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

const metricsToken = 'prometheus-scrape-token-4567';

/** One raw HTTP/1.1 exchange, for requests fetch would refuse to send. */
function rawExchange(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

let server: TestServer;
let plain: TestServer;
beforeAll(async () => {
  server = await startTestServer({ IDENTIFY_RATE_LIMIT: '1', BODY_LIMIT: '1024', METRICS_TOKEN: metricsToken });
  plain = await startTestServer({}, { shareDatabaseWith: server });
});
afterAll(async () => {
  await plain?.stop();
  await server?.stop();
});

describe('Cache-Control: no-store on every API answer, errors included', () => {
  test.each([
    ['404 unknown path', 404, () => server.call('GET', '/api/v1/nowhere')],
    ['404 unknown tenant', 404, () => server.call('POST', '/api/v1/auth/tenants/no-such-tenant/login', { body: { email: 'a@example.com', password: 'x' } })],
    ['404 outside the API', 404, () => server.call('GET', '/no-such-page')],
    ['405 wrong method', 405, () => server.call('DELETE', '/api/v1/auth/identify')],
    ['401 no bearer', 401, () => server.call('GET', '/api/v1/me')],
    ['401 bad bearer', 401, () => server.call('GET', '/api/v1/me', { token: 'not-a-jwt' })],
    ['415 not JSON', 415, () => server.call('POST', '/api/v1/auth/identify', { raw: 'email=a@example.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } })],
    ['413 too large', 413, () => server.call('POST', '/api/v1/auth/identify', { body: { email: 'a@example.com', pad: 'x'.repeat(2048) } })],
    ['422 invalid body', 422, () => server.call('POST', '/api/v1/auth/identify', { body: {} })],
  ])('%s', async (_name, status, send) => {
    const reply = await send();
    expect(reply.status).toBe(status);
    expect(reply.headers.get('cache-control')).toBe('no-store');
  });

  test('429 over a rate limit (and the success before it)', async () => {
    const first = await server.call('POST', '/api/v1/auth/identify', { body: { email: 'probe@example.com' } });
    expect([first.status, first.headers.get('cache-control')]).toEqual([200, 'no-store']);
    const limited = await server.call('POST', '/api/v1/auth/identify', { body: { email: 'probe@example.com' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.headers.get('cache-control')).toBe('no-store');
  });

  test('400 for a request Node refuses itself (bad framing)', async () => {
    const answer = await rawExchange(server.url, 'POST /api/v1/auth/identify HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/\r\nCache-Control: no-store\r\n/i);
  });
});

describe('/metrics is not public', () => {
  test('without METRICS_TOKEN it is not served: 404 like any unknown path', async () => {
    const reply = await plain.call('GET', '/metrics');
    expect([reply.status, reply.body]).toEqual([404, { detail: 'Not Found' }]);
    const withSomeToken = await plain.call('GET', '/metrics', { token: metricsToken });
    expect(withSomeToken.status).toBe(404);
  });

  test('with METRICS_TOKEN: 401 without it or with another token, the Prometheus text with it', async () => {
    const anonymous = await server.call('GET', '/metrics');
    expect([anonymous.status, anonymous.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
    expect(anonymous.body).toEqual({ detail: 'Not authenticated' });
    const wrong = await server.call('GET', '/metrics', { token: `${metricsToken}x` });
    expect([wrong.status, wrong.headers.get('www-authenticate')]).toEqual([401, 'Bearer error="invalid_token"']);
    const basic = await server.call('GET', '/metrics', { headers: { authorization: `Basic ${Buffer.from(`x:${metricsToken}`).toString('base64')}` } });
    expect(basic.status).toBe(401);

    const scrape = await server.call('GET', '/metrics', { token: metricsToken });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(scrape.body).toContain('scaikey_http_requests_total');
  });

  test('a too short token is refused at start-up', async () => {
    const { loadConfig } = await import('../../handlers/core/config.ts');
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});
