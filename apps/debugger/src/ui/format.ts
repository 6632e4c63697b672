/** Small formatting helpers for the views (pure). */

export const PAGE_SIZE = 4096;

/** `0x` + lowercase hex of the byte address vpn * 4096 (as the CLI prints addresses). */
export function hexAddr(vpn: number): string {
  return `0x${(vpn * PAGE_SIZE).toString(16)}`;
}

/** the address with the arena page beside it when the log names its arena */
export function addrWithPage(vpn: number, arenaBase: number): string {
  return arenaBase && vpn >= arenaBase ? `${hexAddr(vpn)} (page ${vpn - arenaBase})` : hexAddr(vpn);
}

export function vmFlags(f: number): string {
  return `${f & 1 ? 'r' : '-'}${f & 2 ? 'w' : '-'}${f & 4 ? 'x' : '-'}${f & 8 ? 's' : 'p'}`;
}

export function pteFlagStr(f: number, swap = false): string {
  if (swap) return `swap${f & 64 ? ' excl' : ''}`;
  const out: string[] = [];
  if (f & 2) out.push('W');
  if (f & 4) out.push('D');
  if (f & 8) out.push('Y');
  if (f & 16) out.push('special');
  if (f & 32) out.push('sd');
  return out.length ? out.join(' ') : 'RO';
}

/** A stable colour per anon_vma root (grey: none). */
export function rootColour(root: number, alpha = 1): string {
  if (!root) return `hsla(220, 8%, 45%, ${alpha})`;
  const h = (root * 137.508) % 360;
  return `hsla(${h.toFixed(1)}, 62%, 48%, ${alpha})`;
}

export function taskColour(task: number): string {
  const h = (task * 97 + 20) % 360;
  return `hsl(${h}, 65%, 52%)`;
}

export function mappingStr(kind: number, id: number): string {
  switch (kind) {
    case 0:
      return '—';
    case 1:
      return `anon_vma ${id}`;
    case 2:
      return `shmem ${id}`;
    case 3:
      return `ksm ${id}`;
    default:
      return `kind ${kind} #${id}`;
  }
}

export function lockMode(mode: number, kind: number): string {
  return `${mode === 0 ? 'write' : 'read'}${kind === 1 ? ' spin' : ''}`;
}

/**
 * Piecewise-linear address scale over the boundaries of the ranges: covered stretches
 * linear but never narrower than MIN_VMA of the bar (a 1-page VMA beside a 1 GiB one stays
 * visible and clickable), gaps at least MIN_GAP and long ones capped (a break is drawn).
 */
export interface AddrScale {
  /** vpn -> [0, 1] */
  x(vpn: number): number;
  /** display positions ([0, 1]) of capped gaps */
  breaks: number[];
}

export const MIN_VMA = 0.03;
export const MIN_GAP = 0.012;

export function addressScale(ranges: readonly { start: number; end: number }[]): AddrScale {
  const rs = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  if (rs.length === 0) return { x: () => 0, breaks: [] };
  const cuts = [...new Set(rs.flatMap((r) => [r.start, r.end]))].sort((a, b) => a - b);
  // covered[i]: is [cuts[i], cuts[i+1]) inside some range
  const covered: boolean[] = [];
  let coveredLen = 0;
  let segs = 0;
  // sweep: how many ranges cover each stretch
  const delta = new Map<number, number>();
  for (const r of rs) {
    delta.set(r.start, (delta.get(r.start) ?? 0) + 1);
    delta.set(r.end, (delta.get(r.end) ?? 0) - 1);
  }
  let depth = 0;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i];
    depth += delta.get(a) ?? 0;
    const c = depth > 0;
    covered.push(c);
    if (c) {
      coveredLen += cuts[i + 1] - a;
      segs++;
    }
  }
  const unit = coveredLen || 1;
  // display lengths in vpn units: floors relative to the covered total
  const minV = (unit * MIN_VMA) / Math.max(0.2, 1 - MIN_VMA * segs);
  const minG = minV * (MIN_GAP / MIN_VMA);
  const cap = Math.max(minG, (unit / Math.max(1, segs)) * 0.35);
  const kd: number[] = [0];
  const breakAt: number[] = [];
  let d = 0;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const len = cuts[i + 1] - cuts[i];
    let w: number;
    if (covered[i]) w = Math.max(len, minV);
    else {
      w = Math.min(Math.max(len, minG), cap);
      if (len > cap) breakAt.push(d + w / 2);
    }
    d += w;
    kd.push(d);
  }
  const total = d || 1;
  const kv = cuts;
  return {
    x(vpn: number): number {
      if (vpn <= kv[0]) return 0;
      if (vpn >= kv[kv.length - 1]) return 1;
      let lo = 0;
      let hi = kv.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (kv[mid] <= vpn) lo = mid;
        else hi = mid;
      }
      const span = kv[hi] - kv[lo];
      const t = span > 0 ? (vpn - kv[lo]) / span : 0;
      return (kd[lo] + t * (kd[hi] - kd[lo])) / total;
    },
    breaks: breakAt.map((b) => b / total),
  };
}

/**
 * What the page says while a seek's view is on its way: that the seek waits for the
 * keyframes to be built up to it (the worker builds them in order, from the log's start),
 * or null when it does not (no seek pending, or the keyframes reach that far).
 */
export function seekWaitNote(pos: number, viewPos: number | null, keyframes: { built: number; total: number } | null): string | null {
  if (viewPos === null || viewPos === pos || !keyframes || keyframes.built >= keyframes.total || pos <= keyframes.built) return null;
  return `building keyframes up to seq ${pos.toLocaleString('en-US')}…`;
}

/**
 * Where the cursor goes once a loaded log's violations are known: a log opens at its
 * final state, which for a counterexample lies past what went wrong, so while the cursor
 * is still where the load put it (`openedAt`) it moves to the first violation (a
 * violation at seq k is seen at position k+1). null: stay (none, or the user moved).
 */
export function firstViolationPos(violations: readonly number[], pos: number, openedAt: number | null): number | null {
  if (openedAt === null || pos !== openedAt || violations.length === 0) return null;
  return violations[0] + 1;
}
