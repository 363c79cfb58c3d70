// A private PostgreSQL cluster for FerretDB's PostgreSQL backend. FerretDB on SQLite scans whole
// collections for every query; on PostgreSQL it uses indexes, which keeps benchmarks off the
// database. We use the PostgreSQL the machine already has (Debian's /usr/lib/postgresql/<v>/bin,
// or pg_ctl on PATH); nothing is downloaded.
//
// PostgreSQL refuses to run as root, so when we are root every PostgreSQL program runs as the
// `postgres` user (spawn uid/gid, the equivalent of `runuser -u postgres --`) and the cluster dir
// is owned by it.
import { execFile, type ExecFileOptions } from 'node:child_process';
import { access, chmod, chown, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort, spawnServer, type ServerProcess } from './child.ts';

const run = promisify(execFile);
const DEBIAN_ROOT = '/usr/lib/postgresql';
const DATABASE = 'ferretdb';
const SUPERUSER = 'postgres';

export interface PostgresBinaries {
  /** Directory holding initdb/pg_ctl/postgres, or '' when they are found on PATH. */
  dir: string;
  version: string;
}

/** Highest /usr/lib/postgresql/<v>/bin with the programs we need, else pg_ctl on PATH; undefined if none. */
export async function findPostgres(): Promise<PostgresBinaries | undefined> {
  const needed = ['initdb', 'pg_ctl', 'postgres', 'pg_isready', 'createdb'];
  try {
    const versions = (await readdir(DEBIAN_ROOT))
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(DEBIAN_ROOT, version, 'bin');
      try {
        await Promise.all(needed.map((p) => access(join(dir, p))));
        return { dir, version };
      } catch {
        // incomplete install (e.g. client only); try the next version
      }
    }
  } catch {
    // no Debian-style install
  }
  try {
    const { stdout } = await run('pg_ctl', ['--version'], { timeout: 10_000 });
    return { dir: '', version: /(\d+(?:\.\d+)?)/.exec(stdout)?.[1] ?? 'unknown' };
  } catch {
    return undefined;
  }
}

export interface RunningPostgres {
  /** postgres://… URL of the database FerretDB should use. */
  url: string;
  dataDir: string;
  proc: ServerProcess;
  /** Called if PostgreSQL dies without stop(). */
  onUnexpectedExit(report: (message: string) => void): void;
  /** `pg_ctl stop -m fast`, falling back to signals. Safe to call more than once. */
  stop(): Promise<void>;
}

interface RunAs {
  uid?: number;
  gid?: number;
  env: NodeJS.ProcessEnv;
}

/** Root must hand PostgreSQL to the `postgres` user; anyone else runs it as themselves. */
async function runAs(): Promise<RunAs> {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  // Our environment must not redirect the programs to some other server or data dir.
  for (const k of ['PGDATA', 'PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD', 'PGSERVICE', 'PGOPTIONS']) delete env[k];
  if (process.getuid?.() !== 0) return { env };
  const passwd = await readFile('/etc/passwd', 'utf8');
  const entry = passwd.split('\n').find((l) => l.startsWith(`${SUPERUSER}:`));
  if (!entry) throw new Error('running as root and there is no `postgres` user to run PostgreSQL as');
  const [, , uid, gid, , home] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid), env: { ...env, HOME: home || '/', USER: SUPERUSER, LOGNAME: SUPERUSER } };
}

function bin(b: PostgresBinaries, name: string): string {
  return b.dir ? join(b.dir, name) : name;
}

async function pgRun(b: PostgresBinaries, as: RunAs, name: string, args: string[], timeout = 60_000): Promise<string> {
  const opts: ExecFileOptions = { timeout, env: as.env, cwd: '/', maxBuffer: 16 * 1024 * 1024 };
  if (as.uid !== undefined) Object.assign(opts, { uid: as.uid, gid: as.gid });
  try {
    const { stdout } = await run(bin(b, name), args, opts);
    return String(stdout);
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`\`${name} ${args.join(' ')}\` failed: ${String(e.stderr || e.stdout || e.message).trim().slice(-2000)}`);
  }
}

/**
 * Starts PostgreSQL with its cluster in `dataDir` (created and initdb'd when it holds no cluster
 * yet; reused otherwise) on a free loopback port, and makes sure the `ferretdb` database exists.
 * `durable: false` is for throw-away instances: no fsync, asynchronous commit.
 */
export async function startPostgres(
  binaries: PostgresBinaries,
  dataDir: string,
  opts: { durable: boolean; /** Listen here (a restart keeps its port so FerretDB's URL stays valid); default a free one. */ port?: number },
): Promise<RunningPostgres> {
  const as = await runAs();
  await mkdir(dataDir, { recursive: true });
  if (as.uid !== undefined) await chown(dataDir, as.uid, as.gid!);
  await chmod(dataDir, 0o700); // PostgreSQL insists

  const hasCluster = await stat(join(dataDir, 'PG_VERSION')).then(() => true, () => false);
  if (!hasCluster) {
    await pgRun(
      binaries,
      as,
      'initdb',
      [
        '-D', dataDir,
        '-U', SUPERUSER,
        '--auth=trust', // loopback only, like the mongod/FerretDB we start
        '--encoding=UTF8',
        '--no-locale',
        ...(opts.durable ? [] : ['--no-sync']),
      ],
      120_000,
    );
  }

  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const settings = [
      'listen_addresses=127.0.0.1',
      `port=${port}`,
      'unix_socket_directories=', // TCP only: no socket files, no path-length limits
      'max_connections=200',
      ...(opts.durable ? [] : ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off']),
    ];
    const proc = spawnServer(
      bin(binaries, 'postgres'),
      ['-D', dataDir, ...settings.flatMap((s) => ['-c', s])],
      // SIGINT is PostgreSQL's "fast shutdown" (SIGTERM would wait for every client to leave).
      { env: as.env, cwd: '/', stopSignal: 'SIGINT', ...(as.uid !== undefined ? { uid: as.uid, gid: as.gid } : {}) },
    );
    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        if (proc.child.exitCode === null && proc.child.signalCode === null) {
          await pgRun(binaries, as, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'], 40_000).catch(() => {});
        }
        await proc.stop(5_000); // no-op once exited; otherwise SIGTERM, then SIGKILL
      })());
    try {
      await waitForPostgres(binaries, as, port, proc);
      await createDatabase(binaries, as, port);
      return {
        url: `postgres://${SUPERUSER}@127.0.0.1:${port}/${DATABASE}`,
        dataDir,
        proc,
        // pg_ctl, not spawnServer's stop(), ends the process, so filter the report ourselves.
        onUnexpectedExit: (fn) => proc.onUnexpectedExit((msg) => void (stopped ? undefined : fn(msg))),
        stop,
      };
    } catch (err) {
      await stop();
      // freePort() is racy; another process may have taken the port in between. A fixed port
      // (a restart) may still be held by the dying process for a moment.
      if (attempt < 3 && /address already in use/i.test(proc.output())) {
        if (opts.port !== undefined) await sleep(1_000);
        continue;
      }
      throw err;
    }
  }
}

async function waitForPostgres(b: PostgresBinaries, as: RunAs, port: number, proc: ServerProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  let dead = false;
  void proc.exited().then(() => (dead = true));
  while (!dead && Date.now() < deadline) {
    try {
      await pgRun(b, as, 'pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', SUPERUSER, '-d', 'postgres'], 10_000);
      return;
    } catch {
      await sleep(50);
    }
  }
  const why = dead ? 'PostgreSQL exited during startup' : 'PostgreSQL did not become ready within 60s';
  throw new Error(`${why}. Output:\n${proc.output().trim() || '(none)'}`);
}

async function createDatabase(b: PostgresBinaries, as: RunAs, port: number): Promise<void> {
  try {
    await pgRun(b, as, 'createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', SUPERUSER, DATABASE]);
  } catch (err) {
    if (!/already exists/i.test((err as Error).message)) throw err;
  }
}
