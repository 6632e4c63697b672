/**
 * The interleaving explorer on the seed's race (MREMAP_RELOCATE_ANON against an rmap
 * walk), every checker attached: the bugs it must find, the reduction it must not lose
 * anything to, shards that add up, schedules that reproduce.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { E, encodeLogFile } from '@mmsim/core';
import { Explorer, parseSchedule, rootCause, runScenario, taskResultViolations, type ExploreOptions } from '@mmsim/runner';
import relocateAnon from '@mmsim/relocate-anon';
import { parseScenario, type Scenario } from '@mmsim/scenario';
import { attachCheckers } from './index.js';
import { explorer } from './__fixtures__/explorer.js';

const race = (name: string): Scenario => parseScenario(readFileSync(new URL(`../../../scenarios/races/${name}.json`, import.meta.url), 'utf8'));


describe('explore: relocation against a racing rmap walk', () => {
  it('fixed: the bounded space is exhausted and no schedule makes the walk miss the page', () => {
    const r = explorer(race('relocate-vs-rmap-walk'), 'fixed').explore();
    expect(r.complete).toBe(true);
    expect(r.schedules).toBeGreaterThan(5);
    expect(r.violations).toEqual([]);
    // the walk ran before and after the move: two different final task results
    expect(r.distinctFinalStates).toBe(2);
  });

  it('bug-unlocked-new-anon-vma: dfs finds a walk that misses the mapping at bound <= 2, and the schedule reproduces', () => {
    const s = race('relocate-vs-rmap-walk');
    const r = explorer(s, 'bug-unlocked-new-anon-vma', { report: (c) => c === 'rmap-walk' }).explore();
    expect(r.violations.length).toBe(1);
    const v = r.violations[0];
    expect(v.checker).toBe('rmap-walk');
    expect(v.preemptions).toBeLessThanOrEqual(2);
    expect(r.firstViolationAfter).not.toBeNull();
    // `mmsim run --schedule S` does the same: the walk misses the page again
    const run = runScenario(s, { plugins: [[relocateAnon, { variant: 'bug-unlocked-new-anon-vma' }]], schedule: v.schedule });
    expect(taskResultViolations(run.observation.steps, s).map((x) => x.message)).toEqual([v.message]);
    // and under the default schedule (no preemption) it does not: only the race shows it
    const calm = runScenario(s, { plugins: [[relocateAnon, { variant: 'bug-unlocked-new-anon-vma' }]], schedule: '' });
    expect(taskResultViolations(calm.observation.steps, s)).toEqual([]);
  });

  it('the partial-order reduction loses no final state and no violation, and runs fewer schedules', () => {
    const s = race('relocate-vs-rmap-walk');
    // bug-unbalanced-rmap-lock deadlocks: a run a deadlock stops is no sequence of commuting segments
    for (const variant of ['bug-unlocked-new-anon-vma', 'bug-unbalanced-rmap-lock'] as const) {
      const shard = { index: 0, count: 1 };
      const por = explorer(s, variant, { shard }).explore();
      const all = explorer(s, variant, { shard, por: false, cache: false }).explore();
      expect(por.finalStates, variant).toEqual(all.finalStates);
      expect(new Set(por.violations.map((v) => v.message)), variant).toEqual(new Set(all.violations.map((v) => v.message)));
      expect(por.schedules).toBeLessThan(all.schedules / 4);
    }
  });

  it('three shards together are the unsharded run: schedules, violations and final states', () => {
    const s = race('relocate-vs-rmap-walk');
    const key = (v: { checker: string; message: string }) => `${v.checker}: ${v.message}`;
    // without the cache the shards partition the schedules exactly; with it each shard
    // knows only the points it visited, so together they may run more, never reach less
    for (const cache of [false, true]) {
      const whole = explorer(s, 'bug-unlocked-new-anon-vma', { shard: { index: 0, count: 1 }, cache }).explore();
      const parts = [0, 1, 2].map((index) => explorer(s, 'bug-unlocked-new-anon-vma', { shard: { index, count: 3 }, cache }).explore());
      const sum = parts.reduce((n, p) => n + p.schedules, 0);
      if (cache) expect(sum).toBeGreaterThanOrEqual(whole.schedules);
      else expect(sum).toBe(whole.schedules);
      expect(parts.filter((p) => p.schedules > 0).length).toBeGreaterThan(1);
      expect([...new Set(parts.flatMap((p) => p.finalStates!))].sort()).toEqual(whole.finalStates);
      expect([...new Set(parts.flatMap((p) => p.violations.map(key)))].sort()).toEqual(whole.violations.map(key).sort());
    }
  });

  it('pct and random run their budget, seeded: the same seed gives the same result', () => {
    const s = race('relocate-vs-rmap-walk');
    for (const strategy of ['pct', 'random'] as const) {
      const a = explorer(s, 'bug-unlocked-new-anon-vma', { strategy, budget: 60, seed: 5, report: (c) => c === 'rmap-walk' }).explore();
      const b = explorer(s, 'bug-unlocked-new-anon-vma', { strategy, budget: 60, seed: 5, report: (c) => c === 'rmap-walk' }).explore();
      expect(a.schedules).toBe(60);
      expect(a.complete).toBe(false);
      expect({ ...a, elapsedMs: 0, schedulesPerSec: 0 }).toEqual({ ...b, elapsedMs: 0, schedulesPerSec: 0 });
    }
  });
});

describe('run: one schedule of a concurrent step', () => {
  it('same file, options and seed: the same log bytes; another seed, another schedule', () => {
    const s = race('relocate-vs-rmap-walk');
    const bytes = (seed: number) => {
      const r = runScenario(s, { plugins: [[relocateAnon, { variant: 'fixed' }]], seed });
      return { b: Buffer.from(encodeLogFile(r.engine.log, r.header)).toString('base64'), schedule: r.schedule };
    };
    expect(bytes(3)).toEqual(bytes(3));
    const seen = new Set([0, 1, 2, 3, 4, 5].map((x) => bytes(x).schedule));
    expect(seen.size).toBeGreaterThan(2);
  });

  it('a schedule naming a task that cannot run is an error, not a wrong run', () => {
    const s = race('relocate-vs-rmap-walk');
    expect(() => runScenario(s, { plugins: [[relocateAnon, { variant: 'fixed' }]], schedule: '0:5' })).toThrow(/task 5 cannot run/);
    expect(() => parseSchedule('3:1,2:0')).toThrow(/must increase/);
    expect(() => parseSchedule('x')).toThrow(/decision:task/);
  });
});

describe('explore: each violation is reported with a schedule that shows it', () => {
  /**
   * A checker whose finding depends on the schedule: which task of the concurrent step
   * took a lock first. Its message carries a number that changes with every run (as a seq does),
   * so one root cause arrives under many messages.
   */
  function firstTaskChecker(eng: import('@mmsim/core').Engine) {
    let first = -1;
    let runs = 0;
    const off = eng.onRaw((r) => {
      if (first < 0 && r.task >= 100 && r.type === E.LockAcquire) first = r.task - 100;
    });
    return {
      violations: () => (first < 0 ? [] : [{ checker: 'order', message: `task ${first} locked first (seq ${runs})` }]),
      clear: () => {
        first = -1;
        runs++;
      },
      detach: off,
    };
  }

  it('the shrinker keeps the deviation the very violation needs; repeats under other seqs are one violation with a count', () => {
    const s = race('relocate-vs-rmap-walk');
    // which task locks first is no state the reduction keeps apart: every schedule runs
    const ex = new Explorer(s, { run: { plugins: [[relocateAnon, { variant: 'fixed' }]] }, checkers: firstTaskChecker, por: false, cache: false, bound: 1 });
    const r = ex.explore();
    const order = r.violations.filter((v) => v.checker === 'order');
    expect(order.map((v) => v.message.replace(/seq \d+/, 'seq #'))).toEqual(['task 0 locked first (seq #)', 'task 1 locked first (seq #)']);
    // "task 0 first" is the default schedule; "task 1 first" needs its deviation at decision 0
    expect(order[0].schedule).toBe('');
    expect(order[1].schedule).toBe('0:1');
    // every schedule showed exactly one of the two
    expect(order[0].count + order[1].count).toBe(r.schedules);
    expect(order[1].count).toBeGreaterThan(1);
  });

  it('every violation of a buggy variant reproduces, as itself, under its schedule', () => {
    const s = race('relocate-vs-rmap-walk');
    const plugins: ExploreOptions['run'] = { plugins: [[relocateAnon, { variant: 'bug-unlocked-new-anon-vma' }]] };
    const r = explorer(s, 'bug-unlocked-new-anon-vma').explore();
    expect(r.violations.length).toBeGreaterThan(3);
    for (const v of r.violations) {
      let h: ReturnType<typeof attachCheckers> | undefined;
      const run = runScenario(s, { ...plugins, schedule: v.schedule, onKernel: (k) => void (h = attachCheckers(k.eng)) });
      const shown = [...h!.violations(), ...taskResultViolations(run.observation.steps, s)].map((x) => rootCause(x));
      expect(shown, `${v.checker}: ${v.message} under "${v.schedule}"`).toContain(rootCause(v));
    }
  });
});

describe('explore: a step after the concurrent one fails', () => {
  it('is a violation with its schedule (checker "error", naming the step), and the exploration goes on', () => {
    const base = race('relocate-vs-rmap-walk');
    // a touch after the race, at the relocated page 35
    const s: Scenario = { ...base, steps: [...base.steps, { op: 'touch', proc: 0, page: 35, pages: 1, access: 'write' } as Scenario['steps'][number]] };
    const ex = new Explorer(s, {
      run: { plugins: [[relocateAnon, { variant: 'fixed' }]] },
      // an event listener that throws inside that step when the walk took its first lock
      // before the move did (as a model error on a state the race left would): that
      // step's syscall fails. Which task locks first is no state: the reduction is off.
      por: false,
      bound: 1,
      checkers: (eng) => {
        let first = -1;
        const off = eng.onRaw((r) => {
          if (first < 0 && r.task >= 100 && r.type === E.LockAcquire) first = r.task;
          if (r.type === E.SpanOpen && r.s === 'step:touch' && first === 101) throw new Error('the state after the race is broken');
        });
        return {
          violations: () => [],
          clear: () => void (first = -1),
          detach: off,
        };
      },
    });
    const r = ex.explore();
    expect(r.complete).toBe(true);
    const err = r.violations.filter((v) => v.checker === 'error');
    expect(err.length).toBe(1);
    expect(err[0].message).toMatch(/^step 3 \(touch\): .*the state after the race is broken/);
    expect(err[0].schedule).toBe('0:1');
    expect(err[0].count).toBeLessThan(r.schedules);
  });
});
