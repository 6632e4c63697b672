/**
 * exploreSchedulesPerSec: the interleaving explorer on the seed's race, MREMAP_RELOCATE_ANON
 * of 8 faulted pages (variant fixed) against one rmap walk (folio_referenced) of a page
 * being moved: every schedule with at most 2 preemptions (dfs without the partial-order
 * reduction, so the count is the whole bounded space), each under every checker,
 * restarted from the state before the concurrent step. Schedules per second of CPU time,
 * after one warm-up exploration: the best of `reps` explorations (as the kernel side is
 * a best of --reps), in a fresh process of its own (runExploreChild), as `mmsim explore`
 * runs: not in a heap the other phases filled.
 */
import { Explorer } from '@mmsim/runner';
import { attachCheckers } from '@mmsim/invariants';
import relocateAnon from '@mmsim/relocate-anon';
import { parseScenario } from '@mmsim/scenario';

export interface ExploreBench {
  schedules: number;
  cpuMs: number;
  wallMs: number;
  schedulesPerSec: number;
  complete: boolean;
  violations: number;
  /** measured explorations (the best is reported) */
  reps: number;
}

/** The job of the child process (worker.ts). */
export interface ExploreJob {
  kind: 'explore';
  reps: number;
}

export const SEED_RACE = parseScenario({
  format: 'mmsim-scenario/1',
  name: 'relocate-vs-rmap-walk',
  arena: { pages: 64 },
  steps: [
    { op: 'mmap', page: 0, pages: 8, prot: 'rw-', fixed: true },
    { op: 'touch', page: 0, pages: 8 },
    {
      op: 'concurrent',
      tasks: [
        { proc: 0, steps: [{ op: 'mremap', page: 0, pages: 8, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 32 }] },
        { proc: 0, steps: [{ op: 'rmap_walk', page: 3 }] },
      ],
    },
  ],
});

export function benchExplore(reps = 3): ExploreBench {
  const make = () =>
    new Explorer(SEED_RACE, {
      strategy: 'dfs',
      bound: 2,
      por: false,
      cache: false,
      run: { plugins: [[relocateAnon, { variant: 'fixed' }]] },
      checkers: (eng) => {
        const h = attachCheckers(eng);
        return { violations: () => h.violations(), clear: () => h.clear(), detach: () => h.detach() };
      },
    });
  make().explore(); // warm-up: the JIT sees every path once
  let best: ExploreBench | null = null;
  for (let i = 0; i < Math.max(1, reps); i++) {
    const ex = make();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = ex.explore();
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const cpuMs = (c.user + c.system) / 1000;
    const m: ExploreBench = {
      schedules: r.schedules,
      cpuMs: Math.round(cpuMs),
      wallMs: Math.round(wallMs),
      schedulesPerSec: Math.round((r.schedules / cpuMs) * 1000),
      complete: r.complete,
      violations: r.violations.length,
      reps: Math.max(1, reps),
    };
    if (!best || m.schedulesPerSec > best.schedulesPerSec) best = m;
  }
  return best!;
}
