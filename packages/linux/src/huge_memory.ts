/**
 * PMD-mapped THPs (mm/huge_memory.c, mm/khugepaged.c): the huge fault, the huge zero
 * page, write faults on huge PMDs, __split_huge_pmd, move_huge_pmd, copy_huge_pmd and
 * MADV_COLLAPSE.
 */
import {
  E,
  FolioCounter,
  HPAGE_PMD_ORDER,
  HUGE_ZERO_PFN,
  PTE_DIRTY,
  PTE_SOFT_DIRTY,
  PTE_SPECIAL,
  PTE_WRITE,
  PTE_YOUNG,
  VM_HUGEPAGE,
  VM_LOCKED,
  VM_NOHUGEPAGE,
  VM_SPECIAL,
  VM_WRITE,
  ZERO_PFN,
  pageAnonExclusive,
  pmdBase,
  ptePfn,
  type Folio,
  type HugePmd,
  type KGen,
  type Vma,
} from '@mmsim/core';
import { Kernel } from './kernel.js';
import {
  anonVmaPrepare,
  folioAddNewAnonRmap,
  folioAlloc,
  folioGet,
  folioMoveAnonRmap,
  folioOf,
  folioPut,
  folioRemoveRmapPmd,
  folioRemoveRmapPte,
  folioTestAnon,
  folioTryDupAnonRmapPmd,
} from './rmap.js';
import { isZeroPte, pmdEntry, pmdLock, pmdUnlock, ptlLock, ptlUnlock, swapPut } from './pgtable.js';

/** thp_vma_suitable_order(): the aligned block of 2^order pages around vpn lies inside the VMA */
export function thpVmaSuitableOrder(vma: Vma, vpn: number, order: number): boolean {
  const n = 2 ** order;
  const haddr = vpn - (vpn % n);
  return haddr >= vma.start && haddr + n <= vma.end;
}

/**
 * thp_vma_allowable_order() for an anonymous VMA at fault time (TVA_PAGEFAULT): the
 * sysfs mode and VM_HUGEPAGE / VM_NOHUGEPAGE decide; `forced` is MADV_COLLAPSE.
 */
export function thpVmaAllowable(k: Kernel, vma: Vma, ignoreSysfs = false): boolean {
  if (vma.file) return false; // shmem THP is not modelled
  if (vma.flags & VM_NOHUGEPAGE) return false;
  if (vma.flags & VM_SPECIAL) return false;
  if (ignoreSysfs) return true;
  if (k.config.thp === 'always') return true;
  return k.config.thp === 'madvise' && (vma.flags & VM_HUGEPAGE) !== 0;
}

/** The PTE flags a new anonymous mapping gets (folio_mk_pte + maybe_mkwrite(pte_mkdirty)) */
export function newAnonPteFlags(vma: Vma): number {
  return vma.flags & VM_WRITE ? PTE_WRITE | PTE_DIRTY | PTE_YOUNG : PTE_YOUNG;
}

/**
 * do_huge_pmd_anonymous_page(): a PMD-sized folio (write) or the huge zero page (read).
 * Returns false to fall back to the PTE path (VM_FAULT_FALLBACK).
 */
export function* doHugePmdAnonymousPage(k: Kernel, vmaId: number, vpn: number, write: boolean): KGen<boolean> {
  const vma0 = k.vma(vmaId);
  const haddr = pmdBase(vpn);
  if (!thpVmaSuitableOrder(vma0, haddr, HPAGE_PMD_ORDER)) return false;
  return yield* k.eng.span('do_huge_pmd_anonymous_page', () => doHugePmdAnonymousPageBody(k, vmaId, haddr, write), vmaId, vpn);
}

/** body of doHugePmdAnonymousPage, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doHugePmdAnonymousPageBody(k: Kernel, vmaId: number, haddr: number, write: boolean): KGen<boolean> {
  yield* anonVmaPrepare(k, vmaId);
  const vma = k.vma(vmaId);
  const mm = vma.mm;
  if (!write && k.config.faultZeroPage && k.config.useZeroPage) {
    yield* pmdLock(k, mm, haddr);
    if (!pmdEntry(k, mm, haddr)) k.eng.emit(E.PmdSet, mm, haddr, HUGE_ZERO_PFN, PTE_SPECIAL | PTE_YOUNG);
    yield* pmdUnlock(k, mm, haddr);
    return true;
  }
  const head = folioAlloc(k, HPAGE_PMD_ORDER);
  yield* pmdLock(k, mm, haddr);
  folioAddNewAnonRmap(k, head, vma, haddr, true, true);
  k.eng.emit(E.PmdSet, mm, haddr, head, newAnonPteFlags(vma));
  yield* pmdUnlock(k, mm, haddr);
  return true;
}

/**
 * do_huge_pmd_wp_page(): write to a read-only huge PMD. The huge zero page is replaced
 * by a new THP; an exclusive THP is reused; a shared one has its PMD split and the
 * caller falls back to the PTE path (returns false), copying one 4 KiB page.
 */
export function doHugePmdWpPage(k: Kernel, vmaId: number, vpn: number): KGen<boolean> {
  return k.eng.span('do_huge_pmd_wp_page', () => doHugePmdWpPageBody(k, vmaId, vpn), vmaId, vpn);
}

/** body of doHugePmdWpPage, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doHugePmdWpPageBody(k: Kernel, vmaId: number, vpn: number): KGen<boolean> {
  const vma = k.vma(vmaId);
  const mm = vma.mm;
  const haddr = pmdBase(vpn);
  const e = pmdEntry(k, mm, haddr);
  if (!e || e.kind !== 'huge') return false;
  if (e.pfn === HUGE_ZERO_PFN) {
    // do_huge_zero_wp_pmd(): a fresh zeroed THP replaces the huge zero page
    const head = folioAlloc(k, HPAGE_PMD_ORDER);
    yield* pmdLock(k, mm, haddr);
    k.eng.emit(E.PmdClear, mm, haddr);
    folioAddNewAnonRmap(k, head, k.vma(vmaId), haddr, true, true);
    k.eng.emit(E.PmdSet, mm, haddr, head, newAnonPteFlags(vma));
    yield* pmdUnlock(k, mm, haddr);
    return true;
  }
  yield* pmdLock(k, mm, haddr);
  const f = folioOf(k, e.pfn);
  let reuse = pageAnonExclusive(f, f.pfn);
  if (!reuse) {
    // not exclusive: decide under the folio lock (taken with the PMD lock dropped when busy)
    const lock = Kernel.folioLock(f.pfn);
    if (!k.eng.trylock(lock, 0, 'sleep')) {
      yield* pmdUnlock(k, mm, haddr);
      yield* k.eng.lock(lock, 0, 'sleep');
      yield* pmdLock(k, mm, haddr);
      const again = pmdEntry(k, mm, haddr);
      if (!again || again.kind !== 'huge' || again.pfn !== e.pfn) {
        // !pmd_same(): someone else handled it; the access is retried
        yield* pmdUnlock(k, mm, haddr);
        yield* k.eng.unlock(lock, 0, 'sleep');
        return true;
      }
    }
    const g = folioOf(k, e.pfn);
    if (pageAnonExclusive(g, g.pfn)) reuse = true;
    else if (g.refcount === 1) {
      folioMoveAnonRmap(k, g.pfn, vma);
      k.eng.emit(E.PageAnonExclusive, g.pfn, 1);
      reuse = true;
    }
    yield* k.eng.unlock(lock, 0, 'sleep');
  }
  if (reuse) {
    k.eng.emit(E.PmdFlags, mm, haddr, e.flags | PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
    yield* pmdUnlock(k, mm, haddr);
    return true;
  }
  yield* pmdUnlock(k, mm, haddr);
  yield* splitHugePmd(k, vma, haddr);
  return false;
}

/**
 * __split_huge_pmd(): the PMD becomes a table of 512 PTEs. A THP stays one large folio,
 * now PTE-mapped (each page mapped once more, one reference per PTE); the huge zero
 * page becomes 512 mappings of the 4 KiB zero page.
 */
export function* splitHugePmd(k: Kernel, vma: Vma, vpn: number): KGen<void> {
  const mm = vma.mm;
  const haddr = pmdBase(vpn);
  const e = pmdEntry(k, mm, haddr);
  if (!e || e.kind !== 'huge') return;
  yield* k.eng.span('__split_huge_pmd', () => splitHugePmdBody(k, mm, haddr, e), haddr);
}

/** body of splitHugePmd, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* splitHugePmdBody(k: Kernel, mm: number, haddr: number, e: HugePmd): KGen<void> {
  yield* pmdLock(k, mm, haddr);
  if (e.pfn === HUGE_ZERO_PFN) {
    // __split_huge_zero_page_pmd()
    k.eng.emit(E.PmdClear, mm, haddr);
    k.eng.emit(E.PtAlloc, mm, haddr);
    for (let i = 0; i < 512; i++) k.eng.emit(E.PteSet, mm, haddr + i, ZERO_PFN, PTE_SPECIAL | (e.flags & (PTE_YOUNG | PTE_SOFT_DIRTY)));
  } else {
    const f = folioOf(k, e.pfn);
    const exclusive = pageAnonExclusive(f, f.pfn);
    k.eng.emit(E.PmdSplit, mm, haddr);
    folioGet(k, f.pfn, 511);
    for (let i = 0; i < 512; i++) {
      k.eng.emit(E.FolioCount, f.pfn + i, FolioCounter.PageMapcount, 1);
      if (exclusive && i > 0) k.eng.emit(E.PageAnonExclusive, f.pfn + i, 1);
    }
    folioRemoveRmapPmd(k, f.pfn);
  }
  yield* pmdUnlock(k, mm, haddr);
}

/**
 * split_huge_pmd_if_needed() (vma_adjust_trans_huge): a VMA boundary at an unaligned
 * address inside a huge PMD splits that PMD.
 */
export function* splitHugePmdIfNeeded(k: Kernel, vmaId: number, addr: number): KGen<void> {
  if (addr % 512 === 0) return;
  const vma = k.vma(vmaId);
  if (!k.hasMm(vma.mm)) return;
  const e = pmdEntry(k, vma.mm, addr);
  if (e && e.kind === 'huge') yield* splitHugePmd(k, vma, addr);
}

/** move_huge_pmd(): both ends PMD-aligned with a whole PMD to go: the leaf moves as is. */
export function* moveHugePmd(k: Kernel, mm: number, from: number, to: number): KGen<boolean> {
  const dst = pmdEntry(k, mm, to);
  if (dst && (dst.kind !== 'table' || dst.ptes[512] !== 0)) return false;
  yield* pmdLock(k, mm, from);
  const sameLock = Kernel.pmdLock(mm, from) === Kernel.pmdLock(mm, to);
  if (!sameLock) yield* pmdLock(k, mm, to);
  const e = pmdEntry(k, mm, from)!;
  k.eng.emit(E.PmdMove, mm, from, to);
  if (e.kind === 'huge') k.eng.emit(E.PmdFlags, mm, to, e.flags | PTE_SOFT_DIRTY);
  if (!sameLock) yield* pmdUnlock(k, mm, to);
  yield* pmdUnlock(k, mm, from);
  return true;
}

/**
 * copy_huge_pmd() (fork): the child maps the same THP read-only, both lose
 * PageAnonExclusive. A pinned exclusive THP cannot be shared: the parent's PMD is
 * split and the caller copies at PTE level (returns false).
 */
export function* copyHugePmd(k: Kernel, dstMm: number, srcVma: Vma, haddr: number): KGen<boolean> {
  const src = pmdEntry(k, srcVma.mm, haddr);
  if (!src || src.kind !== 'huge') return false;
  yield* pmdLock(k, dstMm, haddr);
  yield* pmdLock(k, srcVma.mm, haddr);
  if (src.pfn === HUGE_ZERO_PFN) {
    k.eng.emit(E.PmdSet, dstMm, haddr, HUGE_ZERO_PFN, src.flags & ~PTE_YOUNG);
    yield* pmdUnlock(k, srcVma.mm, haddr);
    yield* pmdUnlock(k, dstMm, haddr);
    return true;
  }
  folioGet(k, src.pfn);
  if (!folioTryDupAnonRmapPmd(k, src.pfn)) {
    folioPut(k, src.pfn);
    yield* pmdUnlock(k, srcVma.mm, haddr);
    yield* pmdUnlock(k, dstMm, haddr);
    yield* splitHugePmd(k, srcVma, haddr);
    return false;
  }
  if (src.flags & PTE_WRITE) k.eng.emit(E.PmdFlags, srcVma.mm, haddr, src.flags & ~PTE_WRITE);
  k.eng.emit(E.PmdSet, dstMm, haddr, src.pfn, src.flags & ~(PTE_WRITE | PTE_YOUNG));
  yield* pmdUnlock(k, srcVma.mm, haddr);
  yield* pmdUnlock(k, dstMm, haddr);
  return true;
}

/** Result codes of MADV_COLLAPSE's scan (mm/khugepaged.c), enough to pick the errno. */
type Scan = 'succeed' | 'pmd_mapped' | 'pmd_null' | 'page_anon' | 'page_count' | 'fail';

/** hpage_collapse_scan_pmd() + collapse_huge_page() for one aligned block. */
function* collapseBlock(k: Kernel, vmaId: number, haddr: number): KGen<Scan> {
  const vma = k.vma(vmaId);
  const mm = vma.mm;
  const e = pmdEntry(k, mm, haddr);
  if (!e) return 'pmd_null';
  if (e.kind === 'huge') return 'pmd_mapped';
  for (let i = 0; i < 512; i++) {
    const pte = e.ptes[i];
    if (pte === 0 || isZeroPte(pte)) continue;
    if (pte < 0) continue; // swapped out: collapse swaps it in
    const f = folioOf(k, ptePfn(pte));
    if (!folioTestAnon(f)) return 'page_anon';
    if (f.pincount > 0) return 'page_count';
  }
  // collapse_huge_page(): a new THP replaces the small pages
  const head = folioAlloc(k, HPAGE_PMD_ORDER);
  yield* k.eng.lock(Kernel.anonVmaLock(k.anonVma(vma.anonVma).root), 0, 'sleep');
  yield* pmdLock(k, mm, haddr);
  yield* ptlLock(k, mm, haddr);
  const t = (pmdEntry(k, mm, haddr) as { ptes: Float64Array }).ptes.slice();
  for (let i = 0; i < 512; i++) {
    const pte = t[i];
    if (pte === 0) continue;
    k.eng.emit(E.PteClear, mm, haddr + i);
    if (pte < 0) {
      swapPut(k, Math.floor(-pte / 256));
      k.eng.emit(E.PageContent, head + i, 1); // swapped in and copied
      continue;
    }
    if (isZeroPte(pte)) continue;
    const pfn = ptePfn(pte);
    const f = folioOf(k, pfn);
    if (f.content[pfn - f.pfn]) k.eng.emit(E.PageContent, head + i, 1); // __collapse_huge_page_copy
    folioRemoveRmapPte(k, pfn);
    folioPut(k, f.pfn);
  }
  yield* ptlUnlock(k, mm, haddr);
  folioAddNewAnonRmap(k, head, k.vma(vmaId), haddr, true, true);
  k.eng.emit(E.PmdSet, mm, haddr, head, newAnonPteFlags(vma));
  yield* pmdUnlock(k, mm, haddr);
  yield* k.eng.unlock(Kernel.anonVmaLock(k.anonVma(vma.anonVma).root), 0, 'sleep');
  return 'succeed';
}

/** madvise_collapse() over [start, end) of one VMA: 0 or -errno. */
export function madviseCollapse(k: Kernel, vmaId: number, start: number, end: number): KGen<number> {
  return k.eng.span('madvise_collapse', () => madviseCollapseBody(k, vmaId, start, end), start, end);
}

/** body of madviseCollapse, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* madviseCollapseBody(k: Kernel, vmaId: number, start: number, end: number): KGen<number> {
  const vma = k.vma(vmaId);
  // thp_vma_allowable_order(TVA_FORCED_COLLAPSE): needs an anon_vma and a block that fits at vm_end
  if (!thpVmaAllowable(k, vma, true) || !vma.anonVma) return -22;
  if (!thpVmaSuitableOrder(vma, vma.end - 512, HPAGE_PMD_ORDER)) return -22;
  const hstart = Math.ceil(start / 512) * 512;
  const hend = end - (end % 512);
  if (hend < hstart) return -22;
  let thps = 0;
  let lastFail: Scan = 'succeed';
  for (let addr = hstart; addr < hend; addr += 512) {
    if (!thpVmaSuitableOrder(k.vma(vmaId), addr, HPAGE_PMD_ORDER)) {
      lastFail = 'fail';
      continue;
    }
    const r = yield* collapseBlock(k, vmaId, addr);
    if (r === 'succeed' || r === 'pmd_mapped') thps++;
    else lastFail = r;
  }
  if (thps === (hend - hstart) / 512) return 0;
  // madvise_collapse_errno()
  return lastFail === 'page_count' ? -11 : -22;
}


/**
 * split_folio() of an anon folio to order 0 (__folio_split): the caller holds the folio
 * lock and not the anon_vma root lock, which this takes. remap_page() with
 * RMP_USE_SHARED_ZEROPAGE then maps every subpage that holds only zeroes to the shared
 * zero page (try_to_map_unused_to_zeropage), unless the VMA is VM_LOCKED; pages left
 * unmapped are freed. A PMD-mapped folio has its PMD split first.
 */
export function* splitFolio(k: Kernel, head: number): KGen<void> {
  const f0 = folioOf(k, head);
  if (f0.order === 0) return;
  const root = k.anonVma(f0.mapping).root;
  yield* k.eng.span('split_folio', () => splitFolioBody(k, head, f0, root), head);
}

/** body of splitFolio, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* splitFolioBody(k: Kernel, head: number, f0: Folio, root: number): KGen<void> {
  yield* k.eng.lock(Kernel.anonVmaLock(root), 0, 'sleep');
  // the rmap walk: every PTE or PMD that maps a page of the folio
  const maps: { mm: number; vpn: number; pfn: number; locked: boolean }[] = [];
  for (const vmaId of k.anonVma(f0.mapping).vmas) {
    const v = k.vma(vmaId);
    const first = v.start + (f0.index - v.pgoff);
    const n = 2 ** f0.order;
    if (first + n <= v.start || first >= v.end) continue;
    const e = pmdEntry(k, v.mm, Math.max(first, v.start));
    if (e && e.kind === 'huge' && e.pfn === f0.pfn) yield* splitHugePmd(k, v, first);
    for (let i = 0; i < n; i++) {
      const a = first + i;
      if (a < v.start || a >= v.end) continue;
      const pte = getPteOf(k, v.mm, a);
      if (pte > 0 && ptePfn(pte) === f0.pfn + i) maps.push({ mm: v.mm, vpn: a, pfn: f0.pfn + i, locked: (v.flags & VM_LOCKED) !== 0 });
    }
  }
  const content = f0.content.slice();
  k.eng.emit(E.FolioSplit, head, 0);
  for (const m of maps) {
    if (content[m.pfn - head] || m.locked) continue;
    yield* ptlLock(k, m.mm, m.vpn);
    k.eng.emit(E.PteSet, m.mm, m.vpn, ZERO_PFN, PTE_SPECIAL | PTE_YOUNG);
    folioRemoveRmapPte(k, m.pfn);
    folioPut(k, m.pfn);
    yield* ptlUnlock(k, m.mm, m.vpn);
  }
  for (let i = 0; i < content.length; i++) {
    const g = k.eng.folioAtHead(head + i);
    if (g && g.refcount === 0) k.eng.emit(E.FolioFree, head + i);
  }
  yield* k.eng.unlock(Kernel.anonVmaLock(root), 0, 'sleep');
}

function getPteOf(k: Kernel, mm: number, vpn: number): number {
  const e = pmdEntry(k, mm, vpn);
  if (!e || e.kind !== 'table') return 0;
  return e.ptes[vpn % 512];
}
