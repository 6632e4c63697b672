/**
 * Page faults (mm/memory.c): what one user access does. Read faults map the zero
 * page; write faults allocate (anon_vma_prepare, folio_add_new_anon_rmap) or break
 * COW (do_wp_page: reuse when exclusive, else wp_page_copy); shared anonymous memory
 * faults through its shmem object; THP faults go to huge_memory.ts.
 */
import {
  ACCESS,
  E,
  FOLIO_KSM,
  FOLIO_SWAPCACHE,
  FolioCounter,
  HPAGE_PMD_ORDER,
  MappingKind,
  PTE_DIRTY,
  PTE_SPECIAL,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  PTE_YOUNG,
  VM_EXEC,
  VM_READ,
  VM_WRITE,
  ZERO_PFN,
  folioMapcount,
  pageAnonExclusive,
  pmdBase,
  pteFlags,
  ptePfn,
  pteSwapSlot,
  type Folio,
  type KGen,
  finished,
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
  folioRemoveRmapPte,
  folioTestAnon,
  folioTestKsm,
  linearPageIndex,
} from './rmap.js';
import { getPte, isZeroPte, pmdEntry, pteAlloc, pteTableLive, ptlLock, ptlUnlock, swapPut } from './pgtable.js';
import { doHugePmdAnonymousPage, doHugePmdWpPage, newAnonPteFlags, thpVmaAllowable, thpVmaSuitableOrder } from './huge_memory.js';
import { vmaLookupIn } from './lookup.js';

export type FaultOutcome = 'ok' | 'SIGSEGV' | 'SIGBUS';

/** a fault handled without kernel code to run (a finished KGen is stateless: one serves all) */
const FAULT_OK = finished<FaultOutcome>('ok');

/** Does the MMU let this access through without a fault? */
function accessOk(k: Kernel, mm: number, vpn: number, write: boolean): boolean {
  const pte = getPte(k, mm, vpn);
  if (pte <= 0) return false;
  return !write || (pteFlags(pte) & PTE_WRITE) !== 0;
}

/** access_error() (arch/x86/mm/fault.c) */
function accessError(vma: Vma, write: boolean): boolean {
  if (write) return (vma.flags & VM_WRITE) === 0;
  return (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0;
}

/**
 * One user access of page vpn: nothing if the PTE allows it, else the fault. Returns
 * the signal the task would get, if any.
 */
export function userAccess(k: Kernel, mm: number, vpn: number, write: boolean): KGen<FaultOutcome> {
  return new UserAccess(k, mm, vpn, write) as unknown as KGen<FaultOutcome>;
}

/**
 * userAccess and do_user_addr_fault() as one hand-written iterator rather than two
 * generators and a span closure: it runs once per replayed fault, and those were most
 * of what a fault allocated. Like a generator it does nothing until first resumed (a
 * task made now may run after others changed the page tables). Its steps:
 *
 *   the PTE and the VMA allow the access       -> done (a write marks the page written)
 *   span handle_mm_fault:{read,write} {
 *     do_user_addr_fault(): mmap_read_lock()    (LOCK: may block)
 *       vma = lookup; bad access -> SIGSEGV
 *       else handle_mm_fault()                  (FAULT: may block, inside)
 *       fault event; mmap_read_unlock()         (UNLOCK: a scheduling point)
 *   }
 *   then the same mark of a written page
 */
const Step = { Start: 0, Lock: 1, Fault: 2, Unlock: 3, Done: 4, Walk: 5 } as const;

/**
 * How often one access faults again after a fault that backed off (the kernel retries
 * without end; each retry here follows another task's progress, a bound keeps a model
 * bug from spinning forever).
 */
const MAX_FAULT_RETRIES = 8;

class UserAccess {
  private step: number = Step.Start;
  /** what the current step waits for (the lock, the fault's handler, the unlock) */
  private cur: KGen<unknown> | null = null;
  private out: FaultOutcome = 'ok';
  /** the handle_mm_fault span (opened and closed here as Engine.span would) */
  private span = 0;
  /** faults retried after one that backed off */
  private retries = 0;
  constructor(
    private readonly k: Kernel,
    private readonly mm: number,
    private readonly vpn: number,
    private readonly write: boolean,
  ) {}
  [Symbol.iterator](): this {
    return this;
  }
  next(): IteratorResult<number, FaultOutcome> {
    // resumed after it returned, it stays returned (as a generator does)
    if (this.step === Step.Done) return { done: true, value: this.out };
    if (this.step === Step.Start) {
      // the MMU's walk reads the PTE with no lock: a scheduling point among tasks
      this.step = Step.Walk;
      this.cur = this.k.eng.lockless(ACCESS.Pte, this.mm, this.vpn);
    }
    return this.run(false, undefined);
  }
  throw(e: unknown): IteratorResult<number, FaultOutcome> {
    if (this.step === Step.Start || this.step === Step.Walk || this.step === Step.Done) throw e;
    return this.run(true, e);
  }
  return(v: FaultOutcome): IteratorResult<number, FaultOutcome> {
    this.cur?.return(undefined);
    return { done: true, value: v };
  }
  /** Resume the current step (or throw into it), and go on through the steps that finish. */
  private run(thrown: boolean, e: unknown): IteratorResult<number, FaultOutcome> {
    const { k, mm, vpn, write } = this;
    try {
      for (;;) {
        const r = thrown ? this.cur!.throw(e) : this.cur!.next();
        thrown = false;
        if (!r.done) return r as IteratorYieldResult<number>;
        if (this.step === Step.Walk) {
          // a PTE only lets the access through if the VMA allows it too: mprotect(PROT_NONE)
          // leaves present PTEs that are not user-accessible (protnone)
          const vma0 = k.vmaAt(mm, vpn);
          if (vma0 && !accessError(vma0, write) && accessOk(k, mm, vpn, write)) return this.done('ok');
          this.span = k.eng.spanOpen(write ? 'handle_mm_fault:write' : 'handle_mm_fault:read', vpn, write ? 1 : 0);
          this.step = Step.Lock;
          this.cur = k.eng.lock(Kernel.mmapLock(mm), 1, 'sleep');
        } else if (this.step === Step.Lock) {
          const vma = vmaLookupIn(k, mm, vpn);
          if (!vma || accessError(vma, write)) {
            this.out = 'SIGSEGV';
            this.unlock();
          } else {
            this.step = Step.Fault;
            this.cur = handleMmFault(k, vma.id, vpn, write);
          }
        } else if (this.step === Step.Fault) {
          this.out = r.value as FaultOutcome;
          this.unlock();
        } else break;
      }
    } catch (err) {
      k.eng.abortSpan(this.span);
      throw err;
    }
    k.eng.spanClose(this.span, 0);
    // the fault returned without making the access possible (it lost a race under the
    // PTE lock and backed off, as the kernel's faults return 0): the CPU retries the
    // access, and faults again if it still cannot go through
    if (this.out === 'ok' && this.retries < MAX_FAULT_RETRIES) {
      this.retries++;
      this.step = Step.Start;
      return this.next();
    }
    return this.done(this.out);
  }
  /** the fault event, then mmap_read_unlock() */
  private unlock(): void {
    const { k, mm, vpn, write } = this;
    k.eng.emit(E.Fault, mm, vpn, write ? 1 : 0, this.out === 'ok' ? 0 : 1);
    this.step = Step.Unlock;
    this.cur = k.eng.unlock(Kernel.mmapLock(mm), 1, 'sleep');
  }
  private done(out: FaultOutcome): IteratorReturnResult<FaultOutcome> {
    this.step = Step.Done;
    this.out = out;
    if (out === 'ok' && this.write) markWritten(this.k, this.mm, this.vpn);
    return { done: true, value: out };
  }
}

/** The user's store: the page now holds data (what a later folio split must keep). */
function markWritten(k: Kernel, mm: number, vpn: number): void {
  const pte = getPte(k, mm, vpn);
  if (pte <= 0 || isZeroPte(pte)) return;
  const pfn = ptePfn(pte);
  const f = folioOf(k, pfn);
  if (!f.content[pfn - f.pfn]) k.eng.emit(E.PageContent, pfn, 1);
}

/** __handle_mm_fault(): PMD level first, then handle_pte_fault() */
export function handleMmFault(k: Kernel, vmaId: number, vpn: number, write: boolean, forceThp = false): KGen<FaultOutcome> {
  // a dispatcher, not a generator: the PTE-level path hands back its handler's own
  // KGen (each generator in the chain costs an object of ~300 bytes per fault)
  const vma = k.vma(vmaId);
  const pmd = pmdEntry(k, vma.mm, vpn);
  if (!pmd && !vma.file && thpVmaAllowable(k, vma, forceThp)) return hugePmdFault(k, vmaId, vpn, write, false);
  if (pmd && pmd.kind === 'huge') return write && !(pmd.flags & PTE_WRITE) ? hugePmdFault(k, vmaId, vpn, write, true) : FAULT_OK;
  return handlePteFault(k, vmaId, vpn, write);
}

/** __handle_mm_fault()'s PMD level: a THP fault, or a write to a read-only huge PMD; PTE level if either falls back */
function* hugePmdFault(k: Kernel, vmaId: number, vpn: number, write: boolean, wp: boolean): KGen<FaultOutcome> {
  if (!wp) {
    if (yield* doHugePmdAnonymousPage(k, vmaId, vpn, write)) return 'ok';
  } else if (yield* doHugePmdWpPage(k, vmaId, vpn)) return 'ok';
  // fell back (for a write fault: the PMD was split, COW at PTE level)
  return yield* handlePteFault(k, vmaId, vpn, write);
}

/** handle_pte_fault() */
function handlePteFault(k: Kernel, vmaId: number, vpn: number, write: boolean): KGen<FaultOutcome> {
  const vma = k.vma(vmaId);
  const pte = getPte(k, vma.mm, vpn);
  if (pte === 0) return vma.file ? shmemFault(k, vmaId, vpn, write) : doAnonymousPage(k, vmaId, vpn, write);
  if (pte < 0) return doSwapPage(k, vmaId, vpn, write, pte);
  if (write && !(pteFlags(pte) & PTE_WRITE)) return doWpPage(k, vmaId, vpn, pte);
  return FAULT_OK;
}

/** The mTHP order alloc_anon_folio() picks: the highest enabled order whose block is free. */
function anonFolioOrder(k: Kernel, vma: Vma, vpn: number): number {
  if (k.config.mthpOrders.length === 0) return 0;
  const orders = k.config.mthpOrders.filter((o) => o > 0 && o < HPAGE_PMD_ORDER).sort((a, b) => b - a);
  if (!orders.length || !thpVmaAllowable(k, vma, true)) return 0;
  for (const order of orders) {
    if (!thpVmaSuitableOrder(vma, vpn, order)) continue;
    const n = 2 ** order;
    const base = vpn - (vpn % n);
    let free = true;
    for (let i = 0; i < n && free; i++) if (getPte(k, vma.mm, base + i) !== 0) free = false;
    if (free) return order;
  }
  return 0;
}

/**
 * do_anonymous_page(): zero page on read, a new exclusive folio on write — and on read
 * too where the zero page is forbidden (KernelConfig.faultZeroPage false): the folio path
 * makes the same PTE for both (writable and dirty when VM_WRITE).
 */
function doAnonymousPage(k: Kernel, vmaId: number, vpn: number, write: boolean): KGen<FaultOutcome> {
  return k.eng.span('do_anonymous_page', doAnonymousPageBody(k, vmaId, vpn, write), vpn);
}

/** doAnonymousPage's body, inside its span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doAnonymousPageBody(k: Kernel, vmaId: number, vpn: number, write: boolean): KGen<FaultOutcome> {
  const mm = k.vma(vmaId).mm;
  pteAlloc(k, mm, vpn);
  if (!write && k.config.faultZeroPage) {
    yield* ptlLock(k, mm, vpn);
    // vmf_pte_changed(): another thread's fault mapped it first, or the table went
    // (pte_offset_map_lock() NULL): nothing to do, the access is retried
    if (pteTableLive(k, mm, vpn) && getPte(k, mm, vpn) === 0) k.eng.emit(E.PteSet, mm, vpn, ZERO_PFN, PTE_SPECIAL | PTE_YOUNG);
    yield* ptlUnlock(k, mm, vpn);
    return 'ok' as FaultOutcome;
  }
  yield* anonVmaPrepare(k, vmaId);
  const vma = k.vma(vmaId);
  const order = anonFolioOrder(k, vma, vpn);
  const n = 2 ** order;
  const base = vpn - (vpn % n);
  const head = folioAlloc(k, order);
  yield* ptlLock(k, mm, vpn);
  if (!pteTableLive(k, mm, vpn) || !pteRangeNone(k, mm, base, n)) {
    // vmf_pte_changed() / !pte_range_none(): lost the race (a thread's fault mapped the
    // page, DONTNEED freed the table): release the new folio, the access is retried
    yield* ptlUnlock(k, mm, vpn);
    folioPut(k, head);
    return 'ok' as FaultOutcome;
  }
  if (n > 1) folioGet(k, head, n - 1);
  folioAddNewAnonRmap(k, head, vma, base, true);
  const flags = newAnonPteFlags(vma);
  for (let i = 0; i < n; i++) k.eng.emit(E.PteSet, mm, base + i, head + i, flags);
  yield* ptlUnlock(k, mm, vpn);
  return 'ok' as FaultOutcome;
}

/** pte_range_none(): no PTE of [base, base + n) is set */
function pteRangeNone(k: Kernel, mm: number, base: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (getPte(k, mm, base + i) !== 0) return false;
  return true;
}

/**
 * Mappings of folio f in mm (a PTE walk of the folio's range in the VMAs that could map
 * it: those linked to its anon_vma, found through the anon_vma as an rmap walk does,
 * not by a walk over every VMA of the mm).
 */
function mappingsInMm(k: Kernel, f: Folio, vma: Vma): number {
  let n = 0;
  const av = k.liveAnonVma(f.mapping);
  const ids = av ? av.vmas.slice() : [];
  if (vma.anonVma === f.mapping && !ids.includes(vma.id)) ids.push(vma.id);
  for (const id of ids) {
    const v = k.vma(id);
    if (v.mm !== vma.mm) continue;
    const first = v.start + (f.index - v.pgoff);
    for (let i = 0; i < 2 ** f.order; i++) {
      const a = first + i;
      if (a < v.start || a >= v.end) continue;
      const pte = getPte(k, v.mm, a);
      if (pte > 0 && ptePfn(pte) === f.pfn + i) n++;
    }
  }
  return n;
}

/** wp_can_reuse_anon_folio() */
function wpCanReuseAnonFolio(k: Kernel, f: Folio, vma: Vma): boolean {
  if (f.order > 0) {
    // __wp_can_reuse_large_anon_folio(): mapped more than once, only by this mm, no extra refs
    let large = f.entireMapcount;
    for (const c of f.pageMapcount) large += c;
    if (large <= 1) return false;
    if (mappingsInMm(k, f, vma) !== large) return false;
    return large === f.refcount;
  }
  if (folioTestKsm(f) || f.refcount > 3) return false;
  if (f.refcount > 1) return false;
  if (!k.eng.trylock(Kernel.folioLock(f.pfn), 0, 'sleep')) return false;
  folioMoveAnonRmap(k, f.pfn, vma);
  return true;
}

/**
 * do_wp_page(): write to a present read-only PTE, whose value handle_pte_fault() read
 * unlocked (`orig`)
 */
function doWpPage(k: Kernel, vmaId: number, vpn: number, orig: number): KGen<FaultOutcome> {
  return k.eng.span('do_wp_page', doWpPageBody(k, vmaId, vpn, orig), vpn);
}

/** doWpPage's body, inside its span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doWpPageBody(k: Kernel, vmaId: number, vpn: number, orig: number): KGen<FaultOutcome> {
  const vma = k.vma(vmaId);
  const mm = vma.mm;
  yield* ptlLock(k, mm, vpn);
  // handle_pte_fault(): spin_lock(ptl), then !pte_same(ptep_get(), orig_pte): another
  // thread changed it meanwhile (its own fault, a zap): back off, the access is retried
  if (!pteTableLive(k, mm, vpn) || getPte(k, mm, vpn) !== orig) {
    yield* ptlUnlock(k, mm, vpn);
    return 'ok' as FaultOutcome;
  }
  const pte = getPte(k, mm, vpn);
  const page = isZeroPte(pte) ? 0 : ptePfn(pte);
  const f = page ? folioOf(k, page) : undefined;
  if (f && vma.file) {
    // wp_page_shared(): a shmem page just becomes writable
    k.eng.emit(E.PteFlags, mm, vpn, pteFlags(pte) | PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
    yield* ptlUnlock(k, mm, vpn);
    return 'ok' as FaultOutcome;
  }
  if (f && folioTestAnon(f) && !folioTestKsm(f)) {
    let reuse = pageAnonExclusive(f, page);
    if (!reuse) {
      const locked = f.order === 0;
      reuse = wpCanReuseAnonFolio(k, f, vma);
      if (reuse && locked) yield* k.eng.unlock(Kernel.folioLock(f.pfn), 0, 'sleep');
    }
    if (reuse) {
      if (!pageAnonExclusive(folioOf(k, page), page)) k.eng.emit(E.PageAnonExclusive, page, 1);
      // wp_page_reuse()
      k.eng.emit(E.PteFlags, mm, vpn, pteFlags(pte) | PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
      yield* ptlUnlock(k, mm, vpn);
      return 'ok' as FaultOutcome;
    }
  }
  yield* ptlUnlock(k, mm, vpn);
  return yield* wpPageCopy(k, vmaId, vpn, page, pte);
}

/**
 * wp_page_copy(): a private copy (or a zeroed page for the zero page) replaces the PTE
 * `orig` that do_wp_page() saw under the lock it then dropped
 */
function wpPageCopy(k: Kernel, vmaId: number, vpn: number, oldPage: number, orig: number): KGen<FaultOutcome> {
  return k.eng.span('wp_page_copy', wpPageCopyBody(k, vmaId, vpn, oldPage, orig), vpn);
}

/** wpPageCopy's body, inside its span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* wpPageCopyBody(k: Kernel, vmaId: number, vpn: number, oldPage: number, orig: number): KGen<FaultOutcome> {
  yield* anonVmaPrepare(k, vmaId);
  const vma = k.vma(vmaId);
  const mm = vma.mm;
  const head = folioAlloc(k, 0);
  yield* ptlLock(k, mm, vpn);
  // pte_same(ptep_get(), orig_pte) under the lock, else the copy is dropped and the
  // access retried. (do_wp_page's folio_get of the old folio is for the copy's read of
  // it; the model's copy reads nothing, and touches the old folio only while the PTE
  // still maps it, so it takes no reference: sequential logs stay as they were.)
  if (!pteTableLive(k, mm, vpn) || getPte(k, mm, vpn) !== orig) {
    yield* ptlUnlock(k, mm, vpn);
    folioPut(k, head);
    return 'ok' as FaultOutcome;
  }
  k.eng.emit(E.PteClear, mm, vpn);
  folioAddNewAnonRmap(k, head, vma, vpn, true);
  k.eng.emit(E.PteSet, mm, vpn, head, newAnonPteFlags(vma));
  if (oldPage) {
    const old = folioOf(k, oldPage);
    folioRemoveRmapPte(k, oldPage);
    folioPut(k, old.pfn);
  }
  yield* ptlUnlock(k, mm, vpn);
  return 'ok' as FaultOutcome;
}

/**
 * do_swap_page(): the swap cache's folio (same index and mapping as when it went out)
 * is mapped again; exclusive if the swap PTE said so or no one else holds it. The last
 * swap reference frees the slot and takes the folio out of the swap cache.
 */
function doSwapPage(k: Kernel, vmaId: number, vpn: number, write: boolean, orig: number): KGen<FaultOutcome> {
  return k.eng.span('do_swap_page', doSwapPageBody(k, vmaId, vpn, write, orig), vpn);
}

/** doSwapPage's body, inside its span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doSwapPageBody(k: Kernel, vmaId: number, vpn: number, write: boolean, orig: number): KGen<FaultOutcome> {
  yield* anonVmaPrepare(k, vmaId);
  const vma = k.vma(vmaId);
  const mm = vma.mm;
  yield* ptlLock(k, mm, vpn);
  // !pte_same(ptep_get(), orig_pte) under the lock: another thread swapped it in first
  // (or zapped it): out_nomap, the access is retried
  if (!pteTableLive(k, mm, vpn) || getPte(k, mm, vpn) !== orig) {
    yield* ptlUnlock(k, mm, vpn);
    return 'ok' as FaultOutcome;
  }
  const pte = orig;
  const slot = pteSwapSlot(pte);
  let pfn = k.swapCacheFolio(slot);
  k.eng.emit(E.PteClear, mm, vpn);
  let exclusive: boolean;
  if (pfn) {
    const f = folioOf(k, pfn);
    exclusive = (pteFlags(pte) & PTE_SWP_EXCLUSIVE) !== 0 || f.refcount === 1;
    folioGet(k, pfn);
    k.eng.emit(E.FolioCount, pfn, FolioCounter.PageMapcount, 1);
    if (exclusive) k.eng.emit(E.PageAnonExclusive, pfn, 1);
  } else {
    // not in the swap cache any more: read into a new folio
    exclusive = (pteFlags(pte) & PTE_SWP_EXCLUSIVE) !== 0 || k.swapCount(slot) === 1;
    pfn = folioAlloc(k, 0);
    folioAddNewAnonRmap(k, pfn, vma, vpn, exclusive);
    k.eng.emit(E.PageContent, pfn, 1);
  }
  let flags = PTE_YOUNG;
  if (exclusive && vma.flags & VM_WRITE && write) flags |= PTE_WRITE | PTE_DIRTY;
  k.eng.emit(E.PteSet, mm, vpn, pfn, flags);
  swapPut(k, slot);
  // the kernel goes on to do_wp_page() with the lock held; the model drops it in
  // between, so do_wp_page re-checks the PTE it set
  const mapped = getPte(k, mm, vpn);
  yield* ptlUnlock(k, mm, vpn);
  if (write && !(flags & PTE_WRITE)) return yield* doWpPage(k, vmaId, vpn, mapped);
  return 'ok' as FaultOutcome;
}

/** Map shmem page `pfn` at vpn (finish_fault / filemap_map_pages): one more mapping and reference. */
function mapShmemPage(k: Kernel, vma: Vma, vpn: number, pfn: number, write: boolean): void {
  folioGet(k, pfn);
  k.eng.emit(E.FolioCount, pfn, FolioCounter.PageMapcount, 1);
  let flags = PTE_YOUNG;
  if (vma.flags & VM_WRITE) flags |= PTE_WRITE | (write ? PTE_DIRTY : 0);
  k.eng.emit(E.PteSet, vma.mm, vpn, pfn, flags);
}

/**
 * do_fault_around() -> filemap_map_pages(): a read fault maps every page of the 16-page
 * window (fault_around_bytes, aligned, clipped to the VMA and the page table) that is
 * already in the shmem page cache.
 */
function faultAround(k: Kernel, vma: Vma, vpn: number): void {
  const pi = vpn % 512;
  const off = vpn - vma.start;
  const from = Math.max(pi - (pi % 16), pi - off);
  const to = Math.min(from + 16, 512, pi + (vma.end - vma.start - off));
  const sh = k.shmem(vma.file);
  for (let i = from; i < to; i++) {
    const a = vpn - pi + i;
    if (getPte(k, vma.mm, a) !== 0) continue;
    const index = linearPageIndex(vma, a);
    const pfn = sh?.pages[index];
    if (pfn && index < sh.size) mapShmemPage(k, vma, a, pfn, false);
  }
}

/** shmem_fault() + finish_fault(): the page of the shmem object at this offset, allocated on first use */
function shmemFault(k: Kernel, vmaId: number, vpn: number, write: boolean): KGen<FaultOutcome> {
  return k.eng.span('shmem_fault', shmemFaultBody(k, vmaId, vpn, write), vpn);
}

/** shmemFault's body, inside its span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* shmemFaultBody(k: Kernel, vmaId: number, vpn: number, write: boolean): KGen<FaultOutcome> {
  const vma = k.vma(vmaId);
  const mm = vma.mm;
  const index = linearPageIndex(vma, vpn);
  const sh = k.shmem(vma.file);
  pteAlloc(k, mm, vpn);
  yield* ptlLock(k, mm, vpn);
  // do_read_fault(): fault-around first (it maps only pages below i_size)...
  if (!write && sh && !k.noFaultAround.has(vma.file)) faultAround(k, vma, vpn);
  // ...then the page itself: beyond i_size shmem_get_folio_gfp() fails, VM_FAULT_SIGBUS
  // (mremap grows the VMA, not the file)
  if (!sh || index >= sh.size) {
    yield* ptlUnlock(k, mm, vpn);
    return 'SIGBUS' as FaultOutcome;
  }
  if (getPte(k, mm, vpn) === 0) {
    let pfn = k.shmem(vma.file)!.pages[index] ?? 0;
    if (!pfn) {
      pfn = folioAlloc(k, 0); // the page cache's reference
      k.eng.emit(E.FolioMapping, pfn, MappingKind.Shmem, vma.file);
      k.eng.emit(E.FolioIndex, pfn, index);
      k.eng.emit(E.ShmemPage, vma.file, index, pfn);
    }
    mapShmemPage(k, vma, vpn, pfn, write);
  }
  yield* ptlUnlock(k, mm, vpn);
  return 'ok' as FaultOutcome;
}

/** The KSM flag: a KSM folio is never exclusive and always copied on write. */
export function* markKsm(k: Kernel, mm: number, vpn: number): KGen<void> {
  const pte = getPte(k, mm, vpn);
  if (pte <= 0 || isZeroPte(pte)) return;
  const f = folioOf(k, ptePfn(pte));
  if (!folioTestAnon(f) || f.order > 0) return;
  // try_to_merge_one_page(): under the folio lock (a trylock: ksmd skips busy pages),
  // write_protect_page() under the PTE lock, then the folio becomes a KSM page
  const lock = Kernel.folioLock(f.pfn);
  if (!k.eng.trylock(lock, 0, 'sleep')) return;
  yield* ptlLock(k, mm, vpn);
  // write_protect_page(): a folio with references beyond its mappings (a pin, GUP) is
  // not merged: -EFAULT, and the page stays as it is
  if (f.refcount !== folioMapcount(f) + (f.flags & FOLIO_SWAPCACHE ? 1 : 0)) {
    yield* ptlUnlock(k, mm, vpn);
    yield* k.eng.unlock(lock, 0, 'sleep');
    return;
  }
  if (pageAnonExclusive(f, f.pfn)) k.eng.emit(E.PageAnonExclusive, f.pfn, 0);
  if (pteFlags(pte) & PTE_WRITE) k.eng.emit(E.PteFlags, mm, vpn, pteFlags(pte) & ~PTE_WRITE);
  yield* ptlUnlock(k, mm, vpn);
  if (!(f.flags & FOLIO_KSM)) {
    k.eng.emit(E.FolioFlags, f.pfn, FOLIO_KSM, 0);
    k.eng.emit(E.FolioMapping, f.pfn, MappingKind.Ksm, f.mapping);
  }
  yield* k.eng.unlock(lock, 0, 'sleep');
}

export { pmdBase };
