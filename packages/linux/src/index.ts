/**
 * @mmsim/linux: the Linux 6.18 anonymous-memory model. The syscalls and the kernel
 * functions below are the API strategy plugins build on; names follow the kernel's.
 */
export { Kernel, ARENA_BASE, MMAP_BASE, TASK_SIZE, DEFAULT_CONFIG } from './kernel.js';
export type { KernelConfig, KernelOptions } from './kernel.js';
export { EPERM, EINTR, EAGAIN, ENOMEM, EACCES, EFAULT, EBUSY, EEXIST, EINVAL, errnoName } from './errno.js';
export { MERGE_POLICY, MREMAP_STRATEGY, LARGE_FOLIO } from './points.js';
export type { MergePolicy, VmaMergeStruct, MoveContext, MremapStrategy, LargeFolioHandler, RelocateWalk } from './points.js';
export { linuxMergePolicy, defaultMergePolicy, linuxMergePolicyPlugin, definePolicyPlugin, vmaIsForkChild } from './merge_policy.js';

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
export { userAccess, handleMmFault, markKsm } from './fault.js';
export type { FaultOutcome } from './fault.js';
export { dupMmap, exitMmap } from './fork.js';
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

// scenarios
export { runScenario, runScenarioAsync, observationFromLog, logHeaderFor, resolveRun, pluginRecords, ScenarioRun, StepFailedError, MREMAP_FLAG_BITS } from './run.js';
export type { RunOptions, RunResult, RunStop, ScenarioMark, ResolvedRun, PluginRecord } from './run.js';

// concurrent steps: schedules and the kernel paths that race
export {
  TASK_ID_BASE,
  ScheduleDriver,
  ScheduleError,
  defaultChoice,
  driverOf,
  formatSchedule,
  parseSchedule,
  replayDriver,
  seededDriver,
  taskResultViolations,
} from './concurrent.js';
export type { Deviations, TaskViolation } from './concurrent.js';
export { folioReferenced, gupFast, shrinkFolioList, userAccessPerVma } from './racers.js';
export type { ReferencedResult } from './racers.js';
export {
  DEFAULT_PROFILE,
  STOCK_PROFILE,
  DEFAULT_IMPLEMENTATIONS,
  ProfileError,
  effectiveProfile,
  profileConfig,
  profilePlugins,
  providedPoints,
} from './profile.js';
export type { KernelProfile, EffectiveProfile, ProfileImplementations, ProfileSource, PluginSpec } from './profile.js';
export { RELOCATE_ANON_VARIANTS, RELOCATE_ANON_SETTINGS } from '@mmsim/scenario';
export type { KernelBlock, RelocateAnonSetting, RelocateAnonVariant, ThpMode } from '@mmsim/scenario';
export { observeMm, observeProcs, vmaPerms } from './observe.js';

// test helpers for plugin authors: layouts drawn as ASCII, random scenarios
export { VmaBench, parseLayout, randomScenario, BENCH_BASE, BENCH_FLAGS } from './testing.js';

// the interleaving explorer
export { Explorer, EXPLORE_FORMAT, STRATEGIES, mergeResults } from './explore.js';
export type { CheckerFinding, ExploreOptions, ExploreResult, ExploreViolation, ScheduleCheckers, Strategy } from './explore.js';
export { Footprint, footprintHook, independent } from './footprint.js';
export { checkReduction, samePorResults } from './por-check.js';
export type { PorCheck } from './por-check.js';
// scenarios at the limits (max_map_count, long runs, MAX_PROCS forks)
export { maxMapCountScenario, manyStepsScenario, manyForksScenario } from './scale.js';
export type { MaxMapLayout } from './scale.js';
