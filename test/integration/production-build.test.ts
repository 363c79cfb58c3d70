// The production form of the server (npm run build → plain JavaScript, as the container runs it)
// starts and serves with no TypeScript loader in the process.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectTestDatabase, type TestDatabase } from '../support/database.ts';

const root = resolve(import.meta.dirname, '../..');
const out = join(root, '.cache', `dist-test-${randomBytes(4).toString('hex')}`);
let db: TestDatabase;

beforeAll(async () => {
  db = await connectTestDatabase();
  const build = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--out', out], { cwd: root, encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
}, 180_000);
afterAll(async () => {
  rmSync(out, { recursive: true, force: true });
  await db?.cleanup();
});

test('the compiled server starts without tsx, answers the API and stops on SIGTERM', async () => {
  expect(existsSync(join(out, 'handlers/main.js'))).toBe(true);
  expect(existsSync(join(out, 'handlers/main.ts'))).toBe(false);
  // Node ≥ 22.6 would strip types from a stray .ts import silently; forbid it so one fails here.
  const strict = Number(process.versions.node.split('.')[0]) >= 23 ? ['--no-experimental-strip-types'] : [];
  const child = spawn(process.execPath, [...strict, join(out, 'handlers/main.js')], {
    cwd: root,
    env: { PATH: process.env.PATH, NODE_ENV: 'development', MONGODB_URI: db.uri, MONGODB_DB: db.dbName, PORT: '0', BCRYPT_COST: '4', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in time:\n${output}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.includes('ScaiKey server listening'));
      if (line) {
        clearTimeout(timer);
        resolveUrl((JSON.parse(line) as { url: string }).url);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
  });
  const jwks = await fetch(`${url}/.well-known/jwks.json`);
  expect(jwks.status).toBe(200);
  expect(((await jwks.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
  const refused = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"nobody@example.com","password":"x"}' });
  expect(refused.status).toBe(401);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
}, 120_000);
