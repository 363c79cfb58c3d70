// What the embedded database's data directory (SCAIKEY_DATA_DIR) knows about itself, so that a
// restart never opens it with another engine and never runs beside the previous run's processes:
//
//   <root>/engine.json   which engine wrote the data ({"engine":"ferretdb-postgres",...}); written
//                        once, when a new directory is first started, and never changed
//   <root>/owner.json    the live ScaiKey process using the directory (pid, start time, URI)
//   <root>/run/<n>.pid   one file per database process we started (pid, start time, stop signal)
//
// Processes are identified by pid *and* start time (Linux /proc/<pid>/stat), so a recycled pid is
// never mistaken for ours.
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ENGINES = ['mongod', 'ferretdb-postgres', 'ferretdb-sqlite', 'memory-server'] as const;
export type Engine = (typeof ENGINES)[number];

/** Subdirectory of the data directory each engine keeps its files in. */
export const ENGINE_SUBDIR: Record<Engine, string> = {
  mongod: 'mongod',
  'ferretdb-postgres': 'postgres',
  'ferretdb-sqlite': 'ferretdb',
  'memory-server': 'memory-server',
};

export const ENGINE_FILE = 'engine.json';
const OWNER_FILE = 'owner.json';
const RUN_DIR = 'run';

// ---- processes ----------------------------------------------------------------------------

interface ProcStat {
  ppid: number;
  /** Clock ticks since boot; '' where /proc is not available. */
  start: string;
  zombie: boolean;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: fields[19] ?? '', zombie: fields[0] === 'Z' || fields[0] === 'X' };
  } catch {
    if (process.platform === 'linux') return undefined;
    try {
      process.kill(pid, 0);
      return { ppid: 0, start: '', zombie: false };
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' ? { ppid: 0, start: '', zombie: false } : undefined;
    }
  }
}

/** The start time that, with the pid, identifies a process ('' when unknown); undefined when it is not running. */
export function processStart(pid: number): string | undefined {
  const s = procStat(pid);
  return s && !s.zombie ? s.start : undefined;
}

export interface ProcessRef {
  pid: number;
  start: string;
}

/** True while the process named by `ref` (same pid, same start time) is running. */
export function isRunning(ref: ProcessRef): boolean {
  if (!Number.isInteger(ref.pid) || ref.pid <= 0) return false;
  const start = processStart(ref.pid);
  return start !== undefined && (ref.start === '' || start === '' || start === ref.start);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILL. Resolves once the process is gone. */
async function terminate(ref: ProcessRef, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(ref.pid, sig);
    } catch {
      // gone already
    }
  };
  send(signal);
  const deadline = Date.now() + graceMs;
  while (isRunning(ref) && Date.now() < deadline) await sleep(50);
  if (!isRunning(ref)) return;
  send('SIGKILL');
  const hard = Date.now() + 5_000;
  while (isRunning(ref) && Date.now() < hard) await sleep(50);
  if (isRunning(ref)) throw new Error(`process ${ref.pid} (${commandLine(ref.pid) || 'unknown'}) does not stop, not even on SIGKILL`);
}

// ---- the engine record ----------------------------------------------------------------------

/** The engine recorded in the directory, or undefined for a directory that has none (yet). */
export async function readEngineRecord(root: string): Promise<Engine | undefined> {
  const file = join(root, ENGINE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let engine: unknown;
  try {
    engine = (JSON.parse(text) as { engine?: unknown }).engine;
  } catch {
    engine = undefined;
  }
  if (!(ENGINES as readonly unknown[]).includes(engine)) {
    throw new Error(`${file} is damaged (expected {"engine": one of ${ENGINES.join(', ')}}); it says: ${text.slice(0, 200)}. ` +
      'Restore it (the engine is the one whose subdirectory holds the data), or move the directory away to start fresh.');
  }
  return engine as Engine;
}

export async function writeEngineRecord(root: string, engine: Engine): Promise<void> {
  const file = join(root, ENGINE_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  const body = {
    engine,
    created: new Date().toISOString(),
    note: 'Written by ScaiKey on the first start of this data directory. The server opens it only with this engine.',
  };
  await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`);
  await rename(tmp, file);
}

async function nonEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

/**
 * Engines whose data is in a directory written before engine.json existed (or by an engine whose
 * first start failed half-way). Only used when there is no engine.json.
 */
export async function detectEngineData(root: string): Promise<Engine[]> {
  const found: Engine[] = [];
  if (await nonEmpty(join(root, ENGINE_SUBDIR.mongod))) found.push('mongod');
  if (await stat(join(root, ENGINE_SUBDIR['ferretdb-postgres'], 'PG_VERSION')).then(() => true, () => false)) found.push('ferretdb-postgres');
  try {
    if ((await readdir(join(root, ENGINE_SUBDIR['ferretdb-sqlite']))).some((f) => f.endsWith('.sqlite'))) found.push('ferretdb-sqlite');
  } catch {
    // none
  }
  if (await nonEmpty(join(root, ENGINE_SUBDIR['memory-server']))) found.push('memory-server');
  return found;
}

// ---- the owner --------------------------------------------------------------------------------

interface OwnerRecord extends ProcessRef {
  uri?: string;
  engine?: Engine;
}

export class DataDirInUse extends Error {
  override name = 'DataDirInUse';
  constructor(
    readonly root: string,
    readonly owner: OwnerRecord,
  ) {
    super(
      `SCAIKEY_DATA_DIR ${root} is in use by another ScaiKey process (pid ${owner.pid}${owner.uri ? `, database at ${owner.uri}` : ''}). ` +
        'Stop that process first, or set SCAIKEY_DATA_DIR to another directory.',
    );
  }
}

export interface DataDirClaim {
  /** Records the database's URI, so the admin CLI can use the running server's database. */
  publish(uri: string, engine: Engine): Promise<void>;
  /** Gives the directory up (also done synchronously when the process exits). */
  release(): void;
}

async function readOwner(root: string): Promise<OwnerRecord | undefined> {
  try {
    const owner = JSON.parse(await readFile(join(root, OWNER_FILE), 'utf8')) as OwnerRecord;
    return typeof owner.pid === 'number' ? owner : { pid: 0, start: '' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { pid: 0, start: '' }; // half-written by a process that died: stale
  }
}

/** The live process using the directory, if any (not this one). */
export async function currentOwner(root: string): Promise<OwnerRecord | undefined> {
  const owner = await readOwner(root);
  return owner && owner.pid !== process.pid && isRunning(owner) ? owner : undefined;
}

/**
 * Makes this process the directory's only user. Throws DataDirInUse while another live process
 * holds it; takes over a claim whose process is gone (killed, crashed).
 */
export async function claimDataDir(root: string): Promise<DataDirClaim> {
  const file = join(root, OWNER_FILE);
  const me: OwnerRecord = { pid: process.pid, start: processStart(process.pid) ?? '' };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
    }
    const owner = await readOwner(root);
    if (owner && owner.pid !== process.pid && isRunning(owner)) throw new DataDirInUse(root, owner);
    await unlink(file).catch(() => {}); // stale: its process is gone
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    try {
      const owner = JSON.parse(readFileSync(file, 'utf8')) as OwnerRecord;
      if (owner.pid === me.pid) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  process.once('exit', release);
  return {
    async publish(uri, engine) {
      const tmp = `${file}.tmp-${process.pid}`;
      await writeFile(tmp, JSON.stringify({ ...me, uri, engine }));
      await rename(tmp, file);
    },
    release,
  };
}

// ---- database processes -----------------------------------------------------------------------

interface PidRecord extends ProcessRef {
  name: string;
  signal: NodeJS.Signals;
}

export async function writePidFile(root: string, name: string, pid: number, signal: NodeJS.Signals): Promise<void> {
  await mkdir(join(root, RUN_DIR), { recursive: true });
  const record: PidRecord = { name, pid, start: processStart(pid) ?? '', signal };
  await writeFile(join(root, RUN_DIR, `${name}.pid`), JSON.stringify(record));
}

export async function removePidFile(root: string, name: string): Promise<void> {
  await rm(join(root, RUN_DIR, `${name}.pid`), { force: true });
}

/** The database processes the pid files name that are still running (tests, diagnostics). */
export async function recordedProcesses(root: string): Promise<Array<PidRecord & { running: boolean }>> {
  let files: string[];
  try {
    files = (await readdir(join(root, RUN_DIR))).filter((f) => f.endsWith('.pid'));
  } catch {
    return [];
  }
  const out: Array<PidRecord & { running: boolean }> = [];
  for (const f of files) {
    try {
      const record = JSON.parse(await readFile(join(root, RUN_DIR, f), 'utf8')) as PidRecord;
      out.push({ ...record, running: isRunning(record) });
    } catch {
      // half-written by a process that died
    }
  }
  return out;
}

/**
 * Stops database processes a previous run of this directory left behind (its server was killed
 * where pdeathsig is unavailable, or it predates the pid files): every process a pid file names,
 * and a PostgreSQL postmaster of `<root>/postgres` whose parent is gone. Call it only while holding
 * the claim. Throws when a leftover cannot be stopped, or a postmaster is still some live
 * process's child (another program is using the directory).
 */
export async function stopLeftovers(root: string, log: (msg: string, level?: 'info' | 'warn' | 'error') => void): Promise<void> {
  for (const record of await recordedProcesses(root)) {
    if (record.running) {
      log(`database: stopping ${record.name} (pid ${record.pid}) left running by a previous run in ${root}`, 'warn');
      await terminate(record, record.signal, 15_000);
    }
    await removePidFile(root, record.name);
  }

  const pgData = join(root, ENGINE_SUBDIR['ferretdb-postgres']);
  let pid: number;
  try {
    pid = Number((await readFile(join(pgData, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  const s = Number.isInteger(pid) && pid > 0 ? procStat(pid) : undefined;
  if (!s || s.zombie) return; // stale file; PostgreSQL itself ignores it
  const cmd = commandLine(pid);
  if (!/postgres/.test(cmd) || !cmd.includes(pgData)) return; // the pid was recycled by something else
  // An orphan has been re-parented to init (or a subreaper such as systemd); a postmaster whose
  // parent is some other live process belongs to a program that is still running.
  const parentCmd = s.ppid > 1 ? commandLine(s.ppid) : '';
  if (parentCmd && !/(^|\/)(init|systemd|tini|dumb-init)( |$)/.test(parentCmd)) {
    throw new Error(
      `PostgreSQL (pid ${pid}) is running on ${pgData}, started by process ${s.ppid} (${parentCmd.slice(0, 200)}). ` +
        'Another program is using this data directory: stop it first, or set SCAIKEY_DATA_DIR to another directory.',
    );
  }
  log(`database: stopping PostgreSQL (pid ${pid}) left running on ${pgData} by a previous run`, 'warn');
  await terminate({ pid, start: s.start }, 'SIGINT', 30_000);
}
