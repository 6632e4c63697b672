export type {
  Access,
  ConcurrentStep,
  ConcurrentTask,
  GupFastStep,
  KernelStep,
  KernelStepOp,
  ReclaimStep,
  RmapWalkStep,
  TaskStep,
  TaskStepObservation,
  Advice,
  Expectation,
  ExitStep,
  ForkStep,
  KsmStep,
  MadviseStep,
  MmapStep,
  MprotectStep,
  MremapFlag,
  MremapStep,
  MunmapStep,
  Observation,
  PageObservation,
  PinStep,
  ProcSnapshot,
  Prot,
  Scenario,
  SimulatorOnlyOp,
  SnapshotObservation,
  SnapshotStep,
  Step,
  StepExpectation,
  StepObservation,
  StepOp,
  StepResult,
  SwapoutStep,
  ThpStep,
  TouchStep,
  UnpinStep,
  VmaCountExpectation,
  VmaExpectation,
  VmaFlagName,
  VmaMetadata,
  VmaObservation,
} from './types.js';
export {
  ADVICES,
  ALL_OPS,
  KERNEL_STEP_OPS,
  MAX_TASKS,
  TASK_OPS,
  MAX_ARENA_PAGES,
  MAX_PROCS,
  MAX_PROC_ID,
  MREMAP_FLAGS,
  OBSERVATION_FORMAT,
  OBSERVED_VMA_FLAGS,
  VMA_METADATA,
  ORACLE_OPS,
  SCENARIO_FORMAT,
  SIMULATOR_ONLY_OPS,
  FAULTS,
  FAULT_OPS,
  type Fault,
  PRCTL_OPTIONS,
  type PrctlOption,
  type PrctlStep,
} from './types.js';
export { ScenarioError, parseScenario, isOracleSafe, simulatorOnlyStep } from './parse.js';
export { MAX_JSON_DEPTH, MAX_SCENARIO_BYTES, describeValue, scanJson } from './hostile.js';
export type { JsonProblem, JsonScan } from './hostile.js';
export type { KernelBlock, RelocateAnonSetting, ThpMode } from './kernel.js';
export { KERNEL_BLOCK_FIELDS, KERNEL_RELEASE_RE, MTHP_MAX_ORDER, MTHP_MIN_ORDER, RELOCATE_ANON_NAME, THP_MODES, parseKernelBlock } from './kernel.js';
export type { RawPage, RawProcSnapshot, RawVma } from './canonical.js';
export { canonicalizeSnapshot } from './canonical.js';
export { checkExpectations } from './expect.js';
export type { Divergence, SnapshotDivergence, StepDivergence } from './diff.js';
export { diffObservations, formatDivergence, formatVmaTable } from './diff.js';
export { stableStringify } from './stringify.js';
export { MADVISE_ADVICE, MREMAP_FLAG_BITS, PRCTL_OPTION } from './uapi.js';
