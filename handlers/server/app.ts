import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import proxyAddr from 'proxy-addr';
import { parseCookie, stringifySetCookie } from 'cookie';
import { bath } from 'bath-es5';
import sjson from 'secure-json-parse';
import { OpenAPIBackend, type Context, type Document, type Request as OasRequest } from 'openapi-backend';
import type { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { ApiError, RequestValidationError, toErrorResponse, type ValidationIssue } from './errors.ts';
import { toFastApiIssues } from './fastapi-validation.ts';
import { loadSpec } from './spec.ts';
import { resolveRequestId, type HandlerResult, type Principal, type RequestContext } from './request-context.ts';
import type { OperationHandlers } from './operation-types.ts';

export interface AppOptions {
  config: Pick<Config, 'BODY_LIMIT' | 'corsOrigins' | 'trustProxy' | 'validateResponses' | 'production'>;
  logger: Logger;
  handlers: Partial<OperationHandlers>;
  /** Verifies a bearer token; throws ApiError('invalidToken') when it is not acceptable. */
  authenticate: (token: string) => Promise<Principal>;
  /** Extra routes outside the contract (health, metrics, pages), served by express. */
  extraRoutes?: (app: express.Express) => void;
  /** Runs first for every request, before routing (the mock server's Prism query-string form of Prefer). */
  rewriteRequest?: (req: IncomingMessage) => void;
  /** Response headers browsers may read besides X-Request-ID and Retry-After. */
  exposeHeaders?: string[];
  /** Told about every answered operation, for metrics and contract coverage. */
  onOperation?: (event: { operationId: string; status: number; durationMs: number }) => void;
  /**
   * Mock mode (mocks/server.ts): compile each operation's request validators on its first request
   * instead of at start-up, so the mock starts in milliseconds. Request validation is unchanged.
   */
  quickStart?: boolean;
}

/** One request's bookkeeping, from the first byte to the log line. */
interface Exchange {
  requestId: string;
  path: string;
  operationId?: string;
  started: bigint;
}

/** What openapi-backend hands to an operation handler besides its parsed request. */
interface ApiCall {
  req: IncomingMessage;
  exchange: Exchange;
}

const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json$/i;

/**
 * Builds the HTTP front. Requests for the contract's paths take a lean lane straight to
 * openapi-backend (routing, validation, security) and the operation handlers: express's per-request
 * machinery cost about a quarter of an API request's CPU (npm run bench:mock). Everything else
 * (pages, health, metrics, docs) is served by an express app.
 */
export async function createApp(options: AppOptions): Promise<RequestListener> {
  const { config, logger } = options;
  const api = await createRouter(options);
  const isContractPath = contractPaths(api);

  const securityHeaders = headersSetBy(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));
  const allowCors =
    config.corsOrigins.length > 0
      ? cors({ origin: config.corsOrigins, credentials: true, exposedHeaders: ['X-Request-ID', 'Retry-After', ...(options.exposeHeaders ?? [])], maxAge: 600 })
      : undefined;
  const trust = compileTrust(config.trustProxy);
  // The body is read raw and parsed after routing, so errors can name the operation's contract.
  const readRawBody = express.raw({ type: () => true, limit: config.BODY_LIMIT });
  const exchanges = new WeakMap<IncomingMessage, Exchange>();

  /** Maps any error to its answer (one mapper for both lanes) and logs what deserves it. */
  function sendError(res: ServerResponse, exchange: Exchange, error: unknown): void {
    const translated = translateTransportError(error);
    const response = toErrorResponse(translated);
    if (response.unexpected) {
      logger.error({ reqId: exchange.requestId, operationId: exchange.operationId, err: translated }, 'unhandled error');
    } else if (translated instanceof ApiError && translated.internal) {
      logger.warn({ reqId: exchange.requestId, operationId: exchange.operationId, errorId: translated.id, why: translated.internal }, 'request refused');
    }
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
    sendJson(res, response.status, response.body);
  }

  const pages = express();
  pages.disable('x-powered-by');
  pages.set('trust proxy', config.trustProxy);
  pages.set('etag', false);
  pages.set('query parser', 'simple');
  options.extraRoutes?.(pages);
  pages.use((_req: Request, _res: Response, next: NextFunction) => next(new ApiError('notFound')));
  pages.use((error: unknown, req: Request, res: Response, _next: NextFunction) => sendError(res, exchanges.get(req)!, error));

  async function serveOperation(req: IncomingMessage, res: ServerResponse, exchange: Exchange, query: string): Promise<void> {
    try {
      if (countHeader(req.rawHeaders, 'authorization') > 1) {
        throw new ApiError('invalidToken', { internal: 'several Authorization headers', headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' } });
      }
      const body = await new Promise<unknown>((resolve, reject) => readRawBody(req as Request, res as Response, (error?: unknown) => (error ? reject(error) : resolve((req as Request).body))));
      const oasRequest: OasRequest = {
        method: req.method ?? 'GET',
        path: exchange.path,
        query: query ? (parseQueryString(query) as Record<string, string | string[]>) : {},
        headers: req.headers as Record<string, string | string[]>,
        body: undefined,
      };
      const operation = api.matchOperation(oasRequest);
      if (operation) {
        exchange.operationId = operation.operationId;
        // Like FastAPI, unknown query parameters are ignored rather than refused (cache busters).
        oasRequest.query = declaredQuery(operation, oasRequest.query as Record<string, string | string[]>);
        oasRequest.body = parseBody(req, body, operation.requestBody !== undefined);
      }
      const call: ApiCall = { req, exchange };
      const result = (await api.handleRequest(oasRequest, call)) as HandlerResult;
      if (config.validateResponses && operation?.operationId) {
        assertResponseMatchesContract(api, operation.operationId, result);
      }
      sendResult(res, result, config.production);
    } catch (error) {
      sendError(res, exchange, error);
    }
  }

  const clientIpOf = (req: IncomingMessage) => (config.trustProxy === false ? req.socket.remoteAddress : proxyAddr(req, trust)) || 'unknown';
  api.register(
    Object.fromEntries(
      Object.entries(options.handlers).map(([operationId, handler]) => [
        operationId,
        async (c: Context, call: ApiCall) => {
          const { req, exchange } = call;
          const ctx: RequestContext = {
            operationId,
            requestId: exchange.requestId,
            clientIp: clientIpOf(req),
            userAgent: headerValue(req.headers['user-agent']) ?? '',
            params: c.request.params as Record<string, string>,
            query: c.request.query as Record<string, unknown>,
            headers: req.headers,
            cookies: (c.request.cookies ?? {}) as Record<string, string>,
            body: c.request.requestBody,
            principal: c.security?.['HTTPBearer'] as Principal | undefined,
          };
          return (handler as (ctx: RequestContext) => Promise<HandlerResult>)(ctx);
        },
      ]),
    ),
  );

  return function front(req, res) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const exchange: Exchange = { requestId: resolveRequestId(req.headers['x-request-id']), path: q >= 0 ? url.slice(0, q) : url, started: process.hrtime.bigint() };
    exchanges.set(req, exchange);
    res.setHeader('X-Request-ID', exchange.requestId);
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - exchange.started) / 1e6;
      const level = res.statusCode >= 500 ? 'error' : 'info';
      logger[level](
        { reqId: exchange.requestId, method: req.method, path: exchange.path, operationId: exchange.operationId, status: res.statusCode, ms: Math.round(durationMs * 10) / 10 },
        'request',
      );
      if (exchange.operationId) options.onOperation?.({ operationId: exchange.operationId, status: res.statusCode, durationMs });
    });
    for (const [name, value] of securityHeaders) res.setHeader(name, value);

    const route = () => {
      options.rewriteRequest?.(req);
      const current = req.url ?? '/';
      const at = current.indexOf('?');
      exchange.path = at >= 0 ? current.slice(0, at) : current;
      if (isContractPath(exchange.path)) void serveOperation(req, res, exchange, at >= 0 ? current.slice(at + 1) : '');
      else pages(req, res);
    };
    // Browsers send Origin with every cross-origin request; without one only Vary matters.
    if (allowCors && (req.headers.origin !== undefined || req.method === 'OPTIONS')) allowCors(req, res, route);
    else {
      if (allowCors) res.setHeader('Vary', 'Origin');
      route();
    }
  };
}

/** Builds the openapi-backend router: routing, request validation, security and error handlers. */
async function createRouter(options: AppOptions): Promise<OpenAPIBackend> {
  const api = new OpenAPIBackend({
    definition: withoutLinks(loadSpec()) as unknown as Document,
    strict: true,
    validate: true,
    // Always quick: openapi-backend validates definitions against the OAS 3.0 schema only, which
    // rejects valid 3.1 keywords (propertyNames, links with free-form bodies). The spec is checked
    // as OAS 3.1 by test/contract/spec-valid.test.ts instead. Quick mode also compiles response
    // validators lazily (used only with VALIDATE_RESPONSES).
    quick: true,
    ajvOpts: { allErrors: true, strict: false, validateSchema: false },
    customizeAjv: (ajv: Ajv) => {
      // openapi-backend registers only the OAS numeric formats; email, date-time and uri need ajv-formats.
      (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
      return ajv;
    },
  });

  api.registerSecurityHandler('HTTPBearer', async (c: Context) => {
    const header = headerValue(c.request.headers['authorization']);
    if (!header) throw new ApiError('notAuthenticated', { headers: { 'WWW-Authenticate': 'Bearer' } });
    const match = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header);
    if (!match) throw new ApiError('invalidToken', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    return options.authenticate(match[1]!);
  });

  api.register({
    notFound: () => {
      throw new ApiError('notFound');
    },
    methodNotAllowed: (c: Context) => {
      const path = c.request.path;
      const allowed = api.router
        .getOperations()
        .filter((op) => api.router.matchOperation({ method: op.method, path, headers: {}, query: {} })?.operationId === op.operationId)
        .map((op) => op.method.toUpperCase());
      throw new ApiError('methodNotAllowed', { headers: { Allow: [...new Set(allowed)].join(', ') } });
    },
    unauthorizedHandler: (c: Context) => {
      const result = c.security?.['HTTPBearer'] as { error?: unknown } | undefined;
      if (result?.error instanceof ApiError) throw result.error;
      if (result?.error) throw result.error;
      throw new ApiError('notAuthenticated', { headers: { 'WWW-Authenticate': 'Bearer' } });
    },
    validationFail: (c: Context) => {
      throw new RequestValidationError(toFastApiIssues(c.validation.errors ?? []));
    },
    notImplemented: () => {
      throw new ApiError('notImplemented');
    },
  });
  await api.init();
  if (!options.quickStart) api.validator.preCompileRequestValidators();
  // openapi-backend rebuilds its list of operations (lodash chain, one new object per operation)
  // on every matchOperation and getOperation call, five or more times per request. The definition
  // is fixed after init, so build the list once: about twice the throughput (npm run bench:mock).
  const operationList = api.router.getOperations();
  api.router.getOperations = () => operationList;
  // Matching a templated path compiles a RegExp per operation per call (twice per request); the
  // answer depends only on method and path, so remember it (bounded; only successful matches).
  const matchOperation = api.router.matchOperation.bind(api.router);
  const matched = new Map<string, ReturnType<typeof matchOperation>>();
  api.router.matchOperation = ((req: OasRequest, strict?: boolean) => {
    const key = `${req.method} ${req.path}`;
    const hit = matched.get(key);
    if (hit) return hit;
    const operation = matchOperation(req, strict as never);
    if (operation) {
      if (matched.size >= 1000) matched.clear();
      matched.set(key, operation);
    }
    return operation;
  }) as typeof api.router.matchOperation;
  api.router.parseRequest = leanParseRequest(api.router.parseRequest.bind(api.router), api);
  return api;
}

type ParseRequest = OpenAPIBackend['router']['parseRequest'];
type Operation = NonNullable<Parameters<ParseRequest>[1]>;

/**
 * openapi-backend parses each request three times (twice to route, once to validate), and each
 * time deep-clones the query, re-maps the headers and compiles the path template: about a tenth
 * of an API request's CPU. Requests from the front arrive normalised (lower-case header names,
 * path without query, JSON body parsed, only declared query parameters), so the same result is
 * built from cached templates and a copy of the query (the validator coerces parameters in place). Requests or
 * operations outside that shape (string bodies, JSON-content or non-exploded query parameters)
 * take the original.
 */
function leanParseRequest(original: ParseRequest, api: OpenAPIBackend): ParseRequest {
  const templates = new Map<string, ReturnType<typeof bath>>();
  const special = new WeakMap<Operation, boolean>();
  const needsOriginal = (operation: Operation) => {
    let answer = special.get(operation);
    if (answer === undefined) {
      answer = (operation.parameters ?? []).some((p) => '$ref' in p || (p.in === 'query' && (p.content !== undefined || p.explode === false)));
      special.set(operation, answer);
    }
    return answer;
  };
  return (req, operation) => {
    const path = req.path;
    if (typeof req.query !== 'object' || (req.body !== undefined && typeof req.body !== 'object') || !path.startsWith('/') || path.includes('?') || (operation && needsOriginal(operation))) {
      return original(req, operation);
    }
    let params: Record<string, string> = {};
    if (operation) {
      let template = templates.get(operation.path);
      if (!template) templates.set(operation.path, (template = bath(operation.path)));
      params = (template.params(api.router.normalizePath(path)) as Record<string, string> | null) ?? {};
    }
    const query: Record<string, string | string[]> = {};
    for (const name in req.query) {
      const value = (req.query as Record<string, string | string[]>)[name]!;
      query[name] = Array.isArray(value) ? [...value] : value;
    }
    const cookieHeader = req.headers['cookie'];
    return {
      method: req.method.toLowerCase(),
      path,
      // Not copied: the one header parameter (authorization, string or null) is never coerced.
      headers: req.headers,
      query,
      body: req.body,
      params,
      cookies: cookieHeader ? (parseCookie(Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader) as Record<string, string>) : {},
      requestBody: req.body,
    };
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * OpenAPI links (identify → authenticate, login → refresh → logout) guide clients and the fuzzer;
 * the router has no use for them, and its definition validator rejects free-form link bodies.
 */
function withoutLinks<T extends { paths?: Record<string, unknown> }>(spec: T): T {
  for (const item of Object.values(spec.paths ?? {}) as Array<Record<string, { responses?: Record<string, { links?: unknown }> }>>) {
    for (const operation of Object.values(item)) {
      for (const response of Object.values(operation?.responses ?? {})) delete response.links;
    }
  }
  return spec;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function countHeader(rawHeaders: string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) count++;
  return count;
}

function declaredQuery(operation: { parameters?: unknown[] }, query: Record<string, string | string[]>): Record<string, string | string[]> {
  const names = new Set(
    (operation.parameters ?? [])
      .filter((p): p is { in: string; name: string } => typeof p === 'object' && p !== null && (p as { in?: string }).in === 'query')
      .map((p) => p.name),
  );
  return Object.fromEntries(Object.entries(query).filter(([name]) => names.has(name)));
}

function parseBody(req: IncomingMessage, raw: unknown, expectsBody: boolean): unknown {
  if (!expectsBody || !Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  const contentType = (headerValue(req.headers['content-type']) ?? '').split(';')[0]!.trim();
  if (!jsonMediaType.test(contentType)) throw new ApiError('unsupportedMediaType');
  let text: string;
  try {
    text = strictUtf8.decode(raw);
  } catch {
    throw new RequestValidationError([{ loc: ['body', 0], msg: 'JSON decode error', type: 'json_invalid', ctx: { error: 'Invalid UTF-8 in request body' } }]);
  }
  try {
    return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = error instanceof Error ? error.message : 'Invalid JSON';
    if (/prototype/i.test(message)) {
      throw new RequestValidationError([{ loc: ['body'], msg: 'Value error, object keys __proto__ and constructor.prototype are not allowed', type: 'value_error' }]);
    }
    const position = /position (\d+)/.exec(message);
    const issue: ValidationIssue = { loc: ['body', position ? Number(position[1]) : 0], msg: 'JSON decode error', type: 'json_invalid', ctx: { error: message } };
    throw new RequestValidationError([issue]);
  }
}

function translateTransportError(error: unknown): unknown {
  // Malformed percent-encoding in a path parameter (the router decodes it): no route can match.
  if (error instanceof URIError) return new ApiError('notFound', { internal: 'malformed path encoding' });
  if (error && typeof error === 'object' && 'type' in error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') return new ApiError('payloadTooLarge');
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new ApiError('unsupportedMediaType');
    if (type === 'request.aborted' || type === 'request.size.invalid' || type === 'stream.encoding.set') {
      return new ApiError('badRequest', { internal: `transport: ${type}` });
    }
  }
  return error;
}

function sendResult(res: ServerResponse, result: HandlerResult, production: boolean): void {
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  for (const cookie of result.cookies ?? []) {
    res.appendHeader(
      'Set-Cookie',
      stringifySetCookie(cookie.name, cookie.value, {
        httpOnly: true,
        secure: production || cookie.name.startsWith('__Host-'),
        sameSite: 'lax',
        path: cookie.path ?? '/',
        maxAge: cookie.maxAgeSeconds,
        expires: new Date(Date.now() + cookie.maxAgeSeconds * 1000),
      }),
    );
  }
  // Responses carry tokens and personal data: never cached unless a handler says otherwise.
  if (!res.hasHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store');
  sendJson(res, result.status, result.body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}

/** The headers a middleware sets when it only ever sets fixed ones (helmet with a static policy). */
function headersSetBy(middleware: (req: never, res: never, next: (error?: unknown) => void) => void): Array<[string, string]> {
  const headers = new Map<string, [string, string]>();
  const recorder = {
    setHeader: (name: string, value: string) => void headers.set(name.toLowerCase(), [name, String(value)]),
    removeHeader: (name: string) => void headers.delete(name.toLowerCase()),
    getHeader: (name: string) => headers.get(name.toLowerCase())?.[1],
  };
  let finished = false;
  middleware({ headers: {}, method: 'GET', url: '/' } as never, recorder as never, (error) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('security header middleware did not finish synchronously');
  return [...headers.values()];
}

/** Express's `trust proxy` semantics for the client address used by rate limits and audit. */
function compileTrust(setting: boolean | number | string): (address: string, hop: number) => boolean {
  if (setting === true) return () => true;
  if (setting === false) return () => false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyAddr.compile(setting.split(',').map((part) => part.trim()).filter(Boolean));
}

/** Paths the contract owns: everything under /api and the spec's other fixed paths (JWKS). */
function contractPaths(api: OpenAPIBackend): (path: string) => boolean {
  const fixed = new Set(
    api.router
      .getOperations()
      .map((op) => op.path)
      .filter((path) => !path.includes('{')),
  );
  return (path) => path === '/api' || path.startsWith('/api/') || fixed.has(path.length > 1 ? path.replace(/\/+$/, '') : path);
}

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

function assertResponseMatchesContract(api: OpenAPIBackend, operationId: string, result: HandlerResult): void {
  const operation = api.router.getOperation(operationId);
  const documented = operation?.responses?.[String(result.status)];
  if (!documented) {
    throw new ContractViolation(`${operationId} answered ${result.status}, which the spec does not document`);
  }
  const validation = api.validateResponse(result.body, operationId, result.status);
  if (validation.errors && validation.errors.length > 0) {
    const first = validation.errors[0]!;
    throw new ContractViolation(`${operationId} ${result.status} violates the spec: ${first.instancePath || '/'} ${first.message ?? first.keyword}`);
  }
}
