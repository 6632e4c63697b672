/**
 * The differential test of the explorer's reductions: every race scenario of
 * scenarios/races, and small random concurrent scenarios from a seeded generator,
 * explored with the partial-order reduction, with the cache of visited points, with
 * both, and with neither. Each reduced exploration must reach the same final states
 * (canonical observations of every process) and the same violations as the full one.
 * Bounds are small to keep `npm test` short; `mmsim explore FILE --check-por --bound K`
 * runs the same comparison on any scenario and bound.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Explorer, checkReduction, type ExploreOptions } from '@mmsim/runner';
import relocateAnon from '@mmsim/relocate-anon';
import { parseScenario, type Scenario } from '@mmsim/scenario';
import { attachCheckers } from './index.js';
import { randomConcurrentScenario } from './__fixtures__/random-concurrent.js';

const DIR = new URL('../../../scenarios/races/', import.meta.url);

const options = (bound: number): ExploreOptions => ({
  bound,
  run: { plugins: [[relocateAnon, { variant: 'fixed' }]] },
  checkers: (eng) => {
    const h = attachCheckers(eng);
    return { violations: () => h.violations(), clear: () => h.clear(), detach: () => h.detach() };
  },
});

const REDUCTIONS = [
  { name: 'sleep sets', por: true, cache: false },
  { name: 'state cache', por: false, cache: true },
  { name: 'both', por: true, cache: true },
] as const;

/** Every reduction against the full exploration of s; returns the full one's final-state count. */
function expectSame(s: Scenario, bound: number): number {
  let states = 0;
  for (const r of REDUCTIONS) {
    const c = checkReduction(s, options(bound), r);
    const what = `${s.name} bound ${bound}, ${r.name}`;
    expect(c.all.complete && c.reduced.complete, what).toBe(true);
    expect(c.missingStates, `${what}: final states lost`).toEqual([]);
    expect(c.extraStates, `${what}: final states the full exploration never reached`).toEqual([]);
    expect(c.missingViolations, `${what}: violations lost`).toEqual([]);
    expect(c.extraViolations, `${what}: violations in excess`).toEqual([]);
    expect(c.reduced.schedules, `${what}: no fewer schedules`).toBeLessThanOrEqual(c.all.schedules);
    states = c.all.distinctFinalStates;
  }
  return states;
}

/**
 * Bound 2 where the full exploration at bound 2 takes a second or two here, else 1 (the
 * random scenarios below are explored at bound 2)
 */
const BOUND: Record<string, number> = { 'dontneed-vs-touch': 2 };

describe('reductions lose nothing: scenarios/races', () => {
  for (const f of readdirSync(DIR).filter((x) => x.endsWith('.json')).sort()) {
    const name = f.replace(/\.json$/, '');
    it(`${name}: the same final states and violations with and without each reduction`, () => {
      const s = parseScenario(readFileSync(new URL(f, DIR), 'utf8'), f);
      expectSame(s, BOUND[name] ?? 1);
    });
  }
});

describe('reductions do something', () => {
  it("on the seed's race the sleep sets prune runs and the cache cuts runs, each alone", () => {
    const s = parseScenario(readFileSync(new URL('relocate-vs-rmap-walk.json', DIR), 'utf8'));
    const sleep = new Explorer(s, { ...options(1), por: true, cache: false }).explore();
    const cache = new Explorer(s, { ...options(1), por: false, cache: true }).explore();
    expect(sleep.pruned).toBeGreaterThan(0);
    expect(sleep.cached).toBe(0);
    expect(cache.cached).toBeGreaterThan(0);
    expect(cache.pruned).toBe(0);
  });
});

describe('reductions lose nothing: random concurrent scenarios (seeded)', () => {
  it('the generator makes races: some scenario reaches more than one final state', () => {
    const multi = [1, 2, 3, 4, 5, 6, 7, 8].filter((seed) => checkReduction(randomConcurrentScenario(seed), options(1)).all.distinctFinalStates > 1);
    expect(multi.length).toBeGreaterThan(0);
  });

  for (let seed = 1; seed <= 8; seed++) {
    it(`seed ${seed}: the same final states and violations with and without each reduction (bound 2)`, () => {
      expectSame(randomConcurrentScenario(seed), 2);
    });
  }
});
