// The FastAPI + pydantic 2 replica (test/fastapi-replica/app.py) in a project-local virtualenv,
// installed from PyPI with the ordinary client (python3 -m venv + pip) only when missing or when
// test/fastapi-replica/requirements.txt (the pins) changed. Same approach as
// scripts/contract/schemathesis.ts for .venv-contract/.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const REPLICA_DIR = join(ROOT, 'test', 'fastapi-replica');
/** Not committed (.gitignore). */
export const VENV_DIR = join(ROOT, '.venv-fastapi');
const python = join(VENV_DIR, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
const marker = join(VENV_DIR, '.requirements-sha256');

async function findPython(): Promise<string> {
  const candidates = [process.env.REPLICA_PYTHON, 'python3', 'python'].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    try {
      const { stdout } = await run(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { timeout: 30_000 });
      const [major, minor] = stdout.trim().split('.').map(Number);
      if (major === 3 && (minor ?? 0) >= 9) return candidate;
    } catch {
      // next
    }
  }
  throw new Error(`the FastAPI replica needs Python >= 3.9 (tried: ${candidates.join(', ')}); set REPLICA_PYTHON`);
}

/** Makes sure .venv-fastapi/ holds exactly the pinned requirements. */
export async function ensureReplicaVenv(log: (msg: string) => void = () => {}): Promise<string> {
  const requirements = join(REPLICA_DIR, 'requirements.txt');
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  if (existsSync(python) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === digest) return python;
  log(`fastapi-parity: installing ${requirements} into .venv-fastapi/ (first run only)`);
  if (!existsSync(python)) {
    await rm(VENV_DIR, { recursive: true, force: true });
    await run(await findPython(), ['-m', 'venv', VENV_DIR], { timeout: 120_000 });
  }
  try {
    await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '-r', requirements], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-15).join('\n') ?? String(error);
    throw new Error(`pip could not install the FastAPI replica's requirements:\n${detail}`);
  }
  writeFileSync(marker, `${digest}\n`);
  return python;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export interface Replica {
  url: string;
  versions: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts the replica on a free loopback port and waits until it answers. */
export async function startReplica(env: Record<string, string>): Promise<Replica> {
  const pythonBin = await ensureReplicaVenv((msg) => process.stderr.write(`${msg}\n`));
  const port = await freePort();
  const child: ChildProcess = spawn(pythonBin, [join(REPLICA_DIR, 'app.py'), String(port)], {
    cwd: REPLICA_DIR,
    env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the FastAPI replica exited (${child.exitCode}):\n${stderr}`);
    try {
      const reply = await fetch(`${url}/replica/versions`);
      if (reply.ok) {
        const versions = (await reply.json()) as Record<string, string>;
        return {
          url,
          versions,
          stop: async () => {
            if (child.exitCode !== null) return;
            const exited = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await exited;
          },
        };
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the FastAPI replica did not start within 30 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
