// FerretDB 1.x (MongoDB wire protocol on SQLite or PostgreSQL), built from source with the local Go toolchain
// once and cached, so tests need neither a MongoDB download nor Docker.
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './child.ts';

export const FERRETDB_VERSION = '1.24.2';
// Marks binaries carrying our patch (see patchSource); bump it when the patch changes so
// cached builds are rebuilt. FerretDB prints it as "package:" in `--version`.
const BUILD_FLAVOUR = 'scaikey-patch-7';
const MODULE = 'github.com/FerretDB/FerretDB';
const BUILD_TIMEOUT_MS = 20 * 60_000;
const STALE_LOCK_MS = 30 * 60_000;

const run = promisify(execFile);

export function cacheRoot(): string {
  return process.env.SCAIKEY_CACHE_DIR || join(homedir(), '.cache', 'scaikey');
}

export function ferretDbBinaryPath(): string {
  const exe = process.platform === 'win32' ? 'ferretdb.exe' : 'ferretdb';
  return join(cacheRoot(), `ferretdb-v${FERRETDB_VERSION}`, exe);
}

/** True when `bin` runs and is our patched build of the pinned version (a half-written file is not). */
async function isUsable(bin: string): Promise<boolean> {
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 10_000 });
    return stdout.includes(`version: v${FERRETDB_VERSION}`) && stdout.includes(`package: ${BUILD_FLAVOUR}`);
  } catch {
    return false;
  }
}

/**
 * Returns the path of a working FerretDB binary, building it first if needed. Concurrent callers
 * (parallel test runs, CI jobs sharing a cache) serialise on a lock directory, and the binary is
 * written under a temporary name and renamed into place, so nobody ever runs a partial file.
 */
export async function ensureFerretDb(log: (msg: string) => void): Promise<string> {
  const bin = ferretDbBinaryPath();
  if (await isUsable(bin)) return bin;

  const dir = join(bin, '..');
  await mkdir(dir, { recursive: true });
  const lock = join(dir, '.build-lock');
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  let waitingSaid = false;
  for (;;) {
    try {
      await mkdir(lock); // atomic: exactly one process gets it
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await isUsable(bin)) return bin;
    if (await lockIsStale(lock)) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for another FerretDB build (lock ${lock})`);
    if (!waitingSaid) log(`database: waiting for another process building FerretDB (${lock})`);
    waitingSaid = true;
    await sleep(1_000);
  }

  try {
    await writeFile(join(lock, 'pid'), String(process.pid));
    if (await isUsable(bin)) return bin; // someone finished while we waited for the lock
    await build(dir, bin, log);
    return bin;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function lockIsStale(lock: string): Promise<boolean> {
  try {
    const pid = Number(await readFile(join(lock, 'pid'), 'utf8'));
    if (pid > 0) {
      try {
        process.kill(pid, 0);
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH'; // owner is gone
      }
    }
    return Date.now() - (await stat(lock)).mtimeMs > STALE_LOCK_MS;
  } catch {
    // No pid file yet: the owner has just taken the lock, unless it is very old.
    try {
      return Date.now() - (await stat(lock)).mtimeMs > STALE_LOCK_MS;
    } catch {
      return false; // lock vanished; the caller retries mkdir
    }
  }
}

async function goVersion(): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run('go', ['version'], { timeout: 30_000 }));
  } catch {
    throw new Error('Go is not installed (no `go` on PATH)');
  }
  const m = /go(\d+)\.(\d+)/.exec(stdout);
  // 1.21+ fetches the go1.24 toolchain FerretDB's go.mod asks for by itself; older Go cannot.
  if (!m || (Number(m[1]) === 1 && Number(m[2]) < 21)) {
    throw new Error(`${stdout.trim() || 'go'} is too old: FerretDB needs Go >= 1.21 (1.24+ avoids a toolchain download)`);
  }
  return m[0];
}

/**
 * `go install …/cmd/ferretdb@v1.24.2` is not usable: the module proxy refuses the deprecation
 * lookup it makes, and a binary built from the module zip panics at startup because the zip lacks
 * the generated build/version/version.txt. So: download the module, copy its source, add the
 * generated files and our patch, and build it as the main module (its own go.mod/go.sum pin
 * every dependency).
 */
async function build(dir: string, bin: string, log: (msg: string) => void): Promise<void> {
  const go = await goVersion();
  log(`database: building FerretDB v${FERRETDB_VERSION} with ${go} into ${bin} (first run only, takes a few minutes)`);
  const started = Date.now();
  const src = join(dir, `src-${process.pid}`);
  const tmpBin = `${bin}.tmp-${process.pid}`;
  // Outside any workspace and with flags we control: a user's GOFLAGS=-mod=vendor or the
  // project's own VCS (when the cache lives inside a git checkout) must not leak into this build.
  const env = { ...process.env, GOWORK: 'off', GOFLAGS: '-buildvcs=false', GO111MODULE: 'on' };
  const goCmd = async (args: string[], cwd: string) => {
    try {
      return await run('go', args, { cwd, env, timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(`\`go ${args.join(' ')}\` failed: ${(e.stderr || e.stdout || e.message).trim().slice(-4000)}`);
    }
  };
  try {
    const { stdout } = await goCmd(['mod', 'download', '-json', `${MODULE}@v${FERRETDB_VERSION}`], dir);
    const moduleDir = (JSON.parse(stdout) as { Dir?: string }).Dir;
    if (!moduleDir) throw new Error(`go mod download did not report a directory: ${stdout}`);

    await rm(src, { recursive: true, force: true });
    await cp(moduleDir, src, { recursive: true });
    await makeWritable(src); // the module cache is read-only, and so is our copy
    await patchSource(src);

    await goCmd(['build', '-trimpath', '-o', tmpBin, './cmd/ferretdb'], src);
    if (!(await isUsable(tmpBin))) throw new Error(`the freshly built ${tmpBin} does not run`);
    await rename(tmpBin, bin);
    log(`database: FerretDB built in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    await rm(tmpBin, { force: true });
    await rm(src, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * Two fixes so the test database behaves like MongoDB where our code depends on it:
 *
 * 1. FerretDB 1.x runs update/findAndModify/delete as "query, change in Go, write back" with no
 *    isolation, so concurrent writers lose updates and a guarded findOneAndUpdate can have
 *    several winners (measured on SQLite: 20 concurrent guarded calls, 7 "won"; 100 concurrent
 *    $inc, counter ended at 3). MongoDB makes single-document writes atomic, so we serialise
 *    FerretDB's write commands: on PostgreSQL per document (a write naming one _id per statement
 *    waits only for writes to the same _id; other writes lock their collection), on SQLite
 *    behind one global lock. Reads still run concurrently.
 * 2. An update that violates a unique index fails with code 1 (InternalError, "UNIQUE
 *    constraint failed" on SQLite, SQLSTATE 23505 on PostgreSQL) instead of 11000; we map it to
 *    the duplicate-key error inserts get, in both backends.
 * 3. On PostgreSQL, FerretDB pushes equality filters down as containment
 *    (`_jsonb->'field' @> value`, which also matches an array holding the value), and its indexes
 *    are btree indexes on `_jsonb->'field'`, which cannot serve `@>`: every query scanned its
 *    whole table, so every lookup got dearer as documents accumulated (20,000 documents: ~25 ms a
 *    lookup by _id). Equality on `_id` (never an array) becomes `_jsonb->'_id' = value`, served by
 *    the unique _id index; and each declared index also gets a GIN (jsonb_path_ops) index per
 *    field, which serves the containment filters with MongoDB's semantics unchanged.
 * 4. An `update` of several statements stops at the first that fails, as an ordered one does in
 *    MongoDB, but FerretDB reported every such failure at index 0. The write error now names the
 *    statement that failed, so a caller knows which of them took effect (the attempt counters'
 *    two-statement upsert relies on it).
 */
async function patchSource(src: string): Promise<void> {
  const versionDir = join(src, 'build', 'version');
  await writeFile(join(versionDir, 'version.txt'), `v${FERRETDB_VERSION}\n`);
  await writeFile(join(versionDir, 'package.txt'), `${BUILD_FLAVOUR}\n`);

  await writeFile(join(src, 'internal', 'handler', 'scaikey_serialize_writes.go'), SERIALIZE_WRITES_GO);
  await replaceOnce(join(src, 'internal', 'handler', 'handler.go'), '\th.initCommands()\n', (m) => `${m}\th.scaikeySerializeWrites()\n`);

  await replaceOnce(
    join(src, 'internal', 'backends', 'sqlite', 'collection.go'),
    '\t\t\tr, err := tx.ExecContext(ctx, q, string(b), arg)\n\t\t\tif err != nil {\n',
    (m) =>
      m +
      '\t\t\t\tvar se *sqlite3.Error\n' +
      '\t\t\t\tif errors.As(err, &se) && se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE {\n' +
      '\t\t\t\t\treturn backends.NewError(backends.ErrorCodeInsertDuplicateID, err)\n' +
      '\t\t\t\t}\n',
  );

  await replaceOnce(
    join(src, 'internal', 'backends', 'postgresql', 'collection.go'),
    '\t\t\tif tag, err = tx.Exec(ctx, q, b, arg); err != nil {\n',
    (m) =>
      m +
      '\t\t\t\tvar pgErr *pgconn.PgError\n' +
      '\t\t\t\tif errors.As(err, &pgErr) && pgErr.Code == pgerrcode.UniqueViolation {\n' +
      '\t\t\t\t\treturn backends.NewError(backends.ErrorCodeInsertDuplicateID, err)\n' +
      '\t\t\t\t}\n',
  );

  await replaceOnce(
    join(src, 'internal', 'backends', 'postgresql', 'query.go'),
    'func filterEqual(p *metadata.Placeholder, k any, v any, operator string) (filter string, args []any) {\n',
    (m) => m + ID_EQUALITY_GO,
  );
  await writeFile(join(src, 'internal', 'backends', 'postgresql', 'metadata', 'scaikey_gin_indexes.go'), GIN_INDEXES_GO);

  const msgUpdate = join(src, 'internal', 'handler', 'msg_update.go');
  await writeFile(join(src, 'internal', 'handler', 'scaikey_update_index.go'), UPDATE_INDEX_GO);
  await replaceOnce(msgUpdate, '\tfor _, u := range params.Updates {\n', () => '\tfor scaikeyIndex, u := range params.Updates {\n');
  await replaceOnce(
    msgUpdate,
    '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n\t\tif err != nil {\n\t\t\treturn 0, 0, nil, lazyerrors.Error(err)\n',
    () => '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n\t\tif err != nil {\n\t\t\treturn 0, 0, nil, &scaikeyStatementError{index: int32(scaikeyIndex), err: lazyerrors.Error(err)}\n',
  );
  await replaceOnce(
    msgUpdate,
    '\t\treturn nil, handleUpdateError(params.DB, params.Collection, "update", err)\n',
    () => '\t\treturn nil, scaikeyIndexedUpdateError(params.DB, params.Collection, err)\n',
  );
  await replaceOnce(
    join(src, 'internal', 'backends', 'postgresql', 'metadata', 'registry.go'),
    '\t\tallPgIndexes[index.PgIndex] = collectionName\n\t}\n\n\tb, err := sjson.Marshal(c.marshal())',
    (m) => m.replace('\n\n\tb, err :=', '\n\n\tif err := scaikeyEnsureGinIndexes(ctx, p, dbName, c); err != nil {\n\t\treturn err\n\t}\n\n\tb, err :='),
  );
}

const ID_EQUALITY_GO = `	// scaikey patch: _id is never an array, so equality is exact and the unique btree index on
	// (_jsonb->'_id') serves it; containment (@>) below would scan the whole table.
	if k == "_id" && operator == "->" {
		switch v := v.(type) {
		case string, types.ObjectID, time.Time:
			return fmt.Sprintf(\`%s->'_id' = %s\`, metadata.DefaultColumn, p.Next()), []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}
	}

`;

const GIN_INDEXES_GO = `// Added by ScaiKey's scripts/local-mongo/ferretdb.ts.
package metadata

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
)

// scaikeyEnsureGinIndexes gives every field of every declared index (but _id) a GIN index
// (jsonb_path_ops): equality filters are pushed down as containment (_jsonb->'f' @> value, which
// also matches arrays holding the value), which the btree indexes FerretDB creates cannot serve.
// Idempotent, and run on every createIndexes, so databases created before this patch get them too.
func scaikeyEnsureGinIndexes(ctx context.Context, p *pgxpool.Pool, dbName string, c *Collection) error {
	for _, index := range c.Indexes {
		for i, key := range index.Key {
			if key.Field == "_id" {
				continue
			}
			fs := strings.Split(key.Field, ".")
			parts := make([]string, len(fs))
			for j, f := range fs {
				parts[j] = quoteString(f)
			}
			name := index.PgIndex
			if len(name) > maxIndexNameLength-6 {
				name = name[:maxIndexNameLength-6]
			}
			q := fmt.Sprintf(
				"CREATE INDEX IF NOT EXISTS %s ON %s USING gin ((%s->%s) jsonb_path_ops)",
				pgx.Identifier{fmt.Sprintf("%s_gin%d", name, i)}.Sanitize(),
				pgx.Identifier{dbName, c.TableName}.Sanitize(),
				DefaultColumn,
				strings.Join(parts, " -> "),
			)
			if _, err := p.Exec(ctx, q); err != nil {
				return lazyerrors.Error(err)
			}
		}
	}
	return nil
}
`;

/** The source is pinned, so each anchor must match exactly once; anything else means a bad copy. */
async function replaceOnce(file: string, anchor: string, replace: (match: string) => string): Promise<void> {
  const code = await readFile(file, 'utf8');
  if (code.split(anchor).length !== 2) throw new Error(`cannot patch ${file}: anchor not found exactly once`);
  await writeFile(file, code.replace(anchor, () => replace(anchor)));
}

const UPDATE_INDEX_GO = `// Added by ScaiKey's scripts/local-mongo/ferretdb.ts: names the failed statement of an update.
package handler

import (
	"errors"

	"github.com/FerretDB/FerretDB/internal/handler/handlererrors"
)

// scaikeyStatementError is the error of one statement of an update, with its index.
type scaikeyStatementError struct {
	index int32
	err   error
}

func (e *scaikeyStatementError) Error() string { return e.err.Error() }

func (e *scaikeyStatementError) Unwrap() error { return e.err }

// scaikeyIndexedUpdateError is handleUpdateError, with a write error's index set to the statement
// that failed (the statements before it have taken effect, as in an ordered MongoDB update).
func scaikeyIndexedUpdateError(db, coll string, err error) error {
	var se *scaikeyStatementError
	if !errors.As(err, &se) {
		return handleUpdateError(db, coll, "update", err)
	}
	handled := handleUpdateError(db, coll, "update", se.err)
	var we *handlererrors.WriteErrors
	if !errors.As(handled, &we) {
		return handled
	}
	indexed := new(handlererrors.WriteErrors)
	indexed.Merge(we, se.index)
	return indexed
}
`;

const SERIALIZE_WRITES_GO = `// Added by ScaiKey's scripts/local-mongo/ferretdb.ts: makes single-document writes atomic.
package handler

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"sync"

	"github.com/FerretDB/wire"

	"github.com/FerretDB/FerretDB/internal/types"
)

// With SCAIKEY_FERRETDB_LOCKS=document (set by the launcher on PostgreSQL), a write whose every
// filter names one scalar _id holds its collection's lock shared plus a stripe lock per _id;
// any other write holds its collection's lock exclusively. Otherwise (SQLite, one writer at a
// time anyway) every write holds one global lock.
var (
	scaikeyPerDocument = os.Getenv("SCAIKEY_FERRETDB_LOCKS") == "document"
	scaikeyGlobalMu    sync.Mutex
	scaikeyCollsMu     sync.Mutex
	scaikeyColls       = map[string]*scaikeyCollLock{}
)

const scaikeyStripes = 256

type scaikeyCollLock struct {
	rw   sync.RWMutex
	docs [scaikeyStripes]sync.Mutex
}

func (h *Handler) scaikeySerializeWrites() {
	for _, name := range []string{"insert", "update", "delete", "findAndModify", "findandmodify"} {
		cmd := h.commands[name]
		if cmd == nil {
			panic("scaikey patch: no command " + name)
		}
		next := cmd.Handler
		cmd.Handler = func(ctx context.Context, msg *wire.OpMsg) (*wire.OpMsg, error) {
			unlock := scaikeyLock(msg)
			defer unlock()
			return next(ctx, msg)
		}
	}
}

func scaikeyLock(msg *wire.OpMsg) func() {
	if !scaikeyPerDocument {
		scaikeyGlobalMu.Lock()
		return scaikeyGlobalMu.Unlock
	}
	doc, err := opMsgDocument(msg)
	if err != nil {
		scaikeyGlobalMu.Lock() // the handler will refuse it; keep it away from everything else
		return scaikeyGlobalMu.Unlock
	}
	command := doc.Command()
	collection, _ := doc.Get(command)
	db, _ := doc.Get("$db")
	lock := scaikeyCollection(fmt.Sprintf("%v.%v", db, collection))
	ids, ok := scaikeyWriteIDs(command, doc)
	if !ok {
		lock.rw.Lock()
		return lock.rw.Unlock
	}
	lock.rw.RLock()
	stripes := make([]int, 0, len(ids))
	seen := map[int]bool{}
	for _, id := range ids {
		h := fnv.New32a()
		h.Write([]byte(id))
		stripe := int(h.Sum32() % scaikeyStripes)
		if !seen[stripe] {
			seen[stripe] = true
			stripes = append(stripes, stripe)
		}
	}
	sort.Ints(stripes) // one order for everyone: no deadlock
	for _, stripe := range stripes {
		lock.docs[stripe].Lock()
	}
	return func() {
		for i := len(stripes) - 1; i >= 0; i-- {
			lock.docs[stripes[i]].Unlock()
		}
		lock.rw.RUnlock()
	}
}

func scaikeyCollection(name string) *scaikeyCollLock {
	scaikeyCollsMu.Lock()
	defer scaikeyCollsMu.Unlock()
	lock := scaikeyColls[name]
	if lock == nil {
		lock = new(scaikeyCollLock)
		scaikeyColls[name] = lock
	}
	return lock
}

// scaikeyWriteIDs returns the _id each part of a write names (the filter of an update, delete or
// findAndModify; the document of an insert), and false when any part names none.
func scaikeyWriteIDs(command string, doc *types.Document) ([]string, bool) {
	var parts []any
	switch command {
	case "findAndModify", "findandmodify":
		query, err := doc.Get("query")
		if err != nil {
			return nil, false
		}
		parts = append(parts, query)
	case "update", "delete", "insert":
		field, key := "updates", "q"
		if command == "delete" {
			field = "deletes"
		} else if command == "insert" {
			field, key = "documents", ""
		}
		value, err := doc.Get(field)
		if err != nil {
			return nil, false
		}
		array, ok := value.(*types.Array)
		if !ok {
			return nil, false
		}
		for i := 0; i < array.Len(); i++ {
			element, _ := array.Get(i)
			if key == "" {
				parts = append(parts, element)
				continue
			}
			statement, ok := element.(*types.Document)
			if !ok {
				return nil, false
			}
			filter, err := statement.Get(key)
			if err != nil {
				return nil, false
			}
			parts = append(parts, filter)
		}
	default:
		return nil, false
	}
	ids := make([]string, 0, len(parts))
	for _, part := range parts {
		document, ok := part.(*types.Document)
		if !ok {
			return nil, false
		}
		id, err := document.Get("_id")
		if err != nil {
			return nil, false
		}
		switch id.(type) {
		case string, types.ObjectID, int32, int64, float64, bool:
			ids = append(ids, fmt.Sprintf("%T:%v", id, id))
		default:
			return nil, false
		}
	}
	return ids, len(ids) > 0
}
`;

async function makeWritable(path: string): Promise<void> {
  await chmod(path, 0o755);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await makeWritable(child);
    else await chmod(child, 0o644);
  }
}

/** Where FerretDB keeps its data. */
export type FerretDbBackend =
  | { kind: 'sqlite'; dataDir: string } // SQLite files in dataDir (which must exist)
  | { kind: 'postgresql'; url: string }; // e.g. postgres://postgres@127.0.0.1:5432/ferretdb

/** Starts FerretDB on a free loopback port (or `port`: a restart keeps its clients' URI) on the given backend. */
export async function startFerretDb(bin: string, backend: FerretDbBackend, port?: number): Promise<{ uri: string; proc: ServerProcess }> {
  const backendArgs =
    backend.kind === 'sqlite'
      ? [
          '--handler=sqlite',
          // A file: URL of the directory; FerretDB requires the trailing slash.
          `--sqlite-url=${pathToFileURL(backend.dataDir).href.replace(/\/?$/, '/')}`,
        ]
      : ['--handler=postgresql', `--postgresql-url=${backend.url}`];
  for (let attempt = 1; ; attempt++) {
    const listenPort = port ?? (await freePort());
    const uri = `mongodb://127.0.0.1:${listenPort}/`;
    const proc = spawnServer(bin, [
      `--listen-addr=127.0.0.1:${listenPort}`,
      ...backendArgs,
      '--state-dir=-', // no state.json in the cwd
      '--debug-addr=-', // no metrics/pprof listener on the fixed :8088 (parallel instances clash)
      '--telemetry=disable',
      '--log-level=warn',
    ], {
      // PostgreSQL isolates concurrent writers itself, so only writes to the same document need
      // to wait for each other; SQLite keeps one global write lock (see patchSource).
      env: { ...process.env, SCAIKEY_FERRETDB_LOCKS: backend.kind === 'postgresql' ? 'document' : 'global' },
    });
    try {
      await waitUntilReady(uri, proc, 'FerretDB', 30_000);
      return { uri, proc };
    } catch (err) {
      // freePort() is racy; another process may have taken the port in between.
      if (attempt < 3 && /address already in use/i.test(proc.output())) {
        if (port !== undefined) await sleep(1_000);
        continue;
      }
      throw err;
    }
  }
}
