/**
 * The madvise() advice that walk page tables or change KSM flags (mm/madvise.c,
 * mm/ksm.c): MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_MERGEABLE, MADV_UNMERGEABLE.
 * do_madvise() and the VMA-flag advice are in mmap.ts.
 */
import {
  E,
  HUGE_ZERO_PFN,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MERGEABLE,
  VM_PFNMAP,
  VM_SHARED,
  ptePfn,
  type KGen,
} from '@mmsim/core';
import { EINVAL } from './errno.js';
import { Kernel } from './kernel.js';
import { getPte, isZeroPte, pmdEntry, ptlLock, ptlUnlock, swapPut, zapPageRange } from './pgtable.js';
import { splitFolio } from './huge_memory.js';
import { folioMaybeDmaPinned, folioMaybeMappedShared } from './rmap.js';
import { ksmCompatible } from './ksm.js';

/**
 * Split every large folio that [start, end) of the VMA maps only in part, as
 * madvise_free_pte_range / madvise_cold_or_pageout_pte_range do (a PMD-mapped THP the
 * range does not cover whole is split too): not when it may be mapped shared, nor when
 * its lock is taken. `onSwap` sees each swap entry of the range (MADV_FREE drops them).
 * `reclaim`: MADV_PAGEOUT without a swap device also splits the folios it covers whole
 * (shrink_folio_list: a large folio is split before, or when, folio_alloc_swap() fails;
 * not a pinned one: folio_maybe_dma_pinned() keeps it).
 */
function* splitLargeFolios(
  k: Kernel,
  vmaId: number,
  start: number,
  end: number,
  opts: { onSwap?: (mm: number, vpn: number, pte: number) => KGen<void>; reclaim?: boolean },
): KGen<void> {
  const { onSwap, reclaim = false } = opts;
  const mm = k.vma(vmaId).mm;
  let vpn = start;
  while (vpn < end) {
    const base = vpn - (vpn % 512);
    const next = Math.min(end, base + 512);
    const e = pmdEntry(k, mm, vpn);
    if (e && e.kind === 'huge' && e.pfn !== HUGE_ZERO_PFN && (next - vpn !== 512 || (reclaim && !folioMaybeDmaPinned(k.eng.pageFolio(e.pfn)!)))) {
      const f = k.eng.pageFolio(e.pfn)!;
      if (!folioMaybeMappedShared(k, f) && k.eng.trylock(Kernel.folioLock(f.pfn), 0, 'sleep')) {
        yield* splitFolio(k, f.pfn);
        yield* k.eng.unlock(Kernel.folioLock(f.pfn), 0, 'sleep');
      }
    }
    for (let v = vpn; v < next; v++) {
      const pte = getPte(k, mm, v);
      if (pte < 0) {
        if (onSwap) yield* onSwap(mm, v, pte);
        continue;
      }
      if (pte <= 0 || isZeroPte(pte)) continue;
      const f = k.eng.pageFolio(ptePfn(pte))!;
      if (f.order === 0) continue;
      // the part of the folio this range maps: split when it is not all of it
      const vma = k.vma(vmaId);
      const first = vma.start + (f.index - vma.pgoff);
      if (first >= start && first + 2 ** f.order <= end && (!reclaim || folioMaybeDmaPinned(f))) continue;
      if (folioMaybeMappedShared(k, f) || !k.eng.trylock(Kernel.folioLock(f.pfn), 0, 'sleep')) continue;
      const head = f.pfn;
      yield* splitFolio(k, head);
      yield* k.eng.unlock(Kernel.folioLock(head), 0, 'sleep');
    }
    vpn = next;
  }
}

/** MADV_FREE drops the swap entries of its range (madvise_free_pte_range: free_swap_and_cache) */
function* dropSwapEntry(k: Kernel, mm: number, vpn: number, pte: number): KGen<void> {
  yield* ptlLock(k, mm, vpn);
  k.eng.emit(E.PteClear, mm, vpn);
  swapPut(k, Math.floor(-pte / 256));
  yield* ptlUnlock(k, mm, vpn);
}

/**
 * MADV_FREE (madvise_free_single_vma): exclusive anon pages become lazily freeable.
 * With no memory pressure in the model nothing is reclaimed, so mappings stay; what is
 * observable: swap entries in the range are dropped, and a large folio the range covers
 * only in part is split (madvise_free_huge_pmd / madvise_free_pte_range) — its zero
 * subpages then map the zero page.
 */
export function* madviseFree(k: Kernel, vmaId: number, start: number, end: number): KGen<void> {
  yield* splitLargeFolios(k, vmaId, start, end, { onSwap: (mm, vpn, pte) => dropSwapEntry(k, mm, vpn, pte) });
}

/**
 * MADV_COLD / MADV_PAGEOUT (madvise_cold / madvise_pageout): -EINVAL on a VMA that
 * can_madv_lru_vma() refuses (VM_LOCKED, VM_PFNMAP, VM_HUGETLB); otherwise
 * madvise_cold_or_pageout_pte_range() splits the large folios the range covers in part,
 * then deactivates the pages (COLD) or reclaims them (PAGEOUT). The model has no LRU and
 * no swap device, as the project's machines have none: reclaim_pages() cannot allocate
 * swap for an anon folio and puts it back, so the mappings stay, but a large folio is
 * split on the way (with a swap device the kernel would swap them out; see
 * docs/scenario-format.md, nondeterminism).
 */
export function* madviseColdOrPageout(k: Kernel, vmaId: number, start: number, end: number, pageout: boolean): KGen<number> {
  const vma = k.vma(vmaId);
  if (vma.flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) return -EINVAL;
  yield* splitLargeFolios(k, vmaId, start, end, { reclaim: pageout });
  if (pageout && vma.flags & VM_SHARED) yield* reclaimShmemPtes(k, vmaId, start, end);
  return 0;
}

/**
 * MADV_PAGEOUT of a shared anonymous (shmem) range: shrink_folio_list() unmaps each folio
 * the walk isolated (try_to_unmap), then shmem_writeout() finds no swap and the folio
 * stays in the page cache, unmapped: its PTE is gone and the next access faults it back.
 * A folio mapped elsewhere too is left alone (folio_maybe_mapped_shared), as is a pinned one.
 */
function* reclaimShmemPtes(k: Kernel, vmaId: number, start: number, end: number): KGen<void> {
  const vma = k.vma(vmaId);
  for (let vpn = start; vpn < end; vpn++) {
    const pte = getPte(k, vma.mm, vpn);
    if (pte <= 0 || isZeroPte(pte)) continue;
    const f = k.eng.pageFolio(ptePfn(pte))!;
    if (folioMaybeMappedShared(k, f) || folioMaybeDmaPinned(f)) continue;
    yield* zapPageRange(k, k.vma(vmaId), vpn, vpn + 1);
  }
}

/**
 * ksm_madvise() (mm/ksm.c): the VMA flags MADV_MERGEABLE / MADV_UNMERGEABLE ask for.
 * MERGEABLE sets VM_MERGEABLE unless the VMA already has it or vma_ksm_compatible()
 * refuses it (shared, PFN/IO/mixed maps, VM_DONTEXPAND, hugetlb: then nothing changes
 * and madvise() still succeeds); UNMERGEABLE clears it (unmerge_ksm_pages() first breaks
 * the KSM pages of the range: the model's KSM folios come only from the simulator-only
 * `ksm` op, which does not need VM_MERGEABLE, so they are left alone). A changed flag is
 * a VMA flag like any other: the range splits from, and merges with, its neighbours.
 */
export function ksmMadvise(flags: number, advice: 'MERGEABLE' | 'UNMERGEABLE'): number {
  if (advice === 'MERGEABLE') {
    if (flags & VM_MERGEABLE) return flags;
    if (!ksmCompatible(flags)) return flags;
    return flags | VM_MERGEABLE;
  }
  return flags & ~VM_MERGEABLE;
}

/**
 * prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, start, len, name) (kernel/sys.c prctl_set_vma,
 * mm/madvise.c madvise_set_anon_name). The model follows the project's machines, whose
 * 6.18 kernels are built without CONFIG_ANON_VMA_NAME: prctl_set_vma() is then the stub
 * that returns -EINVAL and no VMA changes (measured: prctl fails with EINVAL, no split).
 * With the option the name would be a merge attribute (anon_vma_name in is_mergeable_vma),
 * which the model's VMAs do not have.
 */
export function* prctlSetVmaAnonName(k: Kernel, _mm: number, start: number, pages: number, _name: string): KGen<number> {
  return yield* k.eng.span('prctl_set_vma', function* () {
    return -EINVAL;
  }, start, pages);
}
