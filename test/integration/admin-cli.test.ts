import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { seedDemoIfEmpty } from '../../handlers/domain/tenants/demo-seed.ts';

const run = promisify(execFile);
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

// The real `scaikey` bin against the test server's database.
async function scaikey(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'scripts/scaikey.ts', ...args], {
    env: { ...process.env, MONGODB_URI: server.testDb.uri, MONGODB_DB: server.testDb.dbName, BCRYPT_COST: '4', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
}

test('creates a tenant and a user the API can sign in, sets a password, disables the user', async () => {
  const created = JSON.parse((await scaikey('tenant', 'create', 'cli-co', '--name', 'CLI Co', '--self-registration', 'true', '--require-verification', 'false')).stdout);
  expect(created).toMatchObject({ slug: 'cli-co', name: 'CLI Co', settings: { self_registration: true } });
  await expect(scaikey('tenant', 'create', 'cli-co', '--name', 'Again')).rejects.toMatchObject({ stderr: expect.stringContaining('already exists') });
  await expect(scaikey('user', 'create', '--tenant', 'cli-co', '--email', 'ada@cli.test', '--password', 'short')).rejects.toMatchObject({ stderr: expect.stringContaining('at least 15') });
  await scaikey('user', 'create', '--tenant', 'cli-co', '--email', 'ada@cli.test', '--password', 'a long enough passphrase', '--verified');
  const login = await server.call('POST', '/api/v1/auth/tenants/cli-co/login', { body: { email: 'ada@cli.test', password: 'a long enough passphrase' } });
  expect(login.status).toBe(200);
  await scaikey('user', 'set-password', '--tenant', 'cli-co', '--email', 'ada@cli.test', '--password', 'another long passphrase');
  expect((await server.call('POST', '/api/v1/auth/login', { body: { email: 'ada@cli.test', password: 'another long passphrase' } })).status).toBe(200);
  const listed = (await scaikey('user', 'list', '--tenant', 'cli-co')).stdout;
  expect(listed).toContain('ada@cli.test');
  await scaikey('user', 'disable', '--tenant', 'cli-co', '--email', 'ada@cli.test');
  expect((await server.call('POST', '/api/v1/auth/login', { body: { email: 'ada@cli.test', password: 'another long passphrase' } })).status).toBe(401);
  expect((await scaikey('tenant', 'list')).stdout).toContain('cli-co');
});

test('the demo seed runs once on an empty database and its user can sign in', async () => {
  await server.database.db.collection('tenants').deleteMany({});
  const printed: string[] = [];
  expect(await seedDemoIfEmpty(server.domain, { password: undefined, log: () => undefined, print: (m) => printed.push(m) })).toBe(true);
  const password = /demo@example\.com \/ (\S+)/.exec(printed.join('\n'))![1]!;
  expect((await server.call('POST', '/api/v1/auth/tenants/demo/login', { body: { email: 'demo@example.com', password } })).status).toBe(200);
  expect(await seedDemoIfEmpty(server.domain, { password: undefined, log: () => undefined, print: () => undefined })).toBe(false);
});

test('app create, list, update, rotate-secret and delete through the CLI; admin grant-role', async () => {
  await scaikey('tenant', 'create', 'cli-apps', '--name', 'CLI Apps');
  const created = JSON.parse((await scaikey('app', 'create', '--name', 'CLI web', '--type', 'WEB', '--scope', 'TENANT', '--tenant', 'cli-apps',
    '--redirect-uri', 'https://app.cli.test/cb', '--redirect-uri', 'http://localhost:3000/cb', '--allowed-scope', 'openid', '--allowed-scope', 'email',
    '--origin', 'https://app.cli.test', '--token-lifetime', '1800', '--skip-consent', '--id-token-alg', 'ES256')).stdout);
  expect(created).toMatchObject({ scope: 'TENANT', application_type: 'WEB', redirect_uris: ['https://app.cli.test/cb', 'http://localhost:3000/cb'], allowed_scopes: ['openid', 'email'], token_lifetime: 1800, skip_consent: true, id_token_signed_response_alg: 'ES256' });
  expect(created.client_secret).toMatch(/^sks_/);
  await expect(scaikey('app', 'create', '--name', 'Bad', '--type', 'WEB', '--scope', 'TENANT', '--tenant', 'cli-apps', '--redirect-uri', 'https://a.test/cb#frag')).rejects.toMatchObject({ stderr: expect.stringContaining('fragment') });
  const listed = JSON.parse((await scaikey('app', 'list', '--tenant', 'cli-apps')).stdout);
  expect(listed).toMatchObject({ total: 1, items: [{ id: created.id }] });
  expect(JSON.stringify(listed)).not.toContain('client_secret"');
  const updated = JSON.parse((await scaikey('app', 'update', created.id, '--allowed-scope', 'openid')).stdout);
  expect(updated.allowed_scopes).toEqual(['openid']);
  const rotated = JSON.parse((await scaikey('app', 'rotate-secret', created.id)).stdout);
  expect(rotated.client_secret).not.toBe(created.client_secret);
  await scaikey('app', 'delete', created.id);
  expect(JSON.parse((await scaikey('app', 'list', '--tenant', 'cli-apps')).stdout).total).toBe(0);

  await scaikey('user', 'create', '--tenant', 'cli-apps', '--email', 'boss@cli.test', '--password', 'a long enough passphrase', '--verified');
  expect((await server.call('POST', '/api/v1/admin/auth/login', { body: { email: 'boss@cli.test', password: 'a long enough passphrase' } })).status).toBe(401);
  const granted = JSON.parse((await scaikey('admin', 'grant-role', '--tenant', 'cli-apps', '--email', 'boss@cli.test', '--role', 'tenant_admin')).stdout);
  expect(granted).toMatchObject({ role: 'tenant_admin' });
  expect((await server.call('POST', '/api/v1/admin/auth/login', { body: { email: 'boss@cli.test', password: 'a long enough passphrase' } })).body).toMatchObject({ status: 'SUCCESS', user: { role: 'tenant_admin' } });
});
