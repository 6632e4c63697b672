/**
 * Large folios under MREMAP_RELOCATE_ANON (the series' patch 3):
 * - a PTE-mapped large folio fully spanned by the moved range is relocated whole
 *   (index and mapping of the folio) and the walk skips its other PTEs;
 * - a PMD-mapped THP is relocated at PMD level when the destination is PMD-aligned and
 *   the range spans it; otherwise its PMD is split and the PTE path goes on;
 * - a folio only partly spanned is split (split_folio) and its pages relocated one by
 *   one; the split needs the folio's anon_vma lock, so it fails when that is the lock the
 *   walk already holds (same root as the locked new VMA);
 * - KSM, pinned and shared large folios are refused, as for small ones;
 * - a huge zero PMD has nothing to rewrite and is left to the page-table move.
 */
import { pmdBase, ptePfn, type Folio, type KGen } from '@mmsim/core';
import { Kernel, folioOf, folioTestAnon, folioTestKsm, getPte, isHugeZeroPmd, isZeroPte, pmdEntry, splitFolio, splitHugePmd } from '@mmsim/linux';
import type { LargeFolioHandler, RelocateWalk } from '@mmsim/relocate-anon';
import { rewriteFolio } from '@mmsim/relocate-anon';

/** Where the folio's first page sits in the old VMA, and whether the range maps all of it there. */
function span(w: RelocateWalk, f: Folio): { first: number; whole: boolean; mappedHere: number } {
  const k = w.k;
  const vma = k.vma(w.oldVma);
  const n = 2 ** f.order;
  const first = vma.start + (f.index - vma.pgoff);
  let mappedHere = 0;
  let whole = first >= w.oldAddr && first + n <= w.oldAddr + w.len;
  for (let i = 0; i < n; i++) {
    const a = first + i;
    const pte = a >= vma.start && a < vma.end ? getPte(k, vma.mm, a) : 0;
    const ok = pte > 0 && ptePfn(pte) === f.pfn + i;
    if (ok) mappedHere++;
    else whole = false;
  }
  return { first, whole, mappedHere };
}

/** folio_maybe_mapped_shared(): mapped anywhere but these PTEs (another mm, another VMA) */
function mappedElsewhere(f: Folio, mappedHere: number): boolean {
  let total = f.entireMapcount;
  for (const c of f.pageMapcount) total += c;
  return total !== mappedHere;
}

/** Lock the folio (trylock: we are under a page table spinlock) and rewrite it whole. */
function* relocateWhole(w: RelocateWalk, f: Folio, firstOld: number): KGen<boolean> {
  const k = w.k;
  const name = Kernel.folioLock(f.pfn);
  if (!k.eng.trylock(name, 0, 'sleep')) return false;
  rewriteFolio(w, f.pfn, firstOld, false);
  yield* k.eng.unlock(name, 0, 'sleep');
  return true;
}

/**
 * split_folio(): the folio becomes order-0 folios (zero-filled pages map the zero page,
 * unmapped ones are freed). It takes the folio's anon_vma root lock: refused when that is
 * the lock the walk already holds.
 */
function* splitForRelocation(w: RelocateWalk, f: Folio, oldAddr: number): KGen<boolean> {
  const k = w.k;
  const root = k.anonVma(f.mapping).root;
  if (root === w.lockedRoot) return false;
  // split_folio() sleeps (anon_vma rwsem, folio lock): drop the PTE lock around it, as
  // madvise_free_pte_range() does, and take it again to go on with the walk
  const mm = k.vma(w.oldVma).mm;
  const ptl = Kernel.ptl(mm, oldAddr);
  yield* k.eng.unlock(ptl, 0, 'spin');
  // folio_trylock(): the walk holds VMA and anon_vma locks, which folio_lock() nests
  // outside of (mm/rmap.c lock order); failing to get it fails the relocation
  const name = Kernel.folioLock(f.pfn);
  if (!k.eng.trylock(name, 0, 'sleep')) {
    yield* k.eng.lock(ptl, 0, 'spin');
    return false;
  }
  yield* splitFolio(k, f.pfn);
  yield* k.eng.unlock(name, 0, 'sleep');
  yield* k.eng.lock(ptl, 0, 'spin');
  return true;
}

/** Refuse what a small folio would be refused for. */
function refused(f: Folio, mappedHere: number): boolean {
  if (!folioTestAnon(f) || folioTestKsm(f)) return true;
  if (f.pincount > 0) return true;
  return mappedElsewhere(f, mappedHere);
}

export const largeFolioHandler: LargeFolioHandler = {
  name: '@mmsim/large-folio',

  *pte(w, oldAddr, folio) {
    const k = w.k;
    const s = span(w, folio);
    if (refused(folio, s.mappedHere)) return 0;
    if (s.whole) {
      // the walk meets the first page first (ascending): relocate it all, skip the rest
      if (oldAddr !== s.first) return 0;
      if (!(yield* relocateWhole(w, folio, s.first))) return 0;
      return 2 ** folio.order;
    }
    // partly spanned: split, then this page is an ordinary small folio
    if (!(yield* splitForRelocation(w, folio, oldAddr))) return 0;
    const now = getPte(k, k.vma(w.oldVma).mm, oldAddr);
    if (isZeroPte(now)) return 1; // it held only zeroes: now the zero page, nothing to relocate
    const small = folioOf(k, ptePfn(now));
    if (!(yield* relocateWhole(w, small, oldAddr))) return 0;
    return 1;
  },

  *pmd(w, haddr, end) {
    const k = w.k;
    const vma = k.vma(w.oldVma);
    const e = pmdEntry(k, vma.mm, haddr);
    if (!e || e.kind !== 'huge') return 'fail';
    // the huge zero page maps no anon folio: nothing to rewrite (as the zero page in a
    // PTE is skipped); move_page_tables() moves or splits the PMD as for any move
    if (isHugeZeroPmd(e)) return 'done';
    const f = folioOf(k, e.pfn);
    if (refused(f, f.entireMapcount === 1 ? 1 : 0)) return 'fail';
    const newHaddr = haddr + (w.newAddr - w.oldAddr);
    const spanned = haddr === pmdBase(haddr) && haddr >= w.oldAddr && end - haddr === 512;
    if (spanned && newHaddr % 512 === 0) {
      yield* k.eng.lock(Kernel.pmdLock(vma.mm, haddr), 0, 'spin');
      const ok = yield* relocateWhole(w, f, haddr);
      yield* k.eng.unlock(Kernel.pmdLock(vma.mm, haddr), 0, 'spin');
      return ok ? 'done' : 'fail';
    }
    yield* splitHugePmd(k, vma, haddr);
    return 'split';
  },
};
