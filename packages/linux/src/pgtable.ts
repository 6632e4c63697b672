/**
 * Page-table helpers: allocation, PTE reads and writes, the page-table locks, and
 * zapping a range (mm/memory.c unmap_page_range, zap_pte_range, zap_huge_pmd) and
 * freeing tables (free_pgtables).
 */
import {
  ACCESS,
  E,
  FOLIO_SWAPCACHE,
  HUGE_ZERO_PFN,
  PTE_SPECIAL,
  pmdBase,
  pteFlags,
  ptePfn,
  pteSwapSlot,
  type KGen,
  type PmdEntry,
  type Vma,
} from '@mmsim/core';
import { Kernel } from './kernel.js';
import { folioOf, folioPut, folioRemoveRmapPmd, folioRemoveRmapPte } from './rmap.js';
// a cycle with huge_memory.ts: only called at run time, never at module evaluation
import { splitHugePmd } from './huge_memory.js';

export function pmdEntry(k: Kernel, mm: number, vpn: number): PmdEntry | undefined {
  return k.pmdOf(mm, vpn);
}

/** ptep_get(): the PTE at vpn (0: none, or no PTE table); a read the explorer sees. */
export function getPte(k: Kernel, mm: number, vpn: number): number {
  return k.pteOf(mm, vpn);
}

/** __pte_alloc(): a PTE table for the PMD covering vpn, if it has none. */
export function pteAlloc(k: Kernel, mm: number, vpn: number): void {
  if (!k.pmdOf(mm, vpn)) k.eng.emit(E.PtAlloc, mm, pmdBase(vpn));
}

/* The page-table locks: plain functions handing back the engine's lock iterator
 * (`yield* ptlLock(...)`), so that no generator object is made per call. */
export function ptlLock(k: Kernel, mm: number, vpn: number): KGen<void> {
  return k.eng.lock(Kernel.ptl(mm, vpn), 0, 'spin');
}
export function ptlUnlock(k: Kernel, mm: number, vpn: number): KGen<void> {
  return k.eng.unlock(Kernel.ptl(mm, vpn), 0, 'spin');
}
export function pmdLock(k: Kernel, mm: number, vpn: number): KGen<void> {
  return k.eng.lock(Kernel.pmdLock(mm, vpn), 0, 'spin');
}
export function pmdUnlock(k: Kernel, mm: number, vpn: number): KGen<void> {
  return k.eng.unlock(Kernel.pmdLock(mm, vpn), 0, 'spin');
}

/**
 * After ptlLock(): is vpn's PTE table still there? pte_offset_map_lock() returns NULL
 * when it is gone (freed by MADV_DONTNEED's CONFIG_PT_RECLAIM, or replaced by a huge
 * PMD) while a fault ran unlocked; the fault then backs off and is retried.
 */
export function pteTableLive(k: Kernel, mm: number, vpn: number): boolean {
  const e = pmdEntry(k, mm, vpn);
  return !!e && e.kind === 'table';
}

export function isZeroPte(pte: number): boolean {
  return pte > 0 && (pteFlags(pte) & PTE_SPECIAL) !== 0;
}

export function isHugeZeroPmd(e: PmdEntry | undefined): boolean {
  return !!e && e.kind === 'huge' && e.pfn === HUGE_ZERO_PFN;
}

/**
 * swap_free() of one reference to a swap slot; the last one also drops the swap cache's
 * folio (free_swap_and_cache), which goes if nothing maps it.
 */
export function swapPut(k: Kernel, slot: number): void {
  const users = k.swapCount(slot);
  k.eng.emit(E.SwapCount, slot, -1);
  if (users - 1 > 0) return;
  const pfn = k.swapCacheFolio(slot);
  if (!pfn) return;
  k.eng.emit(E.SwapCache, slot, 0);
  k.eng.emit(E.FolioFlags, pfn, 0, FOLIO_SWAPCACHE);
  folioPut(k, pfn);
}

/** Drop one present PTE's mapping: rmap and the reference it held (zap_present_ptes). */
function zapPresentPte(k: Kernel, pte: number): void {
  if (isZeroPte(pte)) return; // vm_normal_page() is NULL: no rmap, no reference
  const pfn = ptePfn(pte);
  const f = folioOf(k, pfn);
  folioRemoveRmapPte(k, pfn);
  folioPut(k, f.pfn);
}

/**
 * zap_pte_range() over [start, end) of one PTE table, under its lock.
 * Swap entries drop their swap reference.
 */
export function* zapPteRange(k: Kernel, mm: number, start: number, end: number): KGen<void> {
  yield* ptlLock(k, mm, start);
  const e = pmdEntry(k, mm, start);
  if (e && e.kind === 'table' && e.ptes[512] > 0) {
    const base = pmdBase(start);
    for (let vpn = start; vpn < end; vpn++) {
      const pte = e.ptes[vpn - base];
      if (pte === 0) continue;
      yield* k.eng.lockless(ACCESS.Pte, mm, vpn); // ptep_get_and_clear_full: GUP-fast reads it locklessly
      k.eng.emit(E.PteClear, mm, vpn);
      if (pte > 0) zapPresentPte(k, pte);
      else swapPut(k, pteSwapSlot(pte));
    }
  }
  yield* ptlUnlock(k, mm, start);
}

/** zap_huge_pmd(): a whole PMD-mapped THP (or the huge zero page) goes. */
export function* zapHugePmd(k: Kernel, mm: number, vpn: number): KGen<void> {
  yield* pmdLock(k, mm, vpn);
  const e = pmdEntry(k, mm, vpn)!;
  if (e.kind === 'huge') {
    k.eng.emit(E.PmdClear, mm, pmdBase(vpn));
    if (e.pfn !== HUGE_ZERO_PFN) {
      folioRemoveRmapPmd(k, e.pfn);
      folioPut(k, e.pfn);
    }
  }
  yield* pmdUnlock(k, mm, vpn);
}

/** unmap_page_range(): every mapping of vma in [start, end). */
export function* zapPageRange(k: Kernel, vma: Vma, start: number, end: number): KGen<void> {
  const mm = vma.mm;
  let vpn = start;
  while (vpn < end) {
    const base = pmdBase(vpn);
    const next = Math.min(end, base + 512);
    const e = pmdEntry(k, mm, vpn);
    if (e) {
      if (e.kind === 'huge') {
        if (next - vpn !== 512) {
          yield* splitHugePmd(k, vma, vpn);
          yield* zapPteRange(k, mm, vpn, next);
        } else yield* zapHugePmd(k, mm, vpn);
      } else if (e.ptes[512] > 0) yield* zapPteRange(k, mm, vpn, next);
    }
    vpn = next;
  }
}

/**
 * free_pgtables(): free the PTE tables wholly inside [floor, ceiling) that cover
 * [start, end) (floor: the previous VMA's end, ceiling: the next VMA's start).
 */
export function freePgtables(k: Kernel, mm: number, start: number, end: number, floor: number, ceiling: number): void {
  let lo = pmdBase(start);
  if (lo < floor) lo += 512;
  // walk the tables that exist, not the addresses: a range may span terabytes
  const pgd = k.mm(mm).pgd;
  const bases: number[] = [];
  for (const g of Object.keys(pgd)) {
    const pud = pgd[+g];
    for (const u of Object.keys(pud)) {
      const pmdt = pud[+u];
      for (const p of Object.keys(pmdt)) {
        const base = ((+g * 512 + +u) * 512 + +p) * 512;
        if (base >= lo && base < end && base + 512 <= ceiling) bases.push(base);
      }
    }
  }
  for (const base of bases.sort((a, b) => a - b)) {
    const e = pmdEntry(k, mm, base);
    if (e && e.kind === 'table' && e.ptes[512] === 0) k.eng.emit(E.PtFree, mm, base);
  }
}

/**
 * The IRQs-off section of GUP-fast on mm (gup_fast: local_irq_save() around the
 * lockless walk), as a shared hold: not a lock the kernel has, but what freeing a page
 * table waits for (tlb_remove_table_sync_one()'s IPI is answered only once interrupts
 * are on again). Of the 'sleep' kind so that it holds off no quiescent point of the
 * racing rmap walker (those wait for spinlocks).
 */
export function gupFastIrqOff(mm: number): string {
  return `irq_off:${mm}`;
}

/**
 * tlb_remove_table_sync_one() after page tables of mm were freed: wait until no GUP-fast
 * is inside its IRQs-off walk. Nothing to wait for, nothing happens (no event).
 */
export function* tlbRemoveTableSync(k: Kernel, mm: number): KGen<void> {
  const name = gupFastIrqOff(mm);
  if (!k.eng.lockState(name)) return;
  yield* k.eng.lock(name, 0, 'sleep');
  yield* k.eng.unlock(name, 0, 'sleep');
}

/** The VMAs right before and after [start, end) in mm: floor and ceiling for free_pgtables. */
export function gapBounds(k: Kernel, mm: number, start: number, end: number): { floor: number; ceiling: number } {
  // the last VMA ending at or below start, and the first starting at or above end
  const t = k.mm(mm).vmas;
  const r = k.findVmaRank(mm, start);
  const floor = r > 0 ? k.vma(t.idAt(r - 1)!).end : 0;
  const next = k.vmaStartingFrom(mm, end);
  return { floor, ceiling: next ? next.start : Number.MAX_SAFE_INTEGER };
}
