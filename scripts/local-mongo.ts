// Local MongoDB-compatible database for tests and the embedded default (DESIGN.md, "Local
// database for tests and the embedded default"). Tries, in order: MONGODB_URI, a mongod on
// PATH, FerretDB built from source with Go on the machine's PostgreSQL (when installed), FerretDB
// on SQLite, mongodb-memory-server.
//
// SCAIKEY_LOCAL_DB picks one engine instead of that order: auto (default) | mongod |
// ferretdb-postgres | ferretdb-sqlite. An explicit choice fails rather than falling back.
// MONGODB_URI still wins over all of them.
//
// CLI:  tsx scripts/local-mongo.ts               persistent instance in ./.data/db until Ctrl-C
//       tsx scripts/local-mongo.ts --build-only  just make sure the FerretDB binary is built
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, spawnServer, waitUntilReady } from './local-mongo/child.ts';
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
  /** Receives one line saying which database is used (and build progress). Default: stderr. */
  log?: (msg: string) => void;
}

export const DEFAULT_DATA_DIR = '.data/db';

export async function startLocalMongo(opts: LocalMongoOptions): Promise<LocalMongo> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));

  const given = process.env.MONGODB_URI;
  if (given) {
    log(`database: MONGODB_URI (${redact(given)})`);
    return { uri: given, kind: 'uri', stop: async () => {} };
  }

  const choice = localDbChoice();

  // Each engine gets its own subdirectory: their on-disk formats are unrelated, and a data
  // dir written by one must not confuse the other when the machine's setup changes.
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
  const failures: string[] = [];
  const explicit = choice !== 'auto';
  const fail = async (what: string, err: unknown): Promise<never> => {
    await cleanup();
    throw new Error(`SCAIKEY_LOCAL_DB=${choice}: ${what} failed to start: ${message(err)}`);
  };

  if (choice === 'auto' || choice === 'mongod') {
    if (await hasMongod()) {
      try {
        const started = await startMongod(join(root, 'mongod'), log);
        log(`database: mongod at ${started.uri} data in ${join(root, 'mongod')}`);
        return withCleanup(started, cleanup);
      } catch (err) {
        if (explicit) return fail('mongod', err);
        failures.push(`mongod: ${message(err)}`);
        log(`database: mongod on PATH failed to start, trying FerretDB: ${oneLine(message(err))}`);
      }
    } else {
      if (explicit) return fail('mongod', new Error('no `mongod` on PATH'));
      failures.push('mongod: not on PATH');
    }
  }

  // (An explicit mongod choice has returned or thrown above.)
  let bin: string | undefined;
  try {
    bin = await ensureFerretDb(log);
  } catch (err) {
    if (explicit) return fail('FerretDB', err);
    failures.push(`FerretDB: ${message(err)}`);
  }

  // A persistent dir that already holds FerretDB-on-SQLite data (written before PostgreSQL was
  // preferred, or before PostgreSQL was installed) stays on SQLite in auto mode: switching would
  // silently start from an empty database. Nothing is migrated between engines.
  const keepSqlite = choice === 'auto' && !ownsDataDir && (await hasSqliteData(join(root, 'ferretdb'))) &&
    !(await exists(join(root, 'postgres', 'PG_VERSION')));
  if (keepSqlite) {
    log(`database: ${join(root, 'ferretdb')} holds FerretDB-on-SQLite data, staying on SQLite ` +
      '(SCAIKEY_LOCAL_DB=ferretdb-postgres switches to PostgreSQL; data is not migrated)');
  }

  if (bin && !keepSqlite && (choice === 'auto' || choice === 'ferretdb-postgres')) {
    const pg = await findPostgres();
    if (pg) {
      try {
        const started = await startFerretDbOnPostgres(bin, pg, root, opts.persistent, ownsDataDir, log);
        return withCleanup(started, cleanup);
      } catch (err) {
        if (explicit) return fail('FerretDB on PostgreSQL', err);
        failures.push(`FerretDB on PostgreSQL ${pg.version}: ${message(err)}`);
        log(`database: FerretDB on PostgreSQL ${pg.version} failed to start, falling back to FerretDB on SQLite: ${oneLine(message(err))}`);
      }
    } else {
      if (explicit) return fail('FerretDB on PostgreSQL', new Error('no PostgreSQL found (/usr/lib/postgresql/*/bin or pg_ctl on PATH)'));
      failures.push('PostgreSQL: not installed (/usr/lib/postgresql/*/bin, pg_ctl on PATH)');
    }
  }

  if (bin && (choice === 'auto' || choice === 'ferretdb-sqlite')) {
    try {
      const dataDir = join(root, 'ferretdb');
      await mkdir(dataDir, { recursive: true });
      const { uri, proc } = await startFerretDb(bin, { kind: 'sqlite', dataDir });
      proc.onUnexpectedExit((msg) => log(`database: ${msg}`));
      log(`database: FerretDB ${FERRETDB_VERSION} (SQLite) at ${uri} data in ${dataDir}`);
      return withCleanup({ uri, kind: 'ferretdb', stop: () => proc.stop() }, cleanup);
    } catch (err) {
      if (explicit) return fail('FerretDB on SQLite', err);
      failures.push(`FerretDB on SQLite: ${message(err)}`);
    }
  }

  if (choice === 'auto') {
    try {
      const started = await startMemoryServer(join(root, 'memory-server'));
      log(`database: mongodb-memory-server at ${started.uri}`);
      return withCleanup(started, cleanup);
    } catch (err) {
      failures.push(`mongodb-memory-server: ${message(err)}`);
    }
  }

  await cleanup();
  throw new Error(
    'No MongoDB-compatible database available. Do one of:\n' +
      '  - install MongoDB so `mongod` is on PATH;\n' +
      `  - install Go >= 1.21 (1.24+ preferred) so FerretDB ${FERRETDB_VERSION} can be built ` +
      '(`npx tsx scripts/local-mongo.ts --build-only`), ideally with PostgreSQL installed too;\n' +
      '  - set MONGODB_URI to a running MongoDB.\n' +
      `What was tried:\n${failures.map((f) => `  - ${f.replace(/\n/g, '\n    ')}`).join('\n')}`,
  );
}

/**
 * PostgreSQL in `<root>/postgres` (reused across restarts when persistent, durable settings only
 * then) with FerretDB in front of it. stop() stops FerretDB first, then PostgreSQL.
 */
async function startFerretDbOnPostgres(
  bin: string,
  pg: PostgresBinaries,
  root: string,
  persistent: boolean,
  ownsRoot: boolean,
  log: (msg: string) => void,
): Promise<LocalMongo> {
  // mkdtemp makes the dir 0700; the `postgres` user (when we are root) must be able to enter it.
  if (ownsRoot) await chmod(root, 0o711);
  const dataDir = join(root, 'postgres');
  const postgres = await startPostgres(pg, dataDir, { durable: persistent });
  try {
    const { uri, proc } = await startFerretDb(bin, { kind: 'postgresql', url: postgres.url });
    postgres.onUnexpectedExit((msg) => log(`database: ${msg}`));
    proc.onUnexpectedExit((msg) => log(`database: ${msg}`));
    log(`database: FerretDB ${FERRETDB_VERSION} (PostgreSQL ${pg.version}) at ${uri} data in ${dataDir}`);
    return {
      uri,
      kind: 'ferretdb-postgres',
      stop: async () => {
        try {
          await proc.stop();
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

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function hasSqliteData(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((f) => f.endsWith('.sqlite'));
  } catch {
    return false;
  }
}

function oneLine(msg: string): string {
  return msg.replace(/\s+/g, ' ').slice(0, 300);
}

function withCleanup(db: LocalMongo, cleanup: () => Promise<void>): LocalMongo {
  let stopped: Promise<void> | undefined;
  return {
    uri: db.uri,
    kind: db.kind,
    stop: () => (stopped ??= db.stop().finally(cleanup)),
  };
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

async function startMongod(dataDir: string, log: (msg: string) => void): Promise<LocalMongo> {
  await mkdir(dataDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
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
      proc.onUnexpectedExit((msg) => log(`database: ${msg}`));
      return { uri, kind: 'mongod', stop: () => proc.stop() };
    } catch (err) {
      // freePort() is racy; another process may have taken the port in between.
      if (attempt < 3 && /address already in use/i.test(proc.output())) continue;
      throw err;
    }
  }
}

/** Last resort; the package is optional and usually needs to download a MongoDB binary. */
async function startMemoryServer(dbPath: string): Promise<LocalMongo> {
  const name = 'mongodb-memory-server';
  let mod: { MongoMemoryServer: { create(o: unknown): Promise<{ getUri(): string; stop(o?: unknown): Promise<unknown> }> } };
  try {
    mod = await import(name);
  } catch {
    throw new Error('package not installed');
  }
  await mkdir(dbPath, { recursive: true });
  const server = await mod.MongoMemoryServer.create({ instance: { dbPath, ip: '127.0.0.1' } });
  return { uri: server.getUri(), kind: 'memory-server', stop: async () => void (await server.stop()) };
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
