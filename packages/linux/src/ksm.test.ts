/**
 * PR_SET_MEMORY_MERGE on the paths no scenario step reaches: brk (do_brk_flags applies
 * ksm_vma_flags, as a real heap shows: after prctl(PR_SET_MEMORY_MERGE, 1) and a brk()
 * that grows it, /proc/self/smaps gives the one [heap] VMA `mg`), and the flag's events.
 */
import { describe, expect, it } from 'vitest';
import { type KGen, VM_ACCOUNT, VM_MERGEABLE, VM_SHARED, VM_MAYSHARE } from '@mmsim/core';
import { BENCH_BASE, VmaBench } from './testing.js';
import { VM_DATA_DEFAULT_FLAGS, doBrkFlags } from './brk.js';
import { prctlSetMemoryMerge } from './ksm.js';

const HEAP = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT;

/** one syscall that takes its own mmap_lock (the bench's run() holds it) */
function call<T>(b: VmaBench, body: () => KGen<T>): T {
  const r = b.k.eng.syscall('test', body);
  if (!r.ok) throw r.error;
  return r.value;
}

describe('PR_SET_MEMORY_MERGE', () => {
  it('brk grows a heap made VM_MERGEABLE in place: the new range is VM_MERGEABLE too', () => {
    const b = new VmaBench('HH  SS', { flags: { H: HEAP, S: HEAP | VM_SHARED | VM_MAYSHARE } });
    expect(call(b, () => prctlSetMemoryMerge(b.k, b.mm, 1))).toBe(0);
    expect(b.vma('H').flags & VM_MERGEABLE).not.toBe(0); // (a signed 32-bit value: bit 31)
    expect(b.vma('S').flags & VM_MERGEABLE).toBe(0); // ksm_compatible refuses a shared VMA
    call(b, () => doBrkFlags(b.k, b.mm, BENCH_BASE + 2, 1));
    expect(b.count).toBe(2);
    expect(b.range('H')).toEqual([0, 3, 0]);
  });

  it('without it, brk extends the heap with the heap flags alone', () => {
    const b = new VmaBench('HH', { flags: { H: HEAP } });
    call(b, () => doBrkFlags(b.k, b.mm, BENCH_BASE + 3, 1));
    expect(b.k.vmaIds(b.mm).map((id) => b.k.vma(id).flags)).toEqual([HEAP, HEAP]);
  });

  it('enabling twice or disabling while clear emits nothing; the mm records the flag', () => {
    const b = new VmaBench('AA', { flags: { A: HEAP } });
    const events = () => [...b.k.eng.log.events()].flatMap((e) => (e.type === 'mm_merge_any' ? [[e.mm, e.on]] : []));
    call(b, () => prctlSetMemoryMerge(b.k, b.mm, 0));
    expect(events()).toEqual([]);
    call(b, () => prctlSetMemoryMerge(b.k, b.mm, 1));
    call(b, () => prctlSetMemoryMerge(b.k, b.mm, 1));
    expect(b.k.mm(b.mm).mergeAny).toBe(1);
    call(b, () => prctlSetMemoryMerge(b.k, b.mm, 0));
    expect(events()).toEqual([[b.mm, 1], [b.mm, 0]]);
    expect(b.k.mm(b.mm).mergeAny).toBe(0);
    expect(b.vma('A').flags & VM_MERGEABLE).toBe(0);
  });
});
