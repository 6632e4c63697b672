/**
 * For tests: an Explorer of a scenario under a relocate-anon variant, every checker of
 * this package attached (as `mmsim explore` attaches them).
 */
import { Explorer, type ExploreOptions } from '@mmsim/runner';
import relocateAnon, { type RelocateVariant } from '@mmsim/relocate-anon';
import type { Scenario } from '@mmsim/scenario';
import { attachCheckers } from '../index.js';

export function explorer(s: Scenario, variant: RelocateVariant, o: ExploreOptions = {}): Explorer {
  return new Explorer(s, {
    run: { plugins: [[relocateAnon, { variant }]] },
    checkers: (eng) => {
      const h = attachCheckers(eng);
      return { violations: () => h.violations(), clear: () => h.clear(), detach: () => h.detach() };
    },
    ...o,
  });
}
