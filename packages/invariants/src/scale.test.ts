/**
 * Hostile scale (issue 15): an mm at vm.max_map_count, 600k steps, 63 forks of a faulted
 * region. Not timed: each run must finish, give the kernel's answers, and do bounded
 * work per syscall, counted (VMA records read, maple tree nodes visited, events).
 */
import { describe, expect, it } from 'vitest';
import { buildSpanIndex, mapleWork } from '@mmsim/core';
import { DEFAULT_CONFIG, type Kernel } from '@mmsim/linux';
import { manyForksScenario, manyStepsScenario, maxMapCountScenario, runScenario } from '@mmsim/runner';
import { parseScenario } from '@mmsim/scenario';
import { attachCheckers } from './index.js';

/** Work counters read before every step: counters[i] is the work of step i. */
function countingRun(s: ReturnType<typeof parseScenario>, checkers = true) {
  let k: Kernel | null = null;
  const at: { reads: number; visits: number; copies: number }[] = [];
  let handle: { count(): number } | null = null;
  const mark = () => at.push({ reads: k ? k.vmaReads : 0, visits: mapleWork.visits, copies: mapleWork.copies });
  const res = runScenario(s, {
    onKernel: (kk) => {
      k = kk;
      if (checkers) handle = attachCheckers(kk.eng);
    },
    onStep: () => mark(),
  });
  mark();
  const work = (i: number) => ({ reads: at[i + 1].reads - at[i].reads, visits: at[i + 1].visits - at[i].visits, copies: at[i + 1].copies - at[i].copies });
  const ix = buildSpanIndex(res.engine.log).syscalls;
  // syscalls are the steps in order (snapshots are not syscalls): events of the n-th syscall
  const eventsOf = (n: number) => (n + 1 < ix.length ? ix[n + 1] : res.engine.log.length) - ix[n];
  return { res, work, eventsOf, violations: (handle as { count(): number } | null)?.count() ?? 0 };
}

describe('an mm at vm.max_map_count (65,530)', () => {
  it('holds 65,530 VMAs, answers as the kernel at the limit, and a split costs the same at 65k VMAs as at 1k', { timeout: 600_000 }, () => {
    const { scenario, layout } = maxMapCountScenario();
    const s = parseScenario(scenario);
    const { res, work, eventsOf, violations } = countingRun(s);
    const o = res.observation;
    const max = DEFAULT_CONFIG.maxMapCount;
    expect(layout.splitVmas + 1).toBe(max);
    // the at-limit snapshot: exactly max VMAs, in address order, alternating perms (MAP_NORESERVE: nr, never ac)
    const at = o.snapshots.find((x) => x.label === 'at-limit')!.procs[0].vmas;
    expect(at).toHaveLength(max);
    expect(at.slice(0, 3)).toEqual([
      { start: 0, end: 1, perms: 'rw-p', vmFlags: 'nr' },
      { start: 1, end: 2, perms: 'r--p', vmFlags: 'nr' },
      { start: 2, end: 3, perms: 'rw-p', vmFlags: 'nr' },
    ]);
    expect(at[layout.splitVmas - 1]).toEqual({ start: layout.tail, end: layout.tail + 4, perms: 'rw-p', vmFlags: 'nr' });
    // the kernel's answers past it (do_mmap: map_count > max; split_vma and munmap: >= max)
    const tailResults = o.steps.slice(-7).map((x) => [x.op, x.result]);
    expect(tailResults).toEqual([
      ['mmap', { ok: true, page: layout.extra[1] }], // max + 1 VMAs: still allowed
      ['mmap', { ok: false, errno: 'ENOMEM' }],
      ['munmap', { ok: false, errno: 'ENOMEM' }], // would split
      ['mprotect', { ok: false, errno: 'ENOMEM' }], // would split
      ['mprotect', { ok: true }], // the whole tail merges with the read-only page before it
      ['munmap', { ok: true }], // a whole VMA
      ['touch', { ok: true }],
    ]);
    const fin = o.snapshots.find((x) => x.label === 'final')!.procs[0].vmas;
    expect(fin).toHaveLength(max - 1);
    expect(fin[fin.length - 2]).toEqual({ start: layout.tail - 1, end: layout.tail + 4, perms: 'r--p', vmFlags: 'nr' });
    expect(res.engine.state.counts.vmas).toBe(max - 1);
    expect(violations).toBe(0);

    // bounded work: the split at ~1k VMAs (step 512) and the last split at ~65k VMAs read
    // the same VMAs, emit the same events, and walk the tree O(log n)
    const small = work(512);
    const large = work(layout.splitVmas >> 1);
    expect(large.reads).toBe(small.reads);
    expect(eventsOf(layout.splitVmas >> 1)).toBe(eventsOf(512));
    expect(large.visits).toBeLessThanOrEqual(2 * small.visits);
    expect(large.copies).toBeLessThanOrEqual(2 * small.copies);
    expect(large.visits).toBeGreaterThan(0);
  });
});

describe('a scenario of 600,000 steps', () => {
  it('finishes with every step observed, and its VMA work does not grow along the run', { timeout: 900_000 }, () => {
    const s = parseScenario(manyStepsScenario(600_000));
    expect(s.steps).toHaveLength(600_000);
    const { res, work } = countingRun(s, false);
    const o = res.observation;
    expect(o.steps).toHaveLength(600_000);
    expect(o.steps.every((x) => x.result.ok)).toBe(true);
    // the cycle splits the mapping and merges it back: one VMA at the end, no errors
    expect(res.engine.state.counts).toMatchObject({ vmas: 1, anonVmas: 1, mms: 1, errors: 0 });
    expect(o.snapshots[0].procs[0].vmas).toEqual([{ start: 0, end: 64, perms: 'rw-p', vmFlags: 'ac' }]);
    // the same split (step i & 15 === 14) near the start and near the end: equal work
    expect(work(599_998)).toEqual(work(30));
  });
});

describe('63 forks of a faulted region (MAX_PROCS)', () => {
  it('gives 64 processes sharing the region, one anon_vma each, with every COW break its own page', { timeout: 600_000 }, () => {
    const s = parseScenario(manyForksScenario());
    const { res, violations } = countingRun(s);
    const o = res.observation;
    const fin = o.snapshots.find((x) => x.label === 'final')!;
    expect(fin.procs.map((p) => p.proc)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    // dup_mmap: each child's VMA joins the root anon_vma and gets its own (anon_vma_fork)
    expect(res.engine.state.counts).toMatchObject({ mms: 64, vmas: 64, anonVmas: 64, avcs: 1 + 2 * 63, folios: 512 + 63, errors: 0 });
    for (const p of fin.procs) {
      expect(p.vmas).toEqual([{ start: 0, end: 512, perms: 'rw-p', vmFlags: 'ac' }]);
      expect(p.pages).toHaveLength(512);
      // the parent's pages are shared with 62 or 63 children: not exclusive; a child's own written page is
      const own = p.pages.filter((x) => x.exclusive).map((x) => x.page);
      expect(own).toEqual(p.proc === 0 ? [] : [p.proc % 512]);
    }
    expect(violations).toBe(0);
  });
});
