/**
 * The HTTP mock server, operation by operation: the default answer, every named example, every
 * documented status and a dynamic body all validate against the spec; Prefer errors are clear;
 * security, request validation (422), 413/415/404/405 match what the real app factory answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../handlers/http/front.ts';
import { ApiError } from '../../handlers/core/errors.ts';
import { createLogger } from '../../handlers/core/logger.ts';
import { startMockServer, type RunningMockServer } from '../../mocks/server.ts';
import {
  defaultStatus,
  examplesOf,
  invalidRequests,
  isEnvelope,
  jsonMedia,
  operations,
  schemaErrors,
  send,
  spec,
  validRequest,
  withoutMeta,
  type Reply,
  type SpecOperation,
} from './support.ts';

const logger = createLogger('silent');
let mock: RunningMockServer;
let startMs = 0;
let startCpuMs = 0;
/** The real app factory in its production configuration (no quick start), with no handlers: the reference for refusals. */
let reference: { url: string; server: Server };

beforeAll(async () => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  mock = await startMockServer({ port: 0, host: '127.0.0.1', logger });
  startMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  startCpuMs = (used.user + used.system) / 1000;

  const app = await createApp({
    config: { BODY_LIMIT: 64 * 1024, corsOrigins: [], trustProxy: false, validateResponses: false, production: false },
    logger,
    handlers: {},
    authenticate: async (token) => {
      if (!token) throw new ApiError('invalidToken');
      return { kind: 'user' as const, userId: 'u', tenantId: 't', sessionId: 's', tokenId: 'j', expiresAt: 0, token };
    },
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  reference = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
});

afterAll(async () => {
  await mock?.close();
  await new Promise((resolve) => reference?.server.close(resolve));
});

function responseFor(op: SpecOperation, status: number) {
  return op.responses.find(([s]) => s === status)![1];
}

/** The reply is documented for the operation and its body matches the documented schema. */
function expectValid(op: SpecOperation, reply: Reply, context: string): void {
  expect(op.statuses, `${context}: status ${reply.status} is not documented (${reply.text})`).toContain(reply.status);
  const media = jsonMedia(responseFor(op, reply.status));
  if (!media) return;
  expect(reply.headers.get('content-type'), context).toMatch(/^application\/json/);
  const errors = schemaErrors(media.schema, reply.body);
  if (errors) expect.fail(`${context}: ${op.operationId} ${reply.status} body does not match the spec: ${errors}\n${reply.text}`);
}

function expectEnvelopeMeta(reply: Reply): void {
  expect(reply.body.meta.request_id).toBe(reply.headers.get('x-request-id'));
  expect(Math.abs(Date.parse(reply.body.meta.timestamp) - Date.now())).toBeLessThan(60_000);
}

describe('mock server', () => {
  it('starts in well under a second', () => {
    // CPU time, not wall time: test files run in parallel on a small machine, and other
    // processes' load must not make this flaky. (The wall time is printed for the curious.)
    console.info(`startMockServer: ${startMs.toFixed(0)} ms wall, ${startCpuMs.toFixed(0)} ms CPU`);
    expect(startCpuMs).toBeLessThan(1000);
  });

  it('serves the contract at /openapi.json', async () => {
    const reply = await send(mock.url, { label: '', method: 'GET', url: '/openapi.json', headers: {} });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(spec);
  });

  it('serves a self-contained reference page at /docs listing every operation and example', async () => {
    const reply = await send(mock.url, { label: '', method: 'GET', url: '/docs', headers: {} });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = reply.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/https?:/);
    expect(reply.text).not.toMatch(/<script|<link|src="http|href="https?:\/\/(?!127\.0\.0\.1)/);
    for (const op of operations) {
      expect(reply.text).toContain(op.operationId);
      for (const [, response] of op.responses) for (const ex of examplesOf(response)) expect(reply.text).toContain(`example <code>${ex.name}</code>`);
    }
  });

  it('redirects / to /docs', async () => {
    const response = await fetch(`${mock.url}/`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/docs');
  });

  it('answers CORS preflights for the local frontend origins, and only those', async () => {
    const op = operations.find((o) => o.method === 'post')!;
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000']) {
      const response = await fetch(`${mock.url}${validRequest(op).url}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization,prefer' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-allow-headers')).toMatch(/prefer/i);
    }
    const actual = await fetch(`${mock.url}/.well-known/jwks.json`, { headers: { origin: 'http://localhost:3000', prefer: 'code=200' } });
    expect(actual.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(actual.headers.get('access-control-expose-headers')).toMatch(/X-Request-ID/);
    expect(actual.headers.get('access-control-expose-headers')).toMatch(/Preference-Applied/);
    const stranger = await fetch(`${mock.url}${validRequest(op).url}`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('accepts Prism-style __code/__example query parameters instead of a Prefer header', async () => {
    const op = operations.find((o) => o.statuses.some((s) => s >= 400 && examplesOf(responseFor(o, s)).length > 1))!;
    const status = op.statuses.find((s) => s >= 400 && examplesOf(responseFor(op, s)).length > 1)!;
    const example = examplesOf(responseFor(op, status))[1]!;
    const req = validRequest(op);
    req.url += `${req.url.includes('?') ? '&' : '?'}__code=${status}&__example=${encodeURIComponent(example.name)}`;
    const reply = await send(mock.url, req);
    expect(reply.status).toBe(status);
    expect(withoutMeta(reply.body)).toEqual(withoutMeta(example.value));
  });

  it('answers 404 and 405 as the real app does', async () => {
    for (const req of [
      { label: '', method: 'GET', url: '/api/v1/nowhere', headers: {} },
      { label: '', method: 'PUT', url: operations[0]!.path.replace(/\{[^}]+\}/g, 'x'), headers: {} },
    ]) {
      const [a, b] = await Promise.all([send(mock.url, req), send(reference.url, req)]);
      expect([a.status, a.body, a.headers.get('allow')]).toEqual([b.status, b.body, b.headers.get('allow')]);
      expect(a.status).toBeGreaterThanOrEqual(404);
    }
  });

  it('refuses bodies over the limit with 413, as the real app does', async () => {
    const op = operations.find((o) => o.operation.requestBody && o.statuses.includes(413))!;
    const req = validRequest(op);
    req.body = JSON.stringify({ padding: 'x'.repeat(70 * 1024) });
    const [a, b] = await Promise.all([send(mock.url, req), send(reference.url, req)]);
    expect(a.status).toBe(413);
    expect(a.body).toEqual(b.body);
    expectValid(op, a, '413');
  });
});

describe.each(operations.map((op) => [op.operationId, op] as const))('mock %s', (_id, op) => {
  const status = defaultStatus(op);

  it(`answers ${op.method.toUpperCase()} ${op.path} with the first example of the lowest 2xx by default`, async () => {
    const reply = await send(mock.url, validRequest(op));
    expectValid(op, reply, 'default answer');
    expect(reply.status).toBe(status);
    const response = responseFor(op, status);
    const first = examplesOf(response)[0];
    if (first) expect(withoutMeta(reply.body)).toEqual(withoutMeta(first.value));
    if (isEnvelope(response)) expectEnvelopeMeta(reply);
  });

  const named = op.responses.flatMap(([s, r]) => examplesOf(r).map((ex) => [s, ex.name, ex.value] as const));
  it.each(named)('Prefer: code=%s, example=%s answers that example', async (s, name, value) => {
    const reply = await send(mock.url, validRequest(op, { prefer: `code=${s}, example=${name}` }));
    expectValid(op, reply, `example ${name}`);
    expect(reply.status).toBe(s);
    expect(withoutMeta(reply.body)).toEqual(withoutMeta(value));
    expect(reply.headers.get('preference-applied')).toBe(`code=${s}, example=${name}`);
    if (isEnvelope(responseFor(op, s))) expectEnvelopeMeta(reply);
    // Without a code, the name is looked up in the default response first, then lowest status first.
    const has = (r: Record<string, any>) => examplesOf(r).some((e) => e.name === name);
    const expected = has(responseFor(op, status)) ? status : op.responses.find(([, r]) => has(r))![0];
    const alone = await send(mock.url, validRequest(op, { prefer: `example=${name}` }));
    expect(alone.status).toBe(expected);
    expect(withoutMeta(alone.body)).toEqual(withoutMeta(examplesOf(responseFor(op, expected)).find((e) => e.name === name)!.value));
  });

  it.each(op.statuses)('Prefer: code=%s answers that status, valid against the spec', async (s) => {
    const reply = await send(mock.url, validRequest(op, { prefer: `code=${s}` }));
    expect(reply.status).toBe(s);
    expectValid(op, reply, `code=${s}`);
    // Documented headers that the mock can fill are sent (Set-Cookie and the like are not invented).
    const documented = Object.keys(responseFor(op, s).headers ?? {}).map((h) => h.toLowerCase());
    if (documented.includes('retry-after')) expect(reply.headers.get('retry-after')).toMatch(/^\d+$/);
    if (documented.includes('www-authenticate')) expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it.each(op.statuses)('Prefer: code=%s, dynamic=true generates a valid body, repeatable with a seed', async (s) => {
    for (const seed of [1, 42, 1234]) {
      const reply = await send(mock.url, validRequest(op, { prefer: `code=${s}, dynamic=true, seed=${seed}` }));
      expect(reply.status).toBe(s);
      expectValid(op, reply, `dynamic seed ${seed}`);
      // A response without content (204) has no body to generate: only the code applies.
      const generated = jsonMedia(responseFor(op, s)) !== undefined;
      expect(reply.headers.get('preference-applied')).toBe(generated ? `code=${s}, dynamic=true, seed=${seed}` : `code=${s}`);
      if (seed === 42) {
        const again = await send(mock.url, validRequest(op, { prefer: `code=${s}, dynamic=true, seed=${seed}` }));
        expect(withoutMeta(again.body)).toEqual(withoutMeta(reply.body));
      }
    }
    const unseeded = await send(mock.url, validRequest(op, { prefer: 'dynamic=true' }));
    expectValid(op, unseeded, 'dynamic without seed');
    expect(unseeded.status).toBe(status);
    if (jsonMedia(responseFor(op, status))) expect(unseeded.headers.get('preference-applied')).toMatch(/^dynamic=true, seed=\d+$/);
    else expect(unseeded.headers.get('preference-applied')).toBeNull();
  });

  it('refuses unknown codes and example names with 400 and lists what exists', async () => {
    const badCode = await send(mock.url, validRequest(op, { prefer: 'code=418' }));
    expect(badCode.status).toBe(400);
    expect(badCode.body.detail).toContain('code=418');
    for (const s of op.statuses) expect(badCode.body.detail).toContain(String(s));

    const badExample = await send(mock.url, validRequest(op, { prefer: 'example=noSuchExample' }));
    expect(badExample.status).toBe(400);
    expect(badExample.body.detail).toContain('noSuchExample');
    for (const [, response] of op.responses) for (const ex of examplesOf(response)) expect(badExample.body.detail).toContain(ex.name);

    const wrongStatus = op.responses.find(([, r]) => examplesOf(r).length > 0)!;
    const otherStatus = op.statuses.find((s) => s !== wrongStatus[0]);
    if (otherStatus !== undefined) {
      const name = examplesOf(wrongStatus[1])[0]!.name;
      const mismatch = await send(mock.url, validRequest(op, { prefer: `code=${otherStatus}, example=${name}` }));
      if (!examplesOf(responseFor(op, otherStatus)).some((e) => e.name === name)) {
        expect(mismatch.status).toBe(400);
        expect(mismatch.body.detail).toContain(`${otherStatus}`);
      }
    }

    const garbage = await send(mock.url, validRequest(op, { prefer: 'code=abc' }));
    expect(garbage.status).toBe(400);
    const badDynamic = await send(mock.url, validRequest(op, { prefer: 'dynamic=maybe' }));
    expect(badDynamic.status).toBe(400);
  });

  if (op.secured) {
    it('answers 401 without a bearer token, whatever Prefer says, as the real app does', async () => {
      for (const auth of [null, 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer two words']) {
        const req = validRequest(op, { prefer: `code=${status}` });
        if (auth === null) delete req.headers.authorization;
        else req.headers.authorization = auth;
        const [a, b] = await Promise.all([send(mock.url, req), send(reference.url, req)]);
        expect(a.status, `Authorization: ${auth}`).toBe(401);
        expect(a.body).toEqual(b.body);
        expect(a.headers.get('www-authenticate')).toBe(b.headers.get('www-authenticate'));
        expectValid(op, a, `Authorization: ${auth}`);
      }
    });

    it('accepts any well-formed bearer value', async () => {
      for (const token of ['x', 'eyJhbGciOiJub25lIn0.e30.', 'not-a-real-token~1234']) {
        const reply = await send(mock.url, validRequest(op), { authorization: `Bearer ${token}` });
        expect(reply.status).toBe(status);
      }
    });
  }

  const invalid = invalidRequests(op);
  if (invalid.length > 0) {
    it.each(invalid.map((r) => [r.label, r] as const))('refuses an invalid request (%s) exactly as the real app does', async (_label, req) => {
      const [a, b] = await Promise.all([send(mock.url, req), send(reference.url, req)]);
      expect(a.status, a.text).toBe(b.status);
      expect(a.body).toEqual(b.body);
      expect([413, 415, 422]).toContain(a.status);
      expectValid(op, a, req.label);
      if (a.status === 422) {
        expect(Array.isArray(a.body.detail) && a.body.detail.length > 0).toBe(true);
        for (const issue of a.body.detail) expect(['body', 'query', 'path', 'header']).toContain(issue.loc[0]);
      }
    });
  }
});
