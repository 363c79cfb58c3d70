/**
 * The OpenID Foundation's conformance suite against this server, locally (npm run test:oidf).
 *
 * Starts a throwaway database and the server behind the suite's TLS proxy (the suite only talks
 * to https issuers), seeds a tenant, a user and the suite's clients, then runs the plans with
 * `../shared/tools/oidf-conformance/run-plan.sh` and exits with its status.
 *
 *   OIDF_PLANS    plans to run (default: oidcc-basic-certification-test-plan)
 *   OIDF_ISSUER   tenant | platform | both (default: tenant)
 *   OIDF_MODULES  run only these modules (comma-separated)
 *   OIDF_TOOLS    the suite's folder (default: ../shared/tools/oidf-conformance)
 *   OIDF_KEEP=1   leave the suite running afterwards (faster reruns)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../handlers/core/config.ts';
import { createLogger } from '../handlers/core/logger.ts';
import { startServer, type RunningServer } from '../handlers/compose.ts';
import { startLocalMongo, type LocalMongo } from './local-mongo.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TOOLS = resolve(process.env.OIDF_TOOLS ?? join(ROOT, '..', 'shared', 'tools', 'oidf-conformance'));
const REPORT_DIR = join(ROOT, 'reports', 'oidf');
const PROXY_PORT = Number(process.env.OIDF_PROXY_PORT ?? 9443);
const SUITE_REDIRECT = `https://localhost:${process.env.SUITE_PORT ?? 8443}/test/a/oidf-op/callback`;

function log(message: string): void {
  process.stderr.write(`oidf: ${message}\n`);
}

/** The TLS proxy forwards to one server port: a proxy left from an earlier run must go first. */
function stopProxy(): void {
  const pidFile = join(process.env.OIDF_WORK ?? join(process.env.TMPDIR ?? '/tmp', 'oidf-conformance'), 'run', `proxy-${PROXY_PORT}.pid`);
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    if (pid > 0) process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(pidFile, { force: true });
}

/**
 * The suite's TLS proxy (tls-proxy.mjs) in front of the server, as this process's own child (so it
 * ends with it), with the certificate `setup.sh start` made. Resolves once it accepts connections.
 */
async function startProxy(target: string): Promise<ChildProcess | undefined> {
  const work = process.env.OIDF_WORK ?? join(process.env.TMPDIR ?? '/tmp', 'oidf-conformance');
  for (let attempt = 1; attempt <= 2; attempt++) {
    const child = spawn(process.execPath, [join(TOOLS, 'tls-proxy.mjs'), target, String(PROXY_PORT)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, TLS_CERT: join(work, 'certs', 'localhost.crt'), TLS_KEY: join(work, 'certs', 'localhost.key') },
    });
    for (let i = 0; i < 40 && child.exitCode === null; i++) {
      if (await accepts(PROXY_PORT)) return child;
      await new Promise((done) => setTimeout(done, 250));
    }
    log(`the TLS proxy did not start (attempt ${attempt}, exit ${String(child.exitCode ?? child.signalCode)})`);
    child.kill('SIGKILL');
  }
  return undefined;
}

async function accepts(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((done) => {
    const socket = connect({ host: 'localhost', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    child.once('error', (error) => {
      log(`${command}: ${error.message}`);
      done(2);
    });
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 2)));
  });
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Seeded {
  tenantSlug: string;
  email: string;
  password: string;
  tenantClients: Array<{ id: string; secret: string }>;
  platformClients: Array<{ id: string; secret: string }>;
}

/** A tenant, a user with every standard claim ScaiKey keeps, and two clients per issuer. */
async function seed(server: RunningServer): Promise<Seeded> {
  const { domain } = server;
  const tenant = await domain.tenants.create({ slug: 'oidf', name: 'OIDF conformance', settings: { require_email_verification: false } });
  const email = 'foo@example.com';
  const password = `oidf-${randomBytes(12).toString('base64url')}`;
  const user = await domain.users.create({ tenant, email, password, firstName: 'Foo', lastName: 'Bar', emailVerified: true, status: 'active' });
  await domain.users.update(user._id, { display_name: 'Foo Bar', phone: '+31 20 555 0100', locale: 'en-GB', timezone: 'Europe/Amsterdam' });
  const scopes = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'];
  const app = async (scope: 'TENANT' | 'GLOBAL', name: string) => {
    const { application, clientSecret } = await domain.applications.create({
      name, application_type: 'WEB', scope, tenant_id: scope === 'TENANT' ? tenant._id : null,
      redirect_uris: [SUITE_REDIRECT], post_logout_redirect_uris: [SUITE_REDIRECT.replace(/callback$/, 'post_logout_redirect')],
      allowed_scopes: scopes, skip_consent: true,
    });
    return { id: application.client_id, secret: clientSecret! };
  };
  return {
    tenantSlug: tenant.slug,
    email,
    password,
    tenantClients: [await app('TENANT', 'OIDF client 1'), await app('TENANT', 'OIDF client 2')],
    platformClients: [await app('GLOBAL', 'OIDF platform client 1'), await app('GLOBAL', 'OIDF platform client 2')],
  };
}

/** Counts the modules of one run as run-plan.sh does: FAILED, NOT_FINISHED, UNKNOWN and ERROR fail. */
function tally(resultsFile: string, totals: { passed: number; failed: number; skipped: number }): void {
  if (!existsSync(resultsFile)) {
    totals.failed += 1;
    return;
  }
  const parsed = JSON.parse(readFileSync(resultsFile, 'utf8')) as unknown;
  const modules = (Array.isArray(parsed) ? parsed : ((parsed as { modules?: unknown[] }).modules ?? [])) as Array<{ result?: string }>;
  for (const module of modules) {
    const result = module.result ?? 'UNKNOWN';
    if (/^(FAILED|NOT_FINISHED|UNKNOWN|ERROR)/.test(result)) totals.failed += 1;
    else if (result === 'SKIPPED') totals.skipped += 1;
    else totals.passed += 1;
  }
}

async function main(): Promise<number> {
  if (!existsSync(join(TOOLS, 'run-plan.sh'))) {
    log(`the conformance suite is not at ${TOOLS} (set OIDF_TOOLS)`);
    return 2;
  }
  await rm(REPORT_DIR, { recursive: true, force: true });
  await mkdir(REPORT_DIR, { recursive: true });
  const setup = join(TOOLS, 'setup.sh');
  let database: LocalMongo | undefined;
  let server: RunningServer | undefined;
  let proxy: ChildProcess | undefined;
  const keep = process.env.OIDF_KEEP === '1';
  try {
    // Idempotent: a suite already running (OIDF_KEEP=1 earlier) is reused. One retry: on a busy
    // machine a first start has been seen to lose its database process.
    if ((await run(setup, ['start'])) !== 0) {
      log('the suite did not start; stopping it and trying once more');
      await run(setup, ['stop']);
      if ((await run(setup, ['start'])) !== 0) return 2;
    }
    database = await startLocalMongo({ persistent: false, log: (message) => log(message) });
    const port = await freePort();
    const base = `https://localhost:${PROXY_PORT}`;
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_BASE_URL: base,
      TRUST_PROXY: 'loopback',
      MONGODB_URI: database.uri,
      MONGODB_DB: 'scaikey_oidf',
      LOG_LEVEL: process.env.OIDF_LOG_LEVEL || 'info',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
      VALIDATE_RESPONSES: 'false',
      IP_RATE_LIMIT: '100000',
      IDENTIFY_RATE_LIMIT: '100000',
    });
    const logger = createLogger(config.LOG_LEVEL, createWriteStream(join(REPORT_DIR, 'server.log')));
    server = await startServer({ config, logger, port });
    const data = await seed(server);
    log(`server at ${server.url} behind https://localhost:${PROXY_PORT}; tenant ${data.tenantSlug}, user ${data.email}`);
    stopProxy();
    proxy = await startProxy(`http://127.0.0.1:${port}`);
    if (!proxy) return 2;

    const which = process.env.OIDF_ISSUER ?? 'tenant';
    const runs: Array<{ name: string; issuer: string; clients: Seeded['tenantClients']; env: Record<string, string> }> = [];
    const pageEnv = {
      LOGIN_USER: data.email,
      LOGIN_PASS: data.password,
      LOGIN_PASS_BY: 'name',
      LOGIN_PASS_SEL: 'password',
      LOGIN_SUBMIT_BY: 'class',
      LOGIN_SUBMIT_SEL: 'login-submit',
      CONSENT_SEL: '',
      ERROR_PAGE_REGEX: 'This sign-in request cannot be completed',
      LOGIN_PAGE_REGEX: 'Sign in',
    };
    if (which === 'tenant' || which === 'both') {
      runs.push({ name: 'tenant', issuer: `${base}/api/v1/auth/tenants/${data.tenantSlug}`, clients: data.tenantClients, env: { ...pageEnv, LOGIN_USER_BY: 'name', LOGIN_USER_SEL: 'email' } });
    }
    if (which === 'platform' || which === 'both') {
      // Identify-first: the email on one page, the password on the next.
      runs.push({ name: 'platform', issuer: `${base}/api/v1/platform/oauth`, clients: data.platformClients, env: {
        ...pageEnv, LOGIN_STEPS: 'two', LOGIN_USER_BY: 'name', LOGIN_USER_SEL: 'email', LOGIN_CONTINUE_BY: 'class', LOGIN_CONTINUE_SEL: 'continue',
      } });
    }
    let status = 0;
    const totals = { passed: 0, failed: 0, skipped: 0 };
    for (const target of runs) {
      log(`${target.name} issuer ${target.issuer}`);
      const [one, two] = target.clients;
      const code = await run(join(TOOLS, 'run-plan.sh'), [target.issuer, one!.id, one!.secret, two!.id, two!.secret], {
        ...target.env,
        POST_CLIENT_ID: two!.id,
        POST_CLIENT_SECRET: two!.secret,
        RESULTS_DIR: join(REPORT_DIR, target.name),
        ...(process.env.OIDF_PLANS ? { PLANS: process.env.OIDF_PLANS } : {}),
        ...(process.env.OIDF_MODULES ? { MODULES: process.env.OIDF_MODULES } : {}),
      });
      if (code !== 0) status = code;
      tally(join(REPORT_DIR, target.name, 'results.json'), totals);
    }
    // Read by .ci/summary.mjs for CI's closing line.
    await writeFile(join(REPORT_DIR, 'summary.json'), `${JSON.stringify(totals)}\n`);
    return status;
  } finally {
    await server?.close().catch(() => undefined);
    await database?.stop().catch(() => undefined);
    proxy?.kill('SIGTERM');
    stopProxy();
    if (!keep) await run(setup, ['stop']);
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(2);
});
