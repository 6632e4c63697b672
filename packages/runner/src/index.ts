/**
 * @mmsim/runner: runs mmsim-scenario/1 files on the @mmsim/linux model. The sequential
 * runner and its observations, the `concurrent` step and its schedules, the interleaving
 * explorer, the kernel profiles a run is configured by, and scenarios at the limits.
 */
export { runScenario, runScenarioAsync, observationFromLog, logHeaderFor, resolveRun, pluginRecords, ScenarioRun, StepFailedError } from './run.js';
export type { RunOptions, RunResult, RunStop, ScenarioMark, ResolvedRun, PluginRecord } from './run.js';
export { Procs, runStep, pinRange } from './step.js';

// concurrent steps: schedules
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

// kernel profiles
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
export { observeMm, observeProcs, vmaPerms } from './observe.js';

// random scenarios for tests
export { randomScenario } from './random.js';

// the interleaving explorer
export { Explorer, EXPLORE_FORMAT, STRATEGIES, mergeResults } from './explore.js';
export { EXPLORER_CHECKERS, rootCause } from './findings.js';
export { checkReduction, samePorResults } from './por-check.js';
export type { PorCheck } from './por-check.js';
export type { CheckerFinding, ExploreOptions, ExploreResult, ExploreViolation, ScheduleCheckers, Strategy } from './explore.js';
export { Footprint, footprintHook, independent } from './footprint.js';
// scenarios at the limits (max_map_count, long runs, MAX_PROCS forks)
export { maxMapCountScenario, manyStepsScenario, manyForksScenario } from './scale.js';
export type { MaxMapLayout } from './scale.js';
