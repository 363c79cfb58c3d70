/**
 * `npm run mock`: the HTTP mock server (see mocks/server.ts and mocks/README.md).
 *
 *   npm run mock                          http://127.0.0.1:8000, CORS for local dev origins
 *   npm run mock -- --port 4010           another port (also PORT=4010)
 *   npm run mock -- --host 0.0.0.0        listen on every interface (also HOST)
 *   npm run mock -- --cors http://localhost:4200,http://localhost:3000   (also CORS_ORIGINS)
 *   LOG_LEVEL=warn npm run mock           quieter (one JSON line per request at info)
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../handlers/core/logger.ts';
import { defaultMockCorsOrigins, startMockServer } from '../mocks/server.ts';

const started = performance.now();

function fail(message: string): never {
  console.error(`mock server: ${message}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string', short: 'h' },
    cors: { type: 'string' },
    help: { type: 'boolean' },
  },
  strict: true,
});

if (values.help) {
  console.log('usage: npm run mock -- [--port 8000] [--host 127.0.0.1] [--cors origin1,origin2]');
  process.exit(0);
}

const portText = values.port ?? process.env.PORT ?? '8000';
if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) fail(`port must be 0-65535, got ${portText}`);
const host = values.host ?? process.env.HOST ?? '127.0.0.1';
const corsText = values.cors ?? process.env.CORS_ORIGINS ?? '';
const corsOrigins = corsText.split(',').map((s) => s.trim()).filter(Boolean);
const level = process.env.LOG_LEVEL ?? 'info';
if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) fail(`LOG_LEVEL ${level} is not a pino level`);
const logger = createLogger(level);

try {
  const running = await startMockServer({ port: Number(portText), host, corsOrigins, logger });
  const ms = Math.round(performance.now() - started);
  const origins = corsOrigins.length > 0 ? corsOrigins : defaultMockCorsOrigins;
  console.error(`ScaiKey mock server listening on ${running.url} (ready in ${ms} ms)`);
  console.error(`  reference: ${running.url}/docs   contract: ${running.url}/openapi.json`);
  console.error(`  CORS: ${origins.join(', ')}`);
  console.error('  choose answers with Prefer: code=401 | example=<name> | dynamic=true');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'mock server stopping');
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') fail(`port ${portText} on ${host} is in use; pick another with --port or PORT`);
  fail(error instanceof Error ? error.message : String(error));
}
