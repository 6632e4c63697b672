/**
 * What /proc shows of a process: its VMAs (/proc/PID/maps) and, for every arena page,
 * pagemap's present/swapped/exclusive bits and kpageflags' compound head/tail and zero
 * page, computed from the state the way fs/proc/task_mmu.c and fs/proc/page.c do.
 */
import {
  HUGE_ZERO_PFN,
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_EXEC,
  VM_HUGEPAGE,
  VM_LOCKED,
  VM_LOCKONFAULT,
  VM_MAYSHARE,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_RAND_READ,
  VM_READ,
  VM_SEALED,
  VM_SEQ_READ,
  VM_WIPEONFORK,
  VM_WRITE,
  forEachPte,
  pageFolio,
  pagePreciseMapcount,
  ptePfn,
  vmasInRange,
  type State,
} from '@mmsim/core';
import { OBSERVED_VMA_FLAGS, canonicalizeSnapshot, type ProcSnapshot, type RawPage, type RawVma, type VmaFlagName, type VmaMetadata } from '@mmsim/scenario';
import { isZeroPte } from '@mmsim/linux';

export function vmaPerms(flags: number): string {
  return (
    (flags & VM_READ ? 'r' : '-') + (flags & VM_WRITE ? 'w' : '-') + (flags & VM_EXEC ? 'x' : '-') + (flags & VM_MAYSHARE ? 's' : 'p')
  );
}

/** The VM_* bit behind each name smaps' VmFlags line prints (fs/proc/task_mmu.c show_smap_vma_flags). */
const VM_FLAG_BITS: Readonly<Record<VmaFlagName, number>> = {
  lo: VM_LOCKED,
  sr: VM_SEQ_READ,
  rr: VM_RAND_READ,
  dc: VM_DONTCOPY,
  lf: VM_LOCKONFAULT,
  ac: VM_ACCOUNT,
  nr: VM_NORESERVE,
  wf: VM_WIPEONFORK,
  dd: VM_DONTDUMP,
  hg: VM_HUGEPAGE,
  nh: VM_NOHUGEPAGE,
  mg: VM_MERGEABLE,
  sl: VM_SEALED,
};

/** The observed VM_* flags, as smaps' VmFlags line names them. */
export function vmaFlagNames(flags: number): string {
  return OBSERVED_VMA_FLAGS.filter((n) => flags & VM_FLAG_BITS[n]).join(' ');
}

/** One process's raw view of the arena [base, base + pages); `observe`: kernel metadata to add to each VMA. */
export function observeMm(
  s: State,
  mmId: number,
  proc: number,
  base: number,
  pages: number,
  observe: readonly VmaMetadata[] = [],
): { proc: number; vmas: RawVma[]; pages: RawPage[] } {
  const mm = s.mms[mmId];
  const vmas: RawVma[] = [];
  const raw: RawPage[] = [];
  if (!mm) return { proc, vmas, pages: raw };
  const end = base + pages;
  const pgoff = observe.includes('pgoff');
  const anonVma = observe.includes('anonVma');
  // only the arena's VMAs: O(log n + k) in the mm's VMAs
  for (const v of vmasInRange(s, mm, base, end)) {
    const o: RawVma = { start: v.start - base, end: v.end - base, perms: vmaPerms(v.flags), vmFlags: vmaFlagNames(v.flags) };
    // a private VMA's vm_pgoff counts virtual pages (do_mmap: pgoff = addr >> PAGE_SHIFT): shown from the arena's start
    if (pgoff) o.pgoff = v.file ? v.pgoff : v.pgoff - base;
    if (anonVma) o.anonVma = v.anonVma || null;
    vmas.push(o);
  }
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

/** A snapshot of every live process, frames (and anon_vmas, where observed) named canonically. */
export function observeProcs(
  s: State,
  procs: readonly [number, number][],
  base: number,
  pages: number,
  observe: readonly VmaMetadata[] = [],
): ProcSnapshot[] {
  return canonicalizeSnapshot(procs.map(([proc, mm]) => observeMm(s, mm, proc, base, pages, observe)));
}
