import { parseScenario } from '@mmsim/scenario';
import { runScenario } from '@mmsim/runner';
import { describe, expect, it } from 'vitest';
import { autoRelocatePlugin } from './index.js';

/**
 *   before:  |A faulted|   gap   |B faulted|      (A at page 0, B at page 100)
 *   mremap B MAYMOVE|FIXED to page 5, no flag:
 *   stock:   |A|B|   two VMAs: B keeps its pgoff (100) and cannot merge
 *   auto:    |A  B|  one VMA: every folio of B is exclusive, so it is relocated
 * With a fork child mapping B's folios (COW-shared), auto falls back to the ordinary move.
 */
function scenario(fork: boolean) {
  return parseScenario(
    JSON.stringify({
      format: 'mmsim-scenario/1',
      name: 'auto',
      arena: { pages: 256 },
      steps: [
        { op: 'mmap', page: 0, pages: 5, prot: 'rw-', fixed: true },
        { op: 'mmap', page: 100, pages: 5, prot: 'rw-', fixed: true },
        { op: 'touch', page: 0, pages: 5, access: 'write' },
        { op: 'touch', page: 100, pages: 5, access: 'write' },
        ...(fork ? [{ op: 'fork' }] : []),
        { op: 'mremap', page: 100, pages: 5, flags: ['MAYMOVE', 'FIXED'], to: 5 },
      ],
    }),
    'auto.json',
  );
}

function vmasOfProc0(plugins: typeof autoRelocatePlugin[]) {
  const r = runScenario(scenario(false), { plugins });
  return r.observation.snapshots.at(-1)!.procs[0].vmas.length;
}

describe('@mmsim/auto-relocate', () => {
  it('relocates an exclusive move without the flag, so it merges', () => {
    expect(vmasOfProc0([])).toBe(2);
    expect(vmasOfProc0([autoRelocatePlugin])).toBe(1);
  });

  it('falls back to the ordinary move when a folio is COW-shared with a fork child', () => {
    const r = runScenario(scenario(true), { plugins: [autoRelocatePlugin] });
    expect(r.observation.snapshots.at(-1)!.procs[0].vmas.length).toBe(2);
  });
});
