/** Small formatting helpers for the views (pure). */

export const PAGE_SIZE = 4096;

export function hexAddr(vpn: number): string {
  return `0x${(vpn * PAGE_SIZE).toString(16)}`;
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

/** Piecewise-linear address scale: islands of VMAs linear, long gaps between them capped. */
export interface AddrScale {
  /** vpn -> [0, 1] */
  x(vpn: number): number;
  /** display positions ([0, 1]) of capped gaps */
  breaks: number[];
}

export function addressScale(ranges: readonly { start: number; end: number }[]): AddrScale {
  const rs = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  if (rs.length === 0) return { x: () => 0, breaks: [] };
  const islands: [number, number][] = [];
  for (const r of rs) {
    const last = islands[islands.length - 1];
    if (last && r.start <= last[1]) last[1] = Math.max(last[1], r.end);
    else islands.push([r.start, r.end]);
  }
  const covered = islands.reduce((n, [s, e]) => n + (e - s), 0);
  const cap = Math.max(1, (covered / islands.length) * 0.35);
  // knots: [vpn, display]
  const kv: number[] = [];
  const kd: number[] = [];
  const breakAt: number[] = [];
  let d = 0;
  for (let i = 0; i < islands.length; i++) {
    const [s, e] = islands[i];
    if (i > 0) {
      const gap = s - islands[i - 1][1];
      if (gap > cap) breakAt.push(d + cap / 2);
      d += Math.min(gap, cap);
    }
    kv.push(s, e);
    kd.push(d, d + (e - s));
    d += e - s;
  }
  const total = d || 1;
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
