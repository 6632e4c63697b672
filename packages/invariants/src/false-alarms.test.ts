/**
 * Racers as the kernel's callers run them (issue #28, "No false alarms"): each race the
 * stock kernel survives explores clean, every checker attached, and the real race it
 * resembles is still caught. Bounds are small: each exploration is a few dozen schedules.
 */
import { describe, expect, it } from 'vitest';
import type { ExploreOptions, ExploreResult } from '@mmsim/runner';
import type { RelocateVariant } from '@mmsim/relocate-anon';
import { E } from '@mmsim/core';
import { parseScenario } from '@mmsim/scenario';
import { explorer } from './__fixtures__/explorer.js';

type Step = Record<string, unknown>;

const MAP8 = [
  { op: 'mmap', page: 0, pages: 8, prot: 'rw-', fixed: true },
  { op: 'touch', page: 0, pages: 8 },
];
const RELOCATE = { op: 'mremap', page: 0, pages: 8, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 32 };

/** A scenario: `before`, then one concurrent step of the tasks' steps, then `after` (an arena of `pages`). */
function race(name: string, before: Step[], tasks: Step[][], after: Step[] = [], pages = 1024) {
  return parseScenario(
    JSON.stringify({
      format: 'mmsim-scenario/1',
      name,
      arena: { pages },
      steps: [...before, { op: 'concurrent', tasks: tasks.map((steps) => ({ proc: 0, steps })) }, ...after],
    }),
  );
}

function explore(s: ReturnType<typeof race>, variant: RelocateVariant = 'fixed', o: ExploreOptions = {}): ExploreResult {
  return explorer(s, variant, o).explore();
}

const found = (r: ExploreResult) => r.violations.map((v) => `[${v.checker}] ${v.message} (schedule "${v.schedule}")`);

describe('pin_user_pages() as its callers run it', () => {
  it('the slow path holds mmap_read_lock across lookup and grab: mremap\'s write lock excludes it, no violation', () => {
    const r = explore(race('pin-vs-relocate', MAP8, [[RELOCATE], [{ op: 'pin', page: 3, pages: 1 }]]));
    expect(r.complete).toBe(true);
    expect(r.schedules).toBeGreaterThan(2);
    expect(found(r)).toEqual([]);
  });

  it('a pin of a page not yet faulted faults it in under the same lock, and pins it', () => {
    const s = race('pin-unfaulted', [{ op: 'mmap', page: 0, pages: 8, prot: 'rw-', fixed: true }], [[{ op: 'touch', page: 3, pages: 1 }], [{ op: 'pin', page: 3, pages: 1 }]]);
    const r = explore(s, 'fixed', { por: false });
    expect(found(r)).toEqual([]);
  });
});

describe('two threads faulting the same page: pte_same() under the PTE lock', () => {
  const MAP = { op: 'mmap', page: 0, pages: 8, prot: 'rw-', fixed: true };
  const touch = (access: 'read' | 'write', page = 0) => ({ op: 'touch', page, pages: 1, access });

  it('do_anonymous_page (write/write, read/write) and __anon_vma_prepare: the loser backs off, no violation', () => {
    for (const [a, b] of [['write', 'write'], ['read', 'write'], ['write', 'read']] as const) {
      const r = explore(race(`fault-${a}-${b}`, [MAP], [[touch(a)], [touch(b)]]));
      expect(r.complete).toBe(true);
      expect(found(r), `${a}/${b}`).toEqual([]);
    }
  });

  it('wp_page_copy: two writes to a COW-shared page after fork copy once each, no violation', () => {
    const r = explore(race('cow-write-write', [MAP, touch('write'), { op: 'fork' }], [[touch('write')], [touch('write')]]));
    expect(r.complete).toBe(true);
    expect(found(r)).toEqual([]);
  });

  it('do_swap_page: two threads swapping the same page in, no violation', () => {
    const r = explore(race('swapin-swapin', [MAP, touch('write'), { op: 'swapout', page: 0, pages: 1 }], [[touch('write')], [touch('read')]]));
    expect(r.complete).toBe(true);
    expect(found(r)).toEqual([]);
  });

  it('issue #34: MADV_DONTNEED freeing the PTE table against the per-VMA-lock fault: the fault retries, no violation', () => {
    const s = race(
      'dontneed-vs-touch',
      [{ op: 'mmap', page: 0, pages: 512, prot: 'rw-', fixed: true }],
      [[touch('write'), { op: 'madvise', page: 0, pages: 512, advice: 'DONTNEED' }], [touch('write')]],
    );
    const r = explore(s);
    expect(r.complete).toBe(true);
    expect(found(r)).toEqual([]);
    // the touch landed before the zap in some schedules, after it in others
    expect(r.distinctFinalStates).toBeGreaterThan(1);
  });

  it('still caught: a touch racing a relocation that rewrites folios without the new anon_vma\'s lock', () => {
    const r = explore(race('touch-vs-bad-relocate', MAP8, [[RELOCATE], [touch('write', 6)]]), 'bug-unlocked-new-anon-vma');
    expect(r.violations.map((v) => v.checker)).toContain('rmap-race');
  });
});

describe('rmap_walk as folio_referenced() from shrink_folio_list()', () => {
  const WALK3 = { op: 'rmap_walk', page: 3 };

  it('munmap against the walk: the isolation reference keeps the folio, no violation, no model error', () => {
    const r = explore(race('walk-vs-munmap', MAP8, [[{ op: 'munmap', page: 0, pages: 8 }], [WALK3]]));
    expect(r.complete).toBe(true);
    expect(found(r)).toEqual([]);
  });

  it('stock reclaim against the walk (no folio lock, a benign race): a mapping that goes during the walk is no miss', () => {
    const r = explore(race('walk-vs-reclaim', MAP8, [[{ op: 'reclaim', page: 2, pages: 2 }], [WALK3]]));
    expect(r.complete).toBe(true);
    expect(found(r)).toEqual([]);
    // the walk ran before, during and after the unmap
    expect(r.distinctFinalStates).toBeGreaterThan(2);
  });

  it('still caught: a relocation without the new anon_vma\'s lock makes the walk miss a mapping that lasted the whole walk', () => {
    const r = explore(race('walk-vs-bad-relocate', MAP8, [[RELOCATE], [WALK3]]), 'bug-unlocked-new-anon-vma', { report: (c) => c === 'rmap-walk' });
    expect(r.violations.map((v) => v.message)).toEqual([
      'step 2 task 1 step 0: folio_referenced() of page 3 found 0 of its 1 mapping(s) (mapcount 1 when the walk began, 1 when it ended)',
    ]);
  });
});

describe('swapout as reclaim runs it: try_to_unmap_one() under the PTE lock', () => {
  const SWAP3 = { op: 'swapout', page: 3, pages: 1 };
  // the relocated page, touched after the race: a swap entry left behind faults wrongly
  const TOUCH_MOVED = [{ op: 'touch', page: 35, pages: 1 }];

  it('against a relocation and against munmap: the PTE is re-read under its lock, no violation, no internal error', () => {
    const r = explore(race('swapout-vs-relocate', MAP8, [[RELOCATE], [SWAP3]], TOUCH_MOVED));
    expect(r.complete).toBe(true);
    expect(found(r)).toEqual([]);
    const m = explore(race('swapout-vs-munmap', MAP8, [[{ op: 'munmap', page: 0, pages: 8 }], [SWAP3]], [{ op: 'mmap', page: 0, pages: 8, prot: 'rw-', fixed: true }]));
    expect(m.complete).toBe(true);
    expect(found(m)).toEqual([]);
  });

  it('still caught: a relocation that skips swap entries leaves the swapped folio where the rmap does not look', () => {
    const r = explore(race('swapout-vs-skip-swap', MAP8, [[RELOCATE], [SWAP3]], TOUCH_MOVED), 'bug-skip-swap');
    expect(r.violations.map((v) => v.checker)).toContain('rmap');
  });
});

describe('GUP-fast as its callers run it', () => {
  it('FOLL_GET (pin: false) against a relocation: the reference it leaves is counted, no violation', () => {
    const r = explore(race('get-vs-relocate', MAP8, [[RELOCATE], [{ op: 'gup_fast', page: 3, pages: 1, pin: false }]]));
    expect(r.complete).toBe(true);
    expect(found(r)).toEqual([]);
  });

  it('munmap against GUP-fast: folio_try_get fails on a freed folio, the IRQs-off walk holds off the table free', () => {
    for (const pin of [true, false]) {
      const r = explore(race('munmap-vs-gup-fast', MAP8, [[{ op: 'munmap', page: 0, pages: 8 }], [{ op: 'gup_fast', page: 3, pages: 1, pin }]], [{ op: 'mmap', page: 0, pages: 8, prot: 'rw-', fixed: true }]));
      expect(r.complete).toBe(true);
      expect(found(r), `pin ${pin}`).toEqual([]);
      // the grab landed (before the zap) in some schedules and not in others
      expect(r.distinctFinalStates, `pin ${pin}`).toBeGreaterThan(1);
    }
  });

  it('munmap\'s page-table free waits out a GUP-fast inside its IRQs-off walk (tlb_remove_table_sync_one)', () => {
    const s = race('munmap-vs-gup-fast-irq', MAP8, [[{ op: 'munmap', page: 0, pages: 8 }], [{ op: 'gup_fast', page: 3, pages: 1 }]]);
    let waited = 0;
    const broken: string[] = [];
    explorer(s, 'fixed', {
      por: false,
      checkers: (eng) => {
        let gupInside = false;
        const off = eng.onRaw((r) => {
          if (r.type === E.LockAcquire && r.s === 'irq_off:1') {
            if (r.a === 1) gupInside = true;
            else {
              // munmap's sync after freeing tables: it gets through only once GUP-fast left
              waited++;
              if (gupInside) broken.push(`seq ${r.seq}: the sync passed a GUP-fast inside its walk`);
            }
          }
          if (r.type === E.LockRelease && r.s === 'irq_off:1' && r.a === 1) gupInside = false;
        });
        return { violations: () => [], clear: () => void (gupInside = false), detach: off };
      },
    }).explore();
    expect(waited).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });

  it('still caught: FOLL_PIN GUP-fast pins between the fixed variant\'s pin check and the rewrite', () => {
    const r = explore(race('pin-vs-relocate', MAP8, [[RELOCATE], [{ op: 'gup_fast', page: 3, pages: 1 }]]));
    expect(r.violations.map((v) => v.checker)).toContain('rmap');
    expect(r.violations.find((v) => v.checker === 'rmap')!.message).toMatch(/of pinned folio \d+ rewritten/);
  });
});

describe("patch-v1's undo as the seed has it: relocate_anon_pte(undo = true), pin check included", () => {
  it('a folio GUP-fast pinned after the forward rewrite is skipped by the undo and left pointing at the new anon_vma', () => {
    // small folios in the first PMD, a THP in the second: the forward pass rewrites the
    // small ones, fails on the THP (no large-folio handler) and undoes; MUST_RELOCATE_ANON
    // then fails the mremap, so the folios stay in the old VMA
    const s = race(
      'v1-undo-vs-gup-fast',
      [{ op: 'mmap', page: 0, pages: 1024, prot: 'rw-', fixed: true }, { op: 'touch', page: 0, pages: 8 }, { op: 'thp', page: 512 }],
      [[{ op: 'mremap', page: 0, pages: 1024, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON', 'MUST_RELOCATE_ANON'], to: 2048 }], [{ op: 'gup_fast', page: 3, pages: 1 }]],
      [],
      4096,
    );
    const r = explore(s, 'patch-v1', { report: (c) => c === 'rmap' });
    expect(r.complete).toBe(true);
    expect(r.violations.map((v) => v.message)).toContainEqual(expect.stringMatching(/^mapped folio \d+ points to anon_vma \d+, which is freed$/));
  });
});
