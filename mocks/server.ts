/**
 * The HTTP mock server: the real app factory (`createApp`: routing, request validation and the
 * FastAPI-shaped 422, 401 for bearer-secured operations, 404/405/413/415, CORS) with every
 * operation answered from the spec's examples. No database, no secrets.
 *
 *   npm run mock                       (scripts/mock-server.ts)
 *   SCAIKEY_MOCK=true npm start        (handlers/server/main.ts calls startMockServer)
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from '../handlers/http/front.ts';
import { ApiError } from '../handlers/core/errors.ts';
import { createLogger } from '../handlers/core/logger.ts';
import type { OperationHandlers } from '../handlers/core/operation-types.ts';
import type { HandlerResult, Principal, RequestContext } from '../handlers/core/request-context.ts';
import { loadSpec } from '../handlers/core/spec.ts';
import { buildCatalogue, type MockCatalogue } from './catalogue.ts';
import { renderDocsPage, docsPageCsp } from './docs-page.ts';
import { buildReply, MockPreferenceError, parsePreferences } from './responder.ts';
import { mountPages } from '../handlers/pages/index.ts';
import { isOAuthProtocolPath } from '../handlers/core/oauth-paths.ts';
import express from 'express';
import { protocolReply } from './protocol.ts';

/** Local frontend dev servers (Next.js/CRA on 3000, Vite on 5173), by name and by loopback address. */
export const defaultMockCorsOrigins = ['http://localhost:3000', 'http://localhost:5173', 'http://127.0.0.1:3000', 'http://127.0.0.1:5173'];

export interface MockServerOptions {
  /** 0 picks a free port. Default 8000, like the real server. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * Origins allowed by CORS. Undefined or empty: `defaultMockCorsOrigins` (so the main binary can
   * pass `config.corsOrigins` as it is); `false` turns CORS off.
   */
  corsOrigins?: string[] | false;
  /** Default: a pino logger at `info`. */
  logger?: Logger;
  /** Largest accepted request body in bytes (default 64 KiB, as the real server). */
  bodyLimit?: number;
}

export interface RunningMockServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Accepts any well-formed bearer value (createApp has already checked its syntax). */
async function authenticate(token: string): Promise<Principal> {
  if (!token) throw new ApiError('invalidToken');
  return {
    kind: 'user',
    userId: '6f1c2b9e4a7d4e0f9b3c2a1d',
    tenantId: '6f1c2b9e4a7d4e0f9b3c2a10',
    sessionId: 'mock-session',
    tokenId: 'mock-token',
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
    token,
  };
}

/** One handler per operation, each answering from the catalogue. */
export function createMockHandlers(catalogue: MockCatalogue): Partial<OperationHandlers> {
  const handlers: Record<string, (ctx: RequestContext) => Promise<HandlerResult>> = {};
  for (const operation of Object.values(catalogue.operations)) {
    handlers[operation.operationId] = async (ctx) => {
      try {
        const prefs = parsePreferences(ctx.headers.prefer);
        return await buildReply(catalogue, operation, prefs, { requestId: ctx.requestId });
      } catch (error) {
        if (error instanceof MockPreferenceError) return { status: error.status, body: { detail: error.detail } };
        throw error;
      }
    };
  }
  return handlers as unknown as Partial<OperationHandlers>;
}

/** The mock app, not listening (for tests and for embedding). */
export async function createMockApp(options: Omit<MockServerOptions, 'port' | 'host'> = {}): Promise<RequestListener> {
  const logger = options.logger ?? createLogger('info');
  const spec = loadSpec();
  const catalogue = buildCatalogue(spec);
  const corsOrigins = options.corsOrigins === false ? [] : options.corsOrigins && options.corsOrigins.length > 0 ? options.corsOrigins : defaultMockCorsOrigins;
  const specJson = JSON.stringify(spec);
  const docsPages = new Map<string, string>(); // by Host, for the curl snippets
  return createApp({
    config: { BODY_LIMIT: options.bodyLimit ?? 64 * 1024, corsOrigins, trustProxy: false, validateResponses: false, production: false },
    logger,
    handlers: createMockHandlers(catalogue),
    authenticate,
    quickStart: true,
    // Let browser code read which preference was applied.
    exposeHeaders: ['Preference-Applied'],
    rewriteRequest: preferFromQuery,
    isProtocolPath: isOAuthProtocolPath,
    extraRoutes: (app) => {
      // The OpenID provider's endpoints: authorize redirects back with an example code at once.
      const formBody = express.urlencoded({ extended: false, limit: '64kb' });
      app.use((req, res, next) => {
        if (!isOAuthProtocolPath(req.path)) return next();
        formBody(req, res, (error?: unknown) => {
          if (error) return next(error);
          const source = (req.method === 'POST' ? req.body : req.query) as Record<string, unknown> | undefined;
          const params = Object.fromEntries(Object.entries(source ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
          const reply = protocolReply(catalogue, { method: req.method, path: req.path, params }, `${req.protocol}://${req.get('host') ?? 'localhost'}`);
          if (!reply) return next();
          res.status(reply.status).set(reply.headers);
          if (reply.html !== undefined) res.type('html').send(reply.html);
          else if (reply.body !== undefined) res.json(reply.body);
          else res.end();
        });
      });
      mountPages(app);
      app.get('/healthz', (_req, res) => {
        res.json({ status: 'ok', mock: true });
      });
      app.get('/openapi.json', (_req, res) => {
        res.type('application/json').send(specJson);
      });
      app.get(['/docs', '/docs/'], (req, res) => {
        const host = req.get('host') ?? 'localhost';
        let page = docsPages.get(host);
        if (page === undefined) {
          page = renderDocsPage(catalogue, `${req.protocol}://${host}`);
          if (docsPages.size < 16) docsPages.set(host, page);
        }
        res.setHeader('Content-Security-Policy', docsPageCsp);
        res.type('text/html; charset=utf-8').send(page);
      });
      app.get('/', (_req, res) => {
        res.redirect(302, '/docs');
      });
    },
  });
}

/** Starts the mock server; resolves once it listens. */
export async function startMockServer(options: MockServerOptions = {}): Promise<RunningMockServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8000;
  const app = await createMockApp(options);
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}

/**
 * Prism's query-string form of Prefer (`?__code=401&__example=…`): moved into a Prefer header
 * before routing, so request validation does not see parameters the spec lacks.
 */
function preferFromQuery(req: IncomingMessage): void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  if (q < 0 || !url.includes('__', q)) return;
  const params = new URLSearchParams(url.slice(q + 1));
  const prefer: string[] = [];
  for (const key of ['code', 'example', 'dynamic', 'seed']) {
    const value = params.get(`__${key}`);
    params.delete(`__${key}`);
    if (value !== null) prefer.push(`${key}="${value.replace(/["\\]/g, '')}"`);
  }
  if (prefer.length === 0) return;
  if (!req.headers.prefer) req.headers.prefer = prefer.join(', ');
  const rest = params.toString();
  req.url = rest ? `${url.slice(0, q)}?${rest}` : url.slice(0, q);
}
