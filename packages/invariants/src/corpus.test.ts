/**
 * No false alarms: the baseline model, and the fixed relocate-anon variant with the
 * large-folio extension, raise nothing over the whole scenario corpus (goldens, fuzzing
 * regressions) and over random scenarios.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomScenario, runScenario, type RunOptions } from '@mmsim/runner';
import { parseScenario, type Scenario } from '@mmsim/scenario';
import relocateAnon from '@mmsim/relocate-anon';
import largeFolio from '@mmsim/large-folio';
import { attachCheckers, type Violation } from './index.js';

const root = fileURLToPath(new URL('../../../scenarios/', import.meta.url));
const corpus: Scenario[] = ['golden/merge', 'golden/vma', 'golden/relocate-anon', 'regress'].flatMap((d) =>
  readdirSync(root + d)
    .filter((f) => f.endsWith('.json'))
    .map((f) => parseScenario(readFileSync(`${root}${d}/${f}`, 'utf8'), `${d}/${f}`)),
);

function violations(s: Scenario, opts: RunOptions = {}): Violation[] {
  let h: ReturnType<typeof attachCheckers> | undefined;
  runScenario(s, { ...opts, onKernel: (k) => void (h = attachCheckers(k.eng)) });
  return h!.violations();
}

const withRelocation: RunOptions = { plugins: [[relocateAnon, { variant: 'fixed' }], largeFolio] };

describe('no false alarms', () => {
  it('the scenario corpus, baseline model', () => {
    expect(corpus.length).toBeGreaterThan(20);
    for (const s of corpus) expect([s.name, violations(s)]).toEqual([s.name, []]);
  });

  it('the scenario corpus, with relocate-anon (fixed) and large folios', () => {
    for (const s of corpus) expect([s.name, violations(s, withRelocation)]).toEqual([s.name, []]);
  });

  it('random scenarios, with RELOCATE_ANON on every FIXED move', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const s = randomScenario(seed, 30);
      const flagged = {
        ...s,
        steps: s.steps.map((st) => (st.op === 'mremap' && st.flags.includes('FIXED') ? { ...st, flags: [...st.flags, 'RELOCATE_ANON' as const] } : st)),
      };
      expect([seed, violations(s)]).toEqual([seed, []]);
      expect([seed, violations(flagged, withRelocation)]).toEqual([seed, []]);
    }
  });
});
