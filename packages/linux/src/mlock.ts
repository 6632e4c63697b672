/**
 * mlock(), mlock2(), munlock(), mlockall(), munlockall() (mm/mlock.c): VM_LOCKED and
 * VM_LOCKONFAULT are VMA flags like any other, so a locked range splits from, and merges
 * with, its neighbours through vma_modify_flags() as mprotect's does; a lock without
 * ONFAULT then faults the range in (__mm_populate). The model has no LRU, so what
 * mlock_vma_pages_range() does to the folios (PG_mlocked, the unevictable list) is not
 * kept; RLIMIT_MEMLOCK is not checked (the recorder and the oracle run as root:
 * CAP_IPC_LOCK).
 *
 * mlockall(MCL_FUTURE) sets mm->def_flags, which every later mmap() and brk() ORs into
 * the new VMA's flags (and then populates it). def_flags is kept by the Kernel, not in the
 * state: it changes no state itself, only what later syscalls do, and a replay of the log
 * reads their VMA flags from the events.
 */
import { MLOCKALL_FLAG_BITS, MLOCK_ONFAULT, VM_HUGETLB, VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT, VM_SPECIAL, type KGen } from '@mmsim/core';
import { EAGAIN, EFAULT, EINVAL, ENOMEM } from './errno.js';
import { Kernel, TASK_SIZE } from './kernel.js';
import { mmPopulate } from './gup.js';
import { applyToVmaRange, mmapWriteLock, mmapWriteUnlock, vmaModifyFlagsReset, vmaNextFrom } from './vma.js';

const { CURRENT: MCL_CURRENT, FUTURE: MCL_FUTURE, ONFAULT: MCL_ONFAULT } = MLOCKALL_FLAG_BITS;

/**
 * mlock_fixup(): nothing for a VMA whose flags do not change, nor for VM_SPECIAL and
 * hugetlb VMAs (they are never locked); otherwise vma_modify_flags() (merge or split) and
 * the new flags. Returns the VMA now covering [start, end) (the prev of the next step).
 */
function* mlockFixup(k: Kernel, vmaId: number, prevId: number, start: number, end: number, newflags: number): KGen<{ err: number; vma: number }> {
  const vma = k.vma(vmaId);
  const oldflags = vma.flags;
  if (newflags === oldflags || oldflags & VM_SPECIAL || oldflags & VM_HUGETLB) return { err: 0, vma: vmaId };
  // mlock_vma_pages_range() / vm_flags_reset(): the folios' mlock state is not modelled
  const id = yield* vmaModifyFlagsReset(k, prevId, vmaId, start, end, newflags);
  return id < 0 ? { err: id, vma: vmaId } : { err: 0, vma: id };
}

/** apply_vma_lock_flags(): each VMA of [start, end) gets `flags` for its VM_LOCKED_MASK bits; a hole is -ENOMEM */
function* applyVmaLockFlags(k: Kernel, mm: number, start: number, end: number, flags: number): KGen<number> {
  if (end === start) return 0;
  return yield* applyToVmaRange(k, mm, start, end, (cur, prevId, nstart, tmp) =>
    mlockFixup(k, cur.id, prevId, nstart, tmp, (cur.flags & ~VM_LOCKED_MASK) | flags),
  );
}

/** __mlock_posix_error_return(): POSIX wants EAGAIN for a lock that could not be had, ENOMEM for an unmapped range */
function mlockPosixErrorReturn(r: number): number {
  if (r === -EFAULT) return -ENOMEM;
  if (r === -ENOMEM) return -EAGAIN;
  return r;
}

/** do_mlock(): the flags under the mmap write lock, then __mm_populate() of the range */
function* doMlockBody(k: Kernel, mm: number, start: number, pages: number, flags: number): KGen<number> {
  yield* mmapWriteLock(k, mm);
  const err = yield* applyVmaLockFlags(k, mm, start, start + pages, flags);
  yield* mmapWriteUnlock(k, mm);
  if (err) return err;
  return mlockPosixErrorReturn(yield* mmPopulate(k, mm, start, pages, false));
}

/** mlock2(start, len, flags) (mlock() is flags 0), addresses in pages */
export function* doMlock(k: Kernel, mm: number, start: number, pages: number, flags = 0): KGen<number> {
  return yield* k.eng.span('do_mlock', () => mlock2Body(k, mm, start, pages, flags), start, pages);
}

function* mlock2Body(k: Kernel, mm: number, start: number, pages: number, flags: number): KGen<number> {
  if (flags & ~MLOCK_ONFAULT) return -EINVAL;
  if (start + pages < start || start + pages > TASK_SIZE) return -ENOMEM;
  return yield* doMlockBody(k, mm, start, pages, VM_LOCKED | (flags & MLOCK_ONFAULT ? VM_LOCKONFAULT : 0));
}

/** munlock(start, len), addresses in pages */
export function* doMunlock(k: Kernel, mm: number, start: number, pages: number): KGen<number> {
  return yield* k.eng.span('munlock', () => munlockBody(k, mm, start, pages), start, pages);
}

function* munlockBody(k: Kernel, mm: number, start: number, pages: number): KGen<number> {
  yield* mmapWriteLock(k, mm);
  const r = yield* applyVmaLockFlags(k, mm, start, start + pages, 0);
  yield* mmapWriteUnlock(k, mm);
  return r;
}

/**
 * apply_mlockall_flags(): def_flags for MCL_FUTURE, and with MCL_CURRENT every VMA's
 * lock bits (errors ignored, each VMA on its own). flags 0 is munlockall().
 */
function* applyMlockallFlags(k: Kernel, mm: number, flags: number): KGen<void> {
  let def = k.defFlags(mm) & ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) {
    def |= VM_LOCKED;
    if (flags & MCL_ONFAULT) def |= VM_LOCKONFAULT;
  }
  k.setDefFlags(mm, def);
  if (flags & MCL_FUTURE && !(flags & MCL_CURRENT)) return;
  let toAdd = 0;
  if (flags & MCL_CURRENT) {
    toAdd |= VM_LOCKED;
    if (flags & MCL_ONFAULT) toAdd |= VM_LOCKONFAULT;
  }
  let prevId = 0;
  let cur = vmaNextFrom(k, mm, 0);
  while (cur) {
    const r = yield* mlockFixup(k, cur.id, prevId, cur.start, cur.end, (cur.flags & ~VM_LOCKED_MASK) | toAdd);
    const res = k.vma(r.err ? cur.id : r.vma);
    prevId = res.id;
    cur = vmaNextFrom(k, mm, res.end);
  }
}

/** mlockall(flags) */
export function* doMlockall(k: Kernel, mm: number, flags: number): KGen<number> {
  return yield* k.eng.span('mlockall', () => mlockallBody(k, mm, flags), flags, 0);
}

function* mlockallBody(k: Kernel, mm: number, flags: number): KGen<number> {
  if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) return -EINVAL;
  yield* mmapWriteLock(k, mm);
  yield* applyMlockallFlags(k, mm, flags);
  yield* mmapWriteUnlock(k, mm);
  // mm_populate(0, TASK_SIZE): errors ignored
  if (flags & MCL_CURRENT && !(flags & MCL_ONFAULT)) yield* mmPopulate(k, mm, 0, TASK_SIZE, true);
  return 0;
}

/** munlockall() */
export function* doMunlockall(k: Kernel, mm: number): KGen<number> {
  return yield* k.eng.span('munlockall', () => munlockallBody(k, mm), 0, 0);
}

function* munlockallBody(k: Kernel, mm: number): KGen<number> {
  yield* mmapWriteLock(k, mm);
  yield* applyMlockallFlags(k, mm, 0);
  yield* mmapWriteUnlock(k, mm);
  return 0;
}
