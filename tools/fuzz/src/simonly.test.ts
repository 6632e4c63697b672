/**
 * The simulator-only ops (pin, unpin, ksm, swapout, thp) cannot be checked against the
 * kernel; they are checked against the model's own invariants instead: random scenarios
 * that use them, with and without MREMAP_RELOCATE_ANON and the large-folio extension,
 * must run to the end with every checker on and raise nothing.
 */
import { describe, expect, it } from 'vitest';
import { runScenario, type RunOptions } from '@mmsim/linux';
import { attachCheckers, type Violation } from '@mmsim/invariants';
import relocateAnon from '@mmsim/relocate-anon';
import largeFolio from '@mmsim/large-folio';
import { generateScenario } from './generate.js';

const CONFIGS: { name: string; opts: RunOptions }[] = [
  { name: 'baseline', opts: {} },
  { name: 'relocate-anon + large-folio', opts: { plugins: [[relocateAnon, { variant: 'fixed' }], [largeFolio, {}]] } },
];

describe('simulator-only ops under the invariant checkers', () => {
  it('200 seeded scenarios with pin, ksm, swapout and thp raise no violation', { timeout: 120_000 }, () => {
    const found: { seed: number; config: string; v: Violation }[] = [];
    let ops = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const s = generateScenario(77000 + seed, { simOnly: true, steps: 40 });
      ops += s.steps.filter((st) => ['pin', 'unpin', 'ksm', 'swapout', 'thp'].includes(st.op)).length;
      for (const c of CONFIGS) {
        let h: ReturnType<typeof attachCheckers> | undefined;
        runScenario(s, { ...c.opts, onKernel: (k) => void (h = attachCheckers(k.eng)) });
        for (const v of h!.violations()) found.push({ seed: 77000 + seed, config: c.name, v });
      }
    }
    expect(ops).toBeGreaterThan(100); // the ops under test really ran
    expect(found.slice(0, 3)).toEqual([]);
  });
});
