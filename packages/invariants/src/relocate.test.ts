/**
 * The relocate-anon review findings, reproduced by @mmsim/relocate-anon's bug variants:
 * each must be caught by the right checker, and the fixed variant by none.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '@mmsim/runner';
import { parseScenario } from '@mmsim/scenario';
import { attachCheckers, type CheckerName } from './index.js';

import relocateAnon from '@mmsim/relocate-anon';

const MOVE = { op: 'mremap', page: 0, pages: 10, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 1000 };
const MAP = [
  { op: 'mmap', page: 0, pages: 10, prot: 'rw-' },
  { op: 'touch', page: 0, pages: 10 },
];
const SCENARIOS: Record<string, unknown[]> = {
  simple: [...MAP, MOVE],
  forkAlive: [...MAP, { op: 'fork' }, MOVE],
  grandchild: [...MAP, { op: 'fork' }, { op: 'fork', proc: 1 }, { op: 'exit', proc: 1 }, MOVE],
  pinned: [...MAP, { op: 'pin', page: 3, pages: 1 }, MOVE],
  swapped: [...MAP, { op: 'swapout', page: 2, pages: 1 }, MOVE, { op: 'touch', page: 1002, pages: 1 }],
  // no swap-in after the move: only the swap entry and its swap-cache folio disagree
  swappedUntouched: [...MAP, { op: 'swapout', page: 2, pages: 1 }, MOVE],
};

function run(variant: string, scenario: string): Set<string> {
  const s = parseScenario(JSON.stringify({ format: 'mmsim-scenario/1', name: scenario, arena: { pages: 4096 }, steps: SCENARIOS[scenario] }));
  let h: ReturnType<typeof attachCheckers> | undefined;
  try {
    runScenario(s, { plugins: [[relocateAnon, { variant }]], onKernel: (k) => void (h = attachCheckers(k.eng)) });
  } catch (e) {
    // a buggy variant may also trip the model (self-deadlock); the findings before that count
    if (variant === 'fixed') throw e;
  }
  return new Set(h!.violations().map((v) => v.checker));
}

describe('relocate-anon variants', () => {
  it('fixed: clean everywhere', () => {
    for (const sc of Object.keys(SCENARIOS)) expect([sc, [...run('fixed', sc)]]).toEqual([sc, []]);
  });
  const cases: [string, string, CheckerName][] = [
    ['bug-folio-lock', 'simple', 'locking'], // folio_lock() under the PTL
    ['bug-unbalanced-rmap-lock', 'simple', 'locking'], // anon_vma lock left held
    ['bug-unlocked-new-anon-vma', 'simple', 'rmap-race'], // walker window on the new anon_vma
    ['bug-fork-parent', 'forkAlive', 'rmap'], // a fork child's mapping lost
    ['bug-grandchildren', 'grandchild', 'rmap'], // a grandchild's mapping lost
    ['bug-skip-pinned', 'pinned', 'rmap'], // the skipped pinned folio left behind
    ['bug-skip-swap', 'swapped', 'rmap'], // the swap-cache folio keeps its old index
    ['bug-skip-swap', 'swappedUntouched', 'rmap'], // ...seen at the moved swap entry itself
    ['bug-undo-all', 'pinned', 'rmap'], // the undo rewrites the pinned folio it never edited
    ['patch-v1', 'pinned', 'locking'], // v1 caught twice: folio_lock() under the PTL...
    ['patch-v1', 'pinned', 'rmap'], // ...and the stale pinned folio
  ];
  for (const [variant, sc, checker] of cases) {
    it(`${variant} (${sc}) is caught by ${checker}`, () => expect([...run(variant, sc)]).toContain(checker));
  }

  it('bug-skip-swap without a swap-in: the moved swap entry names its swap-cache folio\'s stale anon_vma', () => {
    const s = parseScenario(JSON.stringify({ format: 'mmsim-scenario/1', name: 'swapped', arena: { pages: 4096 }, steps: SCENARIOS.swappedUntouched }));
    let h: ReturnType<typeof attachCheckers> | undefined;
    runScenario(s, { plugins: [[relocateAnon, { variant: 'bug-skip-swap' }]], onKernel: (k) => void (h = attachCheckers(k.eng)) });
    expect(h!.violations().map((v) => v.message)).toContainEqual(
      expect.stringMatching(/^swap entry \(slot \d+\) at vpn \d+ of vma \d+: its swap-cache folio \d+ has anon_vma \d+, which the VMA's chain \[\d+\] does not link/),
    );
  });
});
