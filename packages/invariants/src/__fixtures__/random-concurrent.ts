/**
 * Small random concurrent scenarios from a seed, for the explorer's differential test
 * (tools/fuzz generates sequential scenarios only).
 */
import { prng } from '@mmsim/core';
import { parseScenario, type Scenario } from '@mmsim/scenario';

/** Task steps the generator draws from: the racers and the syscalls they race with, on pages 0..7. */
function randomTaskStep(rnd: () => number): Record<string, unknown> {
  const int = (n: number) => Math.floor(rnd() * n);
  const page = int(6);
  const pages = 1 + int(2);
  switch (int(8)) {
    case 0:
      return { op: 'rmap_walk', page };
    case 1:
      return { op: 'gup_fast', page, pages, pin: rnd() < 0.5 };
    case 2:
      return { op: 'reclaim', page, pages };
    case 3:
      return { op: 'touch', page, pages, access: rnd() < 0.5 ? 'read' : 'write' };
    case 4:
      return { op: 'madvise', page, pages, advice: 'DONTNEED' };
    case 5:
      return { op: 'mprotect', page, pages, prot: 'r--' };
    case 6:
      return { op: 'munmap', page: 6, pages: 2 };
    default:
      return { op: 'mremap', page: 0, pages: 4, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 32 };
  }
}

/** A small concurrent scenario: a faulted 8-page VMA, then two tasks of one step each. */
export function randomConcurrentScenario(seed: number): Scenario {
  const rnd = prng(seed);
  const touched = 2 + Math.floor(rnd() * 7);
  return parseScenario(
    JSON.stringify({
      format: 'mmsim-scenario/1',
      name: `random-concurrent-${seed}`,
      arena: { pages: 64 },
      steps: [
        { op: 'mmap', page: 0, pages: 8, prot: 'rw-', fixed: true },
        { op: 'touch', page: 0, pages: touched },
        { op: 'concurrent', tasks: [{ steps: [randomTaskStep(rnd)] }, { steps: [randomTaskStep(rnd)] }] },
      ],
    }),
    `random-concurrent-${seed}.json`,
  );
}

