import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import express, { type NextFunction, type Request, type Response } from 'express';
import cors from 'cors';
import type { Context, Request as OasRequest } from 'openapi-backend';
import type { Logger } from 'pino';
import type { Config } from '../core/config.ts';
import { ApiError } from '../core/errors.ts';
import type { OperationHandlers } from '../core/operation-types.ts';
import type { HandlerResult, Principal, RequestContext } from '../core/request-context.ts';
import { countHeader, declaredQuery, refuseEmptyNullableQuery, headerValue, parseBody, translateTransportError } from './body.ts';
import { clientAddress, requestIsHttps } from './client-address.ts';
import { resolveRequestId } from './request-id.ts';
import { errorResponse, sendJson, sendResult } from './responses.ts';
import { assertResponseMatchesContract, contractPaths, createRouter, mustBeDocumented, undocumentedStatus } from './router.ts';
import { apiSecurityHeaders } from './security-headers.ts';

export interface AppOptions {
  config: Pick<Config, 'BODY_LIMIT' | 'corsOrigins' | 'trustProxy' | 'validateResponses' | 'production'>;
  logger: Logger;
  handlers: Partial<OperationHandlers>;
  /** Verifies a bearer token; throws ApiError('invalidToken') when it is not acceptable. */
  authenticate: (token: string) => Promise<Principal>;
  /** Paths under /api/ served by the extra routes instead (the OpenID provider's protocol endpoints). */
  isProtocolPath?: (path: string) => boolean;
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

/**
 * Builds the HTTP front. Requests for the contract's paths take a lean lane straight to
 * openapi-backend (routing, validation, security) and the operation handlers, because express's
 * per-request machinery is a large share of an API request's CPU. Everything else (pages,
 * health, metrics, docs) is served by an express app.
 */
export async function createApp(options: AppOptions): Promise<RequestListener> {
  const { config, logger } = options;
  const api = await createRouter({ authenticate: options.authenticate, quickStart: options.quickStart });
  const isContractPath = contractPaths(api);

  const securityHeaders = apiSecurityHeaders();
  const allowCors =
    config.corsOrigins.length > 0
      ? cors({ origin: config.corsOrigins, credentials: true, exposedHeaders: ['X-Request-ID', 'Retry-After', ...(options.exposeHeaders ?? [])], maxAge: 600 })
      : undefined;
  const clientIpOf = clientAddress(config.trustProxy);
  const isHttps = requestIsHttps(config.trustProxy);
  // The body is read raw and parsed after routing, so errors can name the operation's contract.
  const readRawBody = express.raw({ type: () => true, limit: config.BODY_LIMIT });
  const exchanges = new WeakMap<IncomingMessage, Exchange>();

  /** Maps any error to its answer (one mapper for both lanes) and logs what deserves it. */
  function sendError(res: ServerResponse, exchange: Exchange, error: unknown): void {
    const translated = translateTransportError(error);
    let response = errorResponse(translated);
    // VALIDATE_RESPONSES: a refusal the operation does not document breaks the contract like a wrong
    // success does, and so does an undocumented 503 (a lost database); the server's own faults (500,
    // 501) are never per-operation contract. Caught where a test reaches it.
    const violation = config.validateResponses && exchange.operationId && mustBeDocumented(response.status) ? undocumentedStatus(api, exchange.operationId, response.status) : undefined;
    if (violation) {
      logger.error({ reqId: exchange.requestId, operationId: exchange.operationId, err: translated }, violation.message);
      response = errorResponse(violation);
      res.setHeader('X-Contract-Violation', violation.message);
    }
    if (response.unexpected) {
      logger.error({ reqId: exchange.requestId, operationId: exchange.operationId, err: translated }, 'unhandled error');
    } else if (translated instanceof ApiError && translated.internal) {
      logger.warn({ reqId: exchange.requestId, operationId: exchange.operationId, errorId: translated.id, why: translated.internal }, 'request refused');
    }
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
    // Errors answer this request (often about its credentials): never cached, like successes.
    res.setHeader('Cache-Control', 'no-store');
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
        oasRequest.query = declaredQuery(operation, oasRequest.query as Record<string, string | string[]>);
        refuseEmptyNullableQuery(operation, oasRequest.query as Record<string, string | string[]>);
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
            secure: isHttps(req),
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
      if (isContractPath(exchange.path) && !options.isProtocolPath?.(exchange.path)) void serveOperation(req, res, exchange, at >= 0 ? current.slice(at + 1) : '');
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
