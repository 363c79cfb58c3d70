// Local MongoDB-compatible database for tests and the embedded default (DESIGN.md, "Local
// database for tests and the embedded default"). Tries, in order: MONGODB_URI, a mongod on
// PATH, FerretDB built from source with Go on the machine's PostgreSQL (when installed), FerretDB
// on SQLite, mongodb-memory-server.
//
// SCAIKEY_LOCAL_DB picks one engine instead of that order: auto (default) | mongod |
// ferretdb-postgres | ferretdb-sqlite. An explicit choice fails rather than falling back.
// MONGODB_URI still wins over all of them.
//
// Data safety (scripts/local-mongo/data-dir.ts): the engine that first started a data directory is
// recorded in <dir>/engine.json, and the directory is only ever opened with that engine again;
// trying the next engine is allowed only for a new, empty directory. A recorded engine that cannot
// start, or a SCAIKEY_LOCAL_DB that contradicts it, is an error, never a fresh database beside the
// old one. One process at a time owns a directory (<dir>/owner.json); the previous run's database
// processes (pid files in <dir>/run/) are stopped before anything starts. Database processes die
// with the Node process (pdeathsig, see child.ts), and one that dies while we run is restarted on
// the same port with backoff (2 s, doubling to 30 s; reset after a minute up), its death logged at
// error level.
//
// CLI:  tsx scripts/local-mongo.ts               persistent instance in ./.data/db until Ctrl-C
//       tsx scripts/local-mongo.ts --build-only  just make sure the FerretDB binary is built
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './local-mongo/child.ts';
import {
  claimDataDir,
  DataDirInUse,
  detectEngineData,
  ENGINE_FILE,
  ENGINE_SUBDIR,
  readEngineRecord,
  removePidFile,
  stopLeftovers,
  writeEngineRecord,
  writePidFile,
  type Engine,
} from './local-mongo/data-dir.ts';
import { ensureFerretDb, FERRETDB_VERSION, startFerretDb } from './local-mongo/ferretdb.ts';
import { findPostgres, startPostgres, type PostgresBinaries } from './local-mongo/postgres.ts';

/** 'ferretdb' is FerretDB on SQLite. */
export type LocalMongoKind = 'uri' | 'mongod' | 'ferretdb-postgres' | 'ferretdb' | 'memory-server';

export const LOCAL_DB_CHOICES = ['auto', 'mongod', 'ferretdb-postgres', 'ferretdb-sqlite'] as const;
export type LocalDbChoice = (typeof LOCAL_DB_CHOICES)[number];

function localDbChoice(): LocalDbChoice {
  const raw = (process.env.SCAIKEY_LOCAL_DB ?? '').trim() || 'auto';
  if (!(LOCAL_DB_CHOICES as readonly string[]).includes(raw)) {
    throw new Error(`SCAIKEY_LOCAL_DB=${raw} is not one of: ${LOCAL_DB_CHOICES.join(', ')}`);
  }
  return raw as LocalDbChoice;
}

const KIND: Record<Engine, LocalMongoKind> = {
  mongod: 'mongod',
  'ferretdb-postgres': 'ferretdb-postgres',
  'ferretdb-sqlite': 'ferretdb',
  'memory-server': 'memory-server',
};
const LABEL: Record<Engine, string> = {
  mongod: 'mongod',
  'ferretdb-postgres': 'FerretDB on PostgreSQL',
  'ferretdb-sqlite': 'FerretDB on SQLite',
  'memory-server': 'mongodb-memory-server',
};

export type LocalMongoLogLevel = 'info' | 'warn' | 'error';
/** Receives the launcher's lines; `level` is 'info' unless something went wrong. */
export type LocalMongoLog = (msg: string, level?: LocalMongoLogLevel) => void;

export interface LocalMongo {
  uri: string;
  kind: LocalMongoKind;
  stop(): Promise<void>;
}

export interface LocalMongoOptions {
  /** Where data lives. Default: ./.data/db when persistent, otherwise a fresh temp dir. */
  dataDir?: string;
  /** When false, a temp data dir this call created is deleted by stop(). */
  persistent: boolean;
  /** Receives one line saying which database is used (and build progress, deaths, restarts). Default: stderr. */
  log?: LocalMongoLog;
  /**
   * When another live process (a running server) owns `dataDir`, use its database instead of
   * failing: the admin CLI beside `npm start`. stop() then leaves it running.
   */
  shareRunning?: boolean;
}

export const DEFAULT_DATA_DIR = '.data/db';

/** Thrown for an engine that is not there at all (no binary), as opposed to one that failed. */
class Unavailable extends Error {}

export async function startLocalMongo(opts: LocalMongoOptions): Promise<LocalMongo> {
  const log: LocalMongoLog = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));

  const given = process.env.MONGODB_URI;
  if (given) {
    log(`database: MONGODB_URI (${redact(given)})`);
    return { uri: given, kind: 'uri', stop: async () => {} };
  }

  const choice = localDbChoice();

  // Each engine gets its own subdirectory: their on-disk formats are unrelated.
  const ownsDataDir = !opts.dataDir && !opts.persistent;
  const root = opts.dataDir
    ? resolve(opts.dataDir)
    : opts.persistent
      ? resolve(DEFAULT_DATA_DIR)
      : await mkdtemp(join(tmpdir(), 'scaikey-db-'));
  // A throw-away dir also goes when the process exits without stop() (sync: 'exit' handler).
  const removeOnExit = () => rmSync(root, { recursive: true, force: true });
  if (ownsDataDir) process.once('exit', removeOnExit);
  const cleanup = async () => {
    if (!ownsDataDir) return;
    process.removeListener('exit', removeOnExit);
    await rm(root, { recursive: true, force: true });
  };

  await mkdir(root, { recursive: true });
  let claim;
  try {
    claim = await claimDataDir(root);
  } catch (err) {
    if (err instanceof DataDirInUse && opts.shareRunning && err.owner.uri) {
      log(`database: ${root} belongs to the running server (pid ${err.owner.pid}); using its database at ${err.owner.uri}`);
      return { uri: err.owner.uri, kind: err.owner.engine ? KIND[err.owner.engine] : 'uri', stop: async () => {} };
    }
    await cleanup();
    throw err;
  }
  try {
    const started = await startInDataDir(root, choice, opts.persistent, ownsDataDir, log);
    await claim.publish(started.uri, started.engine);
    let stopped: Promise<void> | undefined;
    return {
      uri: started.uri,
      kind: KIND[started.engine],
      stop: () =>
        (stopped ??= started.stop().finally(async () => {
          claim.release();
          await cleanup();
        })),
    };
  } catch (err) {
    claim.release();
    await cleanup();
    throw err;
  }
}

interface StartedEngine {
  uri: string;
  engine: Engine;
  stop(): Promise<void>;
}

/** Picks the engine for a directory we own (recorded > found > the auto order) and starts it. */
async function startInDataDir(
  root: string,
  choice: LocalDbChoice,
  persistent: boolean,
  ownsRoot: boolean,
  log: LocalMongoLog,
): Promise<StartedEngine> {
  await stopLeftovers(root, log);
  const explicit = choice === 'auto' ? undefined : (choice as Engine);
  const recorded = await readEngineRecord(root);
  const found = recorded ? [] : await detectEngineData(root);
  const record = join(root, ENGINE_FILE);

  let candidates: Engine[];
  let fresh = false;
  if (recorded) {
    if (explicit && explicit !== recorded) {
      throw new Error(
        `SCAIKEY_LOCAL_DB=${choice} contradicts SCAIKEY_DATA_DIR ${root}, which holds a ${recorded} database (recorded in ${record}). ` +
          `Unset SCAIKEY_LOCAL_DB (or set it to ${recorded}) to use this data, or set SCAIKEY_DATA_DIR to another directory ` +
          `for a new ${choice} database. Nothing was started; data is never moved between engines.`,
      );
    }
    candidates = [recorded];
  } else if (found.length > 0) {
    // Written before engine.json existed: the engine is the one whose data is there.
    if (explicit && !found.includes(explicit)) {
      throw new Error(
        `SCAIKEY_LOCAL_DB=${choice} contradicts SCAIKEY_DATA_DIR ${root}, which holds ${found.join(' and ')} data ` +
          `(${found.map((e) => join(root, ENGINE_SUBDIR[e])).join(', ')}). Unset SCAIKEY_LOCAL_DB to use it, or set ` +
          `SCAIKEY_DATA_DIR to another directory for a new ${choice} database. Nothing was started.`,
      );
    }
    if (!explicit && found.length > 1) {
      throw new Error(
        `SCAIKEY_DATA_DIR ${root} holds data of several engines (${found.map((e) => `${e} in ${join(root, ENGINE_SUBDIR[e])}`).join('; ')}) ` +
          `and no ${ENGINE_FILE} says which one is current (an older version may have fallen back to a second, empty ` +
          `database). Set SCAIKEY_LOCAL_DB to the one to keep (${found.join(' or ')}); it is then recorded and the other is ` +
          'never opened. Nothing was started.',
      );
    }
    candidates = [explicit ?? found[0]!];
    log(`database: ${root} holds ${candidates[0]} data from before engines were recorded; recording it in ${record}`);
  } else {
    fresh = true;
    candidates = explicit ? [explicit] : ['mongod', 'ferretdb-postgres', 'ferretdb-sqlite', 'memory-server'];
  }

  const failures: string[] = [];
  for (const engine of candidates) {
    try {
      const started = await startEngine(engine, root, persistent, ownsRoot, log);
      if (!recorded) await writeEngineRecord(root, engine);
      return started;
    } catch (err) {
      if (!fresh) {
        throw new Error(
          `The embedded database in SCAIKEY_DATA_DIR ${root} is ${LABEL[engine]} (${recorded ? `recorded in ${record}` : 'the data found there'}), ` +
            `and it failed to start: ${message(err)}\n` +
            'The data is untouched, and no other engine was tried: that would start a new, empty database beside it. ' +
            'Fix the cause above and start again, or set SCAIKEY_DATA_DIR to another directory to start with an empty database.',
        );
      }
      if (explicit) throw new Error(`SCAIKEY_LOCAL_DB=${choice}: ${LABEL[engine]} failed to start: ${message(err)}`);
      failures.push(`${LABEL[engine]}: ${message(err)}`);
      if (!(err instanceof Unavailable)) {
        log(`database: ${LABEL[engine]} failed to start, trying the next engine (the data directory is new): ${oneLine(message(err))}`, 'warn');
      }
      // A new directory: whatever the failed engine wrote is not data anyone has used.
      await rm(join(root, ENGINE_SUBDIR[engine]), { recursive: true, force: true });
    }
  }

  throw new Error(
    'No MongoDB-compatible database available. Do one of:\n' +
      '  - install MongoDB so `mongod` is on PATH;\n' +
      `  - install Go >= 1.21 (1.24+ preferred) so FerretDB ${FERRETDB_VERSION} can be built ` +
      '(`npx tsx scripts/local-mongo.ts --build-only`), ideally with PostgreSQL installed too;\n' +
      '  - set MONGODB_URI to a running MongoDB.\n' +
      `What was tried:\n${failures.map((f) => `  - ${f.replace(/\n/g, '\n    ')}`).join('\n')}`,
  );
}

async function startEngine(engine: Engine, root: string, persistent: boolean, ownsRoot: boolean, log: LocalMongoLog): Promise<StartedEngine> {
  switch (engine) {
    case 'mongod': {
      if (!(await hasMongod())) throw new Unavailable('no `mongod` on PATH');
      const dataDir = join(root, ENGINE_SUBDIR.mongod);
      await mkdir(dataDir, { recursive: true });
      let port: number | undefined;
      const mongod = await Supervised.start('mongod', root, 'SIGTERM', log, async () => {
        const proc = await startMongod(dataDir, port);
        port ??= Number(new URL(proc.uri).port);
        return proc;
      });
      const uri = (mongod.current as MongodInstance).uri;
      log(`database: mongod at ${uri} data in ${dataDir}`);
      return { uri, engine, stop: () => mongod.stop() };
    }
    case 'ferretdb-postgres': {
      const bin = await ferretDbBinary(log);
      const pg = await findPostgres();
      if (!pg) throw new Unavailable('no PostgreSQL found (/usr/lib/postgresql/*/bin or pg_ctl on PATH)');
      return startFerretDbOnPostgres(bin, pg, root, persistent, ownsRoot, log);
    }
    case 'ferretdb-sqlite': {
      const bin = await ferretDbBinary(log);
      const dataDir = join(root, ENGINE_SUBDIR['ferretdb-sqlite']);
      await mkdir(dataDir, { recursive: true });
      const ferret = await superviseFerretDb(bin, { kind: 'sqlite', dataDir }, root, log);
      log(`database: FerretDB ${FERRETDB_VERSION} (SQLite) at ${ferret.uri} data in ${dataDir}`);
      return { uri: ferret.uri, engine, stop: () => ferret.stop() };
    }
    case 'memory-server': {
      const started = await startMemoryServer(join(root, ENGINE_SUBDIR['memory-server']));
      log(`database: mongodb-memory-server at ${started.uri}`);
      return { uri: started.uri, engine, stop: started.stop };
    }
  }
}

async function ferretDbBinary(log: LocalMongoLog): Promise<string> {
  try {
    return await ensureFerretDb(log);
  } catch (err) {
    throw new Unavailable(`FerretDB: ${message(err)}`);
  }
}

/** A database process as the supervisor sees it. */
interface Instance {
  proc: ServerProcess;
  stop(): Promise<void>;
  onUnexpectedExit(report: (message: string) => void): void;
}
interface MongodInstance extends Instance {
  uri: string;
}

const FIRST_RESTART_MS = 2_000;
const MAX_RESTART_MS = 30_000;
const HEALTHY_MS = 60_000;

/**
 * One database process that is restarted when it dies while we run: logged at error level, then
 * restarted (on its old port, so clients' URIs stay valid) after 2 s, 4 s, … up to 30 s between
 * attempts, for as long as it takes; the delay starts again at 2 s once it has stayed up a minute.
 * Keeps <root>/run/<name>.pid current.
 */
class Supervised {
  current!: Instance;
  private stopping = false;
  private failures = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;

  private constructor(
    private readonly name: string,
    private readonly root: string,
    private readonly signal: NodeJS.Signals,
    private readonly log: LocalMongoLog,
    private readonly launch: () => Promise<Instance>,
  ) {}

  static async start(name: string, root: string, signal: NodeJS.Signals, log: LocalMongoLog, launch: () => Promise<Instance>): Promise<Supervised> {
    const s = new Supervised(name, root, signal, log, launch);
    const instance = await launch();
    try {
      await s.adopt(instance);
    } catch (err) {
      await instance.stop();
      throw err;
    }
    return s;
  }

  private async adopt(instance: Instance): Promise<void> {
    this.current = instance;
    this.startedAt = Date.now();
    await writePidFile(this.root, this.name, instance.proc.child.pid!, this.signal);
    instance.onUnexpectedExit((msg) => this.died(msg));
  }

  private died(msg: string): void {
    if (this.stopping) return;
    this.log(`database: ${msg}`, 'error');
    if (Date.now() - this.startedAt > HEALTHY_MS) this.failures = 0;
    this.schedule();
  }

  private schedule(): void {
    const delay = Math.min(MAX_RESTART_MS, FIRST_RESTART_MS * 2 ** this.failures);
    this.failures++;
    this.log(`database: restarting ${this.name} in ${delay / 1000}s (attempt ${this.failures})`, 'warn');
    this.timer = setTimeout(() => void this.restart(), delay);
    this.timer.unref();
  }

  private restart(): Promise<void> {
    this.timer = undefined;
    if (this.stopping) return Promise.resolve();
    return (this.restarting = (async () => {
      try {
        const instance = await this.launch();
        if (this.stopping) return void (await instance.stop());
        await this.adopt(instance);
        this.log(`database: ${this.name} restarted (pid ${instance.proc.child.pid})`, 'info');
      } catch (err) {
        if (this.stopping) return;
        this.log(`database: restarting ${this.name} failed: ${oneLine(message(err))}`, 'error');
        this.schedule();
      }
    })().finally(() => (this.restarting = undefined)));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.restarting;
    await this.current.stop();
    await removePidFile(this.root, this.name);
  }
}

async function superviseFerretDb(
  bin: string,
  backend: Parameters<typeof startFerretDb>[1],
  root: string,
  log: LocalMongoLog,
): Promise<{ uri: string; stop(): Promise<void> }> {
  let port: number | undefined;
  let uri = '';
  const ferret = await Supervised.start('ferretdb', root, 'SIGTERM', log, async () => {
    const started = await startFerretDb(bin, backend, port);
    port ??= Number(new URL(started.uri).port);
    uri = started.uri;
    return { proc: started.proc, stop: () => started.proc.stop(), onUnexpectedExit: (fn) => started.proc.onUnexpectedExit(fn) };
  });
  return { uri, stop: () => ferret.stop() };
}

/**
 * PostgreSQL in `<root>/postgres` (reused across restarts when persistent, durable settings only
 * then) with FerretDB in front of it, each supervised. stop() stops FerretDB first, then PostgreSQL.
 */
async function startFerretDbOnPostgres(
  bin: string,
  pg: PostgresBinaries,
  root: string,
  persistent: boolean,
  ownsRoot: boolean,
  log: LocalMongoLog,
): Promise<StartedEngine> {
  // mkdtemp makes the dir 0700; the `postgres` user (when we are root) must be able to enter it.
  if (ownsRoot) await chmod(root, 0o711);
  const dataDir = join(root, ENGINE_SUBDIR['ferretdb-postgres']);
  let port: number | undefined;
  let url = '';
  const postgres = await Supervised.start('postgres', root, 'SIGINT', log, async () => {
    const started = await startPostgres(pg, dataDir, { durable: persistent, port });
    port ??= Number(new URL(started.url).port);
    url = started.url;
    return started;
  });
  try {
    const ferret = await superviseFerretDb(bin, { kind: 'postgresql', url }, root, log);
    log(`database: FerretDB ${FERRETDB_VERSION} (PostgreSQL ${pg.version}) at ${ferret.uri} data in ${dataDir}`);
    return {
      uri: ferret.uri,
      engine: 'ferretdb-postgres',
      stop: async () => {
        try {
          await ferret.stop();
        } finally {
          await postgres.stop();
        }
      },
    };
  } catch (err) {
    await postgres.stop();
    throw err;
  }
}

function oneLine(msg: string): string {
  return msg.replace(/\s+/g, ' ').slice(0, 300);
}

const run = promisify(execFile);

async function hasMongod(): Promise<boolean> {
  try {
    await run('mongod', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function startMongod(dataDir: string, fixedPort?: number): Promise<MongodInstance> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const uri = `mongodb://127.0.0.1:${port}/`;
    const proc = spawnServer('mongod', [
      '--dbpath', dataDir,
      '--bind_ip', '127.0.0.1',
      '--port', String(port),
      '--nounixsocket', // no /tmp/mongodb-<port>.sock left behind
      '--quiet',
    ]);
    try {
      await waitUntilReady(uri, proc, 'mongod', 60_000);
      return { uri, proc, stop: () => proc.stop(), onUnexpectedExit: (fn) => proc.onUnexpectedExit(fn) };
    } catch (err) {
      // freePort() is racy; another process may have taken the port in between.
      if (attempt < 3 && /address already in use/i.test(proc.output())) {
        if (fixedPort !== undefined) await new Promise((r) => setTimeout(r, 1_000));
        continue;
      }
      throw err;
    }
  }
}

/** Last resort; the package is optional and usually needs to download a MongoDB binary. */
async function startMemoryServer(dbPath: string): Promise<{ uri: string; stop(): Promise<void> }> {
  const name = 'mongodb-memory-server';
  let mod: { MongoMemoryServer: { create(o: unknown): Promise<{ getUri(): string; stop(o?: unknown): Promise<unknown> }> } };
  try {
    mod = await import(name);
  } catch {
    throw new Unavailable('package not installed');
  }
  await mkdir(dbPath, { recursive: true });
  const server = await mod.MongoMemoryServer.create({ instance: { dbPath, ip: '127.0.0.1' } });
  return { uri: server.getUri(), stop: async () => void (await server.stop()) };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function redact(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

async function main(argv: string[]): Promise<void> {
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  if (argv.includes('--build-only')) {
    const bin = await ensureFerretDb(log);
    process.stdout.write(`${bin}\n`);
    return;
  }

  const db = await startLocalMongo({ persistent: true, dataDir: resolve(DEFAULT_DATA_DIR), log });
  process.stdout.write(`${db.uri}\n`);
  if (db.kind === 'uri') return; // nothing of ours to keep running

  const keepAlive = setInterval(() => {}, 1 << 30); // the child is unref'd; hold the loop open
  const shutdown = async (signal: string) => {
    log(`database: ${signal}, stopping`);
    clearInterval(keepAlive);
    await db.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

async function isMain(): Promise<boolean> {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return (await realpath(entry)) === (await realpath(fileURLToPath(import.meta.url)));
  } catch {
    return false;
  }
}

if (await isMain()) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${message(err)}\n`);
    process.exit(1);
  });
}
