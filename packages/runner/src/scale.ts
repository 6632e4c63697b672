/**
 * Scenarios at the limits a hostile or just large input reaches (issue 15, "Scale is
 * part of reliability"): an mm at vm.max_map_count, a scenario of 600k steps, and 63
 * forks of a faulted region (MAX_PROCS). Built as plain scenario values so that tests
 * and measurements run exactly these.
 */
import { MAX_PROCS, type Scenario, type Step } from '@mmsim/scenario';
import { DEFAULT_CONFIG } from '@mmsim/linux';

const FORMAT = 'mmsim-scenario/1' as const;

function scenario(name: string, description: string, pages: number, steps: Step[]): Scenario {
  return { format: FORMAT, name, description, arena: { pages }, steps } as Scenario;
}

/** Layout of maxMapCountScenario: where its pieces are (arena pages). */
export interface MaxMapLayout {
  /** VMAs split out of the first mapping: 2m + 1 */
  splitVmas: number;
  /** the 4-page read-write VMA at the end of the first mapping */
  tail: number;
  /** the single-page mappings after it (a page of gap before each) */
  extra: number[];
}

/**
 * An mm driven to vm.max_map_count (default 65,530) VMAs and past it, with the
 * kernel's answers at the limit (measured on this machine's 6.18 kernel with a C
 * program: see docs/scale.md):
 *
 * - one mapping, every other page mprotected read-only one page at a time: each
 *   mprotect splits a VMA in three, up to max - 1 VMAs; one more mapping makes max;
 * - do_mmap() refuses only when map_count > max: the next mapping still succeeds
 *   (max + 1 VMAs) and the one after fails with ENOMEM;
 * - at the limit, a munmap or an mprotect that would split a VMA fails with ENOMEM
 *   (vms_gather_munmap_vmas(), split_vma()); an mprotect of a whole VMA that merges
 *   with its neighbour succeeds, and so does a munmap of a whole VMA.
 */
export function maxMapCountScenario(max = DEFAULT_CONFIG.maxMapCount): { scenario: Scenario; layout: MaxMapLayout } {
  // 2m + 1 VMAs from the split mapping (its last VMA 4 pages long), then one mapping: max
  const m = (max - 2) / 2;
  if (!Number.isInteger(m) || m < 1) throw new Error(`maxMapCountScenario: max must be even and at least 4, got ${max}`);
  const tail = 2 * m;
  const first = tail + 4;
  const extra = [first + 1, first + 3, first + 5];
  const steps: Step[] = [{ op: 'mmap', page: 0, pages: first, prot: 'rw-', noreserve: true } as Step];
  for (let i = 0; i < m; i++) steps.push({ op: 'mprotect', page: 2 * i + 1, pages: 1, prot: 'r--' } as Step);
  steps.push({ op: 'mmap', page: extra[0], pages: 1, prot: 'rw-' } as Step); // max VMAs
  steps.push({ op: 'snapshot', label: 'at-limit' } as Step);
  steps.push({ op: 'mmap', page: extra[1], pages: 1, prot: 'rw-' } as Step); // max + 1: allowed
  steps.push({ op: 'mmap', page: extra[2], pages: 1, prot: 'rw-' } as Step); // ENOMEM
  steps.push({ op: 'munmap', page: tail + 1, pages: 1 } as Step); // needs a split: ENOMEM
  steps.push({ op: 'mprotect', page: tail + 1, pages: 1, prot: 'r--' } as Step); // needs splits: ENOMEM
  steps.push({ op: 'mprotect', page: tail, pages: 4, prot: 'r--' } as Step); // merges with the page before: ok
  steps.push({ op: 'munmap', page: extra[1], pages: 1 } as Step); // a whole VMA: ok
  steps.push({ op: 'touch', page: tail, pages: 1, access: 'read' } as Step);
  return {
    scenario: scenario(
      'max-map-count',
      `${max} VMAs in one process by one-page mprotect splits, then the kernel's answers at vm.max_map_count`,
      extra[2] + 2,
      steps,
    ),
    layout: { splitVmas: 2 * m + 1, tail, extra },
  };
}

/**
 * A scenario of `n` steps (default 600,000) on a 64-page mapping, in cycles of 16: 13
 * write faults or writes to present pages, a MADV_DONTNEED of one page, a one-page
 * mprotect that splits the VMA in three and the mprotect back that merges it again. The
 * state stays small while the log and the observation grow long.
 */
export function manyStepsScenario(n = 600_000): Scenario {
  const steps: Step[] = [{ op: 'mmap', page: 0, pages: 64, prot: 'rw-' } as Step];
  for (let i = 1; i < n; i++) {
    const page = ((i >> 4) % 62) + 1;
    switch (i & 15) {
      case 13:
        steps.push({ op: 'madvise', page, pages: 1, advice: 'DONTNEED' } as Step);
        break;
      case 14:
        steps.push({ op: 'mprotect', page, pages: 1, prot: 'r--' } as Step);
        break;
      case 15:
        steps.push({ op: 'mprotect', page, pages: 1, prot: 'rw-' } as Step);
        break;
      default:
        steps.push({ op: 'touch', page: (i % 62) + 1, pages: 1, access: 'write' } as Step);
    }
  }
  return scenario('many-steps', `${n} steps on one 64-page mapping`, 64, steps);
}

/**
 * The most forks a scenario may have (MAX_PROCS - 1 = 63) of one faulted region, each
 * child then writing one page of it (a COW break per child).
 */
export function manyForksScenario(pages = 512, forks = MAX_PROCS - 1): Scenario {
  const steps: Step[] = [
    { op: 'mmap', page: 0, pages, prot: 'rw-' } as Step,
    { op: 'touch', page: 0, pages, access: 'write' } as Step,
  ];
  for (let i = 0; i < forks; i++) steps.push({ op: 'fork', proc: 0 } as Step);
  for (let c = 1; c <= forks; c++) steps.push({ op: 'touch', proc: c, page: c % pages, pages: 1, access: 'write' } as Step);
  return scenario('many-forks', `${forks} forks of a ${pages}-page faulted region, each child writing one page`, pages, steps);
}
