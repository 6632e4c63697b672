/**
 * Merge tests ported from the kernel's tools/testing/vma/vma.c, drawn as layouts.
 * (Tests about vm_ops->close are left out: the model's anonymous VMAs have no vm_ops.)
 */
import { describe, expect, it } from 'vitest';
import { VM_DONTEXPAND, VM_IO, VM_MIXEDMAP, VM_PFNMAP, type KGen } from '@mmsim/core';
import { BENCH_BASE, BENCH_FLAGS, VmaBench } from './testing.js';
import {
  copyVma,
  findVmaPrev,
  vmaInsert,
  vmaMergeExistingRange,
  vmaMergeNewRange,
  vmaModifyFlags,
  vmaNextFrom,
  vmgState,
  vmgVmaState,
} from './vma.js';
import { Kernel } from './kernel.js';

const B = BENCH_BASE;

/** merge_new(): a new range [start, end) with pgoff = start; null when nothing merged */
function mergeNew(b: VmaBench, start: number, end: number, flags = BENCH_FLAGS): number | null {
  return b.run(function* () {
    const { prev } = findVmaPrev(b.k, b.mm, B + start);
    const vmg = vmgState(b.mm, B + start, B + end, flags, B + start);
    vmg.prev = prev && prev.end <= B + start ? prev : null;
    vmg.next = vmaNextFrom(b.k, b.mm, B + end);
    const v = yield* vmaMergeNewRange(b.k, vmg);
    return v ? v.id : null;
  });
}

/** try_merge_new_vma(): merge, else map a new VMA named `letter` */
function tryMergeNew(b: VmaBench, letter: string, start: number, end: number): number {
  const merged = mergeNew(b, start, end);
  if (merged !== null) return merged;
  const id = b.run(() => vmaInsert(b.k, b.mm, B + start, B + end, B + start, BENCH_FLAGS));
  b.ids.set(letter, id);
  return id;
}

/** merge_existing(): [start, end) of VMA `letter` now has `flags` */
function mergeExisting(b: VmaBench, letter: string, start: number, end: number, flags = BENCH_FLAGS): number | null {
  return b.run(function* (): KGen<number | null> {
    const vma = b.vma(letter);
    const { prev } = findVmaPrev(b.k, b.mm, vma.start);
    const vmg = vmgVmaState(start > vma.start - B ? vma : prev, vma, B + start, B + end);
    vmg.flags = flags;
    const v = yield* vmaMergeExistingRange(b.k, vmg);
    return v ? v.id : null;
  });
}

describe('vma_merge_new_range (test_merge_new)', () => {
  it('merges new ranges with prev, next and both, step by step', () => {
    //              0123456789abc
    const b = new VmaBench('AA B       CC', { anon: 'A' });
    // 1) nothing adjacent: a new VMA D
    tryMergeNew(b, 'D', 7, 9);
    expect(b.draw()).toBe('AA B   DD  CC');
    expect(b.count).toBe(4);
    // 2) B gets an anon_vma; [2,3) bridges A and B: merge both, A takes B's anon_vma compatibility
    const avB = b.vma('B').anonVma;
    expect(avB).toBe(0);
    expect(mergeNew(b, 2, 3)).toBe(b.id('A'));
    expect(b.draw()).toBe('AAAA   DD  CC');
    expect(b.range('A')).toEqual([0, 4, 0]);
    expect(b.count).toBe(3);
    // 3) merge with prev only
    expect(mergeNew(b, 4, 5)).toBe(b.id('A'));
    expect(b.draw()).toBe('AAAAA  DD  CC');
    // 4) D gets an anon_vma; [6,7) merges with next: D grows down, its pgoff with it
    b.giveAnonVma('D');
    expect(mergeNew(b, 6, 7)).toBe(b.id('D'));
    expect(b.draw()).toBe('AAAAA DDD  CC');
    expect(b.range('D')).toEqual([6, 9, 6]);
    // 5) A and D have different anon_vmas: [5,6) merges only to the left
    expect(mergeNew(b, 5, 6)).toBe(b.id('A'));
    expect(b.draw()).toBe('AAAAAADDD  CC');
    expect(b.count).toBe(3);
  });

  it('merges both sides when the anon_vmas agree (one side unfaulted)', () => {
    //              0123456789abc
    const b = new VmaBench('AA       CC', { anon: 'A' });
    expect(mergeNew(b, 2, 9)).toBe(b.id('A'));
    expect(b.draw()).toBe('AAAAAAAAAAA');
    expect(b.range('A')).toEqual([0, 11, 0]);
    expect(b.count).toBe(1);
    // C was removed; A kept its anon_vma
    expect(b.vma('A').anonVma).not.toBe(0);
  });

  it('does not merge VM_SPECIAL VMAs (test_vma_merge_special_flags)', () => {
    for (const special of [VM_IO, VM_DONTEXPAND, VM_PFNMAP, VM_MIXEDMAP]) {
      //              0123
      const b = new VmaBench('AAA', { flags: { A: BENCH_FLAGS | special } });
      expect(mergeNew(b, 3, 4, BENCH_FLAGS | special)).toBeNull();
      expect(b.draw()).toBe('AAA');
    }
  });

  it('does not merge across different flags or a pgoff gap', () => {
    const b = new VmaBench('AAA', {});
    expect(mergeNew(b, 3, 4, BENCH_FLAGS & ~2)).toBeNull();
    //              0123
    const c = new VmaBench('AAA', { pgoff: { A: 100 } });
    expect(mergeNew(c, 3, 4)).toBeNull();
  });

  it('keeps prev and next apart when their anon_vmas differ (test_anon_vma_non_mergeable, new)', () => {
    //              0123456789
    const b = new VmaBench('PPP    NN', { anon: 'PN' });
    expect(mergeNew(b, 3, 7)).toBe(b.id('P'));
    expect(b.draw()).toBe('PPPPPPPNN');
    expect(b.count).toBe(2);
  });

  it('expands into a gap and merges the next VMA (test_merge_extend)', () => {
    //              0123
    const b = new VmaBench('V  W');
    const r = b.run(function* () {
      const v = b.vma('V');
      const vmg = vmgVmaState(v, v, v.end, v.end + 2);
      vmg.next = vmaNextFrom(b.k, b.mm, v.end + 2);
      vmg.middle = null;
      const m = yield* vmaMergeNewRange(b.k, vmg);
      return m ? m.id : null;
    });
    expect(r).toBe(b.id('V'));
    expect(b.draw()).toBe('VVVV');
    expect(b.range('V')).toEqual([0, 4, 0]);
    expect(b.count).toBe(1);
  });
});

describe('vma_merge_existing_range (test_merge_existing)', () => {
  it('merge right, partial: next grows down over the tail of the middle', () => {
    //              0123456789
    const b = new VmaBench('  VVVVNNN', { anon: 'V' });
    expect(mergeExisting(b, 'V', 3, 6)).toBe(b.id('N'));
    expect(b.draw()).toBe('  VNNNNNN');
    expect(b.range('N')).toEqual([3, 9, 3]);
    expect(b.range('V')).toEqual([2, 3, 2]);
    expect(b.vma('N').anonVma).toBe(b.vma('V').anonVma);
  });

  it('merge right, full: the middle goes', () => {
    const b = new VmaBench('  VVVVNNN', { anon: 'V' });
    expect(mergeExisting(b, 'V', 2, 6)).toBe(b.id('N'));
    expect(b.draw()).toBe('  NNNNNNN');
    expect(b.range('N')).toEqual([2, 9, 2]);
    expect(b.count).toBe(1);
  });

  it('merge left, partial and full', () => {
    const b = new VmaBench('PPPVVVV', { anon: 'V' });
    expect(mergeExisting(b, 'V', 3, 6)).toBe(b.id('P'));
    expect(b.draw()).toBe('PPPPPPV');
    expect(b.range('V')).toEqual([6, 7, 6]);
    const c = new VmaBench('PPPVVVV', { anon: 'V' });
    expect(mergeExisting(c, 'V', 3, 7)).toBe(c.id('P'));
    expect(c.draw()).toBe('PPPPPPP');
    expect(c.count).toBe(1);
  });

  it('merge both: prev absorbs middle and next', () => {
    const b = new VmaBench('PPPVVVVNN', { anon: 'V' });
    expect(mergeExisting(b, 'V', 3, 7)).toBe(b.id('P'));
    expect(b.draw()).toBe('PPPPPPPPP');
    expect(b.vma('P').anonVma).not.toBe(0);
    expect(b.count).toBe(1);
  });

  it('never merges a range strictly inside the VMA', () => {
    //              0123456789a
    const b = new VmaBench('PPPVVVVVNN');
    for (const [s, e] of [[4, 5], [5, 6], [6, 7], [4, 7], [4, 6]]) {
      expect(mergeExisting(b, 'V', s, e)).toBeNull();
      expect(b.draw()).toBe('PPPVVVVVNN');
    }
  });

  it('merges only left when prev and next anon_vmas differ (test_anon_vma_non_mergeable)', () => {
    const b = new VmaBench('PPPVVVVNN', { anon: 'PN' });
    expect(mergeExisting(b, 'V', 3, 7)).toBe(b.id('P'));
    expect(b.draw()).toBe('PPPPPPPNN');
  });

  it('propagates the anon_vma of the merged-away VMA (test_dup_anon_vma)', () => {
    const b = new VmaBench('PPPVVNNN', { anon: 'N' });
    const avN = b.vma('N').anonVma;
    expect(mergeExisting(b, 'V', 3, 5)).toBe(b.id('P'));
    expect(b.vma('P').anonVma).toBe(avN);
    expect(b.vma('P').chain).toEqual([avN]);
    const c = new VmaBench('PPPVVVVV', { anon: 'V' });
    const avV = c.vma('V').anonVma;
    expect(mergeExisting(c, 'V', 3, 5)).toBe(c.id('P'));
    expect(c.draw()).toBe('PPPPPVVV');
    expect(c.vma('P').anonVma).toBe(avV);
  });

  it('vma_modify splits when no merge is possible, keeping the original VMA as [start, end)', () => {
    const b = new VmaBench('VVV');
    const id = b.run(() => vmaModifyFlags(b.k, b.vma('V'), b.vma('V'), B + 1, B + 2, BENCH_FLAGS & ~2));
    expect(id).toBe(b.id('V'));
    expect(b.range('V')).toEqual([1, 2, 1]);
    expect(b.count).toBe(3);
  });
});

describe('copy_vma (test_copy_vma)', () => {
  it('copies to a free place without merging', () => {
    const b = new VmaBench('   VV');
    const r = b.run(() => copyVma(b.k, b.id('V'), B + 0, 2, B + 0));
    expect(r).not.toBeNull();
    expect(r!.newVma).not.toBe(b.id('V'));
    expect(b.draw()).toBe('## VV');
  });

  it('merges the copy into a compatible neighbour', () => {
    //              012345678
    const b = new VmaBench('VV    NN');
    const r = b.run(() => copyVma(b.k, b.id('V'), B + 4, 2, B + 4));
    expect(r!.newVma).toBe(b.id('N'));
    expect(b.range('N')).toEqual([4, 8, 4]);
  });
});

describe('lock names', () => {
  it('are stable per object', () => {
    expect(Kernel.ptl(1, 1000)).toBe(Kernel.ptl(1, 600));
    expect(Kernel.ptl(1, 1024)).not.toBe(Kernel.ptl(1, 1000));
  });
});
