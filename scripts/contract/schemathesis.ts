// Schemathesis, pinned, in a project-local virtualenv. Installed from PyPI with the ordinary
// client (python3 -m venv + pip) only when the venv is missing or holds another version.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Bump deliberately: the CLI flags, config keys and check names below were verified against it. */
export const SCHEMATHESIS_VERSION = '4.32.5';

/** Relative to the repository root. Not committed (add `.venv-contract/` to .gitignore). */
export const VENV_DIR = '.venv-contract';

export interface SchemathesisInstall {
  /** Absolute path of the `schemathesis` entry point. */
  bin: string;
  version: string;
}

function venvPaths(root: string) {
  const venv = join(root, VENV_DIR);
  const binDir = process.platform === 'win32' ? join(venv, 'Scripts') : join(venv, 'bin');
  const exe = process.platform === 'win32' ? '.exe' : '';
  return { venv, python: join(binDir, `python${exe}`), schemathesis: join(binDir, `schemathesis${exe}`) };
}

async function installedVersion(bin: string): Promise<string | undefined> {
  if (!existsSync(bin)) return undefined;
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 60_000 });
    return /version\s+(\S+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

async function findPython(): Promise<string> {
  const candidates = [process.env.CONTRACT_PYTHON, 'python3', 'python'].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    try {
      const { stdout } = await run(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { timeout: 30_000 });
      const [major, minor] = stdout.trim().split('.').map(Number);
      if (major === 3 && (minor ?? 0) >= 10) return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(`Schemathesis ${SCHEMATHESIS_VERSION} needs Python >= 3.10 (tried: ${candidates.join(', ')}); set CONTRACT_PYTHON to one.`);
}

/** Returns the pinned Schemathesis, creating or repairing `.venv-contract/` first when needed. */
export async function ensureSchemathesis(root: string, log: (msg: string) => void): Promise<SchemathesisInstall> {
  const paths = venvPaths(root);
  const present = await installedVersion(paths.schemathesis);
  if (present === SCHEMATHESIS_VERSION) return { bin: paths.schemathesis, version: present };

  if (present) log(`contract: ${VENV_DIR} has Schemathesis ${present}; reinstalling ${SCHEMATHESIS_VERSION}`);
  else log(`contract: installing Schemathesis ${SCHEMATHESIS_VERSION} into ${VENV_DIR}/ (first run only)`);
  if (!existsSync(paths.python)) {
    await rm(paths.venv, { recursive: true, force: true });
    const python = await findPython();
    await run(python, ['-m', 'venv', paths.venv], { timeout: 120_000 });
  }
  try {
    await run(paths.python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`], {
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-15).join('\n') ?? String(error);
    throw new Error(`pip could not install schemathesis==${SCHEMATHESIS_VERSION}:\n${detail}`);
  }
  const version = await installedVersion(paths.schemathesis);
  if (version !== SCHEMATHESIS_VERSION) throw new Error(`expected Schemathesis ${SCHEMATHESIS_VERSION} in ${VENV_DIR}, found ${version ?? 'nothing'}`);
  return { bin: paths.schemathesis, version };
}
