// `npm run bench`: the real server on a throw-away local database, seeded users, autocannon load.
//
//   npm run bench -- [--duration 10] [--connections 32] [--login-connections 8] [--users 1000]
//                    [--refresh-sessions 1000] [--workers 2] [--only single|cluster]
//                    [--scenarios jwks,me,refresh,identify,login,storm] [--grow N] [--hash argon2id|bcrypt] [--out FILE]
//                    [--profile[=SCENARIO[@cluster]]]
//
// The database is the project's local one (scripts/local-mongo.ts: MONGODB_URI if set, else a
// mongod on PATH, else FerretDB), started empty and deleted afterwards. The server runs as a child
// process exactly as in production (the compiled `dist/handlers/main.js`, NODE_ENV=production,
// Argon2id at OWASP parameters), first as one process, then as a cluster (WEB_CONCURRENCY=2) on the same data.
// Users, sessions and tokens are seeded through the domain services with the same encryption key.
//
// Scenarios: GET /.well-known/jwks.json (no database: the HTTP stack's ceiling), GET /api/v1/me
// with the access tokens of many users, POST /api/v1/auth/refresh (every refresh token used once:
// each success queues its successor), POST /api/v1/auth/identify, POST /api/v1/auth/login, and
// GET /me while a login storm runs. For each: requests/s (2xx only), the latency of one request
// at a time, p50/p99 under load, the server's peak RSS (VmHWM, reset per scenario, summed over
// the cluster) and where the CPU went (server main threads, other server threads, database, load
// generator), also per request. Before the load it times bcrypt at cost 12 (the hashing bound is
// cores / hash time) and the token operations on their own. Results: reports/bench/latest.json.
// --profile re-runs the scenario furthest from its target under `node --cpu-prof` and prints the
// functions and packages with the most self time (profiles in reports/bench/profiles/).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startLocalMongo } from './local-mongo.ts';
import { PasswordHasher } from '../handlers/domain/passwords/hasher.ts';
import { startBenchServer, type BenchServer } from './bench/server.ts';
import { grow, measureComponents, seed, type ComponentTimings, type SeedData } from './bench/seed.ts';
import { clientCredentialsRequests, codeExchangeRequests, identifyRequests, loginRequests, meRequests, oauthRefreshRequests, refreshRequests, runLoad, userinfoRequests, sequentialLatency, type LoadRequest, type LoadResult } from './bench/load.ts';
import { childrenNamed, cpuSeconds, loadAverage, treeCpuSeconds, peakRssMb, resetPeak, RssSampler, threadCpuSeconds } from './bench/proc.ts';
import { summariseProfiles, type ProfileSummary } from './bench/profile.ts';

const require = createRequire(import.meta.url);

// A bare `--profile` means "the scenario furthest from its target".
const argv = process.argv.slice(2).map((arg, i, all) => (arg === '--profile' && (all[i + 1] === undefined || all[i + 1]!.startsWith('--')) ? '--profile=auto' : arg));
const { values: args } = parseArgs({
  args: argv,
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    'login-connections': { type: 'string', default: '8' },
    users: { type: 'string', default: '1000' },
    'refresh-sessions': { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    only: { type: 'string' },
    scenarios: { type: 'string', default: 'jwks,me,refresh,identify,login,storm,cc,code,oauth-refresh,userinfo' },
    profile: { type: 'string' },
    out: { type: 'string', default: 'reports/bench/latest.json' },
    hash: { type: 'string', default: 'argon2id' },
    grow: { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h' },
  },
  allowPositionals: false,
  strict: true,
});
const profileRequested = args.profile !== undefined;

if (args.help) {
  console.log(readHeader());
  process.exit(0);
}

const DURATION = Number(args.duration);
/** With --grow N, a last single-process phase runs after N more users, sessions, flows and audit events. */
const GROW = Number(args.grow);
const CONNECTIONS = Number(args.connections);
const LOGIN_CONNECTIONS = Number(args['login-connections']);
const USERS = Number(args.users);
const REFRESH_SESSIONS = Number(args['refresh-sessions']);
const CLUSTER_WORKERS = Number(args.workers);
const BCRYPT_COST = 12;
/** The password hash under test: the server's default (Argon2id, OWASP parameters) or bcrypt at cost 12. */
const HASH = args.hash === 'bcrypt' ? 'bcrypt' : 'argon2id';
const HASH_LABEL = HASH === 'bcrypt' ? `bcrypt cost ${BCRYPT_COST}` : 'Argon2id m=19 MiB t=2 p=1';
const PASSWORD = 'correct horse battery staple bench';
const OUT_DIR = resolve('reports/bench');
const CORES = availableParallelism();
const ALL_SCENARIOS = ['jwks', 'me', 'refresh', 'identify', 'login', 'storm', 'cc', 'code', 'oauth-refresh', 'userinfo'] as const;
const SCENARIOS = args.scenarios!.split(',').map((s) => s.trim()).filter((s): s is ScenarioId => {
  if ((ALL_SCENARIOS as readonly string[]).includes(s)) return true;
  throw new Error(`--scenarios: unknown scenario "${s}" (one of ${ALL_SCENARIOS.join(', ')})`);
});

type ScenarioId = (typeof ALL_SCENARIOS)[number];
type Phase = 'single' | 'cluster' | 'grown';

interface Resources {
  /** Summed per-process peak RSS (VmHWM, reset before the scenario), MB. */
  peakRssMb: number;
  /** Highest summed RSS seen by 100 ms sampling, MB. */
  sampledPeakRssMb: number;
  perProcessPeakMb: Record<number, number>;
  /** Average cores used during the scenario. */
  cores: { serverMain: number; serverOther: number; database: number; loadGenerator: number; total: number };
}

interface Row {
  phase: Phase;
  scenario: ScenarioId | 'storm-login';
  label: string;
  connections: number;
  durationS: number;
  rps: number;
  /** Median latency of single requests sent one at a time before the load (no queueing). */
  unloadedMs: number | null;
  p50Ms: number;
  p99Ms: number;
  p97_5Ms: number;
  meanMs: number;
  maxMs: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  resources: Resources;
  /** CPU milliseconds spent per successful request by the server and by the database (not for the storm, which mixes two loads). */
  cpuMsPerRequest: { server: number; database: number } | null;
  loadAverage: number[];
}

interface Context {
  server: BenchServer;
  databasePids: number[];
  data: SeedData;
  refreshQueue: string[];
  oauthRefreshQueue: string[];
}

function readHeader(): string {
  return [
    'npm run bench [-- options]',
    '  --duration S            seconds per scenario (10)',
    '  --connections N         connections for GET /me, refresh, identify (32)',
    '  --login-connections N   connections for password logins and the login storm (8)',
    '  --users N               seeded users, each with a session and access token (1000)',
    '  --refresh-sessions N    extra sessions whose refresh tokens seed the refresh scenario (1000)',
    '  --workers N             processes in the cluster phase (2)',
    '  --only single|cluster   run one phase',
    '  --scenarios LIST        comma-separated subset of jwks,me,refresh,identify,login,storm',
    '  --grow N                then grow the database by N users, sessions, flows and audit events and run one process again',
    '  --hash ALG              argon2id (default, the server default) or bcrypt (cost 12)',
    '  --profile[=SCENARIO[@cluster]]  CPU-profile the scenario furthest from its target (or the one named)',
    '  --out FILE              where the JSON results go (reports/bench/latest.json)',
  ].join('\n');
}

function log(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// Measurement

async function withResources<T>(ctx: Context, run: () => Promise<T>): Promise<{ value: T; resources: Resources }> {
  const serverPids = ctx.server.pids();
  resetPeak(serverPids);
  const sampler = new RssSampler(() => ctx.server.pids());
  const before = { threads: threadCpuSeconds(serverPids), db: treeCpuSeconds(ctx.databasePids), bench: process.cpuUsage(), at: performance.now() };
  const value = await run();
  const wall = (performance.now() - before.at) / 1000;
  const threads = threadCpuSeconds(serverPids);
  const bench = process.cpuUsage(before.bench);
  const perProcessPeakMb = peakRssMb(serverPids);
  const cores = {
    serverMain: round((threads.main - before.threads.main) / wall, 2),
    serverOther: round((threads.other - before.threads.other) / wall, 2),
    database: round((treeCpuSeconds(ctx.databasePids) - before.db) / wall, 2),
    loadGenerator: round((bench.user + bench.system) / 1e6 / wall, 2),
    total: 0,
  };
  cores.total = round(cores.serverMain + cores.serverOther + cores.database + cores.loadGenerator, 2);
  return {
    value,
    resources: {
      peakRssMb: round(Object.values(perProcessPeakMb).reduce((a, b) => a + b, 0)),
      sampledPeakRssMb: sampler.stop(),
      perProcessPeakMb,
      cores,
    },
  };
}

function toRow(phase: Phase, scenario: Row['scenario'], label: string, connections: number, result: LoadResult, resources: Resources, unloadedMs: number | null = null): Row {
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]));
  return {
    phase,
    scenario,
    label,
    connections,
    durationS: round(result.duration, 2),
    rps: round(result['2xx'] / result.duration, 2),
    unloadedMs,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p97_5Ms: result.latency.p97_5,
    meanMs: round(result.latency.mean, 2),
    maxMs: result.latency.max,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    resources,
    cpuMsPerRequest:
      scenario === 'storm' || scenario === 'storm-login' || result['2xx'] === 0
        ? null
        : {
            server: round(((resources.cores.serverMain + resources.cores.serverOther) * result.duration * 1000) / result['2xx'], 2),
            database: round((resources.cores.database * result.duration * 1000) / result['2xx'], 2),
          },
    loadAverage: loadAverage(),
  };
}

function requestsFor(scenario: Exclude<ScenarioId, 'storm'>, ctx: Context, offset = 0): LoadRequest[] {
  switch (scenario) {
    case 'jwks':
      return [{ method: 'GET', path: '/.well-known/jwks.json' }];
    case 'me':
      return meRequests(ctx.data.accessTokens);
    case 'refresh':
      return refreshRequests(ctx.refreshQueue);
    case 'identify':
      return identifyRequests(ctx.data.emails);
    case 'login':
      return loginRequests(ctx.data.emails, PASSWORD, offset);
    case 'cc':
      return clientCredentialsRequests(ctx.data.oauth.tokenPath, ctx.data.oauth.serviceBasic);
    case 'code':
      return codeExchangeRequests(ctx.data.oauth.tokenPath, ctx.data.oauth.webBasic, ctx.data.oauth.codes, ctx.data.oauth.redirectUri);
    case 'oauth-refresh':
      return oauthRefreshRequests(ctx.data.oauth.tokenPath, ctx.data.oauth.webBasic, ctx.oauthRefreshQueue);
    case 'userinfo':
      return userinfoRequests(ctx.data.oauth.userinfoPath, ctx.data.oauth.accessTokens);
  }
}

const labels: Record<ScenarioId | 'storm-login', string> = {
  jwks: 'GET /.well-known/jwks.json',
  me: 'GET /me',
  refresh: 'POST /auth/refresh',
  identify: 'POST /auth/identify',
  login: `POST /auth/login (${HASH_LABEL})`,
  storm: 'GET /me during login storm',
  'storm-login': '  the login storm itself',
  cc: 'token: client_credentials',
  code: 'token: authorization_code',
  'oauth-refresh': 'token: refresh_token',
  userinfo: 'GET userinfo',
};

async function runScenario(phase: Phase, scenario: ScenarioId, ctx: Context, durationS = DURATION, onLoad?: (started: number, ended: number) => void): Promise<Row[]> {
  const url = ctx.server.url;
  if (scenario === 'storm') {
    const started = performance.now();
    const { value, resources } = await withResources(ctx, () =>
      Promise.all([
        runLoad({ url, connections: CONNECTIONS, durationSeconds: durationS, requests: requestsFor('me', ctx) }),
        runLoad({ url, connections: LOGIN_CONNECTIONS, durationSeconds: durationS, requests: requestsFor('login', ctx, 7919) }),
      ]),
    );
    onLoad?.(started, performance.now());
    return [
      toRow(phase, 'storm', labels.storm, CONNECTIONS, value[0], resources),
      toRow(phase, 'storm-login', labels['storm-login'], LOGIN_CONNECTIONS, value[1], resources),
    ];
  }
  const connections = scenario === 'login' ? LOGIN_CONNECTIONS : CONNECTIONS;
  const requests = requestsFor(scenario, ctx);
  const unloaded = await sequentialLatency(url, requests);
  await waitIdle(ctx);
  const started = performance.now();
  const { value, resources } = await withResources(ctx, () => runLoad({ url, connections, durationSeconds: durationS, requests }));
  onLoad?.(started, performance.now());
  return [toRow(phase, scenario, labels[scenario], connections, value, resources, unloaded)];
}

/**
 * Waits until the server and the database have worked off the previous load: when autocannon stops
 * it drops its connections, but requests already accepted still run (and would slow the next
 * scenario). Idle = under 0.08 cores together for half a second.
 */
async function waitIdle(ctx: Context, maxMs = 120_000): Promise<number> {
  const pids = () => [...ctx.server.pids(), ...ctx.databasePids];
  const started = performance.now();
  let last = cpuSeconds(pids());
  for (;;) {
    await sleep(500);
    const now = cpuSeconds(pids());
    const cores = (now - last) / 0.5;
    last = now;
    if (cores < 0.08 || performance.now() - started > maxMs) return Math.round(performance.now() - started);
  }
}

async function warmUp(ctx: Context): Promise<void> {
  const url = ctx.server.url;
  for (const scenario of ['jwks', 'me', 'identify', 'refresh', 'cc', 'userinfo', 'oauth-refresh'] as const) {
    await runLoad({ url, connections: CONNECTIONS, durationSeconds: 2, requests: requestsFor(scenario, ctx) });
  }
  await runLoad({ url, connections: LOGIN_CONNECTIONS, durationSeconds: 2, requests: requestsFor('login', ctx, 4001) });
  await waitIdle(ctx);
}

/**
 * Steady state for GET /me, right before it is measured: every user's token has been seen by every
 * process within AUTH_CACHE_TTL_MS (in production, users call again and again). Connections land on
 * processes at random, so a cluster needs several passes.
 */
async function primeTokens(ctx: Context): Promise<void> {
  const passes = ctx.server.pids().length > 1 ? 8 : 1;
  const started = performance.now();
  await sendEachToken(ctx.server.url, ctx.data.accessTokens, passes);
  log(`  (warm-up: each of ${ctx.data.accessTokens.length} access tokens sent ${passes}× to GET /me in ${Math.round(performance.now() - started)} ms)`);
}

async function sendEachToken(url: string, tokens: string[], passes: number): Promise<void> {
  let next = 0;
  const total = tokens.length * passes;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < total) {
        const token = tokens[next++ % tokens.length]!;
        await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
      }
    }),
  );
}

async function runPhase(phase: Phase, ctx: Context): Promise<Row[]> {
  const title = phase === 'single' ? 'one server process' : phase === 'grown' ? `one server process, database grown by ${GROW} of everything` : `${CLUSTER_WORKERS} server processes (WEB_CONCURRENCY=${CLUSTER_WORKERS})`;
  log(`\n== ${title}: pids ${ctx.server.pids().join(', ')}`);
  await warmUp(ctx);
  const rows: Row[] = [];
  for (const scenario of SCENARIOS) {
    if (scenario === 'me' || scenario === 'storm') await primeTokens(ctx);
    const drained = await waitIdle(ctx);
    if (drained > 5000) log(`  (waited ${Math.round(drained / 1000)} s for the previous scenario's requests to finish)`);
    const result = await runScenario(phase, scenario, ctx);
    for (const row of result) log(formatRow(row));
    rows.push(...result);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Output

const header = [
  'phase'.padEnd(7),
  'scenario'.padEnd(30),
  'conns'.padStart(5),
  'req/s'.padStart(8),
  '1-by-1 ms'.padStart(9),
  'p50 ms'.padStart(7),
  'p99 ms'.padStart(7),
  'non-2xx'.padStart(8),
  'peak RSS MB'.padStart(12),
  'cores: srv-main srv-other   db loadgen',
  'CPU ms/req: srv    db',
].join(' ');

function formatRow(row: Row): string {
  const c = row.resources.cores;
  const failures = row.non2xx + row.errors + row.timeouts;
  return [
    row.phase.padEnd(7),
    row.label.padEnd(30),
    String(row.connections).padStart(5),
    (row.ok === 0 ? '<' + (1 / row.durationS).toFixed(1) : row.rps.toFixed(1)).padStart(8),
    (row.unloadedMs === null ? '' : String(row.unloadedMs)).padStart(9),
    (row.ok === 0 ? `>${Math.round(row.durationS * 1000)}` : String(row.p50Ms)).padStart(7),
    (row.ok === 0 ? `>${Math.round(row.durationS * 1000)}` : String(row.p99Ms)).padStart(7),
    String(failures).padStart(8),
    (row.scenario === 'storm-login' ? '' : row.resources.peakRssMb.toFixed(0)).padStart(12),
    row.scenario === 'storm-login'
      ? ''.padEnd(38)
      : `${c.serverMain.toFixed(2).padStart(15)} ${c.serverOther.toFixed(2).padStart(9)} ${c.database.toFixed(2).padStart(4)} ${c.loadGenerator.toFixed(2).padStart(7)}`,
    row.cpuMsPerRequest ? `${row.cpuMsPerRequest.server.toFixed(2).padStart(16)} ${row.cpuMsPerRequest.database.toFixed(2).padStart(5)}` : '',
  ].join(' ');
}

interface Target {
  id: string;
  description: string;
  value: number;
  target: number;
  unit: string;
  met: boolean;
  /** value relative to target, > 1 is better (for upper bounds: target / value). */
  ratio: number;
  scenario: ScenarioId;
  phase: Phase;
}

function evaluate(rows: Row[], hashBound: number): Target[] {
  const find = (phase: Phase, scenario: Row['scenario']) => rows.find((r) => r.phase === phase && r.scenario === scenario);
  const targets: Target[] = [];
  const atLeast = (id: string, description: string, value: number | undefined, target: number, unit: string, scenario: ScenarioId, phase: Phase) => {
    if (value === undefined) return;
    targets.push({ id, description, value: round(value, 2), target: round(target, 2), unit, met: value >= target, ratio: round(value / target, 3), scenario, phase });
  };
  // A latency bound on a scenario where nothing completed: the latency exceeded the whole run.
  const latency = (row: Row | undefined) => (row ? (row.ok > 0 ? row.p99Ms : row.durationS * 1000) : undefined);
  const atMost = (id: string, description: string, value: number | undefined, target: number, unit: string, scenario: ScenarioId, phase: Phase) => {
    if (value === undefined) return;
    targets.push({ id, description, value: round(value, 2), target: round(target, 2), unit, met: value <= target, ratio: round(target / Math.max(value, 0.001), 3), scenario, phase });
  };
  for (const phase of ['single', 'cluster'] as const) {
    const tag = phase === 'single' ? '' : ` [${CLUSTER_WORKERS} processes]`;
    const me = find(phase, 'me');
    atLeast(`refresh${phase === 'single' ? '' : '@cluster'}`, `refresh ≥ 500 req/s${tag}`, find(phase, 'refresh')?.rps, 500, 'req/s', 'refresh', phase);
    atLeast(`me-rps${phase === 'single' ? '' : '@cluster'}`, `GET /me ≥ 2000 req/s at ${CONNECTIONS} connections${tag}`, me?.rps, 2000, 'req/s', 'me', phase);
    atMost(`me-p99${phase === 'single' ? '' : '@cluster'}`, `GET /me p99 ≤ 50 ms${tag}`, latency(me), 50, 'ms', 'me', phase);
    atLeast(`login${phase === 'single' ? '' : '@cluster'}`, `login ≥ 80% of hashing bound (${round(hashBound)} /s)${tag}`, find(phase, 'login')?.rps, 0.8 * hashBound, 'req/s', 'login', phase);
    const storm = find(phase, 'storm');
    if (me && storm) atMost(`storm${phase === 'single' ? '' : '@cluster'}`, `GET /me p99 in login storm ≤ 3× without (${latency(me)} ms)${tag}`, latency(storm), 3 * latency(me)!, 'ms', 'storm', phase);
  }
  // The OpenID provider's token endpoint: CPU per request, server plus database (issue targets).
  const cpu = (row: Row | undefined) => (row?.cpuMsPerRequest ? (row.cpuMsPerRequest.server + row.cpuMsPerRequest.database) * 1000 : undefined);
  atMost('cc-cpu', 'client_credentials ≤ 1000 µs CPU (server + database)', cpu(find('single', 'cc')), 1000, 'µs', 'cc', 'single');
  atMost('code-cpu', 'code exchange ≤ 3000 µs CPU (server + database)', cpu(find('single', 'code')), 3000, 'µs', 'code', 'single');
  atMost('oauth-refresh-cpu', 'refresh_token grant ≤ 2500 µs CPU (server + database)', cpu(find('single', 'oauth-refresh')), 2500, 'µs', 'oauth-refresh', 'single');
  atMost('refresh-cpu', 'portal refresh ≤ 2500 µs CPU (server + database)', cpu(find('single', 'refresh')), 2500, 'µs', 'refresh', 'single');
  atMost('me-cpu', 'GET /me ≤ 250 µs CPU (server + database)', cpu(find('single', 'me')), 250, 'µs', 'me', 'single');
  const single = find('single', 'me');
  const cluster = find('cluster', 'me');
  if (single && cluster) atLeast('scale', `${CLUSTER_WORKERS} processes ≥ 1.6× one on GET /me`, cluster.rps / single.rps, 1.6, '×', 'me', 'cluster');
  return targets;
}

// ---------------------------------------------------------------------------------------------
// Profiling

async function profileScenario(phase: Phase, scenario: ScenarioId, env: Record<string, string>, ctxBase: Omit<Context, 'server'>): Promise<ProfileSummary & { scenario: string; phase: Phase; dir: string }> {
  const dir = join(OUT_DIR, 'profiles', `${new Date().toISOString().replace(/[:.]/g, '-')}-${scenario}-${phase}`);
  mkdirSync(dir, { recursive: true });
  const server = await startBenchServer({ env, workers: phase === 'cluster' ? CLUSTER_WORKERS : 1, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir], logFile: join(OUT_DIR, 'server.log') });
  const ctx: Context = { ...ctxBase, server };
  try {
    await warmUp(ctx);
    if (scenario === 'me' || scenario === 'storm') await primeTokens(ctx);
  } catch (error) {
    await server.stop();
    throw error;
  }
  let window = { started: 0, ended: 0 };
  const rows = await runScenario(phase, scenario, ctx, DURATION, (started, ended) => (window = { started, ended }));
  for (const row of rows) log(formatRow(row));
  await server.stop();
  // Keep only the samples of the load itself: not start-up, warm-up, nor the drain at shutdown.
  const exited = performance.now();
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${dir}`);
  const summary = summariseProfiles(files, 25, { startBeforeEndUs: (exited - window.started) * 1000, stopBeforeEndUs: (exited - window.ended) * 1000 });
  return { ...summary, scenario, phase, dir };
}

// ---------------------------------------------------------------------------------------------

interface Hashing {
  compare(data: string, hash: string): Promise<boolean>;
}

async function measureHash(bcrypt: Hashing, hash: string): Promise<number> {
  await bcrypt.compare(PASSWORD, hash); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await bcrypt.compare(PASSWORD, hash);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  const startedAt = new Date();
  const loadBefore = loadAverage();
  log(`ScaiKey benchmark: ${CORES} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${round(totalmem() / 2 ** 30)} GiB, node ${process.version}, load average ${loadBefore.join(' ')}`);
  if (loadBefore[0]! >= 1.5) log(`  note: the machine is already busy (1-minute load ${loadBefore[0]}); figures will be lower than on an idle machine`);

  // The server's own hasher, with the server's settings (one hash at a time here).
  const hasher = new PasswordHasher({ algorithm: HASH, bcryptCost: BCRYPT_COST, argon2: { memoryKiB: 19_456, timeCost: 2, parallelism: 1 }, concurrency: 1 });
  const bcrypt: Hashing = { compare: (data, hash) => hasher.verify(data, hash) };
  const passwordHash = await hasher.hash(PASSWORD);
  const hashMs = await measureHash(bcrypt, passwordHash);
  const hashBound = CORES / (hashMs / 1000);
  log(`${HASH_LABEL}: ${round(hashMs)} ms per hash (median of 7) → hashing bound ${round(hashBound)} logins/s on ${CORES} cores`);

  const db = await startLocalMongo({ persistent: false, log: (msg) => log(msg) });
  // Every child so far is the database's (FerretDB or mongod, PostgreSQL and its backends, any
  // supervisor between them); the server is started later. Their whole trees are measured.
  const databasePids = childrenNamed(process.pid, /./);
  if (databasePids.length === 0) log('  (the database is not a child of this process: its CPU is not measured, shown as 0)');
  const dbName = `scaikey_bench_${Date.now().toString(36)}`;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  for (const key of ['PORT', 'HOST', 'WEB_CONCURRENCY', 'SCAIKEY_MOCK', 'NODE_OPTIONS']) delete env[key];
  Object.assign(env, {
    NODE_ENV: 'production',
    MONGODB_URI: db.uri,
    MONGODB_DB: dbName,
    LOG_LEVEL: 'warn',
    SCAIKEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    PASSWORD_HASH: HASH,
    BCRYPT_COST: String(BCRYPT_COST),
    IP_RATE_LIMIT: '1000000000',
    LOCKOUT_THRESHOLD: '1000000000',
    ACCESS_TOKEN_TTL: '3600',
  });

  const rows: Row[] = [];
  let data: SeedData | undefined;
  let components: ComponentTimings | undefined;
  const refreshQueue: string[] = [];
  const oauthRefreshQueue: string[] = [];
  try {
    const phases: Phase[] = args.only === 'single' ? ['single'] : args.only === 'cluster' ? ['cluster'] : ['single', 'cluster'];
    if (GROW > 0) phases.push('grown');
    for (const phase of phases) {
      if (phase === 'grown') await grow(env, GROW, log);
      const server = await startBenchServer({ env, workers: phase === 'cluster' ? CLUSTER_WORKERS : 1, logFile: join(OUT_DIR, 'server.log') });
      try {
        if (!data) {
          log(`seeding ${USERS} users (one shared ${HASH_LABEL} hash), ${USERS} sessions with access tokens, ${REFRESH_SESSIONS} refresh sessions`);
          data = await seed({ env, users: USERS, refreshSessions: REFRESH_SESSIONS, passwordHash, log });
          refreshQueue.push(...data.refreshTokens);
          oauthRefreshQueue.push(...data.oauth.refreshTokens);
          components = await measureComponents(env, data.accessTokens, bcrypt, PASSWORD, passwordHash);
          log(
            `token operations alone (this process, 32 concurrent): ES256 verify ${components.verifyPerSecond}/s (${components.verifyMeanUs} µs mean), ` +
              `issue ${components.issuePerSecond}/s (${components.issueMeanUs} µs mean)`,
          );
          log(
            `one verify at a time: p50 ${components.verifyAloneP50Us} µs, p99 ${components.verifyAloneP99Us} µs; ` +
              `while ${components.hashesInFlight} password hashes run (same libuv pool): p50 ${components.verifyDuringHashingP50Us} µs, p99 ${components.verifyDuringHashingP99Us} µs`,
          );
          log(`\n${header}`);
        }
        rows.push(...(await runPhase(phase, { server, databasePids, data, refreshQueue, oauthRefreshQueue })));
      } finally {
        await server.stop();
      }
    }

    if (GROW > 0) {
      log(`\nFlat as data grows (CPU ms per request, server + database: fresh → grown by ${GROW}):`);
      for (const fresh of rows.filter((r) => r.phase === 'single' && r.cpuMsPerRequest)) {
        const grown = rows.find((r) => r.phase === 'grown' && r.scenario === fresh.scenario && r.cpuMsPerRequest);
        if (!grown) continue;
        const total = (r: Row) => r.cpuMsPerRequest!.server + r.cpuMsPerRequest!.database;
        log(`  ${fresh.label.padEnd(34)} ${round(total(fresh), 2)} → ${round(total(grown), 2)} (${round(total(grown) / total(fresh), 2)}×)`);
      }
    }
    const targets = evaluate(rows, hashBound);
    log('\nTargets:');
    for (const t of targets) log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.description}: ${t.value} ${t.unit} (target ${t.target}, ${Math.round(t.ratio * 100)}%)`);
    const jwks = (phase: Phase) => rows.find((r) => r.phase === phase && r.scenario === 'jwks');
    const jwksSingle = jwks('single');
    const jwksCluster = jwks('cluster');
    if (jwksSingle && jwksCluster) log(`  (for comparison, without the database: GET /.well-known/jwks.json scales ${round(jwksCluster.rps / jwksSingle.rps, 2)}× with ${CLUSTER_WORKERS} processes)`);

    const report = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { cores: CORES, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30), node: process.version, loadAverageBefore: loadBefore, loadAverageAfter: loadAverage() },
      database: { kind: db.kind, sameMachine: true },
      settings: { durationS: DURATION, connections: CONNECTIONS, loginConnections: LOGIN_CONNECTIONS, users: USERS, refreshSessions: REFRESH_SESSIONS, clusterWorkers: CLUSTER_WORKERS, bcryptCost: BCRYPT_COST, passwordHash: HASH },
      hashing: { msPerHash: round(hashMs, 2), boundPerSecond: round(hashBound, 2) },
      components,
      rows,
      targets,
      profile: undefined as (ProfileSummary & { scenario: string; phase: Phase; dir: string }) | { error: string } | undefined,
    };
    const outFile = resolve(args.out!);
    const write = () => {
      mkdirSync(dirname(outFile), { recursive: true });
      writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
    };
    write();

    if (profileRequested && data) {
      let phase: Phase = 'single';
      let scenario: ScenarioId;
      if (args.profile && args.profile !== 'auto') {
        const [name, at] = args.profile.split('@');
        if (!(ALL_SCENARIOS as readonly string[]).includes(name!)) throw new Error(`--profile: unknown scenario ${name}`);
        scenario = name as ScenarioId;
        if (at === 'cluster') phase = 'cluster';
      } else {
        const worst = [...targets].sort((a, b) => a.ratio - b.ratio)[0];
        scenario = worst?.scenario ?? 'me';
        phase = worst?.phase ?? 'single';
        log(`\nWorst against its target: ${worst?.description ?? 'n/a'}`);
      }
      log(`\n== CPU profile of "${labels[scenario]}" (${phase === 'single' ? 'one process' : `${CLUSTER_WORKERS} processes`})`);
      try {
        const profile = await profileScenario(phase, scenario, env, { databasePids, data, refreshQueue, oauthRefreshQueue });
        printProfile(profile);
        report.profile = profile;
      } catch (error) {
        log(`profiling failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
        report.profile = { error: error instanceof Error ? error.message : String(error) };
      }
      report.finishedAt = new Date().toISOString();
      write();
    }
    log(`\nwrote ${outFile}`);
  } finally {
    await db.stop();
  }
}

function printProfile(p: ProfileSummary & { dir: string }): void {
  log(`profiles: ${p.dir} (${p.files.length} file${p.files.length === 1 ? '' : 's'}); main-thread busy ${p.busyMs} ms of ${p.totalMs} ms sampled`);
  log('  self time by area:');
  for (const a of p.areas.slice(0, 15)) log(`    ${a.percent.toFixed(1).padStart(5)}%  ${String(a.selfMs).padStart(6)} ms  ${a.area}`);
  log('  top functions by self time:');
  for (const e of p.top) log(`    ${e.percent.toFixed(1).padStart(5)}%  ${String(e.selfMs).padStart(6)} ms  ${e.name}  ${e.where}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('benchmark failed:', error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
