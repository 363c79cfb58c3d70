import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import sjson from 'secure-json-parse';
import { OpenAPIBackend, type Context, type Document, type Request as OasRequest } from 'openapi-backend';
import type { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { ApiError, RequestValidationError, toErrorResponse, type ValidationIssue } from './errors.ts';
import { toFastApiIssues } from './fastapi-validation.ts';
import { loadSpec } from './spec.ts';
import { parseCookies, resolveRequestId, type HandlerResult, type Principal, type RequestContext } from './request-context.ts';
import type { OperationHandlers } from './operation-types.ts';

export interface AppOptions {
  config: Pick<Config, 'BODY_LIMIT' | 'corsOrigins' | 'trustProxy' | 'validateResponses' | 'production'>;
  logger: Logger;
  handlers: Partial<OperationHandlers>;
  /** Verifies a bearer token; throws ApiError('invalidToken') when it is not acceptable. */
  authenticate: (token: string) => Promise<Principal>;
  /** Extra routes outside the contract (health, metrics, JWKS caching, pages). */
  extraRoutes?: (app: express.Express) => void;
  /** Told about every answered operation, for metrics and contract coverage. */
  onOperation?: (event: { operationId: string; status: number; durationMs: number }) => void;
  /**
   * Mock mode (mocks/server.ts): compile each operation's request validators on its first request
   * instead of at start-up, so the mock starts in milliseconds. Request validation is unchanged.
   */
  quickStart?: boolean;
}

interface Locals {
  requestId: string;
  operationId?: string;
  started: bigint;
}

const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json$/i;

/** Builds the HTTP app: express for transport concerns, openapi-backend for routing and validation. */
export async function createApp(options: AppOptions): Promise<express.Express> {
  const { config, logger } = options;
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
  for (const [operationId, handler] of Object.entries(options.handlers)) {
    api.register(operationId, async (c: Context, req: Request) => {
      const locals = req.res!.locals as Locals;
      const ctx: RequestContext = {
        operationId,
        requestId: locals.requestId,
        clientIp: req.ip ?? req.socket.remoteAddress ?? 'unknown',
        userAgent: headerValue(req.headers['user-agent']) ?? '',
        params: c.request.params as Record<string, string>,
        query: c.request.query as Record<string, unknown>,
        headers: req.headers,
        cookies: parseCookies(headerValue(req.headers.cookie)),
        body: c.request.requestBody,
        principal: c.security?.['HTTPBearer'] as Principal | undefined,
      };
      return (handler as (ctx: RequestContext) => Promise<HandlerResult>)(ctx);
    });
  }
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

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as Locals;
    locals.requestId = resolveRequestId(req.headers['x-request-id']);
    locals.started = process.hrtime.bigint();
    res.setHeader('X-Request-ID', locals.requestId);
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - locals.started) / 1e6;
      const level = res.statusCode >= 500 ? 'error' : 'info';
      logger[level](
        { reqId: locals.requestId, method: req.method, path: req.path, operationId: locals.operationId, status: res.statusCode, ms: Math.round(durationMs * 10) / 10 },
        'request',
      );
      if (locals.operationId) options.onOperation?.({ operationId: locals.operationId, status: res.statusCode, durationMs });
    });
    next();
  });
  app.use(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));
  if (config.corsOrigins.length > 0) {
    app.use(cors({ origin: config.corsOrigins, credentials: true, exposedHeaders: ['X-Request-ID', 'Retry-After'], maxAge: 600 }));
  }

  options.extraRoutes?.(app);

  // The body is read raw and parsed after routing, so errors can name the operation's contract.
  app.use(express.raw({ type: () => true, limit: config.BODY_LIMIT }));

  app.use(async (req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as Locals;
    try {
      if (countHeader(req.rawHeaders, 'authorization') > 1) {
        throw new ApiError('invalidToken', { internal: 'several Authorization headers', headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' } });
      }
      const oasRequest: OasRequest = {
        method: req.method,
        path: req.path,
        query: req.query as Record<string, string | string[]>,
        headers: req.headers as Record<string, string | string[]>,
        body: undefined,
      };
      const operation = api.matchOperation(oasRequest);
      if (operation) {
        locals.operationId = operation.operationId;
        // Like FastAPI, unknown query parameters are ignored rather than refused (cache busters).
        oasRequest.query = declaredQuery(operation, oasRequest.query as Record<string, string | string[]>);
        oasRequest.body = parseBody(req, operation.requestBody !== undefined);
      }
      const result = (await api.handleRequest(oasRequest, req)) as HandlerResult;
      if (config.validateResponses && operation?.operationId) {
        assertResponseMatchesContract(api, operation.operationId, result);
      }
      sendResult(res, result, config.production);
    } catch (error) {
      next(error);
    }
  });

  // One mapper from errors to answers; body-parser's own errors are translated here too.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const locals = res.locals as Locals;
    const translated = translateTransportError(error);
    const response = toErrorResponse(translated);
    if (response.unexpected) {
      logger.error({ reqId: locals.requestId, operationId: locals.operationId, err: translated }, 'unhandled error');
    } else if (translated instanceof ApiError && translated.internal) {
      logger.warn({ reqId: locals.requestId, operationId: locals.operationId, errorId: translated.id, why: translated.internal }, 'request refused');
    }
    if (res.headersSent) return;
    res.status(response.status).set(response.headers).json(response.body);
  });

  return app;
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

function parseBody(req: Request, expectsBody: boolean): unknown {
  const raw = req.body as unknown;
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

function sendResult(res: Response, result: HandlerResult, production: boolean): void {
  if (result.headers) res.set(result.headers);
  for (const cookie of result.cookies ?? []) {
    res.cookie(cookie.name, cookie.value, {
      httpOnly: true,
      secure: production || cookie.name.startsWith('__Host-'),
      sameSite: 'lax',
      path: cookie.path ?? '/',
      maxAge: cookie.maxAgeSeconds * 1000,
    });
  }
  // Responses carry tokens and personal data: never cached unless a handler says otherwise.
  if (!res.hasHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store');
  res.status(result.status).json(result.body);
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
