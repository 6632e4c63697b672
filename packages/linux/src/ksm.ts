/**
 * KSM's per-mm switch (mm/ksm.c, kernel/sys.c): prctl(PR_SET_MEMORY_MERGE) sets or
 * clears MMF_VM_MERGE_ANY, which makes every compatible VMA of the mm VM_MERGEABLE, the
 * existing ones at once and new ones as mmap() and brk() create them (ksm_vma_flags).
 * VM_MERGEABLE is a vm_flag like any other: a VMA that has it merges only with
 * neighbours that have it too.
 */
import { E, PRCTL_OPTION, VM_DONTEXPAND, VM_HUGETLB, VM_IO, VM_MAYSHARE, VM_MERGEABLE, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, type KGen } from '@mmsim/core';
import { Kernel } from './kernel.js';
import { mmapWriteLock, mmapWriteUnlock, vmaStartWrite } from './vma.js';

/**
 * ksm_compatible() (mm/ksm.c): no shared mapping, no VM_SPECIAL (PFN/IO/mixed maps,
 * VM_DONTEXPAND), no hugetlb. (VM_DROPPABLE and DAX files do not exist in the model.)
 */
export function ksmCompatible(flags: number): boolean {
  return !(flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_HUGETLB | VM_MIXEDMAP));
}

/**
 * ksm_vma_flags() (mm/ksm.c): the flags of a VMA mmap() or brk() is about to create,
 * VM_MERGEABLE added when the mm has MMF_VM_MERGE_ANY and the VMA is compatible. mmap
 * applies it before trying to merge (__mmap_region: can_set_ksm_flags_early, true for
 * anonymous memory and shmem), so the new range merges with VM_MERGEABLE neighbours.
 */
export function ksmVmaFlags(k: Kernel, mm: number, flags: number): number {
  if (k.mm(mm).mergeAny && !(flags & VM_MERGEABLE) && ksmCompatible(flags)) return flags | VM_MERGEABLE;
  return flags;
}

/**
 * ksm_add_vmas() / ksm_del_vmas() (mm/ksm.c): __ksm_add_vma sets VM_MERGEABLE on every
 * compatible VMA, __ksm_del_vma clears it on every VMA that has it (MADV_MERGEABLE's
 * too). vm_flags_set/clear change the flag in place (vma_start_write): nothing splits
 * or merges. __ksm_del_vma's unmerge_ksm_pages() breaks the KSM pages first; the
 * model's KSM folios come only from the simulator-only `ksm` op, which does not need
 * VM_MERGEABLE, so they are left alone, as MADV_UNMERGEABLE leaves them (madvise.ts).
 */
function* ksmSetVmas(k: Kernel, mm: number, on: boolean): KGen<void> {
  for (const id of k.vmaIds(mm)) {
    const flags = k.vma(id).flags;
    const next = on ? (flags & VM_MERGEABLE || !ksmCompatible(flags) ? flags : flags | VM_MERGEABLE) : flags & ~VM_MERGEABLE;
    if (next === flags) continue;
    yield* vmaStartWrite(k, id);
    k.eng.emit(E.VmaFlags, id, next);
  }
}

/**
 * prctl(PR_SET_MEMORY_MERGE, value) (kernel/sys.c): under mmap_write_lock,
 * ksm_enable_merge_any() (nothing if MMF_VM_MERGE_ANY is set already; else set it, then
 * ksm_add_vmas) or ksm_disable_merge_any() (nothing if it is clear; else ksm_del_vmas,
 * then clear it). Returns 0: __ksm_enter() and unmerging cannot fail in the model.
 */
export function* prctlSetMemoryMerge(k: Kernel, mm: number, value: number): KGen<number> {
  return yield* k.eng.span('prctl', () => prctlSetMemoryMergeBody(k, mm, value), PRCTL_OPTION.PR_SET_MEMORY_MERGE, value);
}

function* prctlSetMemoryMergeBody(k: Kernel, mm: number, value: number): KGen<number> {
  yield* mmapWriteLock(k, mm);
  const on = value !== 0;
  if (!!k.mm(mm).mergeAny !== on) {
    if (on) k.eng.emit(E.MmMergeAny, mm, 1);
    yield* ksmSetVmas(k, mm, on);
    if (!on) k.eng.emit(E.MmMergeAny, mm, 0);
  }
  yield* mmapWriteUnlock(k, mm);
  return 0;
}
