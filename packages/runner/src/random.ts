/** Random scenarios for tests that want variety (replay, goldens against the log). */
import { prng } from '@mmsim/core';
import { parseScenario, type Scenario, type Step } from '@mmsim/scenario';

/** A small random scenario: enough variety to exercise replay; validated by parseScenario. */
export function randomScenario(seed: number, steps = 24): Scenario {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
  const out: Record<string, unknown>[] = [{ op: 'mmap', page: 0, pages: 64, prot: '---' }];
  let procs = 1;
  for (let i = 0; i < steps; i++) {
    const page = int(56);
    const pages = 1 + int(8);
    const proc = int(procs);
    switch (int(9)) {
      case 0:
        out.push({ op: 'mmap', proc, page, pages, prot: pick(['rw-', 'r--', '---']), fixed: true, noreserve: rnd() < 0.3 });
        break;
      case 1:
      case 2:
        out.push({ op: 'touch', proc, page, pages, access: rnd() < 0.7 ? 'write' : 'read' });
        break;
      case 3:
        out.push({ op: 'mprotect', proc, page, pages, prot: pick(['rw-', 'r--']) });
        break;
      case 4: {
        const to = int(64 - pages);
        if (Math.abs(to - page) >= pages) out.push({ op: 'mremap', proc, page, pages, flags: ['MAYMOVE', 'FIXED'], to });
        break;
      }
      case 5:
        out.push({ op: 'munmap', proc, page, pages });
        break;
      case 6:
        if (procs < 3) {
          out.push({ op: 'fork', proc });
          procs++;
        }
        break;
      case 7:
        out.push({ op: 'madvise', proc, page, pages, advice: pick(['DONTNEED', 'DONTFORK', 'WIPEONFORK', 'HUGEPAGE']) });
        break;
      default:
        out.push({ op: 'snapshot', label: `s${i}` });
    }
  }
  return parseScenario({ format: 'mmsim-scenario/1', name: `random-${seed}`, arena: { pages: 64 }, steps: out as unknown as Step[] });
}

