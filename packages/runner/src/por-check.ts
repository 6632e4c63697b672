/**
 * The reduction checked against itself: a scenario explored with and without the
 * partial-order reduction (and the state cache) must reach the same final states and
 * the same violations. `mmsim explore --check-por` and the differential test use it.
 */
import type { Scenario } from '@mmsim/scenario';
import { Explorer, type ExploreOptions, type ExploreResult } from './explore.js';

export interface PorCheck {
  /** the full exploration: no reduction, no cache */
  all: ExploreResult;
  /** the reduced one */
  reduced: ExploreResult;
  /** final states (their keys) the reduced exploration missed, and any it has in excess */
  missingStates: string[];
  extraStates: string[];
  /** violations (checker: message) one side found and the other did not */
  missingViolations: string[];
  extraViolations: string[];
}

const violationKeys = (r: ExploreResult): Set<string> => new Set(r.violations.map((v) => `${v.checker}: ${v.message}`));
const minus = (a: Iterable<string>, b: ReadonlySet<string>): string[] => [...a].filter((x) => !b.has(x)).sort();

/** Explore `s` by dfs twice, with `reduced` options and with neither the reduction nor the cache. */
export function checkReduction(s: Scenario, opts: ExploreOptions, reduced: Pick<ExploreOptions, 'por' | 'cache'> = {}): PorCheck {
  const base: ExploreOptions = { ...opts, strategy: 'dfs', shard: { index: 0, count: 1 } };
  const all = new Explorer(s, { ...base, por: false, cache: false }).explore();
  const red = new Explorer(s, { ...base, por: reduced.por ?? true, cache: reduced.cache ?? true }).explore();
  const fa = new Set(all.finalStates);
  const fr = new Set(red.finalStates);
  const va = violationKeys(all);
  const vr = violationKeys(red);
  return {
    all,
    reduced: red,
    missingStates: minus(fa, fr),
    extraStates: minus(fr, fa),
    missingViolations: minus(va, vr),
    extraViolations: minus(vr, va),
  };
}

/** Does the check pass (the same final states and violations)? */
export function samePorResults(c: PorCheck): boolean {
  return !c.missingStates.length && !c.extraStates.length && !c.missingViolations.length && !c.extraViolations.length;
}
