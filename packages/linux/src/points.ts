/**
 * The model's extension points: what plugins can change in the kernel's behaviour.
 */
import { defineExtensionPoint, type KGen, type Vma } from '@mmsim/core';
import type { Kernel } from './kernel.js';
import type { CopyResult, Vrm } from './mremap.js';

/**
 * struct vma_merge_struct, the part a policy reads. `middle` is the VMA being modified
 * (NULL for a new range); `copiedFrom` the VMA mremap() copies (vmg->copied_from).
 */
export interface VmaMergeStruct {
  mm: number;
  prev: Vma | null;
  middle: Vma | null;
  next: Vma | null;
  target: Vma | null;
  start: number;
  end: number;
  pgoff: number;
  flags: number;
  /** shmem object of a shared anonymous mapping (vm_file), 0 for private anonymous */
  file: number;
  /** anon_vma of the range (vmg->anon_vma) */
  anonVma: number;
  /** vmg->policy: the range's mempolicy key (mempolicy.ts; absent or 0: none) */
  policy?: number;
  copiedFrom: Vma | null;
  /** vma_merge_extend / brk: never merge right */
  justExpand: boolean;
}

export interface MergePolicy {
  readonly name: string;
  /** is_mergeable_vma(): everything but the anon_vma */
  isMergeableVma(vmg: VmaMergeStruct, mergeNext: boolean): boolean;
  /** is_mergeable_anon_vma() */
  isMergeableAnonVma(vmg: VmaMergeStruct, mergeNext: boolean): boolean;
  /** can_vma_merge_before(): the range may join vmg.next */
  canVmaMergeBefore(vmg: VmaMergeStruct): boolean;
  /** can_vma_merge_after(): the range may join vmg.prev */
  canVmaMergeAfter(vmg: VmaMergeStruct): boolean;
  /** can_vma_merge_right()'s check that prev and next agree when both merge */
  canMergePrevAndNext(prev: Vma, next: Vma): boolean;
  /** anon_vma_compatible(): may b reuse a's anon_vma (find_mergeable_anon_vma) */
  anonVmaCompatible(a: Vma, b: Vma): boolean;
}

/** The merge-policy extension point: one implementation. */
export const MERGE_POLICY = defineExtensionPoint<MergePolicy>(
  'merge-policy',
  'single',
  'decides whether VMAs merge (mm/vma.c is_mergeable_vma, is_mergeable_anon_vma, can_vma_merge_*)',
);

/** What a move strategy sees of one mremap() move. */
export interface MoveContext {
  readonly k: Kernel;
  /** struct vma_remap_struct: addresses and lengths in pages; `vma` is the source VMA id */
  readonly vrm: Vrm;
  /** the kernel's own copy_vma_and_data(), for strategies that fall back to it */
  copyVmaAndData(): KGen<CopyResult>;
}

/**
 * A mremap() move strategy (multi: tried in order). All hooks are optional.
 * - `extraFlags`: MREMAP_* bits it understands (others are EINVAL, as on a released kernel)
 * - `checkParams`: extra check_mremap_params() rules, 0 or -errno
 * - `checkPrepVma`: extra per-VMA checks once the VMA is known, 0 or -errno
 * - `copyVmaAndData`: replace copy_vma_and_data(); null = not mine, the next strategy or the default runs
 * - `afterMove`: once the source is unmapped (e.g. try a merge again)
 */
export interface MremapStrategy {
  readonly name: string;
  readonly extraFlags: number;
  checkParams?(flags: number): number;
  checkPrepVma?(ctx: MoveContext): number;
  copyVmaAndData?(ctx: MoveContext): KGen<CopyResult | null>;
  afterMove?(ctx: MoveContext, newVma: number): KGen<void>;
}

export const MREMAP_STRATEGY = defineExtensionPoint<MremapStrategy>(
  'mremap-strategy',
  'multi',
  'mremap() move strategies (copy_vma_and_data and its checks), e.g. MREMAP_RELOCATE_ANON',
);
