import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { operationRoutes, protocolOperationIds, type OperationId } from '../../generated/operations.ts';
import { loadSpec } from '../../handlers/core/spec.ts';

// /metrics is served only to this bearer (METRICS_TOKEN); see test/integration/edge-headers.test.ts.
const metricsToken = 'prometheus-scrape-token-0123';
let server: TestServer;
let token: string;
let slug: string;
beforeAll(async () => {
  server = await startTestServer({ METRICS_TOKEN: metricsToken });
  const tenant = await createTenant(server);
  slug = tenant.slug;
  const { email } = await createUser(server, tenant);
  token = (await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } })).body.access_token;
});
afterAll(async () => {
  await server?.stop();
});

const spec = loadSpec();
function operation(id: OperationId) {
  const route = operationRoutes[id];
  return (spec.paths as any)[route.path][route.method] as { requestBody?: unknown; parameters?: Array<{ $ref?: string; in?: string; name?: string; required?: boolean }>; security?: unknown[] };
}
const concrete = (path: string, tenantSlug = slug) => path.replace('{tenant_slug}', tenantSlug);
const fastApiShape = (body: any) => {
  expect(Array.isArray(body.detail)).toBe(true);
  for (const issue of body.detail) {
    expect(Object.keys(issue)).toEqual(expect.arrayContaining(['loc', 'msg', 'type']));
    expect(['body', 'query', 'path', 'header']).toContain(issue.loc[0]);
  }
};

describe('every operation with input rejects invalid input with a FastAPI-shaped 422', () => {
  for (const id of Object.keys(operationRoutes) as OperationId[]) {
    // The OpenID provider's endpoints answer OAuth errors (400), not 422: test/integration/oidc-*.
    if ((protocolOperationIds as readonly string[]).includes(id)) continue;
    const op = operation(id);
    const queryParams = (op.parameters ?? []).filter((p) => p.in === 'query');
    const hasPath = operationRoutes[id].path.includes('{');
    if (!op.requestBody && queryParams.length === 0 && !hasPath) continue;
    test(id, async () => {
      const route = operationRoutes[id];
      const auth = op.security ? { token } : {};
      if (op.requestBody) {
        const missing = await server.call(route.method.toUpperCase(), concrete(route.path), { ...auth, body: { unexpected: 1 } });
        const allOptional: Partial<Record<OperationId, string>> = {
          updateProfile: 'first_name', updateApplication: 'name', updatePartner: 'name', updateTenant: 'name', updateUser: 'first_name',
          resetUserPassword: 'password', revokeAllSessions: 'user_id', updatePlatformSettings: 'self_registration',
        };
        const field = allOptional[id];
        if (field) {
          // Every field is optional: an empty update is valid; a wrong type is not.
          const wrong = await server.call(route.method.toUpperCase(), concrete(route.path.replace(/\{\w+\}/g, 'x')), { ...auth, body: { [field]: ['x'] } });
          expect(wrong.status).toBe(422);
          expect(wrong.body.detail[0]).toMatchObject({ loc: ['body', field], type: field === 'self_registration' ? 'bool_type' : 'string_type' });
          return;
        }
        expect(missing.status, JSON.stringify(missing.body)).toBe(422);
        fastApiShape(missing.body);
        expect(missing.body.detail.some((i: any) => i.type === 'missing' && i.loc[0] === 'body')).toBe(true);
        const notAnObject = await server.call(route.method.toUpperCase(), concrete(route.path), { ...auth, raw: '[1,2]', headers: { 'content-type': 'application/json' } });
        expect(notAnObject.status).toBe(422);
        expect(notAnObject.body.detail[0]).toMatchObject({ loc: ['body'], type: 'model_attributes_type' });
        return;
      }
      const requiredQuery = queryParams.filter((p) => p.required);
      if (requiredQuery.length > 0) {
        const reply = await server.call(route.method.toUpperCase(), concrete(route.path), auth);
        expect(reply.status).toBe(422);
        fastApiShape(reply.body);
        expect(reply.body.detail.map((i: any) => i.loc)).toEqual(expect.arrayContaining(requiredQuery.map((p) => ['query', p.name])));
        return;
      }
      if (queryParams.length > 0) {
        // Only optional query parameters: an over-long value of the wrong type is refused.
        const name = queryParams[0]!.name!;
        // Strict operations (the admin API) refuse a repeated scalar; the others take its last value.
        const strict = (op as { 'x-scaikey-strict-input'?: boolean })['x-scaikey-strict-input'] === true;
        const query = strict ? `${name}=a&${name}=b` : `${name}=${'x'.repeat(100)}`;
        const reply = await server.call(route.method.toUpperCase(), `${concrete(route.path)}?${query}`, auth);
        expect(reply.status).toBe(422);
        fastApiShape(reply.body);
        expect(reply.body.detail[0].loc).toEqual(['query', name]);
        return;
      }
      // Path parameters only (tenant_slug allows 63 characters, ids 64): over-long ones are refused.
      const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const reply = await server.call(route.method.toUpperCase(), route.path.replace(/\{\w+\}/g, 'x'.repeat(300)), auth);
      expect(reply.status).toBe(422);
      expect(reply.body.detail[0]).toMatchObject({ loc: ['path', names[0]] });
      expect(['string_too_long', 'string_pattern_mismatch']).toContain(reply.body.detail[0].type);
    });
  }
});

describe('operations without a handler', () => {
  test('answer 501 with a detail', async () => {
    const { createApp } = await import('../../handlers/http/front.ts');
    const { createLogger } = await import('../../handlers/core/logger.ts');
    const app = await createApp({
      config: { BODY_LIMIT: 65_536, corsOrigins: [], trustProxy: false, validateResponses: false, production: false },
      logger: createLogger('silent'),
      handlers: {},
      authenticate: async () => {
        throw new Error('unused');
      },
    });
    const listener = (await import('node:http')).createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    try {
      const { port } = listener.address() as import('node:net').AddressInfo;
      const reply = await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`);
      expect(reply.status).toBe(501);
      expect(await reply.json()).toEqual({ detail: 'Not implemented' });
    } finally {
      listener.close();
    }
  });
});

describe('transport-level errors', () => {
  test('wrong content type → 415, oversize body → 413, unknown route → 404, wrong method → 405', async () => {
    const form = await server.call('POST', '/api/v1/auth/identify', { raw: 'email=a@b.c', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.body.detail).toMatch(/application\/json/);
    const huge = await server.call('POST', '/api/v1/auth/identify', { raw: JSON.stringify({ email: 'a'.repeat(70_000) }), headers: { 'content-type': 'application/json' } });
    expect(huge.status).toBe(413);
    expect(huge.body).toEqual({ detail: 'Request body too large' });
    const missing = await server.call('GET', '/api/v1/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: 'Not Found' });
    const method = await server.call('DELETE', '/api/v1/auth/identify');
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('POST');
  });

  test('X-Request-ID is honoured when sane and minted otherwise; envelopes carry it', async () => {
    const given = await server.call('POST', `/api/v1/auth/tenants/${slug}/login`, { body: { email: 'x@example.com', password: 'y' }, headers: { 'x-request-id': 'trace-1234-abcd' } });
    expect(given.headers.get('x-request-id')).toBe('trace-1234-abcd');
    const minted = await server.call('GET', '/api/v1/nowhere', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(minted.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('health, readiness and metrics', async () => {
    expect((await server.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await server.call('GET', '/readyz')).body).toEqual({ status: 'ready' });
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } }).then((r) => r.text());
    expect(metrics).toContain('scaikey_http_requests_total{operation="portalLogin",status="200"}');
    expect(metrics).toContain('scaikey_security_events_total');
  });
});
