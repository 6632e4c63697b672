/**
 * @mmsim/merge-policy: when may two VMAs become one? The MERGE_POLICY extension point and
 * the Linux 6.18.y rules (mm/vma.c, with the stable fixes for mremap() merges of faulted
 * into unfaulted VMAs: vmg->copied_from) live in the model, @mmsim/linux, which every
 * profile takes its default from; this package re-exports them and wraps them as a
 * plugin. Replace the policy through MERGE_POLICY (definePolicyPlugin).
 */
import type { Plugin } from '@mmsim/core';
import { definePolicyPlugin, linuxMergePolicy } from '@mmsim/linux';

export { MERGE_POLICY, definePolicyPlugin, defaultMergePolicy, linuxMergePolicy, mergePairs, mergeWhy, vmaIsForkChild } from '@mmsim/linux';
export type { MergePolicy, MergeWhy, VmaMergeStruct } from '@mmsim/linux';

/** The 6.18.y rules as a plugin of this package (for explicit registration). */
export const mergePolicyPlugin: Plugin = definePolicyPlugin('@mmsim/merge-policy', linuxMergePolicy);
