import { loadConfig, type Config } from '../../handlers/core/config.ts';
import { createLogger } from '../../handlers/core/logger.ts';
import { startServer, type RunningServer } from '../../handlers/compose.ts';
import { ManualClock } from '../../handlers/core/clock.ts';
import { connectTestDatabase, type TestDatabase } from './database.ts';
import { recordOperation } from './coverage.ts';

export interface TestServer extends RunningServer {
  clock: ManualClock;
  config: Config;
  testDb: TestDatabase;
  /** JSON request helper: returns status, headers and parsed body. */
  call(method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string }): Promise<ApiReply>;
  stop(): Promise<void>;
}

export interface ApiReply {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * The real server on its own database for one test file: real MongoDB-compatible server, real
 * hashing (at a low cost), real HTTP. Only the clock is controllable.
 */
export async function startTestServer(env: Record<string, string> = {}, options: { shareDatabaseWith?: TestServer; port?: number } = {}): Promise<TestServer> {
  const shared = options.shareDatabaseWith?.testDb;
  const testDb = shared ?? (await connectTestDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    MONGODB_URI: testDb.uri,
    MONGODB_DB: testDb.dbName,
    BCRYPT_COST: '4',
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    ...env,
  });
  const clock = new ManualClock();
  const logger = createLogger(config.LOG_LEVEL);
  const running = await startServer({ config, logger, clock, port: options.port ?? 0, onOperation: recordOperation });
  const call: TestServer['call'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(`${running.url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // leave as text
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
  return {
    ...running,
    clock,
    config,
    testDb,
    call,
    async stop() {
      await running.close();
      // The database belongs to the server that created it.
      if (!shared) await testDb.cleanup();
    },
  };
}

/** A free loopback port, for a server whose PUBLIC_BASE_URL (the OpenID issuer) must name its port. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The server at a known port whose PUBLIC_BASE_URL is its own URL (OpenID issuers are built from it). */
export async function startIssuerServer(env: Record<string, string> = {}): Promise<TestServer> {
  const port = await freePort();
  return startTestServer({ PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, HOST: '127.0.0.1', ...env }, { port });
}
