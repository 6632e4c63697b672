/**
 * Types of the two public formats: `mmsim-scenario/1` and `mmsim-observation/1`
 * (see shared/spec/scenario-format.md). A `Scenario` as returned by `parseScenario`
 * is validated and has every default filled in.
 */
import type { KernelBlock } from './kernel.js';

export const SCENARIO_FORMAT = 'mmsim-scenario/1' as const;
export const OBSERVATION_FORMAT = 'mmsim-observation/1' as const;

/** Largest `arena.pages` accepted (1 GiB of 4 KiB pages). */
export const MAX_ARENA_PAGES = 262144;
/** Largest number of processes alive at once (process 0 and its descendants). */
export const MAX_PROCS = 64;
/** Largest process id (ids are not reused: the n-th fork's child is n). */
export const MAX_PROC_ID = 100000;

export const ADVICES = [
  'DONTNEED',
  'FREE',
  'HUGEPAGE',
  'NOHUGEPAGE',
  'COLLAPSE',
  'DONTFORK',
  'DOFORK',
  'WIPEONFORK',
  'COLD',
  'PAGEOUT',
  'MERGEABLE',
  'UNMERGEABLE',
  'NORMAL',
  'RANDOM',
  'SEQUENTIAL',
  'DONTDUMP',
  'DODUMP',
  'KEEPONFORK',
] as const;
export type Advice = (typeof ADVICES)[number];

/** mbind() modes by their MPOL_* names. */
export const MPOL_MODE_NAMES = ['DEFAULT', 'PREFERRED', 'BIND', 'INTERLEAVE', 'LOCAL', 'PREFERRED_MANY', 'WEIGHTED_INTERLEAVE'] as const;
export type MpolMode = (typeof MPOL_MODE_NAMES)[number];
/** Highest node id a `mbind` step may name (the oracle passes maxnode 64: get_nodes() reads 63 bits). */
export const MAX_NUMA_NODE = 62;

/** mlockall() flags by their MCL_* names. */
export const MLOCKALL_FLAGS = ['CURRENT', 'FUTURE', 'ONFAULT'] as const;
export type MlockallFlag = (typeof MLOCKALL_FLAGS)[number];

export const MREMAP_FLAGS = ['MAYMOVE', 'FIXED', 'DONTUNMAP', 'RELOCATE_ANON', 'MUST_RELOCATE_ANON'] as const;
export type MremapFlag = (typeof MREMAP_FLAGS)[number];

/** `[r-][w-][x-]`, e.g. `"rw-"`, `"r--"`, `"---"`, `"rwx"`. */
export type Prot = string;
export type Access = 'read' | 'write';

/**
 * Faults a step can inject (`"fail"`), as tools/testing/vma's fail_prealloc: `prealloc`
 * makes the step's first maple-tree preallocation (vma_iter_prealloc) fail with -ENOMEM.
 */
export const FAULTS = ['prealloc'] as const;
export type Fault = (typeof FAULTS)[number];
/** The ops a fault can be injected into (syscalls that preallocate). */
export const FAULT_OPS = ['mmap', 'munmap', 'mprotect', 'madvise', 'mremap'] as const;

interface StepBase {
  /** The process that performs the step (default 0). */
  proc: number;
  /** a fault injected into this step (absent: none) */
  fail?: Fault;
}
interface RangeStep extends StepBase {
  page: number;
  pages: number;
}

export interface MmapStep extends RangeStep {
  op: 'mmap';
  prot: Prot;
  shared: boolean;
  fixed: boolean;
  noreserve: boolean;
}
export interface MunmapStep extends RangeStep {
  op: 'munmap';
}
export interface MprotectStep extends RangeStep {
  op: 'mprotect';
  prot: Prot;
}
export interface MadviseStep extends RangeStep {
  op: 'madvise';
  advice: Advice;
}
export interface MremapStep extends RangeStep {
  op: 'mremap';
  /** New size in pages (default = `pages`). */
  newPages: number;
  /** Default `[]`. */
  flags: MremapFlag[];
  /** Target page; present exactly when `flags` has `FIXED`. */
  to?: number;
}
/** mlock(), or mlock2(MLOCK_ONFAULT) when `onfault` (default false). */
export interface MlockStep extends RangeStep {
  op: 'mlock';
  onfault: boolean;
}
export interface MunlockStep extends RangeStep {
  op: 'munlock';
}
/** mlockall(flags); no flag, or ONFAULT alone, is the kernel's EINVAL. */
export interface MlockallStep extends StepBase {
  op: 'mlockall';
  flags: MlockallFlag[];
}
export interface MunlockallStep extends StepBase {
  op: 'munlockall';
}
/** mseal(start, len, 0). */
export interface MsealStep extends RangeStep {
  op: 'mseal';
}
/** prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, start, len, name): EINVAL on kernels without CONFIG_ANON_VMA_NAME. */
export interface AnonNameStep extends RangeStep {
  op: 'anon_name';
  name: string;
}
/** mbind(start, len, mode, nodemask of `nodes`, maxnode 64, 0); nodes default []. */
export interface MbindStep extends RangeStep {
  op: 'mbind';
  mode: MpolMode;
  nodes: number[];
}
export interface TouchStep extends RangeStep {
  op: 'touch';
  access: Access;
}
export interface ForkStep extends StepBase {
  op: 'fork';
}
export interface ExitStep extends StepBase {
  op: 'exit';
}
/**
 * prctl(option, value) of the process: `PR_SET_MEMORY_MERGE` 1 sets MMF_VM_MERGE_ANY on
 * its mm (every compatible VMA, existing or new, becomes VM_MERGEABLE; a fork inherits
 * it), 0 clears it and VM_MERGEABLE from every VMA.
 */
export interface PrctlStep extends StepBase {
  op: 'prctl';
  option: PrctlOption;
  value: number;
}
/** The prctl() options a `prctl` step may use. */
export const PRCTL_OPTIONS = ['PR_SET_MEMORY_MERGE'] as const;
export type PrctlOption = (typeof PRCTL_OPTIONS)[number];
export interface SnapshotStep extends StepBase {
  op: 'snapshot';
  label: string;
}
/** Simulator-only: a long-term FOLL_PIN of the folios. */
export interface PinStep extends RangeStep {
  op: 'pin';
}
export interface UnpinStep extends RangeStep {
  op: 'unpin';
}
/** Simulator-only: the folios become KSM folios. */
export interface KsmStep extends RangeStep {
  op: 'ksm';
}
/** Simulator-only: the folios are written to swap. */
export interface SwapoutStep extends RangeStep {
  op: 'swapout';
}
/** Simulator-only: a PMD-sized THP is faulted at `page` if the VMA allows. */
export interface ThpStep extends StepBase {
  op: 'thp';
  page: number;
}

/**
 * Kernel-side steps: simulator-only, only inside a `concurrent` task. Each is a kernel
 * path with its real locks, named after it.
 */
/** folio_referenced(): the rmap walk of the folio mapped at `page` (none mapped: nothing to walk). */
export interface RmapWalkStep extends StepBase {
  op: 'rmap_walk';
  page: number;
}
/** GUP-fast (gup_fast_pte_range): lockless, IRQs off; `pin` = FOLL_PIN (default true), else FOLL_GET. */
export interface GupFastStep extends RangeStep {
  op: 'gup_fast';
  pin: boolean;
}
/** shrink_folio_list() on the folios mapped in the range: trylock, try_to_unmap to swap entries. */
export interface ReclaimStep extends RangeStep {
  op: 'reclaim';
}
export type KernelStep = RmapWalkStep | GupFastStep | ReclaimStep;
export const KERNEL_STEP_OPS = ['rmap_walk', 'gup_fast', 'reclaim'] as const;
export type KernelStepOp = (typeof KERNEL_STEP_OPS)[number];

/** What a task of a `concurrent` step may do: syscalls, pins, ksm, or kernel-side steps. */
export type TaskStep = MmapStep | MunmapStep | MprotectStep | MadviseStep | MremapStep | TouchStep | PinStep | UnpinStep | KsmStep | SwapoutStep | KernelStep;
export const TASK_OPS = ['mmap', 'munmap', 'mprotect', 'madvise', 'mremap', 'touch', 'pin', 'unpin', 'ksm', 'swapout', ...KERNEL_STEP_OPS] as const;

/** One thread of process `proc` (same mm): its steps run in order. */
export interface ConcurrentTask {
  proc: number;
  steps: TaskStep[];
}
/** Most tasks one concurrent step may have. */
export const MAX_TASKS = 8;
/**
 * Simulator-only: 2 to 8 tasks run concurrently, interleaved at every lock operation
 * and lockless access; `mmsim run` picks one schedule, `mmsim explore` all of them.
 */
export interface ConcurrentStep extends StepBase {
  op: 'concurrent';
  tasks: ConcurrentTask[];
}

export type Step =
  | ConcurrentStep
  | MmapStep
  | MunmapStep
  | MprotectStep
  | MadviseStep
  | MremapStep
  | TouchStep
  | MlockStep
  | MunlockStep
  | MlockallStep
  | MunlockallStep
  | MsealStep
  | AnonNameStep
  | MbindStep
  | ForkStep
  | ExitStep
  | SnapshotStep
  | PinStep
  | UnpinStep
  | KsmStep
  | SwapoutStep
  | ThpStep
  | PrctlStep;

export type StepOp = Step['op'];

export const ORACLE_OPS = [
  'mmap',
  'munmap',
  'mprotect',
  'madvise',
  'mremap',
  'touch',
  'mlock',
  'munlock',
  'mlockall',
  'munlockall',
  'mseal',
  'anon_name',
  'mbind',
  'fork',
  'exit',
  'snapshot',
  'prctl',
] as const;
export const SIMULATOR_ONLY_OPS = ['pin', 'unpin', 'ksm', 'swapout', 'thp', 'concurrent'] as const;
export type SimulatorOnlyOp = (typeof SIMULATOR_ONLY_OPS)[number];
export const ALL_OPS: readonly StepOp[] = [...ORACLE_OPS, ...SIMULATOR_ONLY_OPS];

/**
 * The VM_* flags an observation reports, by their names in /proc/PID/smaps' `VmFlags`
 * line (fs/proc/task_mmu.c show_smap_vma_flags), in the order it prints them: the ones a
 * scenario's steps can change. `lo` VM_LOCKED, `sr` VM_SEQ_READ (MADV_SEQUENTIAL), `rr`
 * VM_RAND_READ (MADV_RANDOM), `dc` VM_DONTCOPY (MADV_DONTFORK), `lf` VM_LOCKONFAULT,
 * `ac` VM_ACCOUNT, `nr` VM_NORESERVE, `wf` VM_WIPEONFORK, `dd` VM_DONTDUMP, `hg`
 * VM_HUGEPAGE, `nh` VM_NOHUGEPAGE, `mg` VM_MERGEABLE, `sl` VM_SEALED (mseal).
 */
export const OBSERVED_VMA_FLAGS = ['lo', 'sr', 'rr', 'dc', 'lf', 'ac', 'nr', 'wf', 'dd', 'hg', 'nh', 'mg', 'sl'] as const;
export type VmaFlagName = (typeof OBSERVED_VMA_FLAGS)[number];

/**
 * Kernel metadata of a VMA that no /proc file shows (maps prints offset 0 for an
 * anonymous VMA): the simulator reports them where the scenario's `observe` asks.
 */
export const VMA_METADATA = ['pgoff', 'anonVma'] as const;
export type VmaMetadata = (typeof VMA_METADATA)[number];

export interface VmaExpectation {
  snapshot: string;
  proc: number;
  vma: {
    contains: number;
    start: number;
    end: number;
    /** as in /proc/PID/maps (`rw-p`) */
    perms?: string;
    /** exactly these of OBSERVED_VMA_FLAGS are set */
    vmFlags?: VmaFlagName[];
    /** simulator only (needs `observe: ["pgoff"]`): see VmaObservation.pgoff */
    pgoff?: number;
    /** simulator only (needs `observe: ["anonVma"]`): the snapshot's name of its anon_vma, or null */
    anonVma?: string | null;
  };
}
export interface VmaCountExpectation {
  snapshot: string;
  proc: number;
  vmaCount: number;
  /** count only the VMAs overlapping these arena pages [start, end) (default: the arena) */
  range?: [number, number];
}
export interface StepExpectation {
  step: number;
  result: StepResult;
}
export type Expectation = VmaExpectation | VmaCountExpectation | StepExpectation;

export interface Scenario {
  format: typeof SCENARIO_FORMAT;
  name: string;
  description?: string;
  arena: { pages: number };
  /** the kernel the scenario is meant for (optional; see kernel.ts) */
  kernel?: KernelBlock;
  steps: Step[];
  expect?: Expectation[];
  /** kernel metadata the simulator adds to every VMA it observes (not observable on a kernel) */
  observe?: VmaMetadata[];
}

// ---------------------------------------------------------------- observation

export type StepResult =
  | { ok: true }
  /**
   * rmap_walk: PTEs the walk found mapping the page, the page's mapcount when the walk
   * began (folio_referenced's pra.mapcount) and when it ended (older logs: absent)
   */
  | { ok: true; found: number; mapcount: number; mapcountAfter?: number }
  /** gup_fast: pages grabbed (the rest would go to the slow path); reclaim: folios unmapped to swap */
  | { ok: true; pages: number }
  | { ok: true; page: number | null }
  | { ok: false; errno: string }
  | { ok: false; signal: string; page: number };

/** One step of a concurrent task, as observed. */
export interface TaskStepObservation {
  op: TaskStep['op'];
  result: StepResult;
}

export interface StepObservation {
  i: number;
  op: StepOp;
  result: StepResult;
  /** concurrent steps only: each task's step results, in task order */
  tasks?: TaskStepObservation[][];
}

export interface VmaObservation {
  /** Arena page of the VMA's start (may lie outside `[0, arena.pages)` if the VMA does). */
  start: number;
  /** Arena page of the VMA's end (exclusive). */
  end: number;
  /** As in /proc/PID/maps: `rw-p`, `r--s`, `---p`... */
  perms: string;
  /** Those of OBSERVED_VMA_FLAGS that are set, space-separated in smaps' `VmFlags` order (`"ac mg"`; `""`: none). */
  vmFlags: string;
  /**
   * Simulator only, with `observe: ["pgoff"]`: vm_pgoff. For a private anonymous VMA it is
   * counted in arena pages (do_mmap sets it to vm_start >> PAGE_SHIFT, so a VMA that was
   * never moved has pgoff == start); for a shared one it is the page offset into its shmem
   * object.
   */
  pgoff?: number;
  /**
   * Simulator only, with `observe: ["anonVma"]`: vma->anon_vma, named `"av1"`, `"av2"`, ... in
   * order of first appearance in the snapshot (processes ascending, then VMAs), so VMAs
   * that share an anon_vma share a name; `null` when unfaulted.
   */
  anonVma?: string | null;
}

export interface PageObservation {
  page: number;
  present: boolean;
  swapped: boolean;
  /** `"zero"`, `"f1"`, `"f2"`, ... or `null` when not present. */
  frame: string | null;
  compound: 'head' | 'tail' | null;
  exclusive: boolean;
}

export interface ProcSnapshot {
  proc: number;
  vmas: VmaObservation[];
  pages: PageObservation[];
}

export interface SnapshotObservation {
  label: string;
  procs: ProcSnapshot[];
}

export interface Observation {
  format: typeof OBSERVATION_FORMAT;
  scenario: string;
  steps: StepObservation[];
  snapshots: SnapshotObservation[];
}
