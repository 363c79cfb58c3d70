/**
 * MSW (v2) request handlers for every operation, answering from the spec's examples — the same
 * catalogue and the same choice rules as the HTTP mock server, typed from `generated/`.
 * Works with `setupServer` (msw/node) in tests and `setupWorker` (msw/browser) in the browser.
 *
 *   import { setupServer } from 'msw/node';
 *   import { createHandlers, mockResponse } from '../mocks/msw.ts';
 *
 *   const server = setupServer(...createHandlers());
 *   server.use(mockResponse('getProfile', { example: 'mfa' }));          // a named example
 *   server.use(mockResponse('portalLogin', { status: 401 }));            // a documented status
 *   server.use(mockResponse('getProfile', { body: { ...profile, first_name: 'Bo' } }));
 *
 * Unlike the HTTP mock server, these handlers do not validate requests against the spec (no 422
 * from validation): run `npm run mock` when the validation behaviour matters.
 * See mocks/README.md.
 */
import { delay as mswDelay, http, HttpResponse, type HttpHandler, type HttpResponseResolver } from 'msw';
import type { OperationId, OperationStatus, ResponseBody, SuccessStatus } from '../generated/operations.ts';
import type { MockOperation } from './catalogue.ts';
import { mockCatalogue, type MockExampleNames } from './generated/examples.ts';
import { buildReply, chooseResponse, fillEnvelope, MockPreferenceError, parsePreferences, type MockPreferences, type MockReply } from './responder.ts';
import { isOAuthProtocolPath } from '../handlers/core/oauth-paths.ts';
import { protocolReply } from './protocol.ts';

export { mockCatalogue };
export type { MockExampleNames };

type Names<Id extends OperationId> = Id extends keyof MockExampleNames ? MockExampleNames[Id] : never;

/** The example names of an operation, optionally for one status. */
export type ExampleName<Id extends OperationId, S = keyof Names<Id>> = S extends keyof Names<Id> ? Names<Id>[S] : never;

/** The body type of the response that documents example `N`. */
export type ExampleBody<Id extends OperationId, N> = {
  [S in OperationStatus<Id>]: N extends ExampleName<Id, S> ? ResponseBody<Id, S> : never;
}[OperationStatus<Id>];

interface OverrideCommon {
  /** Extra response headers (merged over the documented ones). */
  headers?: Record<string, string>;
  /** Milliseconds to wait before answering. */
  delay?: number;
}

/** Answer with the response documented for `status`: its first example, a named one, a body of your own, or a generated body. */
export type StatusOverride<Id extends OperationId> = {
  [S in OperationStatus<Id>]: OverrideCommon & {
    status: S;
    example?: ExampleName<Id, S>;
    body?: ResponseBody<Id, S>;
    dynamic?: boolean;
    seed?: number | string;
  };
}[OperationStatus<Id>];

/** Answer with a named example, whichever status documents it. */
export type ExampleOverride<Id extends OperationId> = OverrideCommon & { status?: undefined; example: ExampleName<Id>; body?: undefined; dynamic?: undefined };

/** Answer the default (2xx) status with this body. */
export type BodyOverride<Id extends OperationId> = OverrideCommon & { status?: undefined; body: ResponseBody<Id, SuccessStatus<Id>>; example?: undefined; dynamic?: undefined };

/** Answer the default status with a body generated from its schema (`seed` makes it repeatable). */
export type DynamicOverride = OverrideCommon & { status?: undefined; dynamic: true; seed?: number | string; example?: undefined; body?: undefined };

/** Full control: a plain MSW resolver. */
export type ResolverOverride = HttpResponseResolver;

export type MockOverride<Id extends OperationId> = StatusOverride<Id> | ExampleOverride<Id> | BodyOverride<Id> | DynamicOverride | ResolverOverride;

export type MockOverrides = { [Id in OperationId]?: MockOverride<Id> };

export interface HandlerOptions {
  /**
   * Origin (and path prefix) the API is called at, e.g. `http://localhost:8000`. Default `*`:
   * any origin, so the handlers catch calls to the API wherever the frontend points them.
   */
  baseUrl?: string;
  /** Answer 401 to secured operations called without a well-formed bearer token (default true, as the real server). */
  enforceAuth?: boolean;
  /** Milliseconds to wait before every answer (default 0). */
  delay?: number;
}

export interface CreateHandlersOptions extends HandlerOptions {
  /** Per-operation answers replacing the default one. */
  overrides?: MockOverrides;
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i; // the syntax createApp accepts
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** A UUID (crypto.randomUUID exists only in secure contexts in browsers: https or localhost). */
function newRequestId(): string {
  if (typeof globalThis.crypto?.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const hex = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

function operation(operationId: OperationId): MockOperation {
  const op = mockCatalogue.operations[operationId];
  if (!op) throw new Error(`Unknown operationId ${String(operationId)}: mocks/generated/examples.ts has ${Object.keys(mockCatalogue.operations).join(', ')}`);
  return op;
}

function url(baseUrl: string | undefined, op: MockOperation): string {
  const base = (baseUrl ?? '*').replace(/\/+$/, '');
  return `${base}${op.mswPath}`;
}

function json(reply: MockReply, requestId: string): Response {
  const headers = { ...reply.headers, 'X-Request-ID': requestId, 'Cache-Control': 'no-store' };
  if (reply.body === undefined) return new HttpResponse(null, { status: reply.status, headers });
  return HttpResponse.json(reply.body as never, { status: reply.status, headers });
}

function authFailure(request: Request, requestId: string): Response | undefined {
  const header = request.headers.get('authorization');
  if (!header) return json({ status: 401, body: { detail: 'Not authenticated' }, headers: { 'WWW-Authenticate': 'Bearer' } }, requestId);
  if (!BEARER.test(header)) {
    return json({ status: 401, body: { detail: 'Invalid or expired token' }, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } }, requestId);
  }
  return undefined;
}

type DataOverride = Exclude<MockOverride<OperationId>, ResolverOverride>;

function overridePreferences(override: DataOverride): MockPreferences {
  const o = override as { status?: number; example?: string; dynamic?: boolean; seed?: number | string };
  return {
    ...(o.status !== undefined ? { code: o.status } : {}),
    ...(o.example !== undefined ? { example: o.example } : {}),
    ...(o.dynamic ? { dynamic: true } : {}),
    ...(o.seed !== undefined ? { seed: String(o.seed) } : {}),
  };
}

/** Throws at set-up time when an override names a status or example the spec does not have. */
function checkOverride(op: MockOperation, override: MockOverride<OperationId>): void {
  if (typeof override === 'function') return;
  try {
    chooseResponse(op, overridePreferences(override));
  } catch (error) {
    if (error instanceof MockPreferenceError) throw new Error(`mock override for ${op.operationId}: ${error.detail.replace(/^Prefer: /, '')}`);
    throw error;
  }
}

async function overrideReply(op: MockOperation, override: DataOverride, requestId: string): Promise<MockReply> {
  const prefs = overridePreferences(override);
  if (override.body !== undefined) {
    const { response } = chooseResponse(op, { ...(prefs.code !== undefined ? { code: prefs.code } : {}) });
    return { status: response.status, body: structuredClone(override.body), headers: { ...response.headers, ...override.headers } };
  }
  const reply = await buildReply(mockCatalogue, op, prefs, { requestId });
  return { ...reply, headers: { ...reply.headers, ...override.headers } };
}

/** The OpenID provider's endpoints: the same answers as the HTTP mock (authorize redirects back with a code). */
function protocolHandlerFor(op: MockOperation, options: HandlerOptions, method: 'get' | 'post'): HttpHandler {
  return http[method](url(options.baseUrl, op), async ({ request }) => {
    const address = new URL(request.url);
    const params: Record<string, string> = Object.fromEntries(address.searchParams);
    if (method === 'post' && (request.headers.get('content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
      Object.assign(params, Object.fromEntries(new URLSearchParams(await request.text())));
    }
    const reply = protocolReply(mockCatalogue, { method: method.toUpperCase(), path: address.pathname, params }, address.origin);
    if (!reply) return new HttpResponse(null, { status: 404 });
    if (reply.html !== undefined) return new HttpResponse(reply.html, { status: reply.status, headers: { ...reply.headers, 'Content-Type': 'text/html; charset=utf-8' } });
    if (reply.body === undefined) return new HttpResponse(null, { status: reply.status, headers: reply.headers });
    return HttpResponse.json(reply.body as never, { status: reply.status, headers: reply.headers });
  });
}

function handlerFor(op: MockOperation, options: HandlerOptions, override: MockOverride<OperationId> | undefined, handlerOptions?: { once?: boolean }): HttpHandler {
  if (override !== undefined) checkOverride(op, override);
  const method = op.method as 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options';
  if (override === undefined && isOAuthProtocolPath(op.path) && (method === 'get' || method === 'post')) return protocolHandlerFor(op, options, method);
  return http[method](
    url(options.baseUrl, op),
    async (info) => {
      const { request } = info;
      const incoming = request.headers.get('x-request-id');
      const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : newRequestId();
      if (op.secured && options.enforceAuth !== false) {
        const refused = authFailure(request, requestId);
        if (refused) return refused;
      }
      if (typeof override === 'function') return override(info);
      let reply: MockReply;
      try {
        if (override !== undefined) {
          reply = await overrideReply(op, override, requestId);
        } else {
          const query = Object.fromEntries(new URL(request.url).searchParams);
          reply = await buildReply(mockCatalogue, op, parsePreferences(request.headers.get('prefer'), query), { requestId });
        }
      } catch (error) {
        if (!(error instanceof MockPreferenceError)) throw error;
        reply = { status: error.status, body: { detail: error.detail }, headers: {} };
      }
      const wait = (override && typeof override !== 'function' ? override.delay : undefined) ?? options.delay;
      if (wait) await mswDelay(wait);
      return json(reply, requestId);
    },
    handlerOptions,
  );
}

/**
 * One handler per operation, answering from the spec's examples. A request may choose its answer
 * with a `Prefer` header (`code=`, `example=`, `dynamic=true`, as with Prism and the HTTP mock);
 * `overrides` replace the default answer of the operations they name.
 */
export function createHandlers(options: CreateHandlersOptions = {}): HttpHandler[] {
  const overrides = (options.overrides ?? {}) as Record<string, MockOverride<OperationId> | undefined>;
  for (const id of Object.keys(overrides)) operation(id as OperationId);
  return Object.values(mockCatalogue.operations).map((op) => handlerFor(op, options, overrides[op.operationId]));
}

/**
 * A handler for one operation with a chosen answer, for `server.use(...)` / `worker.use(...)` in
 * a single test (MSW puts it in front of the defaults; `server.resetHandlers()` removes it).
 * `once: true` answers a single request, then falls back to the defaults.
 */
export function mockResponse<Id extends OperationId>(operationId: Id, override: MockOverride<Id>, options: HandlerOptions & { once?: boolean } = {}): HttpHandler {
  return handlerFor(operation(operationId), options, override as MockOverride<OperationId>, options.once ? { once: true } : undefined);
}

/**
 * A copy of a named example's body (with `meta` filled for envelopes), to assert against in
 * tests: `getExample('getProfile', 'mfa')`.
 */
export function getExample<Id extends OperationId, const N extends ExampleName<Id>>(operationId: Id, name: N): ExampleBody<Id, N> {
  const op = operation(operationId);
  const { response, example } = chooseResponse(op, { example: name as string });
  const body = structuredClone(example?.value);
  return (response.envelope ? fillEnvelope(body, { requestId: 'example' }) : body) as ExampleBody<Id, N>;
}
