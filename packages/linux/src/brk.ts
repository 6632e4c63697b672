/**
 * brk() and stack growth (mm/mmap.c, mm/vma.c): the two ways an anonymous VMA appears
 * or grows without mmap(), needed to replay real programs' traces.
 */
import { E, VM_ACCOUNT, VM_GROWSDOWN, VM_LOCKED, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE, type KGen, type Vma } from '@mmsim/core';
import { ENOMEM } from './errno.js';
import { Kernel } from './kernel.js';
import { doVmiMunmap, findVmaPrev, mmapWriteLock, mmapWriteUnlock, vmaInsert, vmaMergeNewRange, vmaStartWrite, vmgState } from './vma.js';
import { anonVmaPrepare } from './rmap.js';
import { mmPopulate } from './gup.js';
import { ksmVmaFlags } from './ksm.js';

/** VM_DATA_DEFAULT_FLAGS (x86_64 VM_DATA_FLAGS_TSK_EXEC without READ_IMPLIES_EXEC) */
export const VM_DATA_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

/**
 * do_brk_flags(): grow the heap by [addr, addr + pages). The VMA ending at addr is
 * extended in place when it can be (vmg.just_expand: never merged with the next VMA),
 * else a new anonymous VMA with pgoff = addr.
 */
export function* doBrkFlags(k: Kernel, mm: number, addr: number, pages: number): KGen<number> {
  return yield* k.eng.span('do_brk_flags', () => doBrkFlagsBody(k, mm, addr, pages), addr, pages);
}

function* doBrkFlagsBody(k: Kernel, mm: number, addr: number, pages: number): KGen<number> {
  if (pages <= 0) return 0;
  if (k.mm(mm).vmas.size > k.config.maxMapCount) return -ENOMEM;
  const flags = ksmVmaFlags(k, mm, VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | k.defFlags(mm));
  yield* mmapWriteLock(k, mm);
  const { prev, vma } = findVmaPrev(k, mm, addr);
  if (vma && vma.start < addr + pages) {
    yield* mmapWriteUnlock(k, mm);
    return -ENOMEM; // brk() checks the gap first (check_brk_limits, find_vma_intersection)
  }
  let done = false;
  if (prev && prev.end === addr) {
    const vmg = vmgState(mm, addr, addr + pages, flags, addr);
    vmg.prev = prev;
    vmg.justExpand = true;
    done = !!(yield* vmaMergeNewRange(k, vmg));
  }
  if (!done) yield* vmaInsert(k, mm, addr, addr + pages, addr, flags, 0);
  yield* mmapWriteUnlock(k, mm);
  // brk(): mm->def_flags & VM_LOCKED (mlockall(MCL_FUTURE)) populates the new part
  if (flags & VM_LOCKED) yield* mmPopulate(k, mm, addr, pages, true);
  return addr;
}

/** brk() shrinking: do_vmi_align_munmap() of [newBrk, oldBrk) (pages) */
export function* brkShrink(k: Kernel, mm: number, newBrk: number, oldBrk: number): KGen<number> {
  return yield* k.eng.span('brk_shrink', function* () {
    yield* mmapWriteLock(k, mm);
    const r = yield* doVmiMunmap(k, mm, newBrk, oldBrk - newBrk);
    yield* mmapWriteUnlock(k, mm);
    return r;
  }, newBrk, oldBrk - newBrk);
}

/** stack_guard_gap: 256 pages */
export const STACK_GUARD_GAP = 256;

/**
 * expand_downwards(): a fault below a VM_GROWSDOWN VMA grows it down to the faulting
 * page (anon_vma_prepare first; vm_pgoff moves with vm_start), unless that would come
 * within stack_guard_gap of the VMA below. Returns the grown VMA, or null.
 */
export function* expandDownwards(k: Kernel, mm: number, vpn: number): KGen<Vma | null> {
  const { vma, prev } = findVmaPrev(k, mm, vpn);
  if (!vma || !(vma.flags & VM_GROWSDOWN) || vma.start <= vpn) return null;
  if (prev && prev.end > vpn - STACK_GUARD_GAP && !(prev.flags & VM_GROWSDOWN)) return null;
  return yield* k.eng.span('expand_downwards', function* () {
    yield* mmapWriteLock(k, mm);
    yield* anonVmaPrepare(k, vma.id);
    yield* vmaStartWrite(k, vma.id);
    const v = k.vma(vma.id);
    k.eng.emit(E.VmaAdjust, v.id, vpn, v.end, v.pgoff - (v.start - vpn));
    yield* mmapWriteUnlock(k, mm);
    return k.vma(vma.id);
  }, vpn);
}
