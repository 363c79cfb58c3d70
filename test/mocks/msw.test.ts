/**
 * The MSW handlers answer a real `fetch` for every operation (msw/node's setupServer), with
 * bodies valid against the spec, and overrides replace answers per test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { operationIds } from '../../generated/operations.ts';
import { createHandlers, getExample, mockCatalogue, mockResponse } from '../../mocks/msw.ts';
import { defaultStatus, examplesOf, isEnvelope, jsonMedia, operations, schemaErrors, send, validRequest, withoutMeta, type Reply, type SpecOperation } from './support.ts';

const API = 'http://localhost:8000';
const server = setupServer(...createHandlers());

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
// resetHandlers(...handlers) replaces the initial handlers, so put the defaults back every time.
afterEach(() => server.resetHandlers(...createHandlers()));
afterAll(() => server.close());

function expectValid(op: SpecOperation, reply: Reply, context: string): void {
  const response = op.responses.find(([s]) => s === reply.status)?.[1];
  expect(response, `${context}: ${reply.status} is not documented for ${op.operationId}`).toBeDefined();
  const media = jsonMedia(response!);
  if (!media) return;
  const errors = schemaErrors(media.schema, reply.body);
  if (errors) expect.fail(`${context}: ${op.operationId} ${reply.status} does not match the spec: ${errors}`);
}

const byId = (id: string) => operations.find((o) => o.operationId === id)!;

describe('MSW handlers', () => {
  it('cover every operation in generated/operations.ts, and the generated catalogue matches the spec', () => {
    expect(Object.keys(mockCatalogue.operations)).toEqual([...operationIds]);
    expect(createHandlers()).toHaveLength(operationIds.length);
    for (const op of operations) {
      const entry = mockCatalogue.operations[op.operationId as keyof typeof mockCatalogue.operations];
      expect([entry.method, entry.path, entry.secured]).toEqual([op.method, op.path, op.secured]);
      expect(entry.responses.map((r) => r.status)).toEqual(op.statuses);
    }
  });

  it.each(operations.map((op) => [op.operationId, op] as const))('%s answers a real fetch with its default example', async (_id, op) => {
    const reply = await send(API, validRequest(op));
    const status = defaultStatus(op);
    expect(reply.status).toBe(status);
    expectValid(op, reply, 'default');
    const response = op.responses.find(([s]) => s === status)![1];
    // A response without content (204) answers no body.
    if (!jsonMedia(response)) expect(reply.body === undefined || reply.body === '').toBe(true);
    else expect(withoutMeta(reply.body)).toEqual(withoutMeta(examplesOf(response)[0]!.value));
    expect(reply.headers.get('x-request-id')).toBeTruthy();
    if (isEnvelope(response)) expect(reply.body.meta.request_id).toBe(reply.headers.get('x-request-id'));
    if (op.secured) {
      const req = validRequest(op);
      delete req.headers.authorization;
      const refused = await send(API, req);
      expect([refused.status, refused.body]).toEqual([401, { detail: 'Not authenticated' }]);
    }
  });

  it.each(operations.map((op) => [op.operationId, op] as const))('%s honours Prefer like the HTTP mock', async (_id, op) => {
    for (const [status, response] of op.responses) {
      for (const ex of examplesOf(response)) {
        const reply = await send(API, validRequest(op, { prefer: `code=${status}, example=${ex.name}` }));
        expect(reply.status).toBe(status);
        expect(withoutMeta(reply.body)).toEqual(withoutMeta(ex.value));
      }
      const dynamic = await send(API, validRequest(op, { prefer: `code=${status}, dynamic=true, seed=7` }));
      expect(dynamic.status).toBe(status);
      expectValid(op, dynamic, 'dynamic');
    }
    const unknown = await send(API, validRequest(op, { prefer: 'code=599' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toContain('599');
  });

  it('answers at any origin by default, and only at baseUrl when one is given', async () => {
    const op = byId('getJwks');
    expect((await send('http://127.0.0.1:5173', validRequest(op))).status).toBe(200);
    server.resetHandlers(...createHandlers({ baseUrl: 'https://api.example.test/' }));
    expect((await send('https://api.example.test', validRequest(op))).status).toBe(200);
    await expect(send(API, validRequest(op))).rejects.toThrow();
  });
});

describe('overrides', () => {
  it('mockResponse picks a named example', async () => {
    server.use(mockResponse('getProfile', { example: 'mfa' }));
    const reply = await send(API, validRequest(byId('getProfile')));
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(getExample('getProfile', 'mfa'));
    expect(reply.body.mfa_enabled).toBe(true);
  });

  it('mockResponse picks a documented status (its first example) or a status and example', async () => {
    server.use(mockResponse('portalLogin', { status: 401 }));
    const a = await send(API, validRequest(byId('portalLogin')));
    expect([a.status, a.body]).toEqual([401, { detail: 'Invalid email or password' }]);

    server.use(mockResponse('getProfile', { status: 401, example: 'invalidToken' }));
    const b = await send(API, validRequest(byId('getProfile')));
    expect([b.status, b.body]).toEqual([401, { detail: 'Invalid or expired token' }]);
    expect(b.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('mockResponse answers a body of the test’s own, typed from generated/', async () => {
    const profile = getExample('getProfile', 'profile');
    server.use(mockResponse('getProfile', { body: { ...profile, first_name: 'Bo', mfa_methods: ['totp'] } }));
    const reply = await send(API, validRequest(byId('getProfile')));
    expect(reply.status).toBe(200);
    expect(reply.body.first_name).toBe('Bo');
    expectValid(byId('getProfile'), reply, 'body override');

    server.use(mockResponse('identifyUser', { status: 429, body: { detail: 'Slow down' }, headers: { 'Retry-After': '7' } }));
    const limited = await send(API, validRequest(byId('identifyUser')));
    expect([limited.status, limited.body, limited.headers.get('retry-after')]).toEqual([429, { detail: 'Slow down' }, '7']);
  });

  it('mockResponse generates a dynamic body, repeatable with a seed', async () => {
    const op = byId('tenantLogin');
    server.use(mockResponse('tenantLogin', { dynamic: true, seed: 99 }));
    const a = await send(API, validRequest(op));
    const b = await send(API, validRequest(op));
    expect(a.status).toBe(200);
    expectValid(op, a, 'dynamic override');
    expect(withoutMeta(a.body)).toEqual(withoutMeta(b.body));
    expect(a.body.meta.request_id).toBe(a.headers.get('x-request-id'));
  });

  it('mockResponse with once: true answers one request, then the defaults come back', async () => {
    const op = byId('portalRefresh');
    server.use(mockResponse('portalRefresh', { status: 401 }, { once: true }));
    expect((await send(API, validRequest(op))).status).toBe(401);
    expect((await send(API, validRequest(op))).status).toBe(200);
  });

  it('mockResponse accepts a plain MSW resolver for full control', async () => {
    server.use(mockResponse('getJwks', () => HttpResponse.json({ keys: [] }, { headers: { 'Cache-Control': 'max-age=1' } })));
    const reply = await send(API, validRequest(byId('getJwks')));
    expect([reply.status, reply.body, reply.headers.get('cache-control')]).toEqual([200, { keys: [] }, 'max-age=1']);
  });

  it('createHandlers takes overrides for several operations at once', async () => {
    server.resetHandlers(
      ...createHandlers({
        overrides: {
          getProfile: { example: 'mfa' },
          identifyUser: { example: 'multipleTenants' },
          tenantLogin: { status: 403, example: 'emailNotVerified' },
        },
      }),
    );
    expect((await send(API, validRequest(byId('getProfile')))).body.email).toBe('grace@example.com');
    expect((await send(API, validRequest(byId('identifyUser')))).body.requires_tenant_selection).toBe(true);
    const login = await send(API, validRequest(byId('tenantLogin')));
    expect([login.status, login.body]).toEqual([403, { detail: 'Email address not verified' }]);
    // Operations without an override keep their defaults.
    expect((await send(API, validRequest(byId('getJwks')))).status).toBe(200);
  });

  it('overrides naming something the spec lacks fail when they are set up, not mid-test', () => {
    expect(() => mockResponse('getProfile', { status: 418 } as never)).toThrow(/418 is not documented for getProfile; documented statuses: 200, 401, 422/);
    expect(() => mockResponse('getProfile', { example: 'nope' } as never)).toThrow(/example=nope does not exist/);
    expect(() => createHandlers({ overrides: { noSuchOperation: { status: 200 } } as never })).toThrow(/Unknown operationId noSuchOperation/);
  });

  it('enforceAuth: false lets secured operations answer without a token', async () => {
    server.resetHandlers(...createHandlers({ enforceAuth: false }));
    const req = validRequest(byId('getProfile'));
    delete req.headers.authorization;
    expect((await send(API, req)).status).toBe(200);
  });

  it('a handler of the test’s own still wins over the generated ones', async () => {
    server.use(http.get('*/api/v1/me', () => HttpResponse.json({ detail: 'custom' }, { status: 401 })));
    expect((await send(API, validRequest(byId('getProfile')))).body).toEqual({ detail: 'custom' });
  });
});
