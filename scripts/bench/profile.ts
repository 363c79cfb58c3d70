// Reads V8 .cpuprofile files (node --cpu-prof) and summarises self time by function and by area.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  where: string;
  area: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  files: string[];
  /** Sampled wall time of the main threads, ms (summed over files). */
  totalMs: number;
  /** Time not idle: everything but "(idle)". */
  busyMs: number;
  top: ProfileEntry[];
  areas: Array<{ area: string; selfMs: number; percent: number }>;
}

const root = process.cwd();

/** Which part of the system a frame belongs to: a package, a project folder, node itself, V8. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (/^\((garbage collector|idle|program|root)\)$/.test(functionName)) return functionName;
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(root)) {
    const rel = path.slice(root.length + 1).split('/');
    return rel.length > 2 ? `${rel[0]}/${rel[1]}` : rel[0]!;
  }
  return url;
}

function shortWhere(frame: CallFrame): string {
  if (!frame.url) return '';
  let url = frame.url.replace(/^file:\/\//, '');
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) url = url.slice(nm + 14);
  else if (url.startsWith(root)) url = url.slice(root.length + 1);
  // tsx emits each module's code on few lines, so the column tells anonymous functions apart.
  return `${url}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
}

/**
 * `window`: only the samples taken between `startBeforeEndUs` and `stopBeforeEndUs` microseconds
 * before each profile ended (the process exit), i.e. the scenario without start-up and shutdown.
 */
export function summariseProfiles(files: string[], topN = 25, window = { startBeforeEndUs: Infinity, stopBeforeEndUs: 0 }): ProfileSummary {
  const byFunction = new Map<string, { name: string; where: string; area: string; selfUs: number }>();
  const byArea = new Map<string, number>();
  let totalUs = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const selfUs = new Map<number, number>();
    const from = profile.endTime - window.startBeforeEndUs;
    const to = profile.endTime - window.stopBeforeEndUs;
    let at = profile.startTime;
    // Sample i stands for the time until sample i + 1 (as Chrome DevTools counts it).
    profile.samples.forEach((id, i) => {
      at += profile.timeDeltas[i] ?? 0;
      const duration = profile.timeDeltas[i + 1] ?? 0;
      if (at >= from && at <= to) selfUs.set(id, (selfUs.get(id) ?? 0) + duration);
    });
    for (const [id, us] of selfUs) {
      const node = nodes.get(id);
      if (!node) continue;
      totalUs += us;
      const frame = node.callFrame;
      const area = areaOf(frame);
      byArea.set(area, (byArea.get(area) ?? 0) + us);
      const where = shortWhere(frame);
      const key = `${frame.functionName}|${where}`;
      const entry = byFunction.get(key) ?? { name: frame.functionName || '(anonymous)', where, area, selfUs: 0 };
      entry.selfUs += us;
      byFunction.set(key, entry);
    }
  }
  const idleUs = byArea.get('(idle)') ?? 0;
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => Math.round((1000 * us) / Math.max(busyUs, 1)) / 10;
  return {
    files,
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    top: [...byFunction.values()]
      .filter((e) => e.area !== '(idle)')
      .sort((a, b) => b.selfUs - a.selfUs)
      .slice(0, topN)
      .map((e) => ({ name: e.name, where: e.where, area: e.area, selfMs: Math.round(e.selfUs / 1000), percent: pct(e.selfUs) })),
    areas: [...byArea.entries()]
      .filter(([area]) => area !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: Math.round(us / 1000), percent: pct(us) })),
  };
}
