/**
 * @mmsim/merge-policy: when may two VMAs become one? The default is Linux 6.18.y's
 * mm/vma.c, including the stable fixes for mremap() merges of faulted into unfaulted
 * VMAs (vmg->copied_from). Replace it through the MERGE_POLICY extension point.
 */
export { MERGE_POLICY, definePolicyPlugin, mergePolicyPlugin, defaultMergePolicy, linuxMergePolicy } from './policy.js';
export type { MergePolicy, VmaMergeStruct } from './policy.js';
export { vmaIsForkChild } from './policy.js';
