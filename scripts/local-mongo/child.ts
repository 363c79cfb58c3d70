// Child-process plumbing shared by the mongod and FerretDB launchers: free ports, readiness
// pings, graceful stop, and making sure no database process outlives the Node process.
//
// No orphans, whatever ends the server: on Linux every database process is started through
// util-linux's `setpriv --pdeathsig <signal>`, which sets PR_SET_PDEATHSIG and then execs the
// database (same pid, no extra process), so the kernel signals the database when the Node process
// dies, SIGKILL and the OOM killer included. Where setpriv is missing, the 'exit' hook below covers
// normal exits and the next start stops leftovers from their pid files (see data-dir.ts).
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';

/** A port the OS just handed out on 127.0.0.1. Racy by nature, so callers retry on EADDRINUSE. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

// One exit hook for all children: 'exit' handlers must be synchronous, so we can only signal.
// The stop signal (SIGTERM; SIGINT, "fast shutdown", for PostgreSQL) still lets the database shut
// down cleanly after we are gone.
const live = new Map<ChildProcess, NodeJS.Signals>();
let exitHookInstalled = false;
function track(child: ChildProcess, signal: NodeJS.Signals): void {
  live.set(child, signal);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const [c, sig] of live) c.kill(sig);
    });
  }
}

let pdeathsigSupport: boolean | undefined;
/** True when `setpriv --pdeathsig` works here (Linux with util-linux >= 2.33). Probed once. */
export function canUsePdeathsig(): boolean {
  if (pdeathsigSupport === undefined) {
    try {
      execFileSync('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], { stdio: 'ignore', timeout: 10_000 });
      pdeathsigSupport = process.platform === 'linux';
    } catch {
      pdeathsigSupport = false;
    }
  }
  return pdeathsigSupport;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Last few KB of the process's stdout+stderr, for error messages. */
  output(): string;
  /** Resolves when the process has exited (immediately if it already has). */
  exited(): Promise<void>;
  /** Called if the process dies without stop(); register once it is up. */
  onUnexpectedExit(report: (message: string) => void): void;
  /** The stop signal (SIGTERM by default), then SIGKILL after `graceMs`. Safe to call more than once. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnServerOptions extends Pick<SpawnOptions, 'uid' | 'gid' | 'env' | 'cwd'> {
  /** How to ask the process to stop: on stop(), on our exit, and when we die (pdeathsig). Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
}

/** `options` may set uid/gid/env/cwd (e.g. to run PostgreSQL as its own user when we are root). */
export function spawnServer(command: string, args: string[], options: SpawnServerOptions = {}): ServerProcess {
  const { stopSignal = 'SIGTERM', ...spawnOptions } = options;
  // uid/gid are applied before setpriv runs; PR_SET_PDEATHSIG would be cleared by a later change
  // of credentials, so setpriv itself must not change them (it does not).
  const [file, argv] = canUsePdeathsig()
    ? ['setpriv', ['--pdeathsig', stopSignal.replace(/^SIG/, ''), '--', command, ...args]]
    : [command, args];
  const child = spawn(file, argv, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8192);
  };
  // Always drain the pipes: a full pipe would block the database.
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // Don't let the database keep the event loop alive; the exit hook kills it instead.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }
  track(child, stopSignal);

  let stopping = false;
  let report: ((message: string) => void) | undefined;
  const done = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      if (!stopping) {
        report?.(
          `${command} exited unexpectedly (${signal ?? `code ${code}`}); last output:\n${tail.trim()}`,
        );
      }
      resolve();
    });
    // spawn failures (ENOENT, EACCES) emit 'error' and may never emit 'exit'.
    child.once('error', (err) => {
      keep(Buffer.from(`\n${err.message}\n`));
      live.delete(child);
      resolve();
    });
  });
  const hasExited = () => child.exitCode !== null || child.signalCode !== null || !live.has(child);

  return {
    child,
    output: () => tail,
    exited: () => done,
    onUnexpectedExit: (fn) => {
      report = fn;
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      if (hasExited()) return;
      child.kill(stopSignal);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        done.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(resolve, graceMs, true))),
      ]);
      clearTimeout(timer); // a pending timer would keep the process alive for graceMs
      if (timedOut && !hasExited()) {
        child.kill('SIGKILL');
        await done;
      }
    },
  };
}

function acceptsTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Pings `uri` until it answers, the process dies, or `timeoutMs` passes. Throws with the
 * process's output when it does not come up, so the cause (bad flag, port taken) is visible.
 */
export async function waitUntilReady(uri: string, proc: ServerProcess, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void proc.exited().then(() => (dead = true));
  let lastError: unknown;
  const { hostname, port } = new URL(uri);
  while (!dead && Date.now() < deadline) {
    // A cheap TCP probe first: the driver's server selection waits its full timeout when the
    // port is still closed, which would add ~0.5s to every start.
    if (!(await acceptsTcp(hostname, Number(port)))) {
      await sleep(25);
      continue;
    }
    const client = new MongoClient(uri, {
      directConnection: true,
      serverSelectionTimeoutMS: 500,
      connectTimeoutMS: 500,
    });
    try {
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await client.close().catch(() => {});
    }
    await sleep(100);
  }
  const why = dead
    ? `${name} exited during startup`
    : `${name} did not accept connections at ${uri} within ${timeoutMs / 1000}s` +
      (lastError instanceof Error ? ` (${lastError.message})` : '');
  await proc.stop(2_000);
  throw new Error(`${why}. Output:\n${proc.output().trim() || '(none)'}`);
}
