/**
 * @mmsim/bench: the simulator against the real kernel (fault-in, relocation), and what
 * the event log costs (size, replay, seeks, memory). `mmsim bench` is the front end.
 */
export {
  FULL_SIZES,
  HEADLINE_KEYS,
  QUICK_SIZES,
  TARGETS,
  fmtCount,
  fmtMs,
  formatReport,
  runBench,
  stderrReporter,
  sweepPoints,
  writeOutputs,
} from './bench.js';
export type { BenchHooks, BenchOptions, BenchResult, Clock, SweepRow, Target } from './bench.js';
export { DEFAULT_HELPER_DIR, HELPER_SOURCE, HelperUnavailableError, ensureHelper, runKernel } from './helper.js';
export type { HelperBuildOptions, KernelMeasurement, KernelOp, Timing } from './helper.js';
export { runSimChild, runSplitChild } from './child.js';
export { runSplitGrowth } from './splits.js';
export type { SplitJob, SplitPoint, SplitResult } from './splits.js';
export type { ChildOptions } from './child.js';
export { runSimSession, relocateTarget } from './sim.js';
export type { LogJob, LogResult, PhaseResult, SimJob, SimResult } from './sim.js';
export { sweepSvg } from './svg.js';
export type { SweepPoint } from './svg.js';
export { aggregateProfile, callersOf, formatProfile } from './cpuprofile.js';
export type { ProfileRow } from './cpuprofile.js';
