/**
 * mseal() (mm/mseal.c): VM_SEALED on every VMA of a range with no holes, through
 * vma_modify_flags() (a sealed range splits from its neighbours, and merges with sealed
 * ones). What a seal forbids is checked where the kernel checks vma_is_sealed(): munmap
 * and MAP_FIXED over it (vms_gather_munmap_vmas, vma.ts), mremap (check_prep_vma,
 * mremap.ts), mprotect (mprotect_fixup) and discarding madvise on read-only anonymous
 * memory (can_madvise_modify, mmap.ts): -EPERM.
 */
import { VM_SEALED, VM_WRITE, type KGen, type Vma } from '@mmsim/core';
import { EINVAL, ENOMEM } from './errno.js';
import { Kernel } from './kernel.js';
import { findVmaPrev, mmapWriteLock, mmapWriteUnlock, vmaIsAnonymous, vmaModifyFlagsReset, vmaNextFrom } from './vma.js';

/** vma_is_sealed() */
export function vmaIsSealed(v: Vma): boolean {
  return (v.flags & VM_SEALED) !== 0;
}

/** is_discard(): the advice that throw data away */
const DISCARD_ADVICE: ReadonlySet<string> = new Set(['FREE', 'DONTNEED', 'DONTNEED_LOCKED', 'REMOVE', 'DONTFORK', 'WIPEONFORK', 'GUARD_INSTALL']);

/**
 * can_madvise_modify(): on a sealed VMA only a discard is refused, and only on anonymous
 * memory the user could not write anyway.
 */
export function canMadviseModify(v: Vma, advice: string): boolean {
  if (!vmaIsSealed(v)) return true;
  if (!DISCARD_ADVICE.has(advice)) return true;
  if (!vmaIsAnonymous(v)) return true;
  return (v.flags & VM_WRITE) !== 0;
}

/** range_contains_unmapped() */
function rangeContainsUnmapped(k: Kernel, mm: number, start: number, end: number): boolean {
  let prevEnd = start;
  let holed = false;
  k.forEachVmaInRange(mm, start, end, (v) => {
    if (v.start > prevEnd) {
      holed = true;
      return false;
    }
    prevEnd = v.end;
  });
  return holed || prevEnd < end;
}

/** mseal_apply(): each VMA of the range not sealed yet gets VM_SEALED */
function* msealApply(k: Kernel, mm: number, start: number, end: number): KGen<number> {
  const { vma: first, prev: before } = findVmaPrev(k, mm, start);
  let prevId = start > first!.start ? first!.id : before ? before.id : 0;
  let currStart = start;
  let cur: Vma | null = first;
  while (cur && cur.start < end) {
    const currEnd = Math.min(cur.end, end);
    let id = cur.id;
    if (!vmaIsSealed(cur)) {
      id = yield* vmaModifyFlagsReset(k, prevId, cur.id, currStart, currEnd, cur.flags | VM_SEALED);
      if (id < 0) return id;
    }
    prevId = id;
    currStart = currEnd;
    cur = vmaNextFrom(k, mm, currEnd);
  }
  return 0;
}

/** mseal(start, len, flags), addresses in pages */
export function* doMseal(k: Kernel, mm: number, start: number, pages: number, flags = 0): KGen<number> {
  return yield* k.eng.span('do_mseal', () => doMsealBody(k, mm, start, pages, flags), start, pages);
}

function* doMsealBody(k: Kernel, mm: number, start: number, pages: number, flags: number): KGen<number> {
  if (flags) return -EINVAL;
  const end = start + pages;
  if (end < start) return -EINVAL;
  if (end === start) return 0;
  yield* mmapWriteLock(k, mm);
  let ret = -ENOMEM;
  if (!rangeContainsUnmapped(k, mm, start, end)) ret = yield* msealApply(k, mm, start, end);
  yield* mmapWriteUnlock(k, mm);
  return ret;
}
