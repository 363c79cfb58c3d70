import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startServer } from './server.ts';
import { seedDemoIfEmpty } from '../domain/tenants/demo-seed.ts';
import { startLocalMongo } from '../../scripts/local-mongo.ts';

/** Process entry point: configuration, the embedded database when no MONGODB_URI, signals. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL);
  let stopDatabase: (() => Promise<void>) | undefined;
  let embedded = false;
  if (!config.MONGODB_URI) {
    if (config.production) {
      logger.fatal('MONGODB_URI is required in production');
      process.exit(2);
    }
    const local = await startLocalMongo({ dataDir: config.SCAIKEY_DATA_DIR, persistent: true, log: (msg) => logger.info(msg) });
    config = { ...config, MONGODB_URI: local.uri };
    stopDatabase = local.stop;
    embedded = local.kind !== 'uri';
  }
  if (!config.SCAIKEY_ENCRYPTION_KEY) logger.warn('SCAIKEY_ENCRYPTION_KEY is not set: using the development key. Never do this in production.');

  const running = await startServer({ config, logger });
  if (embedded && !config.production) {
    await seedDemoIfEmpty(running.services, { password: config.SCAIKEY_DEMO_PASSWORD, log: (msg) => logger.info(msg), print: (msg) => console.log(msg) });
  }
  logger.info({ url: running.url }, 'ScaiKey server listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await running.close();
    await stopDatabase?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('ScaiKey server failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
