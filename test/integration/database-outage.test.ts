// A dead database is noticed and answered: the real `npm start` server (scripts/start.ts) on a
// temporary SCAIKEY_DATA_DIR, its embedded database killed under it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgres } from '../../scripts/local-mongo/postgres.ts';
import { descendants, ensureStopped, serverEnv, startServerProcess, tempDataRoot, type ServerProcess } from '../support/server-process.ts';

const DEMO_PASSWORD = 'database-outage-demo-pass';
let server: ServerProcess;
let url: string;
let dataDir: string;
let cleanup: (() => Promise<void>) | undefined;

const enabled = !process.env.MONGODB_URI;

beforeAll(async () => {
  if (!enabled) return;
  const dir = await tempDataRoot('outage');
  cleanup = dir.cleanup;
  dataDir = dir.dataDir;
  server = startServerProcess(serverEnv(dir.root, { SCAIKEY_DEMO_PASSWORD: DEMO_PASSWORD }));
  url = await server.listening;
});
afterAll(async () => {
  await ensureStopped(server);
  await cleanup?.();
});

async function get(path: string): Promise<number> {
  return (await fetch(`${url}${path}`)).status;
}

function login(): Promise<Response> {
  return fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'demo@example.com', password: DEMO_PASSWORD }),
  });
}

/** Polls `probe` until it returns true; returns the milliseconds it took, or throws after `timeoutMs`. */
async function within(timeoutMs: number, what: string, probe: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms. Server output:\n${server.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills one database process and checks what clients and the log see until it is back. */
async function outage(name: string): Promise<void> {
  // From /proc, independent of what the server records: FerretDB, or PostgreSQL's postmaster.
  const victim = (await descendants(server.child.pid!)).find((p) => (name === 'postgres' ? / -D \S+\/postgres /.test(p.cmd) : /ferretdb --listen-addr/.test(p.cmd)));
  expect(victim, `no ${name} process found`).toBeDefined();
  const logged = server.lines.length;
  process.kill(victim!.pid, 'SIGKILL');

  const notReady = await within(2_500, `/readyz 503 after ${name} died`, async () => (await get('/readyz')) === 503);
  expect(notReady).toBeLessThan(2_500);
  expect(await get('/healthz')).toBe(200); // liveness: the process is fine

  const started = Date.now();
  const refused = await login();
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(await refused.json()).toEqual({ detail: 'Service temporarily unavailable' });
  expect(Date.now() - started).toBeLessThan(3_000);

  // Back: restarted by the launcher on the same port, and the driver reconnects.
  await within(40_000, `/readyz 200 after ${name} restarted`, async () => (await get('/readyz')) === 200);
  expect((await login()).status).toBe(200);

  const since = server.lines.slice(logged);
  expect(since.some((l) => l.level === 50 && new RegExp(`${name === 'postgres' ? 'postgres' : 'ferretdb'}.* exited unexpectedly`).test(l.msg))).toBe(true);
  expect(since.some((l) => l.level === 50 && l.msg.startsWith('database unavailable'))).toBe(true);
  expect(since.some((l) => l.level === 30 && l.msg === 'database reachable again')).toBe(true);
  expect(since.some((l) => l.msg === 'unhandled error')).toBe(false); // never a bare 500
}

describe.runIf(enabled)('losing the embedded database', () => {
  it('FerretDB dies: /readyz 503 within 2 s, calls 503 with Retry-After, then it is restarted', async () => {
    expect(await get('/readyz')).toBe(200);
    await outage('ferretdb');
  }, 60_000);

  it('PostgreSQL dies under FerretDB: the same', async (ctx) => {
    if (!(await findPostgres())) ctx.skip();
    await outage('postgres');
  }, 60_000);
});
