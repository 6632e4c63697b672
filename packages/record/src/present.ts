/**
 * Present pages as runs, for comparing a snapshot with the simulated mm without a loop
 * over every page of a VMA (an anonymous reservation of 2^35 pages is a valid VMA) and
 * without a Set of every present page (2^34 of them exceeded a Set's maximum size).
 */
import { lookupPte, type Mm } from '@mmsim/core';

/** [first, end) runs of pages, sorted and disjoint */
export type Runs = [number, number][];

const PMD_PAGES = 512;
const PUD_PAGES = 512 * 512;
const PGD_PAGES = 512 * 512 * 512;

/**
 * The pages of [lo, hi) with a non-none PTE in `mm` (present or swap, as getPte() > 0),
 * as runs in order: only the page tables that exist are visited (walk_page_range()'s
 * pgd/pud/pmd_none skips), so an empty range costs nothing however large.
 */
export function pteRuns(mm: Mm, lo: number, hi: number): Runs {
  const out: Runs = [];
  const add = (v: number) => {
    const last = out[out.length - 1];
    if (last && last[1] === v) last[1] = v + 1;
    else out.push([v, v + 1]);
  };
  for (const gk of Object.keys(mm.pgd)) {
    const g = Number(gk) * PGD_PAGES;
    if (g + PGD_PAGES <= lo || g >= hi) continue;
    const pud = mm.pgd[Number(gk)];
    for (const uk of Object.keys(pud)) {
      const u = g + Number(uk) * PUD_PAGES;
      if (u + PUD_PAGES <= lo || u >= hi) continue;
      const pmdt = pud[Number(uk)];
      for (const mk of Object.keys(pmdt)) {
        const m = u + Number(mk) * PMD_PAGES;
        if (m + PMD_PAGES <= lo || m >= hi) continue;
        for (let v = Math.max(m, lo); v < Math.min(m + PMD_PAGES, hi); v++) if (lookupPte(mm, v) > 0) add(v);
      }
    }
  }
  return out;
}

/** Recorded [firstVpn, pages] runs as sorted, coalesced [first, end) runs. */
export function toRuns(present: readonly (readonly [number, number])[]): Runs {
  const sorted = present.map(([a, n]) => [a, a + n] as [number, number]).sort((x, y) => x[0] - y[0]);
  const out: Runs = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/**
 * Every run of [lo, hi) in exactly one of `a` and `b`, as [first, end, inB]: the same
 * walk over run edges as firstDifference, not stopping at the first (`--all`). At most
 * `limit` runs.
 */
export function differingRuns(a: Runs, b: Runs, lo: number, hi: number, limit = 1000): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  let i = 0;
  let j = 0;
  let v = lo;
  while (v < hi && out.length < limit) {
    while (i < a.length && a[i][1] <= v) i++;
    while (j < b.length && b[j][1] <= v) j++;
    const inA = i < a.length && a[i][0] <= v;
    const inB = j < b.length && b[j][0] <= v;
    const next = Math.min(hi, inA ? a[i][1] : i < a.length ? a[i][0] : hi, inB ? b[j][1] : j < b.length ? b[j][0] : hi);
    if (inA !== inB) {
      const last = out[out.length - 1];
      if (last && last[1] === v && last[2] === inB) last[1] = next;
      else out.push([v, next, inB]);
    }
    v = next;
  }
  return out;
}

/** The first page of [lo, hi) in exactly one of `a` and `b`, or -1: a walk over run edges. */
export function firstDifference(a: Runs, b: Runs, lo: number, hi: number): number {
  return differingRuns(a, b, lo, hi, 1)[0]?.[0] ?? -1;
}

/** Is page v in the sorted runs? (binary search) */
export function inRuns(r: Runs, v: number): boolean {
  let lo = 0;
  let hi = r.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (r[mid][1] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo < r.length && r[lo][0] <= v;
}
