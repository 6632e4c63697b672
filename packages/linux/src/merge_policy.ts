/**
 * The VMA merge rules of Linux 6.18.y mm/vma.c: the model's own implementation of the
 * MERGE_POLICY extension point, which every profile chooses unless a plugin replaces it.
 */
import { MMSIM_VERSION, VM_SOFTDIRTY, definePlugin, type Plugin, type Vma } from '@mmsim/core';
import { MERGE_POLICY, type MergePolicy } from './points.js';

/** VM_READ | VM_WRITE | VM_EXEC */
const VM_ACCESS_FLAGS = 0x7;

/** vma_is_fork_child(): was this VMA forked from a parent (maybe contains CoW mappings)? */
export function vmaIsForkChild(vma: Vma | null): boolean {
  // The list_is_singular() test avoids merging VMAs cloned from parents: the anon_vma root lock scales badly.
  return !!vma && vma.anonVma !== 0 && vma.chain.length !== 1;
}

/** Linux 6.18.y mm/vma.c. */
export const linuxMergePolicy: MergePolicy = {
  name: 'linux-6.18',

  // is_mergeable_vma(): anon names and uffd contexts are not modelled (always equal)
  isMergeableVma(vmg, mergeNext) {
    const vma = (mergeNext ? vmg.next : vmg.prev)!;
    if ((vma.flags ^ vmg.flags) & ~VM_SOFTDIRTY) return false;
    if (vma.file !== vmg.file) return false;
    // mpol_equal(vmg->policy, vma_policy(vma))
    if ((vma.policy ?? 0) !== (vmg.policy ?? 0)) return false;
    return true;
  },

  // is_mergeable_anon_vma(), with the copied_from check of "mm/vma: enforce VMA fork limit on
  // unfaulted,faulted mremap merge too" (6.18.y stable)
  isMergeableAnonVma(vmg, mergeNext) {
    const tgt = (mergeNext ? vmg.next : vmg.prev)!;
    const src = vmg.middle; /* existing merge case */
    const tgtAnon = tgt.anonVma;
    const srcAnon = vmg.anonVma;
    /* Case 1 - we will dup_anon_vma() from src into tgt. */
    if (!tgtAnon && srcAnon) {
      if (vmaIsForkChild(src)) return false;
      if (vmaIsForkChild(vmg.copiedFrom)) return false;
      return true;
    }
    /* Case 2 - we will simply use tgt's anon_vma. */
    if (tgtAnon && !srcAnon) return !vmaIsForkChild(tgt);
    /* Case 3 - the anon_vma's are already shared. */
    return srcAnon === tgtAnon;
  },

  canVmaMergeBefore(vmg) {
    const pglen = vmg.end - vmg.start;
    if (this.isMergeableVma(vmg, true) && this.isMergeableAnonVma(vmg, true)) {
      if (vmg.next!.pgoff === vmg.pgoff + pglen) return true;
    }
    return false;
  },

  canVmaMergeAfter(vmg) {
    if (this.isMergeableVma(vmg, false) && this.isMergeableAnonVma(vmg, false)) {
      const prev = vmg.prev!;
      if (prev.pgoff + (prev.end - prev.start) === vmg.pgoff) return true;
    }
    return false;
  },

  canMergePrevAndNext(prev, next) {
    // If we can merge with prev (left) and next (right), each VMA's anon_vma is compatible with the
    // proposed anon_vma; that does not make prev and next compatible with EACH OTHER.
    return !prev.anonVma || !next.anonVma || prev.anonVma === next.anonVma;
  },

  anonVmaCompatible(a, b) {
    return (
      a.end === b.start &&
      a.file === b.file &&
      (a.policy ?? 0) === (b.policy ?? 0) &&
      ((a.flags ^ b.flags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY)) === 0 &&
      b.pgoff === a.pgoff + (b.start - a.start)
    );
  },
};

export const defaultMergePolicy = linuxMergePolicy;

/** Wrap a policy as a plugin that replaces the default. */
export function definePolicyPlugin(name: string, policy: MergePolicy, version?: string): Plugin {
  return definePlugin({
    name,
    ...(version !== undefined ? { version } : {}),
    setup(host) {
      host.provide(MERGE_POLICY, policy, { replace: true });
    },
  });
}

/**
 * The 6.18.y rules as a plugin: what a profile's `mergePolicy` slot holds by default. Its
 * name says the package it comes from (a log records it; this one is always installed).
 */
export const linuxMergePolicyPlugin: Plugin = definePolicyPlugin('@mmsim/linux/merge-policy', linuxMergePolicy, MMSIM_VERSION);
