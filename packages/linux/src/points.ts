/**
 * The model's extension points: what plugins can change in the kernel's behaviour.
 */
import { defineExtensionPoint, type KGen } from '@mmsim/core';
import type { Kernel } from './kernel.js';
import type { CopyResult, Vrm } from './mremap.js';

export { MERGE_POLICY } from '@mmsim/merge-policy';
export type { MergePolicy, VmaMergeStruct } from '@mmsim/merge-policy';

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
