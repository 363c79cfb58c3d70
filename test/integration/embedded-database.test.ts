// Data safety of the embedded default (`npm start` without MONGODB_URI): the real server as a
// child process on a temporary SCAIKEY_DATA_DIR, killed the way the OOM killer does it.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findPostgres } from '../../scripts/local-mongo/postgres.ts';
import { processStart } from '../../scripts/local-mongo/data-dir.ts';
import {
  databasePids,
  descendants,
  engineOf,
  ensureStopped,
  serverEnv,
  startServerProcess,
  tempDataRoot,
  waitUntilGone,
  type ServerProcess,
} from '../support/server-process.ts';

const DEMO_PASSWORD = 'embedded-database-demo-pass';
const running: ServerProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
const leftovers: number[] = [];
afterAll(async () => {
  for (const pid of leftovers) if (processStart(pid) !== undefined) process.kill(pid, 'SIGKILL');
  for (const server of running) await ensureStopped(server);
  for (const cleanup of cleanups) await cleanup();
});

function start(env: NodeJS.ProcessEnv, command?: string, args?: string[]): ServerProcess {
  const server = startServerProcess(env, command, args);
  running.push(server);
  return server;
}

async function login(url: string, password: string): Promise<number> {
  const response = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'demo@example.com', password }),
  });
  return response.status;
}

describe.runIf(!process.env.MONGODB_URI)('embedded database', () => {
  it('dies with a SIGKILLed server, and the next start opens the same engine and data', async () => {
    const { root, dataDir, cleanup } = await tempDataRoot('embedded');
    cleanups.push(cleanup);

    const first = start(serverEnv(root, { SCAIKEY_DEMO_PASSWORD: DEMO_PASSWORD }));
    const url = await first.listening;
    expect(await login(url, DEMO_PASSWORD)).toBe(200);
    // Its database processes, from /proc (independent of what the server records about them).
    const pids = (await descendants(first.child.pid!)).filter((p) => /postgres|ferretdb|mongod/.test(p.cmd));
    expect(pids.length).toBeGreaterThan(0);

    first.child.kill('SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    expect.soft(await waitUntilGone(pids, 15_000), 'database processes left behind').toEqual([]);

    // A leftover the next start must stop before it opens anything (where pdeathsig is missing, or
    // a version without it crashed): a process named by a pid file in run/.
    const leftover = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    leftover.unref();
    leftovers.push(leftover.pid!);
    await mkdir(join(dataDir, 'run'), { recursive: true });
    await writeFile(join(dataDir, 'run', 'leftover.pid'), JSON.stringify({ name: 'leftover', pid: leftover.pid, start: processStart(leftover.pid!), signal: 'SIGTERM' }));

    // No demo password now: a new, empty database would be seeded with a random one.
    const second = start(serverEnv(root));
    const again = await second.listening;
    expect.soft(await login(again, DEMO_PASSWORD), 'the existing demo user signs in').toBe(200);
    expect.soft(second.lines.some((l) => /seeded tenant/.test(l.msg)), 'seeded again').toBe(false);
    const engine = await engineOf(dataDir);
    if (await findPostgres()) expect(engine).toBe('ferretdb-postgres');
    expect(second.lines.some((l) => l.level === 40 && /stopping leftover \(pid \d+\) left running by a previous run/.test(l.msg))).toBe(true);
    expect(processStart(leftover.pid!)).toBeUndefined();
    if (engine === 'ferretdb-postgres') expect(await readdir(dataDir)).not.toContain('ferretdb'); // no SQLite beside it

    // One owner at a time: a second server on the same directory refuses, loudly.
    const intruder = start(serverEnv(root));
    expect((await intruder.exited).code).toBe(1);
    expect(intruder.lines.find((l) => l.level === 60)?.msg).toMatch(/is in use by another ScaiKey process \(pid \d+/);

    const secondPids = await databasePids(dataDir);
    second.child.kill('SIGTERM');
    expect(await second.exited).toMatchObject({ code: 0 });
    expect(await waitUntilGone(secondPids, 15_000)).toEqual([]);

    // A contradicting SCAIKEY_LOCAL_DB is refused with the reason, and nothing is started.
    const other = engine === 'ferretdb-sqlite' ? 'ferretdb-postgres' : 'ferretdb-sqlite';
    const wrong = start(serverEnv(root, { SCAIKEY_LOCAL_DB: other }));
    expect((await wrong.exited).code).toBe(1);
    const fatal = wrong.lines.find((l) => l.level === 60);
    expect(fatal?.msg).toContain(`SCAIKEY_LOCAL_DB=${other} contradicts SCAIKEY_DATA_DIR ${dataDir}, which holds a ${engine} database`);
    expect(await engineOf(dataDir)).toBe(engine);
  }, 120_000);

  it('never falls back to another engine when the recorded one cannot start', async (ctx) => {
    if (!(await findPostgres())) ctx.skip();
    const { root, dataDir, cleanup } = await tempDataRoot('broken');
    cleanups.push(cleanup);
    // A PostgreSQL cluster this PostgreSQL refuses to open (as after a major upgrade).
    await mkdir(join(dataDir, 'postgres'), { recursive: true, mode: 0o700 });
    await writeFile(join(dataDir, 'postgres', 'PG_VERSION'), '9\n');
    await writeFile(join(dataDir, 'engine.json'), JSON.stringify({ engine: 'ferretdb-postgres' }));

    const server = start(serverEnv(root));
    const outcome = await Promise.race([server.exited.then(({ code }) => `exit ${code}`), server.listening.then(() => 'listening on another engine', () => 'exited')]);
    expect(outcome).toBe('exit 1');
    const fatal = server.lines.find((l) => l.level === 60);
    expect(fatal?.msg).toContain(`The embedded database in SCAIKEY_DATA_DIR ${dataDir} is FerretDB on PostgreSQL`);
    expect(fatal?.msg).toContain('no other engine was tried');
    expect(await readdir(dataDir)).not.toContain('ferretdb');
    expect(await readFile(join(dataDir, 'engine.json'), 'utf8')).toContain('ferretdb-postgres');
  }, 60_000);

  it('a directory from before engines were recorded, holding two engines, asks which one to keep', async () => {
    const { root, dataDir, cleanup } = await tempDataRoot('ambiguous');
    cleanups.push(cleanup);
    await mkdir(join(dataDir, 'postgres'), { recursive: true });
    await writeFile(join(dataDir, 'postgres', 'PG_VERSION'), '15\n');
    await mkdir(join(dataDir, 'ferretdb'), { recursive: true });
    await writeFile(join(dataDir, 'ferretdb', 'scaikey.sqlite'), '');

    const server = start(serverEnv(root));
    expect((await server.exited).code).toBe(1);
    expect(server.lines.find((l) => l.level === 60)?.msg).toMatch(/holds data of several engines .*Set SCAIKEY_LOCAL_DB to the one to keep \(ferretdb-postgres or ferretdb-sqlite\)/);
  }, 60_000);

  it('npm start: SIGTERM to npm stops the server and its database; so does npm being killed', async () => {
    const { root, dataDir, cleanup } = await tempDataRoot('npm');
    cleanups.push(cleanup);

    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const npm = start(serverEnv(root), 'npm', ['start', '--silent']);
      await npm.listening;
      const tree = await descendants(npm.child.pid!); // node, its database processes (and a shell, without exec)
      expect(tree.some((p) => /scripts\/start\.ts/.test(p.cmd))).toBe(true);
      npm.child.kill(signal);
      await npm.exited;
      const left = await waitUntilGone(tree, 20_000);
      expect(left.map((pid) => tree.find((p) => p.pid === pid)!.cmd.slice(0, 80)), `still running after ${signal} to npm`).toEqual([]);
      for (const pid of left) process.kill(pid, 'SIGKILL'); // our own leftovers, by pid
    }
  }, 120_000);
});
