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
import { getPte, gupFastIrqOff, isZeroPte, pteTableLive, ptlLock, ptlUnlock } from './pgtable.js';
import { folioMapcount, folioOf, folioPut, folioRemoveRmapPte, folioTestAnon, folioTestKsm, folioTryGet } from './rmap.js';

/**
 * What folio_referenced() saw: PTEs mapping the page it found, the page's mapcount when
 * it began (pra.mapcount, read before the walk) and when it ended (not a kernel value:
 * what the checker needs to tell a mapping that lasted the whole walk from one that
 * came or went during it).
 */
export interface ReferencedResult {
  found: number;
  mapcount: number;
  mapcountAfter: number;
}

const NOT_REFERENCED: ReferencedResult = { found: 0, mapcount: 0, mapcountAfter: 0 };

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
    // "If the folio is still mapped, then this anon_vma is still its anon_vma, and holding
    // the mutex ensures that it will not go away" (folio_lock_anon_vma_read): a munmap
    // that ran while the lock was awaited may have unmapped it and freed the anon_vma
    // (SLAB_TYPESAFE_BY_RCU keeps the memory): then there is nothing to walk
    const g = folioOf(k, pfn);
    const mapped = g.entireMapcount > 0 || g.pageMapcount.some((n) => n > 0);
    if (mapped && g.mapping === av && k.liveAnonVma(av)) return av;
    yield* k.eng.unlock(Kernel.anonVmaLock(root), 1, 'sleep');
    if (!mapped) return 0;
  }
}

/** The page's mapcount (folio_mapcount() of a small folio; a large one's page: its PTE maps plus the entire maps). */
function pageMapcount(k: Kernel, pfn: number): number {
  const f = folioOf(k, pfn);
  return f.pageMapcount[pfn - f.pfn] + f.entireMapcount;
}

/**
 * folio_referenced() of the folio mapped at vpn in mm, as shrink_folio_list() calls it
 * (mm/vmscan.c folio_check_references): on a folio isolate_lru_folios() took off the
 * LRU with a reference (folio_try_get; the range's PTE stands for the LRU list), so a
 * concurrent munmap cannot free it under the walk; dropped at the end (folio_put).
 * No folio lock for an anon folio. rmap_walk_anon() over the anon_vma's interval tree,
 * each candidate PTE looked at under its PTE lock (page_vma_mapped_walk, map_pte +
 * spin_lock); the walk stops once it found pra.mapcount mappings.
 */
export function* folioReferenced(k: Kernel, mm: number, vpn: number): KGen<ReferencedResult> {
  return yield* k.eng.span('folio_referenced', () => folioReferencedBody(k, mm, vpn), vpn);
}

function* folioReferencedBody(k: Kernel, mm: number, vpn: number): KGen<ReferencedResult> {
  // the caller found the folio through a PTE it read without the PTE lock
  yield* k.eng.lockless(ACCESS.Pte, mm, vpn);
  const pte = getPte(k, mm, vpn);
  if (pte <= 0 || isZeroPte(pte)) return NOT_REFERENCED;
  const pfn = ptePfn(pte);
  yield* k.eng.lockless(ACCESS.Folio, pfn);
  const head = folioTryGet(k, pfn);
  if (!head) return NOT_REFERENCED;
  const r = yield* referencedWalk(k, pfn);
  folioPut(k, head);
  return r;
}

/** The walk of a folio the caller holds a reference on. */
function* referencedWalk(k: Kernel, pfn: number): KGen<ReferencedResult> {
  // pra.mapcount = folio_mapcount(folio): an atomic read, before the walk
  const mapcount = pageMapcount(k, pfn);
  if (!mapcount) return { found: 0, mapcount: 0, mapcountAfter: 0 };
  const av = yield* folioLockAnonVmaRead(k, pfn);
  if (!av) return { found: 0, mapcount, mapcountAfter: pageMapcount(k, pfn) };
  const root = k.anonVma(av).root;
  const g = folioOf(k, pfn);
  const index = g.index + (pfn - g.pfn);
  let found = 0;
  for (const vmaId of k.anonVma(av).vmas.slice()) {
    // folio_referenced_one(): "if (!pra->mapcount) return false" ends the walk
    if (found === mapcount) break;
    const v = k.liveVma(vmaId);
    if (!v || index < v.pgoff || index >= v.pgoff + (v.end - v.start)) continue;
    const addr = v.start + (index - v.pgoff);
    yield* ptlLock(k, v.mm, addr);
    const e = k.hasMm(v.mm) ? getPte(k, v.mm, addr) : 0;
    if (e > 0 && ptePfn(e) === pfn) found++;
    yield* ptlUnlock(k, v.mm, addr);
  }
  // the mapcount again, still under the anon_vma lock (what the checker compares)
  yield* k.eng.lockless(ACCESS.Folio, pfn);
  const mapcountAfter = pageMapcount(k, pfn);
  yield* k.eng.unlock(Kernel.anonVmaLock(root), 1, 'sleep');
  return { found, mapcount, mapcountAfter };
}

/**
 * get_user_pages_fast() / pin_user_pages_fast() (mm/gup.c gup_fast) over [start, start +
 * pages), as a driver's caller (io_uring buffers, vhost, O_DIRECT) runs it: IRQs off
 * around the walk (local_irq_save, which holds off page-table frees: gupFastIrqOff), no
 * lock at all. gup_fast_pte_range(): each PTE is read locklessly (ptep_get_lockless),
 * its folio grabbed (try_grab_folio_fast: folio_try_get, which fails on a folio whose
 * refcount already dropped to zero, then with FOLL_PIN the pin), then the PTE is read
 * again: if it changed the grab is undone and GUP-fast stops (the slow path would take
 * over). With FOLL_PIN an anon page must be exclusive (gup_must_unshare). FOLL_GET
 * (pin: false) leaves the caller a plain reference, FOLL_PIN a pin; both are kept (the
 * caller unpins or puts them later, after the step). Returns the pages grabbed.
 */
export function* gupFast(k: Kernel, mm: number, start: number, pages: number, pin: boolean): KGen<number> {
  return yield* k.eng.span('gup_fast', () => gupFastBody(k, mm, start, pages, pin), start, pages);
}

function* gupFastBody(k: Kernel, mm: number, start: number, pages: number, pin: boolean): KGen<number> {
  let seq = 0;
  if (pin) {
    // raw_seqcount_try_begin(&mm->write_protect_seq): a writer (fork's copy_page_range) is in
    yield* k.eng.lockless(ACCESS.Structure);
    seq = k.mm(mm).wpSeq;
    if (seq & 1) return 0;
  }
  const irqOff = gupFastIrqOff(mm);
  yield* k.eng.lock(irqOff, 1, 'sleep'); // local_irq_save()
  const grabbed: number[] = [];
  for (let vpn = start; vpn < start + pages; vpn++) {
    yield* k.eng.lockless(ACCESS.Pte, mm, vpn);
    const pte = getPte(k, mm, vpn);
    // not present, special (the zero page is special: gup_fast leaves it to the slow path)
    if (pte <= 0 || isZeroPte(pte)) break;
    if (pin && !(pteFlags(pte) & PTE_WRITE)) break; // FOLL_WRITE on a read-only PTE
    const pfn = ptePfn(pte);
    // try_grab_folio_fast(): folio_try_get (an atomic on the folio the PTE pointed to,
    // which a concurrent zap may have freed meanwhile), then the pin
    yield* k.eng.lockless(ACCESS.Folio, pfn);
    const head = folioTryGet(k, pfn);
    if (!head) break;
    if (pin) k.eng.emit(E.FolioCount, head, FolioCounter.Pincount, 1);
    // the PTE re-check: it changed under us (zap, move, unmap), drop the grab
    yield* k.eng.lockless(ACCESS.Pte, mm, vpn);
    const again = getPte(k, mm, vpn);
    const f = folioOf(k, head);
    const mustUnshare = pin && folioTestAnon(f) && !pageAnonExclusive(f, pfn);
    if (again !== pte || mustUnshare) {
      // gup_put_folio(): the last reference frees the folio (its zap already ran)
      yield* k.eng.lockless(ACCESS.Folio, head);
      if (pin) k.eng.emit(E.FolioCount, head, FolioCounter.Pincount, -1);
      folioPut(k, head);
      break;
    }
    grabbed.push(head);
  }
  yield* k.eng.unlock(irqOff, 1, 'sleep'); // local_irq_restore()
  if (pin && grabbed.length) {
    // read_seqcount_retry(): a write-protect section ran meanwhile, so a pin may have
    // been taken after its checks: gup_fast_unpin_user_pages() and fail
    yield* k.eng.lockless(ACCESS.Structure);
    if (k.mm(mm).wpSeq !== seq) {
      for (const head of grabbed) {
        yield* k.eng.lockless(ACCESS.Folio, head);
        k.eng.emit(E.FolioCount, head, FolioCounter.Pincount, -1);
        folioPut(k, head);
      }
      return 0;
    }
  }
  return grabbed.length;
}

/**
 * shrink_folio_list() on the folios mapped in [start, start + pages) (the range stands
 * for reclaim's LRU list: isolate_lru_folios() takes them from it up front, each with a
 * reference, folio_try_get, so that a concurrent munmap cannot free one under reclaim).
 * Each one: folio_trylock (busy: kept), a small exclusive anon folio not in the swap
 * cache gets a swap slot (add_to_swap), then try_to_unmap() walks the rmap and replaces
 * each PTE by a swap entry under its PTE lock (try_to_unmap_one); a pinned folio
 * (folio_try_share_anon_rmap_pte fails) stays mapped. Then the isolation reference is
 * dropped (folio_putback_lru, or the free of a folio nothing maps any more). Returns
 * the folios unmapped.
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
    if (pte <= 0 || isZeroPte(pte)) continue;
    const head = folioOf(k, ptePfn(pte)).pfn;
    if (list.includes(head)) continue; // a large folio is isolated once
    if (folioTryGet(k, head)) list.push(head);
  }
  let reclaimed = 0;
  for (const pfn of list) {
    const lock = Kernel.folioLock(pfn);
    if (k.eng.trylock(lock, 0, 'sleep')) {
      if (yield* reclaimLockedFolio(k, pfn)) reclaimed++;
      yield* k.eng.unlock(lock, 0, 'sleep');
    }
    folioPut(k, pfn);
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

/**
 * try_to_unmap_one() at one PTE, its lock held: page_vma_mapped_walk() re-reads the PTE
 * under the lock (it may have changed since reclaim looked: zapped, moved, faulted
 * anew), and only a PTE that still maps the folio becomes a swap entry.
 */
function tryToUnmapOne(k: Kernel, mm: number, vpn: number, pfn: number): boolean {
  const pte = k.hasMm(mm) && pteTableLive(k, mm, vpn) ? getPte(k, mm, vpn) : 0;
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
