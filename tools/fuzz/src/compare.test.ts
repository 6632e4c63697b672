/**
 * simulate(): the simulator's run as a value. A step over the limit of CPU time is a
 * SlowStepError naming the step (the fuzzer's hang detector); within the limit the run
 * ends with its observation.
 */
import { describe, expect, it } from 'vitest';
import { generateScenario } from './generate.js';
import { SlowStepError, simulate } from './compare.js';

describe('simulate', () => {
  const s = generateScenario(4242, { steps: 12 });

  it('runs a scenario to its observation within the limit', () => {
    const r = simulate(s, 60_000, {});
    expect(r.error).toBeUndefined();
    expect(r.observation).toBeDefined();
  });

  it('a step over the limit is a SlowStepError naming the step and its op', () => {
    // a limit below zero: the first step is over it, however fast it was
    const r = simulate(s, -1, {});
    expect(r.error).toBeInstanceOf(SlowStepError);
    const e = r.error as SlowStepError;
    expect(e.step).toBe(0);
    expect(e.op).toBe(s.steps[0].op);
    expect(e.message).toMatch(/^step 0 \(\w+\): slow: the simulator took \d+ ms of CPU time for one step$/);
  });
});
