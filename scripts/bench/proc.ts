// Linux /proc readers for the benchmark: process trees, peak/current memory, CPU time.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on every Linux the project targets

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

interface Stat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime in seconds. */
  cpuSeconds: number;
  /** cutime + cstime in seconds: children that exited and were waited for (PostgreSQL's backends). */
  childCpuSeconds: number;
}

function parseStat(pid: number): Stat | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (!text) return undefined;
  // comm is in parentheses and may contain spaces; fields after it are space-separated.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const comm = text.slice(open + 1, close);
  const rest = text.slice(close + 2).split(' ');
  // rest[0] = state (field 3), so field N is rest[N - 3].
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const cutime = Number(rest[13]);
  const cstime = Number(rest[14]);
  return { pid, comm, ppid, cpuSeconds: (utime + stime) / CLK_TCK, childCpuSeconds: (cutime + cstime) / CLK_TCK };
}

function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = parseStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/** `pid` and all of its descendants that are alive now. */
export function processTree(pid: number): number[] {
  const stats = allStats();
  const result: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (!stats.some((s) => s.pid === current)) continue;
    result.push(current);
    for (const s of stats) if (s.ppid === current) queue.push(s.pid);
  }
  return result;
}

/** Direct children of `pid` whose command name matches. */
export function childrenNamed(pid: number, pattern: RegExp): number[] {
  return allStats()
    .filter((s) => s.ppid === pid && pattern.test(s.comm))
    .map((s) => s.pid);
}

/**
 * CPU of whole process trees: every live descendant of `roots` (FerretDB, PostgreSQL and its
 * backends, which come and go) plus what exited descendants left in their parents' child times.
 */
export function treeCpuSeconds(roots: number[]): number {
  let total = 0;
  for (const root of roots) {
    for (const pid of processTree(root)) {
      const stat = parseStat(pid);
      if (stat) total += stat.cpuSeconds + stat.childCpuSeconds;
    }
  }
  return total;
}

export function cpuSeconds(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (parseStat(pid)?.cpuSeconds ?? 0), 0);
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const text = readText(`/proc/${pid}/status`);
  const match = text ? new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text) : null;
  return match ? Number(match[1]) : 0;
}

/** Resets the kernel's peak-RSS mark (VmHWM) of each process; false where not permitted. */
export function resetPeak(pids: number[]): boolean {
  let ok = true;
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      ok = false;
    }
  }
  return ok;
}

export function peakRssMb(pids: number[]): Record<number, number> {
  return Object.fromEntries(pids.map((pid) => [pid, Math.round(statusKb(pid, 'VmHWM') / 102.4) / 10]));
}

export function rssMb(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusKb(pid, 'VmRSS'), 0) / 1024;
}

/** Samples the summed RSS of a (possibly changing) process tree until stopped. */
export class RssSampler {
  private max = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(pids: () => number[], intervalMs = 100) {
    const sample = () => {
      this.max = Math.max(this.max, rssMb(pids()));
    };
    sample();
    this.timer = setInterval(sample, intervalMs);
  }

  stop(): number {
    clearInterval(this.timer);
    return Math.round(this.max * 10) / 10;
  }
}

export function loadAverage(): number[] {
  const text = readText('/proc/loadavg') ?? '0 0 0';
  return text.split(' ').slice(0, 3).map(Number);
}

/** CPU seconds of the main threads (the JavaScript event loops) and of all other threads (libuv
 * pool: bcrypt, WebCrypto, zlib, fs; V8 helpers: GC, compiler) of the given processes. */
export function threadCpuSeconds(pids: number[]): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const pid of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const text = readText(`/proc/${pid}/task/${tid}/stat`);
      if (!text) continue;
      const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
      if (Number(tid) === pid) main += seconds;
      else other += seconds;
    }
  }
  return { main, other };
}

/** The command name of a process (`node` for the server and its cluster workers). */
export function commOf(pid: number): string | undefined {
  return parseStat(pid)?.comm;
}
