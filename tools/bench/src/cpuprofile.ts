/**
 * Aggregates a V8 .cpuprofile (node --cpu-prof, or inspector Profiler.stop) into self
 * time per function (name + file + line) and per file.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  /** function name (or "(anonymous)") */
  fn: string;
  /** file, shortened (relative to `root` when given) and line (1-based) */
  where: string;
  selfMs: number;
  /** % of all sampled time */
  pct: number;
}

function shorten(url: string, root?: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (root && u.startsWith(root)) u = u.slice(root.length).replace(/^\//, '');
  u = u.replace(/^.*node_modules\//, 'node_modules/');
  return u;
}

/** Self time per function and per file, largest first. */
export function aggregateProfile(p: CpuProfile, root?: string): { totalMs: number; functions: ProfileRow[]; files: ProfileRow[] } {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  const n = p.samples.length;
  // sample i lasts until sample i+1 (timeDeltas[i+1]); the last one gets the mean
  let sum = 0;
  for (let i = 1; i < n; i++) sum += p.timeDeltas[i];
  const meanDelta = n > 1 ? sum / (n - 1) : 0;
  for (let i = 0; i < n; i++) {
    const dt = i + 1 < n ? p.timeDeltas[i + 1] : meanDelta;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + Math.max(0, dt));
  }
  let total = 0;
  const fns = new Map<string, ProfileRow>();
  const files = new Map<string, ProfileRow>();
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    total += us;
    const file = cf.url ? shorten(cf.url, root) : '';
    const name = cf.functionName || (cf.url ? '(anonymous)' : '(native)');
    const where = file ? `${file}:${cf.lineNumber + 1}` : '';
    const key = `${name}\u0000${where}`;
    const row = fns.get(key) ?? { fn: name, where, selfMs: 0, pct: 0 };
    row.selfMs += us / 1000;
    fns.set(key, row);
    const fkey = file || name;
    const frow = files.get(fkey) ?? { fn: fkey, where: '', selfMs: 0, pct: 0 };
    frow.selfMs += us / 1000;
    files.set(fkey, frow);
  }
  const fin = (m: Map<string, ProfileRow>) =>
    [...m.values()]
      .map((r) => ({ ...r, selfMs: Math.round(r.selfMs * 10) / 10, pct: total ? Math.round((r.selfMs * 1000 * 1000) / total) / 10 : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs || (a.fn < b.fn ? -1 : 1));
  return { totalMs: Math.round(total / 100) / 10, functions: fin(fns), files: fin(files) };
}

/** A Markdown table of the top rows. */
export function formatProfile(rows: readonly ProfileRow[], top = 15): string[] {
  const out = ['| # | self % | self ms | function | where |', '|---:|---:|---:|---|---|'];
  rows.slice(0, top).forEach((r, i) => out.push(`| ${i + 1} | ${r.pct.toFixed(1)} | ${r.selfMs.toFixed(0)} | \`${r.fn}\` | ${r.where ? `\`${r.where}\`` : ''} |`));
  return out;
}

/** Self time of the function named `fn`, split by its caller (parent frame's function). */
export function callersOf(p: CpuProfile, fn: string): { caller: string; selfMs: number }[] {
  const parent = new Map<number, ProfileNode>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i])!;
    if (node.callFrame.functionName !== fn) continue;
    const dt = i + 1 < p.samples.length ? p.timeDeltas[i + 1] : 0;
    const caller = parent.get(node.id)?.callFrame.functionName || '(anonymous)';
    out.set(caller, (out.get(caller) ?? 0) + dt / 1000);
  }
  return [...out.entries()].map(([caller, selfMs]) => ({ caller, selfMs: Math.round(selfMs) })).sort((a, b) => b.selfMs - a.selfMs);
}
