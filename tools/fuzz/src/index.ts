/**
 * @mmsim/fuzz: differential fuzzing of the simulator against the running kernel.
 */
export { Rng, scenarioSeed } from './prng.js';
export { generateScenario, MAX_FLOATING_PAGES } from './generate.js';
export type { GenerateOptions } from './generate.js';
export { compareOnce, simulate, divergenceSignature, crashSignature, SlowStepError, SLOW_STEP_MS } from './compare.js';
export type { Outcome, CompareOptions, SimResult } from './compare.js';
export { shrinkScenario, materialize } from './shrink.js';
export type { Check, ShrinkOptions, ShrinkResult } from './shrink.js';
export { buildRegression, saveRegression, expectationsFor, compactStep, scenarioHash } from './regress.js';
export type { RegressionFile } from './regress.js';
export { runFuzz } from './fuzz.js';
export type { FuzzOptions, FuzzSummary, FuzzProgress, FuzzFailure, FuzzClass, SavedRegression, FailureKind } from './fuzz.js';
