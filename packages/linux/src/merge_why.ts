/**
 * Why (not) merged: for two adjacent VMAs, the merge policy's answer if the right one were
 * merged into the left one now (vma_merge_existing_range with prev = left, middle = right:
 * can_vma_merge_after()), and the first reason it refuses, in the kernel's order:
 * is_mergeable_vma() (flags, file), is_mergeable_anon_vma() (fork child, anon_vma), then
 * the pgoff test. The debugger's merge panel and `mmsim why` both ask it.
 */
import { VM_SOFTDIRTY, type State, type Vma } from '@mmsim/core';
import { linuxMergePolicy, vmaIsForkChild } from './merge_policy.js';
import type { MergePolicy, VmaMergeStruct } from './points.js';

/** The answer for two adjacent VMAs: would the right one merge into the left one now, and why (not). */
export interface MergeWhy {
  readonly left: number;
  readonly right: number;
  /** vpn where they meet */
  readonly at: number;
  readonly merge: boolean;
  readonly reason: string;
  readonly policy: string;
}

const FLAG_NAMES: [number, string][] = [
  [0x1, 'VM_READ'], [0x2, 'VM_WRITE'], [0x4, 'VM_EXEC'], [0x8, 'VM_SHARED'], [0x10, 'VM_MAYREAD'], [0x20, 'VM_MAYWRITE'],
  [0x40, 'VM_MAYEXEC'], [0x80, 'VM_MAYSHARE'], [0x100, 'VM_GROWSDOWN'], [0x800, 'VM_SEALED'], [0x2000, 'VM_LOCKED'],
  [0x8000, 'VM_SEQ_READ'], [0x10000, 'VM_RAND_READ'], [0x20000, 'VM_DONTCOPY'], [0x80000, 'VM_LOCKONFAULT'],
  [0x40000, 'VM_DONTEXPAND'], [0x100000, 'VM_ACCOUNT'], [0x200000, 'VM_NORESERVE'], [0x2000000, 'VM_WIPEONFORK'], [0x4000000, 'VM_DONTDUMP'],
];

function flagNames(bits: number): string {
  const out: string[] = [];
  let rest = bits;
  for (const [b, n] of FLAG_NAMES) if (bits & b) {
    out.push(n);
    rest &= ~b;
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out.join('|') || '0';
}

function vmgFor(prev: Vma, middle: Vma): VmaMergeStruct {
  return {
    mm: middle.mm,
    prev,
    middle,
    next: null,
    target: null,
    start: middle.start,
    end: middle.end,
    pgoff: middle.pgoff,
    flags: middle.flags,
    file: middle.file,
    anonVma: middle.anonVma,
    policy: middle.policy ?? 0,
    copiedFrom: null,
    justExpand: false,
  };
}

/** The policy's answer for merging `b` into `a` (a.end === b.start), with its reason. */
export function mergeWhy(a: Vma, b: Vma, policy: MergePolicy = linuxMergePolicy): MergeWhy {
  const base = { left: a.id, right: b.id, at: b.start, policy: policy.name };
  const vmg = vmgFor(a, b);
  if (!policy.isMergeableVma(vmg, false)) {
    const diff = (a.flags ^ b.flags) & ~VM_SOFTDIRTY;
    if (diff) return { ...base, merge: false, reason: `flags differ: ${flagNames(diff)} (#${a.id} ${flagNames(a.flags)}, #${b.id} ${flagNames(b.flags)})` };
    if (a.file !== b.file) return { ...base, merge: false, reason: `backing differs: shmem ${a.file || '—'} vs ${b.file || '—'}` };
    return { ...base, merge: false, reason: 'is_mergeable_vma() refuses' };
  }
  if (!policy.isMergeableAnonVma(vmg, false)) {
    if (!a.anonVma && b.anonVma && vmaIsForkChild(b)) return { ...base, merge: false, reason: `#${b.id} is a fork child (its anon_vma_chain has ${b.chain.length} entries): it keeps its own VMA` };
    if (a.anonVma && !b.anonVma && vmaIsForkChild(a)) return { ...base, merge: false, reason: `#${a.id} is a fork child (its anon_vma_chain has ${a.chain.length} entries): it keeps its own VMA` };
    return { ...base, merge: false, reason: `anon_vma incompatible: ${a.anonVma || '—'} vs ${b.anonVma || '—'} (both faulted, different anon_vmas)` };
  }
  const want = a.pgoff + (a.end - a.start);
  if (want !== b.pgoff) return { ...base, merge: false, reason: `pgoff not contiguous: #${a.id} ends at pgoff ${want}, #${b.id} starts at ${b.pgoff}` };
  if (!policy.canVmaMergeAfter(vmg)) return { ...base, merge: false, reason: 'can_vma_merge_after() refuses' };
  return { ...base, merge: true, reason: 'compatible: flags, backing, anon_vma and pgoff agree (vma_merge would join them)' };
}

/** Why (not) merged, for every two adjacent VMAs of each mm, in address order (at most `max`). */
export function mergePairs(s: State, max = 200, policy: MergePolicy = linuxMergePolicy): MergeWhy[] {
  const out: MergeWhy[] = [];
  for (const k of Object.keys(s.mms)) {
    const ids = s.mms[+k].vmas.ids();
    for (let i = 1; i < ids.length && out.length < max; i++) {
      const a = s.vmas.get(ids[i - 1]);
      const b = s.vmas.get(ids[i]);
      if (a && b && a.end === b.start) out.push(mergeWhy(a, b, policy));
    }
  }
  return out;
}
