// SIGTERM on the real process (`node --import tsx handlers/main.ts`) under keep-alive load: new
// connections are refused at once, idle keep-alive sockets are closed, every request already in
// flight gets its full answer with `Connection: close` (none is reset), the database closes after
// the last answer, and the process exits 0 within SHUTDOWN_TIMEOUT.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, test } from 'vitest';
import { connectTestDatabase, type TestDatabase } from '../support/database.ts';

interface Reply {
  status?: number;
  headers?: IncomingHttpHeaders;
  body?: string;
  error?: NodeJS.ErrnoException;
  /** When the answer was complete (ms since the epoch). */
  at: number;
}

interface Child {
  process: ChildProcess;
  port: number;
  /** Its JSON log lines so far. */
  logs: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; at: number }>;
}

const children: ChildProcess[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const db of databases.splice(0)) await db.cleanup();
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startProcess(env: Record<string, string>): Promise<Child> {
  const db = await connectTestDatabase({ prefix: 'graceful_shutdown' });
  databases.push(db);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'handlers/main.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      MONGODB_URI: db.uri,
      MONGODB_DB: db.dbName,
      HOST: '127.0.0.1',
      PORT: String(port),
      WEB_CONCURRENCY: '1',
      LOG_LEVEL: 'info',
      SCAIKEY_OUTBOX_DIR: join(tmpdir(), 'scaikey-graceful-shutdown-outbox'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const logs: Array<Record<string, unknown>> = [];
  let pending = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let at: number;
      while ((at = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, at);
        pending = pending.slice(at + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'ScaiKey server listening') resolve();
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  await listening;
  return { process: child, port, logs, exited };
}

/** One request; with `holdBody`, half the body is sent now and the rest when `release` is called. */
function send(
  port: number,
  agent: Agent | false,
  method: string,
  path: string,
  body?: unknown,
  holdBody = false,
): { reply: Promise<Reply>; release: () => void; req: ClientRequest } {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const req = request({ host: '127.0.0.1', port, method, path, agent, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {} });
  const reply = new Promise<Reply>((resolve) => {
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString(), at: Date.now() }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ error, at: Date.now() }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error, at: Date.now() }));
  });
  let release = () => undefined as void;
  if (payload && holdBody) {
    const half = Math.floor(payload.length / 2);
    req.write(payload.subarray(0, half));
    req.flushHeaders();
    release = () => void req.end(payload.subarray(half));
  } else {
    req.end(payload);
  }
  return { reply, release, req };
}

const unknownLogin = (n: number) => ({ email: `nobody${n}@example.com`, password: 'a wrong but long password' });

test('SIGTERM under keep-alive load: in-flight requests are answered with Connection: close, new connections refused, exit 0 in time', async () => {
  const shutdownTimeout = 5;
  // Cost 12: a login takes a few hundred milliseconds, so it is still running when the signal comes.
  const child = await startProcess({ SHUTDOWN_TIMEOUT: String(shutdownTimeout), PASSWORD_HASH: 'bcrypt', BCRYPT_COST: '12' });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  // Open five keep-alive connections.
  const warm = await Promise.all(Array.from({ length: 5 }, () => send(child.port, agent, 'GET', '/healthz').reply));
  expect(warm.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  expect(warm.every((r) => r.headers?.connection === 'keep-alive')).toBe(true);
  await sleep(20);
  expect(Object.values(agent.freeSockets).flat().length).toBe(5);

  // In flight: three logins (bcrypt at cost 12, so they last) and an identify whose body is only half sent, on four of them.
  const logins = [1, 2, 3].map((n) => send(child.port, agent, 'POST', '/api/v1/auth/login', unknownLogin(n)).reply);
  const slow = send(child.port, agent, 'POST', '/api/v1/auth/identify', { email: 'slow.body@example.com' }, true);
  await sleep(150);

  const signalled = Date.now();
  child.process.kill('SIGTERM');
  await sleep(300);
  // No new connections; the idle keep-alive connection was closed by the server.
  const fresh = await send(child.port, false, 'GET', '/healthz').reply;
  expect(fresh.error?.code).toBe('ECONNREFUSED');
  expect(Object.values(agent.freeSockets).flat().length).toBe(0);
  expect(child.process.exitCode).toBeNull(); // still answering the requests in flight

  slow.release();
  const answers = await Promise.all([...logins, slow.reply]);
  for (const answer of answers) {
    expect(answer.error, 'no request in flight is reset').toBeUndefined();
    expect(() => JSON.parse(answer.body!)).not.toThrow();
  }
  expect(answers.slice(0, 3).map((a) => [a.status, JSON.parse(a.body!)])).toEqual(Array(3).fill([401, { detail: 'Invalid email or password' }]));
  expect(answers[3]!.status).toBe(200);
  expect(JSON.parse(answers[3]!.body!).flow_token).toMatch(/^ft_/);
  // Everything answered after the signal says the connection closes.
  const afterSignal = answers.filter((a) => a.at > signalled);
  expect(afterSignal.length).toBeGreaterThanOrEqual(2);
  for (const answer of afterSignal) expect(answer.headers?.connection).toBe('close');

  const { code, at } = await child.exited;
  expect(code).toBe(0);
  expect(at - signalled).toBeLessThan(shutdownTimeout * 1000);
  // The database closed only after the last answer was logged.
  const messages = child.logs.map((l) => l.msg);
  const stopped = messages.lastIndexOf('stopped: requests answered, database closed');
  expect(stopped).toBeGreaterThan(0);
  const answered = child.logs.map((l, i) => [l, i] as const).filter(([l]) => l.msg === 'request' && (l.path === '/api/v1/auth/login' || l.path === '/api/v1/auth/identify'));
  expect(answered.length).toBe(4);
  for (const [, index] of answered) expect(index).toBeLessThan(stopped);
  expect(child.logs[stopped]!.forced).toBe(0);
  agent.destroy();
}, 90_000);

test('a request that never finishes is cut off at the deadline, and the process still exits 0 within SHUTDOWN_TIMEOUT', async () => {
  const child = await startProcess({ SHUTDOWN_TIMEOUT: '2' });
  const agent = new Agent({ keepAlive: true });
  const stuck = send(child.port, agent, 'POST', '/api/v1/auth/identify', { email: 'never.finished@example.com' }, true);
  await sleep(150);
  const signalled = Date.now();
  child.process.kill('SIGTERM');
  const { code, at } = await child.exited;
  expect(code).toBe(0);
  expect(at - signalled).toBeGreaterThan(1000); // it waited for the request…
  expect(at - signalled).toBeLessThan(2000); // …but not beyond SHUTDOWN_TIMEOUT
  expect((await stuck.reply).error).toBeDefined();
  expect(child.logs.find((l) => l.msg === 'stopped: requests answered, database closed')?.forced).toBe(1);
  agent.destroy();
}, 90_000);
