/**
 * Kernel paths that race with syscalls, as the `concurrent` step's kernel-side steps
 * run them: the rmap walk of folio_referenced() (mm/rmap.c), GUP-fast (mm/gup.c),
 * reclaim's shrink_folio_list() (mm/vmscan.c), and a fault through the per-VMA lock
 * (lock_vma_under_rcu, mm/memory.c). Every lock is the kernel's; every access the
 * kernel makes without the lock that covers it (READ_ONCE, atomics, the lockless page
 * table walk) is an `eng.lockless()` point where another task may run first.
 */
import {
  ACCESS,
  E,
  FOLIO_SWAPCACHE,
  FolioCounter,
  MappingKind,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  pageAnonExclusive,
  pteFlags,
  ptePfn,
  type KGen,
} from '@mmsim/core';
import { Kernel } from './kernel.js';
import { handleMmFault, userAccess, type FaultOutcome } from './fault.js';
import { getPte, isZeroPte, ptlLock, ptlUnlock } from './pgtable.js';
import { folioMapcount, folioOf, folioRemoveRmapPte, folioTestAnon, folioTestKsm } from './rmap.js';

/** What folio_referenced() saw: PTEs mapping the page it found, and the page's mapcount. */
export interface ReferencedResult {
  found: number;
  mapcount: number;
}

/**
 * folio_lock_anon_vma_read(): READ_ONCE(folio->mapping), take its root's rwsem for
 * read, and check the mapping did not change meanwhile (else try again). Returns the
 * anon_vma (its root locked), or 0 when the folio is not anon.
 */
function* folioLockAnonVmaRead(k: Kernel, pfn: number): KGen<number> {
  for (;;) {
    yield* k.eng.lockless(ACCESS.Folio, pfn);
    const f = folioOf(k, pfn);
    const av = f.mapping;
    if (!av || f.mappingKind !== MappingKind.Anon || !k.liveAnonVma(av)) return 0;
    const root = k.anonVma(av).root;
    yield* k.eng.lock(Kernel.anonVmaLock(root), 1, 'sleep');
    if (folioOf(k, pfn).mapping === av) return av;
    yield* k.eng.unlock(Kernel.anonVmaLock(root), 1, 'sleep');
  }
}

/**
 * folio_referenced() of the folio mapped at vpn in mm: rmap_walk_anon() over the
 * anon_vma's interval tree, each candidate PTE looked at under its PTE lock
 * (page_vma_mapped_walk, map_pte + spin_lock).
 */
export function* folioReferenced(k: Kernel, mm: number, vpn: number): KGen<ReferencedResult> {
  return yield* k.eng.span('folio_referenced', () => folioReferencedBody(k, mm, vpn), vpn);
}

function* folioReferencedBody(k: Kernel, mm: number, vpn: number): KGen<ReferencedResult> {
  // the caller found the folio through a PTE it read without the PTE lock
  yield* k.eng.lockless(ACCESS.Pte, mm, vpn);
  const pte = getPte(k, mm, vpn);
  if (pte <= 0 || isZeroPte(pte)) return { found: 0, mapcount: 0 };
  const pfn = ptePfn(pte);
  const av = yield* folioLockAnonVmaRead(k, pfn);
  if (!av) return { found: 0, mapcount: 0 };
  const root = k.anonVma(av).root;
  const g = folioOf(k, pfn);
  const index = g.index + (pfn - g.pfn);
  let found = 0;
  for (const vmaId of k.anonVma(av).vmas.slice()) {
    const v = k.liveVma(vmaId);
    if (!v || index < v.pgoff || index >= v.pgoff + (v.end - v.start)) continue;
    const addr = v.start + (index - v.pgoff);
    yield* ptlLock(k, v.mm, addr);
    const e = k.hasMm(v.mm) ? getPte(k, v.mm, addr) : 0;
    if (e > 0 && ptePfn(e) === pfn) found++;
    yield* ptlUnlock(k, v.mm, addr);
  }
  // folio_mapcount(): an atomic read
  yield* k.eng.lockless(ACCESS.Folio, pfn);
  const h = folioOf(k, pfn);
  const mapcount = h.pageMapcount[pfn - h.pfn] + h.entireMapcount;
  yield* k.eng.unlock(Kernel.anonVmaLock(root), 1, 'sleep');
  return { found, mapcount };
}

/**
 * gup_fast_pte_range() over [start, start + pages): IRQs off, no lock at all. Each PTE
 * is read locklessly (ptep_get_lockless), its folio grabbed (try_grab_folio_fast: a
 * reference, and with FOLL_PIN a pin), then the PTE is read again: if it changed the
 * grab is undone and GUP-fast stops (the slow path would take over). With FOLL_PIN an
 * anon page must be exclusive (gup_must_unshare). Returns the pages grabbed.
 */
export function* gupFast(k: Kernel, mm: number, start: number, pages: number, pin: boolean): KGen<number> {
  return yield* k.eng.span('gup_fast', () => gupFastBody(k, mm, start, pages, pin), start, pages);
}

function* gupFastBody(k: Kernel, mm: number, start: number, pages: number, pin: boolean): KGen<number> {
  let nr = 0;
  for (let vpn = start; vpn < start + pages; vpn++) {
    yield* k.eng.lockless(ACCESS.Pte, mm, vpn);
    const pte = getPte(k, mm, vpn);
    // not present, special (the zero page is special: gup_fast leaves it to the slow path)
    if (pte <= 0 || isZeroPte(pte)) break;
    if (pin && !(pteFlags(pte) & PTE_WRITE)) break; // FOLL_WRITE on a read-only PTE
    const pfn = ptePfn(pte);
    const head = folioOf(k, pfn).pfn;
    // try_grab_folio_fast(): folio_try_get, then the pin (atomic_add on the counters)
    yield* k.eng.lockless(ACCESS.Folio, head);
    k.eng.emit(E.FolioCount, head, FolioCounter.Refcount, 1);
    if (pin) k.eng.emit(E.FolioCount, head, FolioCounter.Pincount, 1);
    // the PTE re-check: it changed under us (zap, move, unmap), drop the grab
    yield* k.eng.lockless(ACCESS.Pte, mm, vpn);
    const again = getPte(k, mm, vpn);
    const f = folioOf(k, pfn);
    const mustUnshare = pin && folioTestAnon(f) && !pageAnonExclusive(f, pfn);
    if (again !== pte || mustUnshare) {
      yield* k.eng.lockless(ACCESS.Folio, head);
      if (pin) k.eng.emit(E.FolioCount, head, FolioCounter.Pincount, -1);
      k.eng.emit(E.FolioCount, head, FolioCounter.Refcount, -1);
      break;
    }
    nr++;
  }
  return nr;
}

/**
 * shrink_folio_list() on the folios mapped in [start, start + pages) (the range stands
 * for reclaim's LRU list: the folios are taken from it up front, without locks). Each
 * one: folio_trylock (busy: kept), a small exclusive anon folio not in the swap cache
 * gets a swap slot (add_to_swap), then try_to_unmap() walks the rmap and replaces each
 * PTE by a swap entry under its PTE lock; a pinned folio (folio_try_share_anon_rmap_pte
 * fails) stays mapped. Returns the folios unmapped.
 */
export function* shrinkFolioList(k: Kernel, mm: number, start: number, pages: number): KGen<number> {
  return yield* k.eng.span('shrink_folio_list', () => shrinkFolioListBody(k, mm, start, pages), start, pages);
}

function* shrinkFolioListBody(k: Kernel, mm: number, start: number, pages: number): KGen<number> {
  const list: number[] = [];
  for (let vpn = start; vpn < start + pages; vpn++) {
    // the list is built from PTEs read without their lock (the model's LRU isolation)
    yield* k.eng.lockless(ACCESS.Pte, mm, vpn);
    const pte = getPte(k, mm, vpn);
    if (pte > 0 && !isZeroPte(pte)) list.push(folioOf(k, ptePfn(pte)).pfn);
  }
  let reclaimed = 0;
  for (const pfn of list) {
    const lock = Kernel.folioLock(pfn);
    if (!k.eng.trylock(lock, 0, 'sleep')) continue;
    if (yield* reclaimLockedFolio(k, pfn)) reclaimed++;
    yield* k.eng.unlock(lock, 0, 'sleep');
  }
  return reclaimed;
}

/** The locked folio: add_to_swap() and try_to_unmap(); true when nothing maps it any more. */
function* reclaimLockedFolio(k: Kernel, pfn: number): KGen<boolean> {
  const f = folioOf(k, pfn);
  if (!folioTestAnon(f) || folioTestKsm(f) || f.order > 0 || f.flags & FOLIO_SWAPCACHE) return false;
  if (folioMapcount(f) !== 1) return false; // a shared folio: the model swaps out exclusive ones only
  const av = yield* folioLockAnonVmaRead(k, pfn);
  if (!av) return false;
  const root = k.anonVma(av).root;
  const g = folioOf(k, pfn);
  let unmapped = false;
  for (const vmaId of k.anonVma(av).vmas.slice()) {
    const v = k.liveVma(vmaId);
    if (!v || g.index < v.pgoff || g.index >= v.pgoff + (v.end - v.start)) continue;
    const addr = v.start + (g.index - v.pgoff);
    yield* ptlLock(k, v.mm, addr);
    unmapped = tryToUnmapOne(k, v.mm, addr, pfn) || unmapped;
    yield* ptlUnlock(k, v.mm, addr);
  }
  yield* k.eng.unlock(Kernel.anonVmaLock(root), 1, 'sleep');
  return unmapped;
}

/** try_to_unmap_one() at one PTE (its lock held): the PTE becomes a swap entry. */
function tryToUnmapOne(k: Kernel, mm: number, vpn: number, pfn: number): boolean {
  const pte = k.hasMm(mm) ? getPte(k, mm, vpn) : 0;
  if (pte <= 0 || ptePfn(pte) !== pfn) return false;
  const f = folioOf(k, pfn);
  // folio_try_share_anon_rmap_pte(): a maybe-pinned exclusive page cannot be unmapped
  if (f.pincount > 0) return false;
  const exclusive = pageAnonExclusive(f, pfn);
  // add_to_swap(): a slot, and the folio joins the swap cache (its mapping's reference moves there)
  const slot = k.eng.ids.swap++;
  k.eng.emit(E.FolioFlags, pfn, FOLIO_SWAPCACHE, 0);
  k.eng.emit(E.SwapCache, slot, pfn);
  k.eng.emit(E.SwapCount, slot, 1);
  k.eng.emit(E.PteSwap, mm, vpn, slot, exclusive ? PTE_SWP_EXCLUSIVE : 0);
  folioRemoveRmapPte(k, pfn);
  if (exclusive) k.eng.emit(E.PageAnonExclusive, pfn, 0);
  return true;
}

/**
 * A user access from a thread that faults through the per-VMA lock: lock_vma_under_rcu()
 * (the VMA found without mmap_lock, an RCU walk, then vma_start_read: a read trylock of
 * the VMA lock, failing while a writer holds it), handle_mm_fault() under it; when the
 * VMA lock cannot be had, or the VMA has no anon_vma yet (vmf_anon_prepare wants
 * mmap_lock), the fault is retried under mmap_read_lock as 6.18 does.
 */
export function* userAccessPerVma(k: Kernel, mm: number, vpn: number, write: boolean): KGen<FaultOutcome> {
  // the MMU's walk: the PTE read with no lock at all
  yield* k.eng.lockless(ACCESS.Pte, mm, vpn);
  const pte = getPte(k, mm, vpn);
  if (pte > 0 && (!write || pteFlags(pte) & PTE_WRITE)) {
    const v = k.vmaAt(mm, vpn);
    if (v) return yield* userAccess(k, mm, vpn, write); // no fault: the access goes through
  }
  yield* k.eng.lockless(ACCESS.Structure);
  const vma = k.vmaAt(mm, vpn);
  if (vma && vma.anonVma) {
    const name = Kernel.vmaLock(vma.id);
    if (k.eng.trylock(name, 1, 'sleep')) {
      // vma_start_read() succeeded: is it still the VMA covering vpn?
      const again = k.liveVma(vma.id);
      if (again && again.start <= vpn && vpn < again.end && again.anonVma) {
        const out = yield* k.eng.span(write ? 'lock_vma_under_rcu:write' : 'lock_vma_under_rcu:read', () => handleMmFault(k, vma.id, vpn, write), vpn, write ? 1 : 0);
        yield* k.eng.unlock(name, 1, 'sleep');
        if (out === 'ok') return yield* userAccess(k, mm, vpn, write);
        return out;
      }
      yield* k.eng.unlock(name, 1, 'sleep');
    }
  }
  // fall back: the mmap_lock path
  return yield* userAccess(k, mm, vpn, write);
}
