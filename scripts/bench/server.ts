// Starts the real server as a child process for the benchmark: the compiled JavaScript the
// container runs (npm run build, into .cache/bench-dist), so no TypeScript loader is measured.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { commOf, processTree } from './proc.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, '.cache', 'bench-dist');
let built: Promise<void> | undefined;

/** Builds the production form once per bench run. */
function buildOnce(): Promise<void> {
  built ??= new Promise<void>((done, fail) => {
    const build = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/build.ts'), '--out', dist], { stdio: ['ignore', 'ignore', 'inherit'] });
    build.once('exit', (code) => (code === 0 ? done() : fail(new Error(`npm run build failed (${code})`))));
  });
  return built;
}

export interface BenchServerOptions {
  env: Record<string, string>;
  /** 1 = single process; N > 1 = cluster primary + N workers (WEB_CONCURRENCY). */
  workers: number;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeFlags?: string[];
  logFile: string;
}

export interface BenchServer {
  url: string;
  port: number;
  pid: number;
  /** The primary and its live workers. */
  pids(): number[];
  /** Workers only (the primary when there are none). */
  workerPids(): number[];
  stop(): Promise<void>;
  /** Last lines of the server's output. */
  tail(): string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  await buildOnce();
  const port = await freePort();
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), join(dist, 'handlers/main.js')],
    {
      env: { ...options.env, PORT: String(port), HOST: '127.0.0.1', WEB_CONCURRENCY: String(options.workers) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let tail = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const onBenchExit = () => child.kill('SIGKILL');
  process.once('exit', onBenchExit);

  const pid = child.pid!;
  const url = `http://127.0.0.1:${port}`;
  // The server and its cluster workers; not helpers such as tsx's esbuild service.
  const pids = () => processTree(pid).filter((p) => p === pid || commOf(p) === commOf(pid));
  const workerPids = () => {
    const tree = pids();
    return tree.length > 1 ? tree.filter((p) => p !== pid) : tree;
  };

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Error(`server exited during start-up:\n${tail}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready after 90 s:\n${tail}`);
    }
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    // In cluster mode every worker must be up: count the live children and ask several times.
    if (ready && (options.workers === 1 || workerPids().length >= options.workers)) {
      if (options.workers > 1) await sleep(1500); // let late workers finish connecting and migrating
      break;
    }
    await sleep(250);
  }

  return {
    url,
    port,
    pid,
    pids,
    workerPids,
    tail: () => tail,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exit;
        clearTimeout(timer);
      }
      process.removeListener('exit', onBenchExit);
      await new Promise<void>((resolve) => log.end(() => resolve()));
    },
  };
}
