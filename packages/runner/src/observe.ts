/**
 * What /proc shows of a process: its VMAs (/proc/PID/maps) and, for every arena page,
 * pagemap's present/swapped/exclusive bits and kpageflags' compound head/tail and zero
 * page, computed from the state the way fs/proc/task_mmu.c and fs/proc/page.c do.
 */
import {
  HUGE_ZERO_PFN,
  VM_EXEC,
  VM_MAYSHARE,
  VM_READ,
  VM_WRITE,
  forEachPte,
  pageFolio,
  pagePreciseMapcount,
  ptePfn,
  vmasInRange,
  type State,
} from '@mmsim/core';
import { canonicalizeSnapshot, type ProcSnapshot, type RawPage, type VmaObservation } from '@mmsim/scenario';
import { isZeroPte } from '@mmsim/linux';

export function vmaPerms(flags: number): string {
  return (
    (flags & VM_READ ? 'r' : '-') + (flags & VM_WRITE ? 'w' : '-') + (flags & VM_EXEC ? 'x' : '-') + (flags & VM_MAYSHARE ? 's' : 'p')
  );
}

/** One process's raw view of the arena [base, base + pages). */
export function observeMm(s: State, mmId: number, proc: number, base: number, pages: number): { proc: number; vmas: VmaObservation[]; pages: RawPage[] } {
  const mm = s.mms[mmId];
  const vmas: VmaObservation[] = [];
  const raw: RawPage[] = [];
  if (!mm) return { proc, vmas, pages: raw };
  const end = base + pages;
  // only the arena's VMAs: O(log n + k) in the mm's VMAs
  for (const v of vmasInRange(s, mm, base, end)) vmas.push({ start: v.start - base, end: v.end - base, perms: vmaPerms(v.flags) });
  forEachPte(mm, base, end, (vpn, pte, huge) => {
    const page = vpn - base;
    if (pte < 0) {
      raw.push({ page, present: false, swapped: true, rawFrame: null, compound: null, exclusive: false });
      return;
    }
    if (huge) {
      const idx = vpn % 512;
      if (huge.pfn === HUGE_ZERO_PFN) {
        // the huge zero folio: ZERO_PAGE and compound; not anon, never rmapped, never exclusive
        raw.push({ page, present: true, swapped: false, rawFrame: 'zero', compound: idx === 0 ? 'head' : 'tail', exclusive: false });
        return;
      }
      const f = pageFolio(s, huge.pfn)!;
      // pagemap_pmd_range_thp() uses the head page's precise mapcount for all 512 pages
      const excl = pagePreciseMapcount(f, f.pfn) === 1;
      raw.push({ page, present: true, swapped: false, rawFrame: huge.pfn + idx, compound: idx === 0 ? 'head' : 'tail', exclusive: excl });
      return;
    }
    if (isZeroPte(pte)) {
      raw.push({ page, present: true, swapped: false, rawFrame: 'zero', compound: null, exclusive: false });
      return;
    }
    const pfn = ptePfn(pte);
    const f = pageFolio(s, pfn);
    if (!f) throw new Error(`mm ${mmId} vpn ${vpn}: PTE points to pfn ${pfn}, which no folio contains`);
    const compound = f.order > 0 ? (pfn === f.pfn ? 'head' : 'tail') : null;
    raw.push({ page, present: true, swapped: false, rawFrame: pfn, compound, exclusive: pagePreciseMapcount(f, pfn) === 1 });
  });
  return { proc, vmas, pages: raw };
}

/** A snapshot of every live process, frames named canonically. */
export function observeProcs(s: State, procs: readonly [number, number][], base: number, pages: number): ProcSnapshot[] {
  return canonicalizeSnapshot(procs.map(([proc, mm]) => observeMm(s, mm, proc, base, pages)));
}
