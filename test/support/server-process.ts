// The real `npm start` server (scripts/start.ts) as a child process on a temporary SCAIKEY_DATA_DIR,
// for the embedded-database tests: its JSON log lines, its exit, the processes it recorded.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning, recordedProcesses } from '../../scripts/local-mongo/data-dir.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ServerProcess {
  child: ChildProcess;
  /** Every JSON log line so far (non-JSON stdout/stderr lines come as level 0). */
  lines: LogLine[];
  output(): string;
  /** Resolves with the URL once the server listens; rejects with its output if it exits first. */
  listening: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLine(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

/** A data directory the `postgres` user can enter (mkdtemp makes 0700 dirs; PostgreSQL runs as `postgres` under root). */
export async function tempDataRoot(prefix: string): Promise<{ root: string; dataDir: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `scaikey-${prefix}-`));
  await chmod(root, 0o711);
  return { root, dataDir: join(root, 'db'), cleanup: () => rm(root, { recursive: true, force: true }) };
}

export function serverEnv(root: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    PORT: '0',
    SCAIKEY_DATA_DIR: join(root, 'db'),
    SCAIKEY_OUTBOX_DIR: join(root, 'outbox'),
    BCRYPT_COST: '4',
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    LOG_LEVEL: 'info',
    ...extra,
  };
  for (const key of ['MONGODB_URI', 'SCAIKEY_LOCAL_DB', 'WEB_CONCURRENCY', 'npm_lifecycle_event']) if (!(key in extra)) delete env[key];
  return env;
}

/** Starts `command args` (default: node scripts/start.ts) in the repository with `env`. */
export function startServerProcess(env: NodeJS.ProcessEnv, command = process.execPath, args = ['--import', 'tsx', 'scripts/start.ts']): ServerProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let raw = '';
  const take = (chunk: Buffer, buffer: { text: string }) => {
    raw += chunk.toString('utf8');
    buffer.text += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.text.indexOf('\n')) >= 0) {
      const text = buffer.text.slice(0, nl);
      buffer.text = buffer.text.slice(nl + 1);
      if (!text.trim()) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        lines.push({ level: 0, msg: text });
      }
    }
    for (const wake of waiters) wake();
  };
  const out = { text: '' };
  const err = { text: '' };
  child.stdout!.on('data', (c: Buffer) => take(c, out));
  child.stderr!.on('data', (c: Buffer) => take(c, err));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => {
      done({ code, signal });
      for (const wake of waiters) wake();
    }),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const waitForLine = async (match: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find(match);
      if (found) return found;
      if (hasExited) throw new Error(`server exited before the expected log line. Output:\n${raw.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line. Output:\n${raw.slice(-4000)}`);
      await new Promise<void>((wake) => {
        const done = () => {
          waiters.delete(done);
          clearTimeout(timer);
          wake();
        };
        const timer = setTimeout(done, 200);
        waiters.add(done);
      });
    }
  };
  const listening = waitForLine((l) => l.msg === 'ScaiKey server listening', 90_000).then((l) => String(l.url));
  listening.catch(() => undefined);
  return { child, lines, output: () => raw, listening, exited, waitForLine };
}

/** Every process below `pid` (read from /proc, so it needs none of the server's own records). */
export async function descendants(pid: number): Promise<Array<{ pid: number; start: string; cmd: string }>> {
  const all: Array<{ pid: number; ppid: number; start: string; cmd: string }> = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').join(' ').trim();
      all.push({ pid: Number(name), ppid: Number(fields[1]), start: fields[19] ?? '', cmd });
    } catch {
      // exited meanwhile
    }
  }
  const out: Array<{ pid: number; start: string; cmd: string }> = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const p of all) {
      if (p.ppid !== parent) continue;
      out.push({ pid: p.pid, start: p.start, cmd: p.cmd });
      queue.push(p.pid);
    }
  }
  return out;
}

/** The pids the server recorded for its database processes (run/*.pid) and PostgreSQL's postmaster.pid. */
export async function databasePids(dataDir: string): Promise<Array<{ name: string; pid: number; start: string }>> {
  const recorded = (await recordedProcesses(dataDir)).map(({ name, pid, start }) => ({ name, pid, start }));
  try {
    const pid = Number((await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    if (pid > 0 && !recorded.some((r) => r.pid === pid)) recorded.push({ name: 'postmaster.pid', pid, start: '' });
  } catch {
    // no PostgreSQL
  }
  return recorded;
}

/** Waits until none of `pids` runs; returns those still running after `timeoutMs`. */
export async function waitUntilGone(pids: Array<{ pid: number; start: string }>, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter((p) => isRunning(p)).map((p) => p.pid);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await sleep(100);
  }
}

export async function engineOf(dataDir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dataDir, 'engine.json'), 'utf8')) as { engine: string }).engine;
}

/** Kills the process if it still runs (test clean-up). */
export async function ensureStopped(server: ServerProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGKILL');
  await server.exited;
}
