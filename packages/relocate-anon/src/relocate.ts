/**
 * MREMAP_RELOCATE_ANON (Lorenzo Stoakes, "mm/mremap: introduce more mergeable mremap
 * via MREMAP_RELOCATE_ANON", June 2025, patches 1-2), as an mremap strategy.
 *
 * After mremap() moves a faulted anonymous VMA its vm_pgoff and its folios' index keep
 * the old virtual offset, so it cannot merge with its new neighbours. With the flag the
 * move gives the new VMA pgoff = new_addr >> PAGE_SHIFT and its own anon_vma, and walks
 * the page tables rewriting each folio's index and mapping (folio_move_anon_rmap) under
 * the rmap locks, before the page tables move; it falls back to the ordinary move (or
 * fails with EFAULT under MREMAP_MUST_RELOCATE_ANON) when it cannot.
 */
import {
  ACCESS,
  E,
  VM_HUGETLB,
  VM_SPECIAL,
  pmdBase,
  pteSwapSlot,
  ptePfn,
  type Folio,
  type KGen,
  type Vma,
} from '@mmsim/core';
import {
  EFAULT,
  EINVAL,
  Kernel,
  MREMAP_MAYMOVE,
  anonVmaPrepare,
  findVmaPrev,
  folioOf,
  folioTestAnon,
  folioTestKsm,
  isZeroPte,
  linearPageIndex,
  movePageTables,
  pmdEntry,
  pteAlloc,
  removeVma,
  vmaInsert,
  vmaIsAnonymous,
  vmaMergeExistingRange,
  vmaNextFrom,
  vmgVmaState,
  type CopyResult,
  type MoveContext,
  type MremapStrategy,
} from '@mmsim/linux';
import { MREMAP_FLAG_BITS } from '@mmsim/core';
import { LARGE_FOLIO, type LargeFolioHandler, type RelocateWalk } from './points.js';
import { behaviourOf, type Behaviour, type RelocateVariant } from './variants.js';

// the series' uapi values (include/uapi/linux/mman.h), from the one flag table
export const MREMAP_RELOCATE_ANON = MREMAP_FLAG_BITS.RELOCATE_ANON;
export const MREMAP_MUST_RELOCATE_ANON = MREMAP_FLAG_BITS.MUST_RELOCATE_ANON;


export interface RelocateOptions {
  variant?: RelocateVariant;
}

/**
 * vma_maybe_has_shared_anon_folios(): a fork child (its chain is not singular), or an
 * anon_vma tree with children besides the root's self-link (grandchildren included:
 * an exited child's anon_vma stays while a grandchild links it).
 */
export function vmaMaybeHasSharedAnonFolios(k: Kernel, vma: Vma, b: Behaviour = behaviourOf('fixed')): boolean {
  if (!vma.anonVma) return false;
  /* If a child, then must be shared. */
  if (vma.chain.length !== 1) return true;
  if (b.chainCheckOnly) return false;
  const av = k.anonVma(vma.anonVma);
  if (b.directChildrenOnly) {
    // the bug: only children that map something themselves count; a grandchild behind an exited child is missed
    return [...k.anonVmasNow()].some((x) => x.parent === av.root && x.id !== av.root && x.numActiveVmas > 0);
  }
  /* If the root has children other than itself, folios may be mapped elsewhere. */
  const root = k.anonVma(av.root);
  return root.numChildren > 1;
}

/** should_relocate_anon(): the static conditions (pinned and large folios are found by the walk) */
export function shouldRelocateAnon(k: Kernel, vma: Vma, flags: number, b: Behaviour): 'yes' | 'not-requested' | 'unfaulted' | 'no' {
  if (!(flags & (MREMAP_RELOCATE_ANON | MREMAP_MUST_RELOCATE_ANON))) return 'not-requested';
  /* We can't deal with special or hugetlb mappings. */
  if (vma.flags & (VM_SPECIAL | VM_HUGETLB)) return 'no';
  /* We only support anonymous mappings (shared anonymous memory is shmem). */
  if (!vmaIsAnonymous(vma)) return 'no';
  /* If no folios are mapped, there is nothing to relocate: the move re-bases pgoff anyway. */
  if (!vma.anonVma) return 'unfaulted';
  if (vmaMaybeHasSharedAnonFolios(k, vma, b)) return 'no';
  return 'yes';
}

/** Would copy_vma() merge the moved range at its original pgoff? Then no relocation is needed. */
function mergesWithOriginalPgoff(k: Kernel, vma: Vma, newAddr: number, len: number): boolean {
  const pgoff = vma.pgoff + 0;
  const { prev } = findVmaPrev(k, vma.mm, newAddr);
  const next = vmaNextFrom(k, vma.mm, newAddr + len);
  const vmg = vmgVmaState(prev, vma, newAddr, newAddr + len);
  vmg.pgoff = pgoff;
  vmg.next = next;
  vmg.middle = null;
  vmg.copiedFrom = vma;
  const policy = k.mergePolicy;
  const left = !!prev && prev.end === newAddr && policy.canVmaMergeAfter(vmg);
  const right = !!next && next.start === newAddr + len && policy.canVmaMergeBefore(vmg);
  return left || right;
}

function mustRelocate(flags: number): boolean {
  return (flags & MREMAP_MUST_RELOCATE_ANON) !== 0;
}

/** The state of one relocation, shared with the large-folio handler. */
interface Walk extends RelocateWalk {
  b: Behaviour;
  /** why the walk gave up (the first reason): the fallback's note tells it */
  failure: string;
}

/** `0x10000028000`: a vpn as the kernel prints a virtual address */
const vaddr = (vpn: number) => `0x${(vpn * 4096).toString(16)}`;

/** The walk gives up on the folio at `vpn`: remember why (the first reason wins), return 0. */
function giveUp(w: Walk, reason: string): 0 {
  w.failure ||= reason;
  return 0;
}

/**
 * relocate_anon_pte(): rewrite the folio mapped by one PTE. Returns pages traversed,
 * 0 on failure.
 */
function* relocateAnonPte(w: Walk, oldAddr: number, pte: number): KGen<number> {
  const k = w.k;
  if (isZeroPte(pte)) return 1;
  const page = ptePfn(pte);
  const folio = folioOf(k, page);
  if (folio.order > 0) {
    const h = k.eng.plugins.get(LARGE_FOLIO)?.impl as LargeFolioHandler | undefined;
    /* the seed gives up on large folios */
    if (!h?.pte) return giveUp(w, `the large folio (order ${folio.order}, pfn ${folio.pfn}) at ${vaddr(oldAddr)} and no large-folio handler`);
    const n = yield* h.pte(w, oldAddr, folio);
    return n || giveUp(w, `the large-folio handler ${h.name} refused the order-${folio.order} folio (pfn ${folio.pfn}) at ${vaddr(oldAddr)}`);
  }
  const lockName = Kernel.folioLock(folio.pfn);
  if (w.b.blockingFolioLock) {
    yield* k.eng.lock(lockName, 0, 'sleep'); // folio_lock() under the PTE spinlock: a sleeping lock in atomic context
  } else if (!k.eng.trylock(lockName, 0, 'sleep')) {
    return giveUp(w, `the folio (pfn ${folio.pfn}) at ${vaddr(oldAddr)} is locked by another task (folio_trylock() failed)`);
  }
  // alone, no point can switch tasks: skip the generator (one per folio adds up)
  const ret = k.eng.alone ? relocateLockedFolioNow(w, folio, oldAddr) : yield* relocateLockedFolio(w, folio, oldAddr);
  yield* k.eng.unlock(lockName, 0, 'sleep');
  return ret;
}

/** relocateLockedFolio without its scheduling points (nobody races this task). */
function relocateLockedFolioNow(w: Walk, folio: Folio, oldAddr: number): number {
  if (!folioTestAnon(folio) || folioTestKsm(folio)) return 1;
  if (folio.pincount > 0) return w.b.skipPinned ? 1 : giveUp(w, pinned(folio, oldAddr));
  rewriteFolio(w, folio.pfn, oldAddr, w.undo);
  return 1;
}

const pinned = (folio: Folio, oldAddr: number) => `the folio (pfn ${folio.pfn}) at ${vaddr(oldAddr)} is pinned (folio_maybe_dma_pinned(): pincount ${folio.pincount})`;

/** The body of relocate_anon_pte() once the folio is locked. */
function* relocateLockedFolio(w: Walk, folio: Folio, oldAddr: number): KGen<number> {
  /* No-op. */
  if (!folioTestAnon(folio) || folioTestKsm(folio)) return 1;
  const eng = w.k.eng;
  // folio_maybe_dma_pinned(): an atomic read; GUP-fast pins with no lock at all
  yield* eng.lockless(ACCESS.Folio, folio.pfn);
  /*
   * A pinned folio may be used by whoever pinned it, trusting index and mapping not to
   * change: we cannot proceed (the seed's v1 went on instead, leaving it stale).
   */
  const now = folioOf(w.k, folio.pfn);
  if (now.pincount > 0) return w.b.skipPinned ? 1 : giveUp(w, pinned(now, oldAddr));
  // WRITE_ONCE(folio->mapping), WRITE_ONCE(folio->index): lockless readers look at both
  yield* eng.lockless(ACCESS.Folio, folio.pfn);
  rewriteFolio(w, folio.pfn, oldAddr, w.undo);
  return 1;
}

/** folio_move_anon_rmap() + WRITE_ONCE(folio->index, ...) for one folio; records it for undo. */
export function rewriteFolio(w: RelocateWalk, head: number, oldAddr: number, undo: boolean): void {
  const k = w.k;
  const newAddr = oldAddr + (w.newAddr - w.oldAddr);
  const target = undo ? k.vma(w.oldVma) : k.vma(w.newVma);
  const index = undo ? linearPageIndex(k.vma(w.oldVma), oldAddr) : linearPageIndex(k.vma(w.newVma), newAddr);
  if (undo) {
    // back out in the safe order: while mapping still names the (locked) new anon_vma no
    // walker can see the folio, so the index goes first
    k.eng.emit(E.FolioIndex, head, index);
    k.eng.emit(E.FolioMapping, head, 1, target.anonVma);
    return;
  }
  // mapping first: once it names the locked new anon_vma, walkers wait for us
  k.eng.emit(E.FolioMapping, head, 1, target.anonVma);
  k.eng.emit(E.FolioIndex, head, index);
  w.rewritten.push([head, oldAddr]);
}

/** relocate_anon_ptes(): one PTE table under its lock */
function* relocateAnonPtes(w: Walk, start: number, end: number): KGen<boolean> {
  const k = w.k;
  const mm = k.vma(w.oldVma).mm;
  const ptl = Kernel.ptl(mm, start);
  yield* k.eng.lock(ptl, 0, 'spin');
  let ok = true;
  // read each entry when we reach it: a large folio's split (done with the lock dropped)
  // may have replaced later entries by the zero page
  for (let a = start; a < end; ) {
    const e = pmdEntry(k, mm, a);
    if (!e || e.kind !== 'table') break;
    const pte = e.ptes[a - pmdBase(a)];
    if (pte === 0) {
      a++;
      continue;
    }
    if (pte < 0) {
      // a swap entry: its folio may sit in the swap cache with the old index and mapping
      if (!w.b.skipSwap && swapCacheFolio(k, pteSwapSlot(pte))) {
        giveUp(w, `the page at ${vaddr(a)} is swapped out and its folio is in the swap cache (slot ${pteSwapSlot(pte)})`);
        ok = false;
        break;
      }
      a++;
      continue;
    }
    const n = yield* relocateAnonPte(w, a, pte);
    if (!n) {
      ok = false;
      break;
    }
    a += n;
  }
  yield* k.eng.unlock(ptl, 0, 'spin');
  return ok;
}

/** The swap-cache folio of a swap slot, if any (slots are named after their folio). */
function swapCacheFolio(k: Kernel, slot: number): boolean {
  return k.swapCacheFolio(slot) > 0;
}

/** __relocate_anon_folios(): walk the old range PMD by PMD */
function* relocateAnonFolios(w: Walk): KGen<boolean> {
  const k = w.k;
  const mm = k.vma(w.oldVma).mm;
  let addr = w.oldAddr;
  const end = w.oldAddr + w.len;
  while (addr < end) {
    const next = Math.min(end, pmdBase(addr) + 512);
    const e = pmdEntry(k, mm, addr);
    if (e) {
      if (e.kind === 'huge') {
        const h = k.eng.plugins.get(LARGE_FOLIO)?.impl as LargeFolioHandler | undefined;
        const r = h?.pmd ? yield* h.pmd(w, addr, next) : 'fail';
        if (r === 'fail') {
          giveUp(w, h?.pmd ? `the large-folio handler ${h.name} refused the huge PMD at ${vaddr(addr)}` : `a huge PMD at ${vaddr(addr)} and no large-folio handler`);
          return false;
        }
        if (r === 'done') {
          addr = next;
          continue;
        }
        // 'split': the PMD is now a PTE table; fall through to the PTE walk
      }
      if (!(yield* relocateAnonPtes(w, addr, next))) return false;
    }
    addr = next;
  }
  return true;
}

/** Undo one folio under its PTE lock and folio lock, as relocate_anon_pte(undo = true) does. */
function* undoFolio(w: Walk, head: number, oldAddr: number): KGen<void> {
  const k = w.k;
  const mm = k.vma(w.oldVma).mm;
  const ptl = Kernel.ptl(mm, oldAddr);
  yield* k.eng.lock(ptl, 0, 'spin');
  const name = Kernel.folioLock(head);
  const locked = k.eng.trylock(name, 0, 'sleep');
  rewriteFolio(w, head, oldAddr, true);
  if (locked) yield* k.eng.unlock(name, 0, 'sleep');
  yield* k.eng.unlock(ptl, 0, 'spin');
}

/**
 * Undo: put back index and mapping of exactly the folios rewritten. (bug-undo-all walks
 * the whole range again and rewrites every small anon folio, pinned ones included;
 * patch-v1 walks it as the forward pass does, pin check included.)
 */
function* undoRelocation(w: Walk): KGen<void> {
  const k = w.k;
  if (w.b.undoAsForward) {
    // the seed (mm/mremap.c, "Undo if fails."): relocate_anon_folios(&pmc, true) runs
    // relocate_anon_pte(undo = true) on every PTE of the range: a folio pinned since
    // the forward pass (GUP-fast) is skipped and keeps the new anon_vma and index
    yield* relocateAnonFolios({ ...w, undo: true });
    return;
  }
  if (w.b.undoAll) {
    const mm = k.vma(w.oldVma).mm;
    for (let a = w.oldAddr; a < w.oldAddr + w.len; a++) {
      const e = pmdEntry(k, mm, a);
      if (!e || e.kind !== 'table') continue;
      const pte = e.ptes[a - pmdBase(a)];
      if (pte <= 0 || isZeroPte(pte)) continue;
      const f = folioOf(k, ptePfn(pte));
      if (f.order === 0 && folioTestAnon(f) && !folioTestKsm(f)) yield* undoFolio(w, f.pfn, a);
    }
    return;
  }
  for (const [head, oldAddr] of w.rewritten) yield* undoFolio(w, head, oldAddr);
}

/** The strategy's copy_vma_and_data(): relocate, or null for the ordinary move. */
function* relocateCopyVmaAndData(ctx: MoveContext, b: Behaviour, relocated: Relocated): KGen<CopyResult | null> {
  const k = ctx.k;
  const v = ctx.vrm;
  const vma = k.vma(v.vma);
  const verdict = shouldRelocateAnon(k, vma, v.flags, b);
  if (verdict !== 'yes') return null;
  /* If we could merge cleanly without relocating, do so. */
  if (mergesWithOriginalPgoff(k, { ...vma, pgoff: vma.pgoff + (v.addr - vma.start) }, v.newAddr, v.newLen)) return null;
  return yield* k.eng.span('relocate_anon', function* () {
    // the new VMA: pgoff from its address, its own anon_vma (a compatible neighbour's may be reused)
    const newVma = yield* vmaInsert(k, vma.mm, v.newAddr, v.newAddr + v.newLen, v.newAddr, vma.flags, vma.file);
    // the VMA being moved away does not lend its anon_vma: relocating into it would keep it alive
    yield* anonVmaPrepare(k, newVma, v.vma);
    const oldRoot = k.anonVma(k.vma(v.vma).anonVma).root;
    const newRoot = k.anonVma(k.vma(newVma).anonVma).root;
    // lock_new_anon_vma(): an rmap walk that finds a rewritten folio (mapping = the new
    // anon_vma) waits until its page table entry has moved into the new VMA. Folios not
    // yet rewritten still point at the old anon_vma, consistently with the old VMA.
    const lockNew = !b.noNewAnonVmaLock;
    if (lockNew) yield* k.eng.lock(Kernel.anonVmaLock(newRoot), 0, 'sleep');
    // wp-seq: raw_write_seqcount_begin(&mm->write_protect_seq) under mmap_write_lock, as
    // dup_mmap() around copy_page_range(): a FOLL_PIN GUP-fast that grabs a folio after
    // our pin check sees the count move and drops its pin (gup_fast: read_seqcount_retry)
    const wpSeq = b.writeProtectSeq;
    if (wpSeq) k.eng.emit(E.MmWpSeq, vma.mm, 1);
    const w: Walk = { k, oldVma: v.vma, newVma, oldAddr: v.addr, newAddr: v.newAddr, len: v.oldLen, undo: false, rewritten: [], b, lockedRoot: newRoot, failure: '' };
    const ok = yield* k.eng.span('relocate_anon_folios', () => relocateAnonFolios(w));
    if (!ok) {
      // why, in the log (only a relocation that fails writes it): `mmsim why` and the step's result tell it
      const outcome = mustRelocate(v.flags) ? 'EFAULT' : 'fallback';
      k.eng.emit(E.Note, v.vma, 0, 0, 0, 0, 0, JSON.stringify({ plugin: 'relocate-anon', outcome, reason: w.failure || 'the walk failed' }));
      yield* k.eng.span('relocate_anon_folios:undo', () => undoRelocation(w));
      if (wpSeq) k.eng.emit(E.MmWpSeq, vma.mm, 1); // raw_write_seqcount_end()
      if (lockNew) yield* k.eng.unlock(Kernel.anonVmaLock(newRoot), 0, 'sleep');
      yield* removeVma(k, newVma);
      if (mustRelocate(v.flags)) return { err: -EFAULT, newVma: 0, vma: v.vma };
      return yield* ctx.copyVmaAndData(); // fall back to the usual move
    }
    // the page tables move under the old VMA's rmap lock (take_rmap_locks) as well
    const mm = vma.mm;
    pteAlloc(k, mm, v.newAddr);
    const sameRoot = oldRoot === newRoot && lockNew;
    if (!sameRoot) yield* k.eng.lock(Kernel.anonVmaLock(oldRoot), 0, 'sleep');
    const moved = yield* movePageTables(k, {
      mm,
      old: v.vma,
      new: newVma,
      oldAddr: v.addr,
      newAddr: v.newAddr,
      oldEnd: v.addr + v.oldLen,
      lenIn: v.oldLen,
      needRmapLocks: false,
      relocateLocked: true,
    });
    // the page tables have moved: the old PTEs GUP-fast could still read are gone
    if (wpSeq) k.eng.emit(E.MmWpSeq, mm, 1); // raw_write_seqcount_end()
    // bug-unbalanced-rmap-lock: the rmap lock taken for the move is never dropped
    if (!sameRoot && !b.unbalancedRmapLock) yield* k.eng.unlock(Kernel.anonVmaLock(oldRoot), 0, 'sleep');
    if (lockNew) yield* k.eng.unlock(Kernel.anonVmaLock(newRoot), 0, 'sleep');
    relocated.set(v, newVma);
    if (moved < v.oldLen) return { err: -12, newVma, vma: v.vma };
    return { err: 0, newVma, vma: v.vma };
  }, v.addr, v.newAddr) as KGen<CopyResult | null>;
}

/**
 * The VMA a move's relocation made, by the move (its struct vma_remap_struct): move_vma()
 * hands the same one to copy_vma_and_data() and to afterMove(), which merges that VMA.
 * What the relocation leaves for afterMove lives as long as that move and no longer: a
 * rolled-back syscall or an engine restored to a mark (the explorer's next schedule) makes
 * new moves, which find nothing, even when a VMA id comes round again. Between syscalls no
 * move is under way, so no state (a time-travel seek, a keyframe) has anything to hold.
 */
type Relocated = WeakMap<MoveContext['vrm'], number>;

/** The relocate-anon mremap strategy with the chosen variant. */
export function relocateAnonStrategy(opts: RelocateOptions = {}): MremapStrategy {
  const b = behaviourOf(opts.variant ?? 'fixed');
  const relocated: Relocated = new WeakMap();
  return {
    name: `relocate-anon:${opts.variant ?? 'fixed'}`,
    extraFlags: MREMAP_RELOCATE_ANON | MREMAP_MUST_RELOCATE_ANON,
    checkParams(flags) {
      if (flags & (MREMAP_RELOCATE_ANON | MREMAP_MUST_RELOCATE_ANON) && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
      return 0;
    },
    checkPrepVma(ctx) {
      const v = ctx.vrm;
      if (!mustRelocate(v.flags)) return 0;
      const verdict = shouldRelocateAnon(ctx.k, ctx.k.vma(v.vma), v.flags, b);
      return verdict === 'no' ? -EFAULT : 0;
    },
    copyVmaAndData(ctx) {
      return relocateCopyVmaAndData(ctx, b, relocated);
    },
    *afterMove(ctx, newVma) {
      if (relocated.get(ctx.vrm) !== newVma) return;
      relocated.delete(ctx.vrm);
      const k = ctx.k;
      const nv = k.liveVma(newVma);
      if (!nv) return;
      // the relocated VMA can merge now: try (vma_merge_existing_range)
      const { prev } = findVmaPrev(k, nv.mm, nv.start);
      const vmg = vmgVmaState(prev, k.vma(newVma), nv.start, nv.end);
      yield* vmaMergeExistingRange(k, vmg);
    },
  };
}
