import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig, type Config } from './core/config.ts';
import { createLogger } from './core/logger.ts';
import { startServer } from './compose.ts';
import { seedDemoIfEmpty } from './domain/tenants/demo-seed.ts';
import { pathToFileURL } from 'node:url';

/**
 * Starts a local database in `dataDir` (npm start passes the launcher in scripts/local-mongo.ts).
 * `log` gets its lines with a level: its database dying is 'error', a restart 'warn'/'info'.
 * It throws, with an actionable message, rather than open the directory with another engine.
 */
export type EmbeddedDatabaseStarter = (options: {
  dataDir: string;
  persistent: true;
  log: (msg: string, level?: 'info' | 'warn' | 'error') => void;
}) => Promise<{ uri: string; kind: string; stop(): Promise<void> }>;

export interface RunOptions {
  /** Used when MONGODB_URI is unset outside production; without it MONGODB_URI is required. */
  startEmbeddedDatabase?: EmbeddedDatabaseStarter;
}

/**
 * Process entry point: configuration, the embedded database when there is no MONGODB_URI, cluster
 * workers (WEB_CONCURRENCY), signals. Replicas are stateless: everything shared lives in MongoDB.
 * Run directly (`node handlers/main.ts`, the container) it needs MONGODB_URI; `npm start`
 * (scripts/start.ts) hands it the embedded-database launcher.
 */
function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

function workerCount(): number {
  const raw = process.env.WEB_CONCURRENCY ?? '1';
  if (raw === 'auto') return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    console.error('Invalid configuration:\n  WEB_CONCURRENCY: a number of worker processes (1-64) or "auto"');
    process.exit(2);
  }
  return n;
}

export async function runServer(options: RunOptions = {}): Promise<void> {
  let config = readConfig();
  const logger = createLogger(config.LOG_LEVEL);

  if (config.SCAIKEY_MOCK) {
    const { startMockServer } = await import('../mocks/server.ts');
    const mock = await startMockServer({ port: config.PORT, host: config.HOST, corsOrigins: config.corsOrigins.length ? config.corsOrigins : undefined, logger });
    logger.info({ url: mock.url }, 'ScaiKey MOCK server listening: answers come from the spec examples, no database');
    const stop = () => void mock.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }

  const workers = cluster.isPrimary ? workerCount() : 1;
  let stopDatabase: (() => Promise<void>) | undefined;
  let embedded = false;
  if (cluster.isPrimary && !config.MONGODB_URI) {
    if (config.production || !options.startEmbeddedDatabase) {
      logger.fatal(config.production ? 'MONGODB_URI is required in production' : 'MONGODB_URI is required (npm start runs an embedded database instead)');
      process.exit(2);
    }
    let local: Awaited<ReturnType<EmbeddedDatabaseStarter>>;
    try {
      local = await options.startEmbeddedDatabase({ dataDir: config.SCAIKEY_DATA_DIR, persistent: true, log: (msg, level = 'info') => logger[level](msg) });
    } catch (error) {
      // Loud and final: never carry on without the data directory's own database.
      logger.fatal({ dataDir: config.SCAIKEY_DATA_DIR }, `embedded database failed to start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
    config = { ...config, MONGODB_URI: local.uri };
    process.env.MONGODB_URI = local.uri;
    stopDatabase = local.stop;
    embedded = local.kind !== 'uri';
  }
  if (cluster.isPrimary && !config.SCAIKEY_ENCRYPTION_KEY) logger.warn('SCAIKEY_ENCRYPTION_KEY is not set: using the development key. Never do this in production.');

  if (cluster.isPrimary && workers > 1) {
    // Workers share the listening socket; the primary only supervises and owns the embedded database.
    for (let i = 0; i < workers; i++) cluster.fork();
    let stopping = false;
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting a new one');
      cluster.fork();
    });
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down workers');
      await Promise.all(
        Object.values(cluster.workers ?? {}).map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (!worker || worker.isDead()) return resolve();
              worker.once('exit', () => resolve());
              worker.process.kill('SIGTERM');
            }),
        ),
      );
      await stopDatabase?.();
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
    logger.info({ workers }, 'cluster primary started');
    return;
  }

  const running = await startServer({ config, logger });
  if (embedded && !config.production && cluster.isPrimary) {
    await seedDemoIfEmpty(running.domain, { password: config.SCAIKEY_DEMO_PASSWORD, log: (msg) => logger.info(msg), print: (msg) => console.log(msg) });
  }
  logger.info({ url: running.url, pid: process.pid }, 'ScaiKey server listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutSeconds: config.SHUTDOWN_TIMEOUT }, 'shutting down: finishing in-flight requests');
    // The bound of last resort: whatever hangs, the process is gone within SHUTDOWN_TIMEOUT.
    setTimeout(() => {
      logger.error({ signal }, 'shutdown did not finish within SHUTDOWN_TIMEOUT; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT * 1000).unref();
    const { forced } = await running.close();
    await stopDatabase?.();
    logger.info({ forced }, 'stopped: requests answered, database closed');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Ends the process with a one-line reason when start-up fails. */
export function exitOnStartFailure(error: unknown): never {
  console.error('ScaiKey server failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runServer().catch(exitOnStartFailure);
