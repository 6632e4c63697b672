/**
 * @mmsim/linux: the Linux 6.18 anonymous-memory model. The syscalls and the kernel
 * functions below are the API strategy plugins build on; names follow the kernel's.
 */
export { Kernel, ARENA_BASE, MMAP_BASE, TASK_SIZE, DEFAULT_CONFIG } from './kernel.js';
export type { KernelConfig, KernelOptions } from './kernel.js';
export { EPERM, EINTR, EAGAIN, ENOMEM, EACCES, EFAULT, EBUSY, EEXIST, EINVAL, errnoName } from './errno.js';
export { MERGE_POLICY, MREMAP_STRATEGY } from './points.js';
export type { MergePolicy, VmaMergeStruct, MoveContext, MremapStrategy } from './points.js';
export { linuxMergePolicy, defaultMergePolicy, linuxMergePolicyPlugin, definePolicyPlugin, vmaIsForkChild } from './merge_policy.js';
export { mergePairs, mergeWhy } from './merge_why.js';
export type { MergeWhy } from './merge_why.js';

// syscalls
export { doMmap, doMunmap, doMprotect, doMadvise, calcVmProtBits, PROT_READ, PROT_WRITE, PROT_EXEC } from './mmap.js';
export type { MmapArgs } from './mmap.js';
export {
  doMremap,
  moveVma,
  copyVmaAndData,
  movePageTables,
  takeRmapLocks,
  dropRmapLocks,
  getUnmappedArea,
  MREMAP_MAYMOVE,
  MREMAP_FIXED,
  MREMAP_DONTUNMAP,
} from './mremap.js';
export type { Vrm, Pmc, CopyResult } from './mremap.js';
export { mremapArgs, munmapArgs, mprotectArgs, madviseArgs, mmapArgs, TASK_SIZE_BYTES } from './uapi.js';
export type { MremapPages } from './uapi.js';
export { userAccess, handleMmFault, markKsm } from './fault.js';
export type { FaultOutcome } from './fault.js';
export { dupMmap, exitMmap } from './fork.js';
export { ksmCompatible, ksmVmaFlags, prctlSetMemoryMerge } from './ksm.js';
export { doBrkFlags, brkShrink, expandDownwards, STACK_GUARD_GAP, VM_DATA_DEFAULT_FLAGS } from './brk.js';

// mm/vma.c
export {
  copyVma,
  doVmiMunmap,
  findVmaPrev,
  mmapWriteLock,
  mmapWriteUnlock,
  removeVma,
  splitVma,
  vmaExpand,
  vmaInsert,
  vmaIsAnonymous,
  vmaMergeExistingRange,
  vmaMergeNewRange,
  vmaModify,
  vmaModifyFlags,
  vmaNextFrom,
  vmaPages,
  vmaStartWrite,
  vmgState,
  vmgVmaState,
} from './vma.js';
export type { Vmg } from './vma.js';

// mm/rmap.c
export {
  anonVmaAlloc,
  anonVmaClone,
  anonVmaFork,
  anonVmaLockWrite,
  anonVmaPrepare,
  anonVmaUnlockWrite,
  findMergeableAnonVma,
  folioAddAnonRmapPte,
  folioAddNewAnonRmap,
  folioAlloc,
  folioGet,
  folioMapcount,
  folioMaybeDmaPinned,
  folioMaybeMappedShared,
  folioMoveAnonRmap,
  folioOf,
  folioPut,
  folioRemoveRmapPmd,
  folioRemoveRmapPte,
  folioTestAnon,
  folioTestKsm,
  linearPageIndex,
  putAnonVma,
  rmapWalkAnon,
  unlinkAnonVmas,
} from './rmap.js';
export type { RmapWalkResult } from './rmap.js';

// page tables and THP
export { getPte, isHugeZeroPmd, isZeroPte, pmdEntry, pmdLock, pmdUnlock, pteAlloc, ptlLock, ptlUnlock, zapPageRange } from './pgtable.js';
export { splitFolio, splitHugePmd, moveHugePmd, madviseCollapse, thpVmaAllowable, thpVmaSuitableOrder } from './huge_memory.js';
export { vmaLookupIn } from './lookup.js';

// the kernel paths that race with a concurrent step's tasks (mm/rmap.c, mm/gup.c, mm/vmscan.c)
export { folioReferenced, gupFast, shrinkFolioList, userAccessPerVma } from './racers.js';
export { getUserPages, pinUserPages } from './gup.js';
export { prctlSetVmaAnonName } from './madvise.js';
export type { ReferencedResult } from './racers.js';

// the VMA test bench (VmaBench, parseLayout) is the `@mmsim/linux/testing` export;
// the scenario runner, the explorer and the profiles are @mmsim/runner
export { HISTORIC_FIXES, LATEST_RELEASE, RELEASE_CHANGES, isHistoricFix, releaseDifferences, releaseHas, releaseOfUname, releaseSublevel } from './release.js';
export type { HistoricFixId, ReleaseChange, ReleaseChangeId } from './release.js';

// mm/mlock.c, mm/mseal.c, __mm_populate
export { doMlock, doMunlock, doMlockall, doMunlockall } from './mlock.js';
export { doMseal, vmaIsSealed, canMadviseModify } from './mseal.js';
export { mmPopulate } from './gup.js';
export { doMbind, mpolKey, MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE } from './mempolicy.js';
