/**
 * `npm run bench:mock`: our HTTP mock server and Stoplight Prism (`@stoplight/prism-cli`, pinned
 * to 5.14.2, the last release that runs on Node 20) on the same spec, side by side in one run,
 * on loopback. For each scenario, each server gets a warm-up (default 2 s) and then a measured
 * autocannon run (default 5 s, 32 connections); the table shows requests per second, latency
 * percentiles, the server's CPU time per request (from /proc, whole process tree) and the ratio
 * of our throughput to Prism's. CPU per request is the steadier figure on a shared machine: other
 * load lowers both servers' req/s, but hardly what each request costs.
 *
 *   npm run bench:mock
 *   npm run bench:mock -- --duration 10 --connections 64
 *   npm run bench:mock -- --json > bench.json
 *
 * Each scenario is measured in several rounds (default 3) that alternate which server goes first,
 * and the table shows each server's median round, so a burst of load from elsewhere on a shared
 * machine does not decide the ratio.
 *
 * Both servers run in their own processes (ours through `scripts/mock-server.ts`, exactly as
 * `npm run mock` starts it), log every request at their default level into /dev/null, and only
 * one is loaded at a time. Everything is bounded: a fixed duration per run, and both servers are
 * stopped at the end, on error and on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SPEC = join(ROOT, 'spec', 'openapi.yaml');
const HOST = '127.0.0.1';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const duration = Math.min(Math.max(Number(args.duration), 1), 60);
const connections = Math.min(Math.max(Number(args.connections), 1), 256);
const warmup = Math.min(Math.max(Number(args.warmup), 0), 10);
const rounds = Math.min(Math.max(Math.round(Number(args.rounds)), 1), 9);
const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);

interface Scenario {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** The status both servers should answer. */
  expect: number;
}

const json = { 'content-type': 'application/json' };
const scenarios: Scenario[] = [
  { name: 'GET /.well-known/jwks.json (public)', method: 'GET', path: '/.well-known/jwks.json', expect: 200 },
  { name: 'GET /api/v1/me (bearer)', method: 'GET', path: '/api/v1/me', headers: { authorization: 'Bearer bench-token' }, expect: 200 },
  { name: 'POST /api/v1/auth/identify (JSON body)', method: 'POST', path: '/api/v1/auth/identify', headers: json, body: { email: 'ada@example.com' }, expect: 200 },
  {
    name: 'POST /auth/tenants/{slug}/login (envelope)',
    method: 'POST',
    path: '/api/v1/auth/tenants/acme/login',
    headers: json,
    body: { email: 'ada@example.com', password: 'correct horse battery staple' },
    expect: 200,
  },
  { name: 'POST /api/v1/auth/identify invalid (422)', method: 'POST', path: '/api/v1/auth/identify', headers: json, body: {}, expect: 422 },
];

interface Target {
  name: string;
  url: string;
  child: ChildProcess;
  startupMs: number;
}

const children = new Set<ChildProcess>();

function stopAll(): void {
  for (const child of children) if (child.exitCode === null && child.pid) child.kill('SIGTERM');
}
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});
process.on('exit', stopAll);

/** CPU time (ms) used so far by a process and all its descendants, from /proc (Linux); undefined elsewhere. */
function treeCpuMs(rootPid: number | undefined): number | undefined {
  if (rootPid === undefined) return undefined;
  try {
    const ticksPerSecond = 100; // USER_HZ, 100 on every Linux this runs on
    const stats = new Map<number, { ppid: number; ticks: number }>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
        // After "pid (comm) ": state ppid ... utime(14th field overall → index 11 here) stime(12)
        stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
      } catch {
        // the process ended meanwhile
      }
    }
    let ticks = 0;
    const queue = [rootPid];
    while (queue.length > 0) {
      const pid = queue.pop()!;
      ticks += stats.get(pid)?.ticks ?? 0;
      for (const [child, s] of stats) if (s.ppid === pid) queue.push(child);
    }
    return (ticks / ticksPerSecond) * 1000;
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

async function start(name: string, command: string, commandArgs: string[], port: number, env: NodeJS.ProcessEnv = {}): Promise<Target> {
  const started = performance.now();
  const child = spawn(command, commandArgs, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString('utf8');
  });
  const url = `http://${HOST}:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before listening:\n${stderr}`);
    try {
      const response = await fetch(`${url}/.well-known/jwks.json`);
      await response.arrayBuffer();
      if (response.ok) return { name, url, child, startupMs: performance.now() - started };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${name} did not answer within 90 s:\n${stderr}`);
}

interface Measurement {
  scenario: string;
  server: string;
  status: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  total: number;
  /** Server CPU time per answered request (user + system, whole process tree), in microseconds. */
  cpuUsPerRequest?: number;
}

function cannon(target: Target, scenario: Scenario, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${target.url}${scenario.path}`,
    method: scenario.method,
    headers: scenario.headers ?? {},
    ...(scenario.body !== undefined ? { body: JSON.stringify(scenario.body) } : {}),
    connections,
    duration: seconds,
    pipelining: 1,
  });
}

async function measure(target: Target, scenario: Scenario, warm: boolean): Promise<Measurement> {
  // One plain request first, to record what the server answers.
  const probe = await fetch(`${target.url}${scenario.path}`, {
    method: scenario.method,
    headers: scenario.headers ?? {},
    ...(scenario.body !== undefined ? { body: JSON.stringify(scenario.body) } : {}),
  });
  await probe.arrayBuffer();
  if (warm && warmup > 0) await cannon(target, scenario, warmup);
  const cpuBefore = treeCpuMs(target.child.pid);
  const result = await cannon(target, scenario, duration);
  const cpuAfter = treeCpuMs(target.child.pid);
  const cpuUsPerRequest = cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0 ? ((cpuAfter - cpuBefore) * 1000) / result.requests.total : undefined;
  return {
    ...(cpuUsPerRequest !== undefined ? { cpuUsPerRequest } : {}),
    scenario: scenario.name,
    server: target.name,
    status: probe.status,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    total: result.requests.total,
  };
}

/** The round with the median throughput (its latency and CPU figures come with it). */
function medianRound(measurements: Measurement[]): Measurement {
  const sorted = [...measurements].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function readLoadAverage(): number | undefined {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

function pad(text: string | number, width: number, right = false): string {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

async function main(): Promise<void> {
  const require = createRequire(import.meta.url);
  const prismPackage = require.resolve('@stoplight/prism-cli/package.json');
  const prismVersion = (require(prismPackage) as { version: string }).version;
  const prismBin = join(dirname(prismPackage), 'dist', 'index.js');

  log(`mock server benchmark: ${rounds} rounds of ${duration} s per server and scenario (median shown) after ${warmup} s warm-up, ${connections} connections, loopback, Node ${process.version}`);
  const [ourPort, prismPort] = await Promise.all([freePort(), freePort()]);
  const ours = await start('scaikey mock', process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'mock-server.ts'), '--port', String(ourPort), '--host', HOST], ourPort, {
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  });
  log(`  scaikey mock ready in ${Math.round(ours.startupMs)} ms (process start to first answer) at ${ours.url}`);
  const prism = await start(`prism ${prismVersion}`, process.execPath, [prismBin, 'mock', SPEC, '-h', HOST, '-p', String(prismPort)], prismPort);
  log(`  prism ${prismVersion} ready in ${Math.round(prism.startupMs)} ms at ${prism.url}`);
  log('');

  const results: Measurement[] = [];
  const header = `${pad('scenario', 44)} ${pad('server', 14)} ${pad('status', 6, true)} ${pad('req/s', 9, true)} ${pad('p50 ms', 7, true)} ${pad('p99 ms', 7, true)} ${pad('errors', 7, true)} ${pad('CPU µs/req', 11, true)}  ratio`;
  log(header);
  log('-'.repeat(header.length));
  for (const scenario of scenarios) {
    const byServer = new Map<Target, Measurement[]>([[ours, []], [prism, []]]);
    for (let round = 0; round < rounds; round++) {
      for (const target of round % 2 === 0 ? [ours, prism] : [prism, ours]) byServer.get(target)!.push(await measure(target, scenario, round === 0));
    }
    const pair = [ours, prism].map((target) => medianRound(byServer.get(target)!));
    results.push(...pair);
    for (const [i, m] of pair.entries()) {
      const cpuRatio = pair[0]!.cpuUsPerRequest && m.cpuUsPerRequest ? ` (CPU ${(m.cpuUsPerRequest / pair[0]!.cpuUsPerRequest).toFixed(1)}×)` : '';
      const ratio = i === 1 ? `${(pair[0]!.rps / Math.max(m.rps, 1)).toFixed(1)}×${cpuRatio}` : '';
      const statusNote = m.status === scenario.expect ? String(m.status) : `${m.status}!`;
      log(
        `${pad(i === 0 ? scenario.name : '', 44)} ${pad(m.server, 14)} ${pad(statusNote, 6, true)} ${pad(Math.round(m.rps), 9, true)} ${pad(m.p50, 7, true)} ${pad(m.p99, 7, true)} ${pad(m.errors + m.timeouts, 7, true)} ${pad(m.cpuUsPerRequest !== undefined ? Math.round(m.cpuUsPerRequest) : '-', 11, true)}  ${ratio}`,
      );
    }
  }
  const ratios = scenarios.map((s) => {
    const [a, b] = results.filter((r) => r.scenario === s.name);
    return a!.rps / Math.max(b!.rps, 1);
  });
  const geomean = Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
  log('');
  log(`throughput, scaikey mock / prism: min ${Math.min(...ratios).toFixed(1)}×, geometric mean ${geomean.toFixed(1)}× (target ≥ 5×: ${Math.min(...ratios) >= 5 ? 'met' : 'not met'})`);
  const cpuRatios = scenarios.flatMap((s) => {
    const [a, b] = results.filter((r) => r.scenario === s.name);
    return a!.cpuUsPerRequest && b!.cpuUsPerRequest ? [b!.cpuUsPerRequest / a!.cpuUsPerRequest] : [];
  });
  if (cpuRatios.length === scenarios.length) {
    const cpuGeomean = Math.exp(cpuRatios.reduce((sum, r) => sum + Math.log(r), 0) / cpuRatios.length);
    log(`server CPU per request, prism / scaikey mock: min ${Math.min(...cpuRatios).toFixed(1)}×, geometric mean ${cpuGeomean.toFixed(1)}× (independent of other load on the machine)`);
  }
  const load = readLoadAverage();
  if (load !== undefined && load > 1.5) log(`note: load average ${load.toFixed(1)} on this machine during the run; req/s figures are compressed by the contention, CPU per request much less so`);
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ node: process.version, duration, warmup, rounds, connections, startupMs: { scaikey: ours.startupMs, prism: prism.startupMs }, prismVersion, results, ratios, geomean }, null, 2)}\n`,
    );
  }
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  })
  .finally(stopAll);
