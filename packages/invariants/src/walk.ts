/**
 * rmap_walk_anon() as a plain function on a state: for inspection, tests and tools
 * (the checkers use an allocation-free version of the same walk).
 */
import { MappingKind, lookupPte, pageFolio, type State } from '@mmsim/core';

export interface RmapWalkResult {
  /** head pfn */
  folio: number;
  anonVma: number;
  /** mappings the walk found */
  found: { vma: number; mm: number; vpn: number; page: number }[];
  /** per page: mappings the walk found, and the mapcount (page + entire) */
  perPage: { page: number; found: number; mapcount: number }[];
  /** true when every page is found exactly mapcount times */
  ok: boolean;
}

/**
 * Walk the anon folio containing page `pfn` the way rmap_walk_anon() does: every VMA
 * linked to the folio's anon_vma whose pgoff range covers index + i, at address
 * vm_start + (index + i - vm_pgoff). null if there is no such anon folio or its
 * anon_vma is gone.
 */
export function rmapWalk(s: State, pfn: number): RmapWalkResult | null {
  const f = pageFolio(s, pfn);
  if (!f || f.mappingKind !== MappingKind.Anon) return null;
  const av = s.anonVmas.get(f.mapping);
  if (!av) return null;
  const n = f.pageMapcount.length;
  const counts = new Array<number>(n).fill(0);
  const found: RmapWalkResult['found'] = [];
  for (const id of av.vmas) {
    const v = s.vmas.get(id);
    const mm = v && s.mms[v.mm];
    if (!v || !mm) continue;
    for (let i = Math.max(0, v.pgoff - f.index); i < Math.min(n, v.pgoff + (v.end - v.start) - f.index); i++) {
      const vpn = v.start + (f.index + i - v.pgoff);
      const pte = lookupPte(mm, vpn);
      if (pte > 0 && Math.floor(pte / 256) === f.pfn + i) {
        counts[i]++;
        found.push({ vma: id, mm: v.mm, vpn, page: f.pfn + i });
      }
    }
  }
  const perPage = counts.map((c, i) => ({ page: f.pfn + i, found: c, mapcount: f.pageMapcount[i] + f.entireMapcount }));
  return { folio: f.pfn, anonVma: f.mapping, found, perPage, ok: perPage.every((p) => p.found === p.mapcount) };
}
