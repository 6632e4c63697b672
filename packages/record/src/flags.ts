/**
 * The syscalls that change VMA flags or merge attributes, as trace records (perf.ts
 * pairs their sys_enter/sys_exit) and as replayed kernel code (replay.ts): the mlock
 * family (mm/mlock.c), mseal (mm/mseal.c), prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME)
 * (kernel/sys.c) and mbind (mm/mempolicy.c). All of them split and merge VMAs in the
 * kernel, so a replay that skipped them would disagree mid-run.
 */
import type { KGen } from '@mmsim/core';
import { MPOL_DEFAULT, MPOL_LOCAL, doMbind, doMlock, doMlockall, doMseal, doMunlock, doMunlockall, type Kernel } from '@mmsim/linux';
import type { TraceRecord } from './format.js';

/** prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...) (include/uapi/linux/prctl.h) */
const PR_SET_VMA = 0x53564d41;
const PR_SET_VMA_ANON_NAME = 0;
const PAGE = 4096;

/** The record kinds of this module */
export type VmaFlagRecord = Extract<TraceRecord, { 0: 'mlock' | 'munlock' | 'mlockall' | 'munlockall' | 'mseal' | 'anon_name' | 'mbind' }>;

/**
 * One finished syscall as a record (null: a prctl that is not PR_SET_VMA_ANON_NAME).
 * `a` are the sys_enter arguments as perf prints them (hex), `ret` the return value.
 */
export function vmaFlagRecord(tid: number, call: string, a: string[], ret: number): VmaFlagRecord | null {
  const h = (i: number) => Number(BigInt(a[i]));
  switch (call) {
    case 'mlock':
      return ['mlock', tid, h(0), h(1), 0, ret];
    case 'mlock2':
      return ['mlock', tid, h(0), h(1), h(2), ret];
    case 'munlock':
      return ['munlock', tid, h(0), h(1), ret];
    case 'mlockall':
      return ['mlockall', tid, h(0), ret];
    case 'munlockall':
      return ['munlockall', tid, ret];
    case 'mseal':
      return ['mseal', tid, h(0), h(1), h(2), ret];
    case 'mbind':
      return ['mbind', tid, h(0), h(1), h(2), ret];
    case 'prctl':
      return h(0) === PR_SET_VMA && h(1) === PR_SET_VMA_ANON_NAME ? ['anon_name', tid, h(2), h(3), ret] : null;
  }
  return null;
}

/** What replaying a record did: the simulator's result, or why it is not modelled. */
export type FlagReplay = { got: number; what: string } | { unmodelled: string };

/**
 * A successful record as the syscall on mm (a failed one changed nothing). The mlock
 * family, mseal and mbind run the model's code (mlock's populate makes no page_fault
 * tracepoints: GUP faults the pages in, and so does the model); a named anon VMA is a
 * merge attribute the model's VMAs do not have.
 */
export function* replayVmaFlagRecord(k: Kernel, mm: number, r: VmaFlagRecord): KGen<FlagReplay> {
  switch (r[0]) {
    case 'mlock':
      return { got: yield* doMlock(k, mm, Math.floor(r[2] / PAGE), pagesOf(r[2], r[3]), r[4]), what: `mlock(0x${r[2].toString(16)})` };
    case 'munlock':
      return { got: yield* doMunlock(k, mm, Math.floor(r[2] / PAGE), pagesOf(r[2], r[3])), what: `munlock(0x${r[2].toString(16)})` };
    case 'mlockall':
      return { got: yield* doMlockall(k, mm, r[2]), what: `mlockall(${r[2]})` };
    case 'munlockall':
      return { got: yield* doMunlockall(k, mm), what: 'munlockall()' };
    case 'mseal':
      return { got: yield* doMseal(k, mm, r[2] / PAGE, Math.ceil(r[3] / PAGE), r[4]), what: `mseal(0x${r[2].toString(16)})` };
    case 'anon_name':
      return { unmodelled: 'prctl(PR_SET_VMA_ANON_NAME) succeeded: anon_vma_name is not modelled (VMA boundaries may differ)' };
    case 'mbind': {
      // perf sees the nodemask's pointer, not its bits: a call the kernel took names a memory
      // node, and the model (like the machines) has node 0 only
      const mode = r[4] & 0xff;
      const nodes = mode === MPOL_DEFAULT || mode === MPOL_LOCAL ? 0 : 1;
      return { got: yield* doMbind(k, mm, r[2] / PAGE, Math.ceil(r[3] / PAGE), r[4], nodes, 0), what: `mbind(0x${r[2].toString(16)})` };
    }
  }
}

/** do_mlock()'s len = PAGE_ALIGN(len + offset_in_page(start)), in pages */
function pagesOf(addr: number, len: number): number {
  return Math.ceil((len + (addr % PAGE)) / PAGE);
}
