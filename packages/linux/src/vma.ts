/**
 * VMA operations of mm/vma.c: insert and remove, split, merge (new range and existing
 * range), expand, modify, copy_vma for mremap, and munmap (do_vmi_munmap). The merge
 * *rules* come from the merge policy plugin; the *mechanics* are here.
 */
import { E, VM_ACCOUNT, VM_SEALED, VM_SPECIAL, type KGen, type Vma } from '@mmsim/core';
import type { VmaMergeStruct } from './points.js';
import { ENOMEM, EPERM } from './errno.js';
import { Kernel } from './kernel.js';
import { anonVmaClone, unlinkAnonVmas } from './rmap.js';
import { freePgtables, gapBounds, tlbRemoveTableSync, zapPageRange } from './pgtable.js';
import { splitHugePmdIfNeeded } from './huge_memory.js';

/** vma_merge_struct plus the mechanics' private state */
export interface Vmg extends VmaMergeStruct {
  state: 'start' | 'nomerge' | 'success' | 'nomem';
}

export function vmaPages(v: Vma): number {
  return v.end - v.start;
}

/** vma_is_anonymous(): no vm_file (shared anonymous memory has a shmem file) */
export function vmaIsAnonymous(v: Vma): boolean {
  return v.file === 0;
}

/** find_vma_prev(): the VMA at or after addr, and the one before it */
export function findVmaPrev(k: Kernel, mm: number, addr: number): { vma: Vma | null; prev: Vma | null } {
  return k.findVmaPrev(mm, addr);
}

/** The first VMA starting at or after addr (vma_iter_next_range) */
export function vmaNextFrom(k: Kernel, mm: number, addr: number): Vma | null {
  return k.vmaStartingFrom(mm, addr);
}

/** VMG_VMA_STATE(): a merge of [start, end) of an existing vma */
export function vmgVmaState(prev: Vma | null, vma: Vma, start: number, end: number): Vmg {
  return {
    mm: vma.mm,
    prev,
    middle: vma,
    next: null,
    target: null,
    start,
    end,
    pgoff: vma.pgoff + (start - vma.start),
    flags: vma.flags,
    file: vma.file,
    anonVma: vma.anonVma,
    policy: vma.policy ?? 0,
    copiedFrom: null,
    justExpand: false,
    state: 'start',
  };
}

/** VMG_STATE(): a merge of a new range */
export function vmgState(mm: number, start: number, end: number, flags: number, pgoff: number): Vmg {
  return {
    mm,
    prev: null,
    middle: null,
    next: null,
    target: null,
    start,
    end,
    pgoff,
    flags,
    file: 0,
    anonVma: 0,
    copiedFrom: null,
    justExpand: false,
    state: 'start',
  };
}

/** vma_start_write(): the VMA write lock, held until mmap_write_unlock */
export function* vmaStartWrite(k: Kernel, vma: number): KGen<void> {
  const name = Kernel.vmaLock(vma);
  if (!k.eng.holds(name)) yield* k.eng.lock(name, 0, 'sleep');
}

export function* mmapWriteLock(k: Kernel, mm: number): KGen<void> {
  yield* k.eng.lock(Kernel.mmapLock(mm), 0, 'sleep');
}

/** mmap_write_unlock(): also ends every VMA write lock the task took (vma_end_write_all) */
export function* mmapWriteUnlock(k: Kernel, mm: number): KGen<void> {
  const held = k.eng.locksHeld().filter((n) => n.startsWith('vma_lock:'));
  for (const n of held.sort()) yield* k.eng.unlock(n, 0, 'sleep');
  yield* k.eng.unlock(Kernel.mmapLock(mm), 0, 'sleep');
}

/** vm_area_alloc + vma_link: a new VMA in the tree, write-locked */
export function* vmaInsert(k: Kernel, mm: number, start: number, end: number, pgoff: number, flags: number, file = 0): KGen<number> {
  const id = k.eng.ids.vma++;
  k.eng.emit(E.VmaInsert, id, mm, start, end, pgoff, flags);
  if (file) k.eng.emit(E.VmaSetFile, id, file);
  yield* vmaStartWrite(k, id);
  return id;
}

function vmaSetRange(k: Kernel, id: number, start: number, end: number, pgoff: number): void {
  const v = k.vma(id);
  if (v.start !== start || v.end !== end || v.pgoff !== pgoff) k.eng.emit(E.VmaAdjust, id, start, end, pgoff);
}

/** remove_vma(): unlink anon_vmas and free (page tables already gone) */
export function* removeVma(k: Kernel, id: number, heldRoot = 0): KGen<void> {
  yield* vmaStartWrite(k, id);
  yield* unlinkAnonVmas(k, id, heldRoot);
  k.eng.emit(E.VmaRemove, id);
}

/**
 * __split_vma(vma, addr, new_below): the new VMA is the lower part when new_below,
 * the upper part otherwise; it shares the anon_vmas (anon_vma_clone). Returns its id.
 */
/** __split_vma(): the new VMA's id, or -ENOMEM (its preallocation failed: nothing changed) */
export function* splitVma(k: Kernel, id: number, addr: number, newBelow: boolean): KGen<number> {
  return yield* k.eng.span('__split_vma', () => splitVmaBody(k, id, addr, newBelow), id, addr);
}

/** body of splitVma, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* splitVmaBody(k: Kernel, id: number, addr: number, newBelow: boolean): KGen<number> {
  // vm_area_dup(), then vma_iter_prealloc(): a failure leaves everything as it was
  if (!k.vmaIterPrealloc('__split_vma')) return -ENOMEM;
  yield* vmaStartWrite(k, id);
  yield* splitHugePmdIfNeeded(k, id, addr);
  const v = k.vma(id);
  const nid = k.eng.ids.vma++;
  // vm_area_dup(): the new VMA comes out write-locked (before the anon_vma lock: mm/rmap.c order)
  yield* vmaStartWrite(k, nid);
  // vma_prepare(): the anon_vma lock keeps rmap walks out while the two VMAs are redrawn
  const root = v.anonVma ? k.anonVma(v.anonVma).root : 0;
  if (root) yield* k.eng.lock(Kernel.anonVmaLock(root), 0, 'sleep');
  if (newBelow) {
    k.eng.emit(E.VmaAdjust, id, addr, v.end, v.pgoff + (addr - v.start));
    k.eng.emit(E.VmaInsert, nid, v.mm, v.start, addr, v.pgoff, v.flags);
  } else {
    k.eng.emit(E.VmaAdjust, id, v.start, addr, v.pgoff);
    k.eng.emit(E.VmaInsert, nid, v.mm, addr, v.end, v.pgoff + (addr - v.start), v.flags);
  }
  if (v.file) k.eng.emit(E.VmaSetFile, nid, v.file);
  // vma_dup_policy()
  if (v.policy) k.eng.emit(E.VmaPolicy, nid, v.policy);
  if (v.anonVma) k.eng.emit(E.VmaSetAnonVma, nid, v.anonVma);
  yield* anonVmaClone(k, nid, id, root);
  if (root) yield* k.eng.unlock(Kernel.anonVmaLock(root), 0, 'sleep');
  k.eng.emit(E.VmaSplit, id, nid, addr);
  return nid;
}

/** dup_anon_vma(dst, src): an unfaulted dst taking over a faulted src's anon_vma state */
function* dupAnonVma(k: Kernel, dst: number, src: number): KGen<number> {
  const s = k.vma(src);
  const d = k.vma(dst);
  if (s.anonVma && !d.anonVma) {
    // release.ts 'dup-anon-vma-lock' reverted: dst->anon_vma is set before dst is write-locked
    if (k.has('dup-anon-vma-lock')) yield* vmaStartWrite(k, dst);
    k.eng.emit(E.VmaSetAnonVma, dst, s.anonVma);
    yield* anonVmaClone(k, dst, src);
    return dst;
  }
  return 0;
}

/**
 * commit_merge(): 0, or -ENOMEM when its preallocation fails (nothing changed). Set the target's range, adjust the middle/next piece that is only
 * shrunk, remove the VMAs merged away.
 */
function* commitMerge(
  k: Kernel,
  vmg: Vmg,
  how: { adjustMiddleStart?: boolean; adjustNextStart?: boolean; removeMiddle?: boolean; removeNext?: boolean },
): KGen<number> {
  const target = vmg.target!;
  const main = how.adjustNextStart ? vmg.middle! : target;
  // release.ts 'dup-anon-vma-lock' reverted: vma_prepare() write-locks the VMAs (6.4)
  if (!k.has('dup-anon-vma-lock')) for (const v of [target, vmg.middle, vmg.next]) if (v) yield* vmaStartWrite(k, v.id);
  // vma_iter_prealloc(): past it commit_merge() does not fail; before it nothing changed
  if (!k.vmaIterPrealloc('commit_merge')) return -ENOMEM;
  yield* splitHugePmdIfNeeded(k, main.id, vmg.start);
  yield* splitHugePmdIfNeeded(k, main.id, vmg.end);
  // vma_prepare(): vp->anon_vma = vma->anon_vma ?: adjust->anon_vma, locked while the VMAs change
  const adjust = how.adjustMiddleStart ? vmg.middle : how.adjustNextStart ? vmg.next : null;
  const av = k.vma(main.id).anonVma || (adjust ? k.vma(adjust.id).anonVma : 0);
  const root = av ? k.anonVma(av).root : 0;
  if (root) yield* k.eng.lock(Kernel.anonVmaLock(root), 0, 'sleep');
  vmaSetRange(k, main.id, vmg.start, vmg.end, vmg.pgoff);
  if (how.adjustMiddleStart) {
    const m = k.vma(vmg.middle!.id);
    vmaSetRange(k, m.id, vmg.end, m.end, m.pgoff + (vmg.end - m.start));
  } else if (how.adjustNextStart) {
    const n = k.vma(vmg.next!.id);
    vmaSetRange(k, n.id, vmg.end, n.end, n.pgoff - (n.start - vmg.end));
  }
  for (const rm of [how.removeMiddle ? vmg.middle : null, how.removeNext ? vmg.next : null]) {
    if (!rm) continue;
    k.eng.emit(E.VmaMerge, target.id, rm.id);
    yield* removeVma(k, rm.id, root);
  }
  if (root) yield* k.eng.unlock(Kernel.anonVmaLock(root), 0, 'sleep');
  return 0;
}

/** can_vma_merge_left() */
function canVmaMergeLeft(k: Kernel, vmg: Vmg): boolean {
  return !!vmg.prev && vmg.prev.end === vmg.start && k.mergePolicy.canVmaMergeAfter(vmg);
}

/** can_vma_merge_right() */
function canVmaMergeRight(k: Kernel, vmg: Vmg, canMergeLeft: boolean): boolean {
  const next = vmg.next;
  if (!next || vmg.end !== next.start || !k.mergePolicy.canVmaMergeBefore(vmg)) return false;
  if (!canMergeLeft) return true;
  return k.mergePolicy.canMergePrevAndNext(vmg.prev!, next);
}

/**
 * vma_expand(): grow vmg.target over [vmg.start, vmg.end), removing next when it is
 * covered whole; anon_vma state comes from next or the copied-from VMA (dup_anon_vma).
 */
export function* vmaExpand(k: Kernel, vmg: Vmg): KGen<number> {
  const target = vmg.target!;
  const next = vmg.next;
  yield* vmaStartWrite(k, target.id);
  const removeNext = !!next && target.id !== next.id && vmg.end === next.end;
  let anonDup = 0;
  if (removeNext) {
    yield* vmaStartWrite(k, next!.id);
    anonDup = yield* dupAnonVma(k, target.id, next!.id);
  }
  // If we are copying from a VMA (mremap), we must propagate anon_vma state.
  if (vmg.copiedFrom) anonDup ||= yield* dupAnonVma(k, target.id, vmg.copiedFrom.id);
  if ((yield* commitMerge(k, { ...vmg, target: k.vma(target.id) }, { removeNext })) === 0) return 0;
  // nomem: the anon_vma state dup_anon_vma() gave the target is taken back
  if (anonDup) yield* unlinkAnonVmas(k, anonDup);
  vmg.state = 'nomem';
  return -ENOMEM;
}

/** vma_merge_new_range(): merge a range about to be mapped with prev and/or next. */
export function* vmaMergeNewRange(k: Kernel, vmg: Vmg): KGen<Vma | null> {
  return yield* k.eng.span('vma_merge_new_range', () => vmaMergeNewRangeBody(k, vmg));
}

/** body of vmaMergeNewRange, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* vmaMergeNewRangeBody(k: Kernel, vmg: Vmg): KGen<Vma | null> {
  const prev = vmg.prev;
  const next = vmg.next;
  const end = vmg.end;
  vmg.state = 'nomerge';
  if (vmg.flags & VM_SPECIAL || (!prev && !next)) return null;
  const canMergeLeft = canVmaMergeLeft(k, vmg);
  const canMergeRight = !vmg.justExpand && canVmaMergeRight(k, vmg, canMergeLeft);
  if (canMergeRight) {
    vmg.end = next!.end;
    vmg.target = next;
    // release.ts 'vma-merge-next-pgoff' reverted: next grows down and keeps its vm_pgoff
    if (!k.has('vma-merge-next-pgoff')) vmg.pgoff = next!.pgoff;
  }
  if (canMergeLeft) {
    vmg.start = prev!.start;
    vmg.target = prev;
    vmg.pgoff = prev!.pgoff;
  }
  void end;
  if (vmg.target) {
    const r = yield* vmaExpand(k, vmg);
    if (r === 0) {
      vmg.state = 'success';
      return k.vma(vmg.target.id);
    }
  }
  return null;
}

/**
 * vma_merge_existing_range(): vmg.middle's [start, end) is changing (mprotect,
 * madvise); merge it into prev and/or next when the result would be compatible.
 */
export function* vmaMergeExistingRange(k: Kernel, vmg: Vmg): KGen<Vma | null> {
  return yield* k.eng.span('vma_merge_existing_range', () => vmaMergeExistingRangeBody(k, vmg));
}

/** body of vmaMergeExistingRange, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* vmaMergeExistingRangeBody(k: Kernel, vmg: Vmg): KGen<Vma | null> {
  const middle = vmg.middle!;
  const prev = vmg.prev;
  const start = vmg.start;
  const end = vmg.end;
  const leftSide = start === middle.start;
  const rightSide = end === middle.end;
  vmg.state = 'nomerge';
  if (vmg.flags & VM_SPECIAL || (!leftSide && !rightSide)) return null;
  const mergeLeft = leftSide ? canVmaMergeLeft(k, vmg) : false;
  let mergeRight = false;
  if (rightSide) {
    vmg.next = vmaNextFrom(k, vmg.mm, middle.end);
    mergeRight = canVmaMergeRight(k, vmg, mergeLeft);
  } else vmg.next = null;
  if (!mergeLeft && !mergeRight) return null;
  const next = vmg.next;
  const mergeBoth = mergeLeft && mergeRight;
  const removeMiddle = leftSide && rightSide;
  // release.ts 'dup-anon-vma-lock' reverted: vma_merge() of 6.4 write-locked the VMAs in
  // vma_prepare(), after dup_anon_vma()
  const lockFirst = k.has('dup-anon-vma-lock');
  if (lockFirst) yield* vmaStartWrite(k, middle.id);
  if (mergeRight) {
    if (lockFirst) yield* vmaStartWrite(k, next!.id);
    vmg.target = next;
  }
  if (mergeLeft) {
    if (lockFirst) yield* vmaStartWrite(k, prev!.id);
    vmg.target = prev;
  }
  let anonDup = 0;
  let err = 0;
  if (mergeBoth) {
    // |<----->|*******|<------->|  prev extends over middle and next; both go
    vmg.start = prev!.start;
    vmg.end = next!.end;
    vmg.pgoff = prev!.pgoff;
    anonDup = yield* dupAnonVma(k, prev!.id, next!.anonVma ? next!.id : middle.id);
    err = yield* commitMerge(k, { ...vmg, target: k.vma(prev!.id) }, { removeMiddle: true, removeNext: true });
  } else if (mergeLeft) {
    // prev extends; middle shrinks (partial) or goes (whole)
    vmg.start = prev!.start;
    vmg.pgoff = prev!.pgoff;
    anonDup = yield* dupAnonVma(k, prev!.id, middle.id);
    err = yield* commitMerge(k, { ...vmg, target: k.vma(prev!.id), middle: k.vma(middle.id) }, { adjustMiddleStart: !removeMiddle, removeMiddle });
  } else {
    // next extends down; middle shrinks or goes
    const pglen = vmg.end - vmg.start;
    anonDup = yield* dupAnonVma(k, next!.id, middle.id);
    if (removeMiddle) {
      vmg.end = next!.end;
      vmg.pgoff = next!.pgoff - pglen;
      err = yield* commitMerge(k, { ...vmg, target: k.vma(next!.id), middle: k.vma(middle.id) }, { removeMiddle: true });
    } else {
      vmg.start = middle.start;
      vmg.end = start;
      vmg.pgoff = middle.pgoff;
      err = yield* commitMerge(
        k,
        { ...vmg, target: k.vma(next!.id), middle: k.vma(middle.id), next: k.vma(next!.id) },
        { adjustNextStart: true },
      );
    }
  }
  if (err) {
    // abort: no VMA changed; the anon_vma state dup_anon_vma() gave is taken back
    if (anonDup) yield* unlinkAnonVmas(k, anonDup);
    vmg.state = 'nomem';
    return null;
  }
  vmg.state = 'success';
  return k.vma(vmg.target!.id);
}

/**
 * vma_modify(): merge [start, end) of vma with its neighbours if the new flags allow,
 * else split so that exactly [start, end) can change. Returns the VMA to change, or
 * -ENOMEM when a split would pass vm.max_map_count (a first split that succeeded stays,
 * as in the kernel).
 */
export function* vmaModify(k: Kernel, vmg: Vmg): KGen<number> {
  const vmaId = vmg.middle!.id;
  const merged = yield* vmaMergeExistingRange(k, vmg);
  if (merged) return merged.id;
  if (vmg.state === 'nomem') return -ENOMEM;
  if (k.vma(vmaId).start < vmg.start) {
    const err = yield* splitVmaChecked(k, vmaId, vmg.start, true);
    if (err) return err;
  }
  if (k.vma(vmaId).end > vmg.end) {
    const err = yield* splitVmaChecked(k, vmaId, vmg.end, false);
    if (err) return err;
  }
  return vmaId;
}

/** split_vma(): __split_vma unless the mm is at vm.max_map_count (then -ENOMEM) */
function* splitVmaChecked(k: Kernel, id: number, addr: number, newBelow: boolean): KGen<number> {
  if (k.mapCount(k.vma(id).mm) >= k.config.maxMapCount) return -ENOMEM;
  const r = yield* splitVma(k, id, addr, newBelow);
  return r < 0 ? r : 0;
}

/** vma_modify_flags(): the VMA to change, or -ENOMEM (see vmaModify) */
export function* vmaModifyFlags(k: Kernel, prev: Vma | null, vma: Vma, start: number, end: number, flags: number): KGen<number> {
  const vmg = vmgVmaState(prev, vma, start, end);
  vmg.flags = flags;
  return yield* vmaModify(k, vmg);
}

/**
 * vma_modify_flags() then vm_flags_reset() under vma_start_write(): [start, end) of vma
 * gets `flags`, merged into a neighbour or split off. The VMA now covering the range, or
 * -errno. What mprotect_fixup, mlock_fixup, madvise_update_vma and mseal_apply share.
 */
export function* vmaModifyFlagsReset(k: Kernel, prevId: number, vmaId: number, start: number, end: number, flags: number): KGen<number> {
  const prev = prevId ? k.vma(prevId) : null;
  const id = yield* vmaModifyFlags(k, prev, k.vma(vmaId), start, end, flags);
  if (id < 0) return id;
  yield* vmaStartWrite(k, id);
  if (k.vma(id).flags !== flags) k.eng.emit(E.VmaFlags, id, flags);
  return id;
}

/** A fixup of [start, end) of one VMA: an error, or the VMA now covering the range (the next step's prev). */
export type RangeFixup = (vma: Vma, prevId: number, start: number, end: number) => KGen<{ err: number; vma: number }>;

/**
 * The walk of do_mprotect_pkey() and apply_vma_lock_flags(): `fixup` on each VMA of
 * [start, end) in turn, from the one containing start (none: -ENOMEM), with the previous
 * result as prev and the iterator continuing at vma_iter_end() (a merge may reach past
 * the range); a hole is -ENOMEM, after the VMAs before it were changed.
 */
export function* applyToVmaRange(k: Kernel, mm: number, start: number, end: number, fixup: RangeFixup): KGen<number> {
  const { vma: first, prev: before } = findVmaPrev(k, mm, start);
  if (!first || first.start >= end) return -ENOMEM;
  if (first.start > start) return -ENOMEM;
  let prevId = start > first.start ? first.id : before ? before.id : 0;
  let nstart = start;
  let tmp = first.start;
  let cur: Vma | null = first;
  while (cur && cur.start < end) {
    if (cur.start !== tmp) return -ENOMEM;
    tmp = Math.min(cur.end, end);
    const r = yield* fixup(cur, prevId, nstart, tmp);
    if (r.err) return r.err;
    const res = k.vma(r.vma);
    prevId = res.id;
    tmp = res.end;
    nstart = tmp;
    cur = vmaNextFrom(k, mm, res.end);
  }
  if (tmp < end) return -ENOMEM;
  return 0;
}

/**
 * copy_vma(): the destination VMA of an mremap move: merged into a neighbour at the
 * destination when possible (vma_merge_copied_range), else a copy sharing the anon_vmas.
 * An unfaulted anonymous VMA is re-based to the new address to merge more easily.
 */
export function* copyVma(
  k: Kernel,
  vmaId: number,
  addr: number,
  len: number,
  pgoffIn: number,
): KGen<{ newVma: number; vma: number; needRmapLocks: boolean } | null> {
  return yield* k.eng.span('copy_vma', () => copyVmaBody(k, vmaId, addr, len, pgoffIn), vmaId, addr);
}

/** body of copyVma, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* copyVmaBody(k: Kernel, vmaId: number, addr: number, len: number, pgoffIn: number): KGen<{ newVma: number; vma: number; needRmapLocks: boolean } | null> {
  let vma = k.vma(vmaId);
  const vmaStart = vma.start;
  let pgoff = pgoffIn;
  let faultedInAnonVma = true;
  /* If anonymous vma has not yet been faulted, update new pgoff to match new location. */
  if (vmaIsAnonymous(vma) && !vma.anonVma) {
    pgoff = addr;
    faultedInAnonVma = false;
  }
  const { vma: found, prev } = findVmaPrev(k, vma.mm, addr);
  if (found && found.start < addr + len) return null; /* should never get here */
  const vmg = vmgVmaState(prev, vma, addr, addr + len);
  vmg.pgoff = pgoff;
  vmg.next = vmaNextFrom(k, vma.mm, addr + len);
  // vma_merge_copied_range(): the source is copied from, not modified. Before 6.18.8
  // (release.ts 'copied-from') copy_vma() set middle = NULL and called
  // vma_merge_new_range(): no copied_from, so no fork check of it and no dup_anon_vma()
  if (k.has('copied-from')) vmg.copiedFrom = vma;
  vmg.middle = null;
  const merged = yield* vmaMergeNewRange(k, vmg);
  if (merged) {
    /* Source vma may have been merged into new_vma */
    if (vmaStart >= merged.start && vmaStart < merged.end) {
      if (faultedInAnonVma) throw new Error('copy_vma: a faulted VMA merged with itself (VM_BUG_ON_VMA)');
      vmaId = merged.id;
    }
    vma = k.vma(vmaId);
    return { newVma: merged.id, vma: vmaId, needRmapLocks: merged.pgoff <= vma.pgoff };
  }
  // vm_area_dup + anon_vma_clone + vma_link (whose preallocation may fail: -ENOMEM)
  if (!k.vmaIterPrealloc('vma_link')) return null;
  const nid = yield* vmaInsert(k, vma.mm, addr, addr + len, pgoff, vma.flags, vma.file);
  // vma_dup_policy()
  if (vma.policy) k.eng.emit(E.VmaPolicy, nid, vma.policy);
  if (vma.anonVma) k.eng.emit(E.VmaSetAnonVma, nid, vma.anonVma);
  yield* anonVmaClone(k, nid, vmaId);
  return { newVma: nid, vma: vmaId, needRmapLocks: false };
}

/**
 * do_vmi_munmap(): unmap [start, start+len) of mm: split the VMAs at the edges, zap
 * their pages, free page tables, remove them. No merging.
 */
export function* doVmiMunmap(k: Kernel, mm: number, start: number, len: number): KGen<number> {
  const end = start + len;
  return yield* k.eng.span('do_vmi_munmap', () => doVmiMunmapBody(k, mm, start, end), start, len);
}

/** body of doVmiMunmap, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doVmiMunmapBody(k: Kernel, mm: number, start: number, end: number): KGen<number> {
  const { vma } = findVmaPrev(k, mm, start);
  if (!vma || vma.start >= end) return 0;
  if (start > vma.start) {
    if (end < vma.end && k.mapCount(mm) >= k.config.maxMapCount) return -ENOMEM;
    // vms_gather_munmap_vmas(): "Don't bother splitting the VMA if we can't unmap it anyway"
    if (vma.flags & VM_SEALED) return -EPERM;
    const r = yield* splitVma(k, vma.id, start, true);
    if (r < 0) return r;
  }
  // gather (vms_gather_munmap_vmas): a failed split at the end leaves the first one done
  const victims: number[] = [];
  for (const id of k.vmaIdsInRange(mm, start, end)) {
    const v = k.vma(id);
    // a sealed VMA in the range: -EPERM, the split above stays (vms_abort_munmap_vmas)
    if (v.flags & VM_SEALED) return -EPERM;
    if (v.end > end) {
      const r = yield* splitVma(k, id, end, false);
      if (r < 0) return r;
    }
    victims.push(id);
  }
  for (const id of victims) yield* vmaStartWrite(k, id);
  // unmap_region(): zap, then free page tables between the neighbours
  for (const id of victims) {
    const v = k.vma(id);
    yield* zapPageRange(k, v, v.start, v.end);
  }
  for (const id of victims) yield* removeVma(k, id);
  const { floor, ceiling } = gapBounds(k, mm, start, end);
  freePgtables(k, mm, start, end, floor, ceiling);
  yield* tlbRemoveTableSync(k, mm);
  return 0;
}

/** The accounted pages of the VMAs in [start, end) (vms->nr_accounted) */
export function accountedPages(k: Kernel, mm: number, start: number, end: number): number {
  let n = 0;
  k.forEachVmaInRange(mm, start, end, (v) => {
    if (v.flags & VM_ACCOUNT) n += Math.min(v.end, end) - Math.max(v.start, start);
  });
  return n;
}
