import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { RequestListener } from 'node:http';
import type { Config } from './config.ts';
import { createApp } from './app.ts';
import { Database } from '../store/database.ts';
import { isMigrated, migrate, sweepExpired } from '../store/migrations.ts';
import { createServices, type Services } from '../domain/services.ts';
import { systemClock, type Clock } from '../domain/clock.ts';
import { operationHandlers } from '../operations.ts';
import { loadSpec } from './spec.ts';
import { Metrics } from './metrics.ts';
import { createMailSystem, type MailSystem } from '../domain/mail/delivery.ts';
import { ensureMailOutboxIndexes, purgeMailOutbox } from '../domain/mail/outbox-mailer.ts';
import { mountPages } from '../pages/index.ts';

export interface RunningServer {
  url: string;
  server: Server;
  app: RequestListener;
  services: Services;
  database: Database;
  mail: MailSystem;
  metrics: Metrics;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Listen on this port instead of config.PORT (0 picks a free one). */
  port?: number;
  onOperation?: (event: { operationId: string; status: number; durationMs: number }) => void;
}

/** Connects, migrates, wires the domain and starts listening. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, logger } = options;
  if (!config.MONGODB_URI) throw new Error('startServer needs MONGODB_URI (main.ts starts the embedded database first)');
  const database = await Database.connect(config.MONGODB_URI, config.MONGODB_DB);
  const migration = await migrate(database);
  await ensureMailOutboxIndexes(database.db);
  const clock = options.clock ?? systemClock;
  const metrics = new Metrics({ defaultMetrics: config.NODE_ENV !== 'test' });
  const mail = createMailSystem({ db: database.db, clock, logger, smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, outboxDir: config.SCAIKEY_OUTBOX_DIR });
  logger.info(mail.describe);
  mail.delivery.start();
  const services = createServices(database, config, logger, { mailer: mail.mailer, clock, metrics });
  await services.signingKeys.ensureActiveKey();
  // Housekeeping only: expired documents where the server lacks TTL indexes, delivered mail bodies.
  const sweeper = setInterval(() => {
    const now = services.clock.now();
    const work = [purgeMailOutbox(database.db, new Date(now.getTime() - 7 * 86_400_000))];
    if (!migration.ttlSupported) work.push(sweepExpired(database, now));
    Promise.all(work).catch((error: unknown) => logger.warn({ err: error }, 'housekeeping sweep failed'));
  }, 5 * 60_000).unref();

  let draining = false;
  const app = await createApp({
    config,
    logger,
    handlers: operationHandlers(services),
    authenticate: services.authenticate,
    onOperation: (event) => {
      metrics.observeRequest(event.operationId, event.status, event.durationMs);
      options.onOperation?.(event);
    },
    extraRoutes: (router) => {
      mountPages(router, { tenants: services.tenants });
      router.get('/healthz', (_req, res) => {
        res.json({ status: 'ok' });
      });
      router.get('/readyz', async (_req, res) => {
        const ready = !draining && (await database.ping()) && (await isMigrated(database).catch(() => false));
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
      });
      router.get('/metrics', async (_req, res) => {
        res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      });
      const specJson = JSON.stringify(loadSpec());
      router.get('/openapi.json', (_req, res) => {
        res.type('application/json').send(specJson);
      });
    },
  });

  const server = createHttpServer({ requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 }, app);
  // Requests Node refuses before the app sees them (bad framing, oversized headers) still get a JSON detail.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({ detail: tooLarge ? 'Request header fields too large' : 'Bad request' });
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.PORT, config.HOST, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;

  return {
    url,
    server,
    app,
    services,
    database,
    mail,
    metrics,
    async close() {
      draining = true;
      clearInterval(sweeper);
      // Stop accepting, let in-flight requests finish, then close idle keep-alive sockets.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      await services.passwordReset.settle();
      await mail.delivery.stop();
      await database.close();
    },
  };
}
