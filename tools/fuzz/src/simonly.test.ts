/**
 * What the kernel cannot check is checked against the model's own invariants: random
 * scenarios with the simulator-only ops (pin, unpin, ksm, swapout, thp), and random
 * scenarios with MREMAP_RELOCATE_ANON (or MUST_) on every FIXED move (a flag no released
 * kernel has), with and without the large-folio extension, must run to the end with
 * every checker on and raise nothing.
 */
import { describe, expect, it } from 'vitest';
import { runScenario, type RunOptions } from '@mmsim/runner';
import { attachCheckers, type Violation } from '@mmsim/invariants';
import relocateAnon from '@mmsim/relocate-anon';
import largeFolio from '@mmsim/large-folio';
import { generateScenario } from './generate.js';

const CONFIGS: { name: string; opts: RunOptions }[] = [
  { name: 'baseline', opts: {} },
  { name: 'relocate-anon + large-folio', opts: { plugins: [[relocateAnon, { variant: 'fixed' }], [largeFolio, {}]] } },
];

describe('simulator-only ops under the invariant checkers', () => {
  it('100 seeded scenarios with pin, ksm, swapout and thp, in two configurations, raise no violation', { timeout: 120_000 }, () => {
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

describe('MREMAP_RELOCATE_ANON on every FIXED move, under the invariant checkers', () => {
  it('100 seeded scenarios of every op (THP, shmem, fork, swap...) run to the end and raise nothing', { timeout: 120_000 }, () => {
    const found: { seed: number; config: string; what: string }[] = [];
    let moves = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const s = generateScenario(88000 + seed, { steps: 60 });
      const flagged = {
        ...s,
        steps: s.steps.map((st) => {
          if (st.op !== 'mremap' || !st.flags.includes('FIXED')) return st;
          moves++;
          return { ...st, flags: [...st.flags, seed % 3 === 0 ? ('MUST_RELOCATE_ANON' as const) : ('RELOCATE_ANON' as const)] };
        }),
      };
      for (const c of CONFIGS.slice(1).concat([{ name: 'relocate-anon', opts: { plugins: [[relocateAnon, { variant: 'fixed' }]] } }])) {
        let h: ReturnType<typeof attachCheckers> | undefined;
        try {
          runScenario(flagged, { ...c.opts, onKernel: (k) => void (h = attachCheckers(k.eng)) });
        } catch (e) {
          found.push({ seed: 88000 + seed, config: c.name, what: `crash: ${(e as Error).message}` });
          continue;
        }
        for (const v of h!.violations()) found.push({ seed: 88000 + seed, config: c.name, what: `${v.checker}: ${v.message}` });
      }
    }
    expect(moves).toBeGreaterThan(200);
    expect(found.slice(0, 3)).toEqual([]);
  });
});

