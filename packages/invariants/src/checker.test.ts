import { describe, expect, it } from 'vitest';
import { AvCounter, E, ENGINE_SUBSCRIBER, Engine, FOLIO_ANON, FolioCounter, MappingKind, folioAtHead, PTE_WRITE, type KGen } from '@mmsim/core';
import {
  InvariantViolationError,
  attachCheckers,
  checkLog,
  checkersOf,
  invariantsPlugin,
  rmapWalk,
  runEngineAttach,
  type CheckerOptions,
  type Violation,
} from './index.js';

/* ------------------------- a tiny hand-written "kernel" --------------------------- */

const MM = 1;
const A = 0x10000; // old VMA start (vpn)
const B = 0x20000; // where things move
const LEN = 16;

const ptl = (mm: number, vpn: number): string => `ptl:${mm}:${vpn - (vpn % 512)}`;

interface World {
  eng: Engine;
  h: ReturnType<typeof attachCheckers>;
}

function world(opts: CheckerOptions = {}): World {
  const eng = new Engine();
  const h = attachCheckers(eng, opts);
  eng.syscall('setup', function* () {
    eng.emit(E.MmCreate, MM, 0);
    return 0;
  });
  return { eng, h };
}

function* mmapLocked(eng: Engine, body: () => KGen<void>, mode: 0 | 1 = 0): KGen<void> {
  yield* eng.lock(`mmap_lock:${MM}`, mode, 'sleep');
  yield* body();
  yield* eng.unlock(`mmap_lock:${MM}`, mode, 'sleep');
}

/** mmap(): VMA `id` at [start, start+LEN), pgoff = start */
function mmap(eng: Engine, id: number, start: number): void {
  const r = eng.syscall('mmap', () =>
    mmapLocked(eng, function* () {
      eng.emit(E.VmaInsert, id, MM, start, start + LEN, start, 0x73);
    }),
  );
  if (!r.ok) throw r.error;
}

/** move_ptes() of the page at A to B (a new PTE table there), under both PTLs */
function* movePteAtoB(eng: Engine): KGen<void> {
  eng.emit(E.PtAlloc, MM, B);
  yield* eng.lock(ptl(MM, A), 0, 'spin');
  yield* eng.lock(ptl(MM, B), 0, 'spin');
  eng.emit(E.PteMove, MM, A, B);
  yield* eng.unlock(ptl(MM, B), 0, 'spin');
  yield* eng.unlock(ptl(MM, A), 0, 'spin');
}

interface FaultOpts {
  /** index written to the folio (default: linear) */
  index?: number;
  /** mapcount increment (default 1) */
  mapcount?: number;
  /** take the PTL around the PTE write (default true) */
  ptl?: boolean;
}

/** A write fault at vpn of VMA vma (anon_vma 1 created on the first fault). */
function fault(eng: Engine, vma: number, vpn: number, pfn: number, o: FaultOpts = {}): void {
  const r = eng.syscall('fault', () =>
    mmapLocked(
      eng,
      function* () {
        if (!eng.s.vmas.get(vma)!.anonVma) {
          eng.emit(E.AnonVmaCreate, 1, 1, 1);
          eng.emit(E.AnonVmaCount, 1, AvCounter.NumChildren, 1);
          yield* eng.lock('anon_vma:1', 0, 'sleep');
          yield* eng.lock(`page_table_lock:${MM}`, 0, 'spin');
          eng.emit(E.VmaSetAnonVma, vma, 1);
          eng.emit(E.AvcLink, vma, 1);
          eng.emit(E.AnonVmaCount, 1, AvCounter.NumActiveVmas, 1);
          yield* eng.unlock(`page_table_lock:${MM}`, 0, 'spin');
          yield* eng.unlock('anon_vma:1', 0, 'sleep');
        }
        const v = eng.s.vmas.get(vma)!;
        if (!eng.s.mms[MM].pgd[0]?.[0]?.[Math.floor(vpn / 512) % 512]) eng.emit(E.PtAlloc, MM, vpn - (vpn % 512));
        eng.emit(E.FolioAlloc, pfn, 0);
        const usePtl = o.ptl ?? true;
        if (usePtl) yield* eng.lock(ptl(MM, vpn), 0, 'spin');
        eng.emit(E.FolioFlags, pfn, FOLIO_ANON, 0);
        eng.emit(E.FolioMapping, pfn, MappingKind.Anon, 1);
        eng.emit(E.FolioIndex, pfn, o.index ?? v.pgoff + (vpn - v.start));
        eng.emit(E.FolioCount, pfn, FolioCounter.PageMapcount, o.mapcount ?? 1);
        eng.emit(E.PageAnonExclusive, pfn, 1);
        eng.emit(E.PteSet, MM, vpn, pfn, PTE_WRITE);
        if (usePtl) yield* eng.unlock(ptl(MM, vpn), 0, 'spin');
      },
      1,
    ),
  );
  if (!r.ok) throw r.error;
}

/** munmap of the whole VMA `vma` (mapped pages at the given vpns). */
function munmap(eng: Engine, vma: number): void {
  const r = eng.syscall('munmap', () =>
    mmapLocked(eng, function* () {
      yield* eng.lock(`vma_lock:${vma}`, 0, 'sleep');
      const v = eng.s.vmas.get(vma)!;
      for (let vpn = v.start; vpn < v.end; vpn++) {
        const e = eng.s.mms[MM].pgd[0]?.[0]?.[Math.floor(vpn / 512) % 512];
        if (!e || e.kind !== 'table' || e.ptes[vpn % 512] <= 0) continue;
        const pfn = Math.floor(e.ptes[vpn % 512] / 256);
        yield* eng.lock(ptl(MM, vpn), 0, 'spin');
        eng.emit(E.PteClear, MM, vpn);
        eng.emit(E.FolioCount, pfn, FolioCounter.PageMapcount, -1);
        eng.emit(E.FolioCount, pfn, FolioCounter.Refcount, -1);
        eng.emit(E.FolioFree, pfn);
        yield* eng.unlock(ptl(MM, vpn), 0, 'spin');
      }
      for (const av of eng.s.vmas.get(vma)!.chain.slice()) {
        yield* eng.lock(`anon_vma:${eng.s.anonVmas.get(av)!.root}`, 0, 'sleep');
        eng.emit(E.AvcUnlink, vma, av);
        const left = eng.s.anonVmas.get(av)!.vmas.length;
        if (!left) eng.emit(E.AnonVmaCount, eng.s.anonVmas.get(av)!.parent, AvCounter.NumChildren, -1);
        if (eng.s.vmas.get(vma)!.anonVma === av) {
          eng.emit(E.AnonVmaCount, av, AvCounter.NumActiveVmas, -1);
          eng.emit(E.VmaSetAnonVma, vma, 0);
        }
        yield* eng.unlock(`anon_vma:${eng.s.anonVmas.get(av)!.root}`, 0, 'sleep');
        if (!left) {
          eng.emit(E.AnonVmaCount, av, AvCounter.Refcount, -1);
          eng.emit(E.AnonVmaFree, av);
        }
      }
      eng.emit(E.VmaRemove, vma);
      yield* eng.unlock(`vma_lock:${vma}`, 0, 'sleep');
    }),
  );
  if (!r.ok) throw r.error;
}

/**
 * A relocating mremap of the one-page VMA 1 at A (page mapped at A) to B: the new VMA
 * 2 gets pgoff B and joins anon_vma 1, the folio's index is rewritten to B under the
 * PTL and the folio lock, then the PTE moves, then the old VMA goes.
 * `rmapLock`: hold the root anon_vma lock for write across relocation and move.
 */
function relocateMove(eng: Engine, pfn: number, rmapLock: boolean): { ok: boolean; error?: unknown } {
  return eng.syscall('mremap', () =>
    mmapLocked(eng, function* () {
      yield* eng.lock('vma_lock:1', 0, 'sleep');
      eng.emit(E.VmaInsert, 2, MM, B, B + LEN, B, 0x73);
      yield* eng.lock('vma_lock:2', 0, 'sleep');
      yield* eng.lock('anon_vma:1', 0, 'sleep');
      eng.emit(E.VmaSetAnonVma, 2, 1);
      eng.emit(E.AvcLink, 2, 1);
      eng.emit(E.AnonVmaCount, 1, AvCounter.NumActiveVmas, 1);
      if (!rmapLock) yield* eng.unlock('anon_vma:1', 0, 'sleep');
      // relocate_anon_ptes(): under the old PTL, folio_trylock (a blocking lock would be a bug)
      yield* eng.lock(ptl(MM, A), 0, 'spin');
      expect(eng.trylock(`folio:${pfn}`, 0, 'sleep')).toBe(true);
      eng.emit(E.FolioIndex, pfn, B);
      yield* eng.unlock(`folio:${pfn}`, 0, 'sleep');
      yield* eng.unlock(ptl(MM, A), 0, 'spin');
      // move_page_tables()
      yield* movePteAtoB(eng);
      if (!rmapLock) yield* eng.lock('anon_vma:1', 0, 'sleep');
      eng.emit(E.AvcUnlink, 1, 1);
      eng.emit(E.AnonVmaCount, 1, AvCounter.NumActiveVmas, -1);
      eng.emit(E.VmaSetAnonVma, 1, 0);
      yield* eng.unlock('anon_vma:1', 0, 'sleep');
      eng.emit(E.VmaRemove, 1);
      yield* eng.unlock('vma_lock:2', 0, 'sleep');
      yield* eng.unlock('vma_lock:1', 0, 'sleep');
    }),
  );
}

const of = (vs: Violation[], c: Violation['checker']): Violation[] => vs.filter((v) => v.checker === c);

/* ------------------------------------ tests -------------------------------------- */

describe('clean sequences', () => {
  it('mmap, faults, munmap: no violations', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    for (let i = 0; i < 4; i++) fault(eng, 1, A + i, 1024 + i);
    expect(rmapWalk(eng.state, 1025)?.ok).toBe(true);
    munmap(eng, 1);
    expect(h.violations()).toEqual([]);
  });

  it('a relocating move inside the root anon_vma write lock is clean for every checker', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024);
    expect(relocateMove(eng, 1024, true).ok).toBe(true);
    expect(folioAtHead(eng.state, 1024)!.index).toBe(B);
    expect(h.violations()).toEqual([]);
  });
});

describe('locking', () => {
  it('PTE set without the PTL', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024, { ptl: false });
    const v = of(h.violations(), 'locking');
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/pte_set at vpn \d+ of mm 1 without its page table lock ptl:1:/);
    expect(v[0].spanPath).toEqual(['fault']);
    expect(eng.log.get(v[0].seq).type).toBe('pte_set');
  });

  it('folio index write on a mapped folio without the anon_vma root lock', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024);
    eng.syscall('rewrite', function* () {
      yield* eng.lock('folio:1024', 0, 'sleep');
      eng.emit(E.FolioIndex, 1024, A); // same value: only the locking is wrong
      yield* eng.unlock('folio:1024', 0, 'sleep');
      return 0;
    });
    const v = h.violations();
    expect(v).toHaveLength(1);
    expect(v[0].checker).toBe('locking');
    expect(v[0].message).toMatch(/folio index write of mapped anon folio 1024 without the root anon_vma lock \(anon_vma:1\)/);
    expect(v[0].objects.folio).toEqual([1024]);
  });

  it('folio index write without the folio lock; a new folio being set up is exempt', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024); // sets index while mapcount is 0: exempt
    expect(h.violations()).toEqual([]);
    eng.syscall('rewrite', function* () {
      yield* eng.lock('anon_vma:1', 0, 'sleep');
      eng.emit(E.FolioIndex, 1024, A);
      yield* eng.unlock('anon_vma:1', 0, 'sleep');
      return 0;
    });
    expect(h.violations().map((v) => v.message)).toEqual([expect.stringMatching(/without its folio lock folio:1024/)]);
  });

  it('sleeping lock under a spinlock; a trylock there is fine', () => {
    const { eng, h } = world();
    eng.syscall('ok', function* () {
      yield* eng.lock(ptl(MM, A), 0, 'spin');
      eng.trylock('folio:1024', 0, 'sleep');
      yield* eng.unlock('folio:1024', 0, 'sleep');
      yield* eng.unlock(ptl(MM, A), 0, 'spin');
      return 0;
    });
    expect(h.violations()).toEqual([]);
    eng.syscall('bad', function* () {
      yield* eng.lock(ptl(MM, A), 0, 'spin');
      yield* eng.lock('folio:1024', 0, 'sleep');
      yield* eng.unlock('folio:1024', 0, 'sleep');
      yield* eng.unlock(ptl(MM, A), 0, 'spin');
      return 0;
    });
    const v = of(h.violations(), 'locking');
    expect(v[0].message).toMatch(/sleeping lock folio:1024 taken \(blocking\) while holding spinlock ptl:1:/);
    expect(v[0].objects.lock).toEqual(['folio:1024', ptl(MM, A)]);
    // and the kernel's documented order (folio_lock before the PTL) is broken too
    expect(v.some((x) => /lock order cycle between classes ptl and folio/.test(x.message))).toBe(true);
  });

  it('AB/BA lock order cycle shows both chains with their first seqs', () => {
    const { eng, h } = world({ kernelLockOrder: false });
    eng.syscall('ab', function* () {
      yield* eng.lock('alpha:1', 0, 'sleep');
      yield* eng.lock('beta:1', 0, 'sleep');
      yield* eng.unlock('beta:1', 0, 'sleep');
      yield* eng.unlock('alpha:1', 0, 'sleep');
      return 0;
    });
    expect(h.violations()).toEqual([]);
    eng.syscall('ba', function* () {
      yield* eng.lock('beta:2', 0, 'sleep');
      yield* eng.lock('alpha:2', 0, 'sleep');
      yield* eng.unlock('alpha:2', 0, 'sleep');
      yield* eng.unlock('beta:2', 0, 'sleep');
      return 0;
    });
    const v = h.violations();
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(
      /cycle between classes beta and alpha: new beta -> alpha \(first at seq \d+: beta:2 then alpha:2\); existing alpha -> beta \(first at seq \d+: alpha:1 then beta:1\)/,
    );
    expect(v[0].spanPath).toEqual(['ba']);
  });

  it('same-class nesting: one level allowed, two not', () => {
    const { eng, h } = world();
    const take = (n: number) =>
      eng.syscall('nest', function* () {
        for (let i = 0; i < n; i++) yield* eng.lock(ptl(MM, i * 512), 0, 'spin');
        for (let i = n - 1; i >= 0; i--) yield* eng.unlock(ptl(MM, i * 512), 0, 'spin');
        return 0;
      });
    take(2);
    expect(h.violations()).toEqual([]);
    take(3);
    expect(h.violations()[0].message).toMatch(/3 locks of class ptl held at once/);
  });

  it('lock still held at the end of the syscall', () => {
    const { eng, h } = world();
    eng.syscall('leaky', function* () {
      yield* eng.lock('mmap_lock:1', 1, 'sleep');
      return 0;
    });
    const v = h.violations();
    expect(v).toHaveLength(1);
    expect(v[0].message).toBe('locks still held at the end of leaky: mmap_lock:1');
    expect(v[0].objects.lock).toEqual(['mmap_lock:1']);
  });

  it('VMA changes need the mmap write lock and the VMA lock', () => {
    const { eng, h } = world();
    eng.syscall('mmap-read-locked', () =>
      mmapLocked(
        eng,
        function* () {
          eng.emit(E.VmaInsert, 1, MM, A, A + LEN, A, 0x73);
          eng.emit(E.VmaAdjust, 1, A, A + 2 * LEN, A);
        },
        1,
      ),
    );
    const msgs = h.violations().map((v) => v.message);
    expect(msgs).toEqual([
      'vma_insert of vma 1 without mmap_lock:1 held for write',
      'vma_adjust of vma 1 without mmap_lock:1 held for write',
      'vma_adjust of vma 1 without its VMA write lock vma_lock:1',
    ]);
  });

  it('vma->anon_vma set under mmap_lock for write needs the VMA write lock too (d8ab9f7b644a); a fault sets it under the read lock', () => {
    const { eng, h } = world({ checkers: ['locking'] });
    mmap(eng, 1, A);
    mmap(eng, 2, B);
    eng.syscall('fault', () =>
      mmapLocked(
        eng,
        function* () {
          eng.emit(E.VmaSetAnonVma, 1, 1);
        },
        1,
      ),
    );
    eng.syscall('merge', () =>
      mmapLocked(eng, function* () {
        eng.emit(E.VmaSetAnonVma, 2, 1); // dup_anon_vma() before vma_start_write()
        yield* eng.lock('vma_lock:2', 0, 'sleep');
        eng.emit(E.VmaSetAnonVma, 2, 0);
        eng.emit(E.VmaSetAnonVma, 2, 1);
        yield* eng.unlock('vma_lock:2', 0, 'sleep');
      }),
    );
    expect(of(h.violations(), 'locking').map((v) => v.message)).toEqual(['vma_set_anon_vma of vma 2 under mmap_lock:1 for write without its VMA write lock vma_lock:2']);
  });
});

describe('rmap', () => {
  it('folio index not matching linear_page_index', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A + 3, 1024, { index: A + 4 });
    const v = of(h.violations(), 'rmap');
    expect(v.length).toBeGreaterThanOrEqual(1);
    expect(v[0].message).toMatch(/page 1024 of folio 1024 has index \d+ but is mapped at vpn \d+ of vma 1 where linear_page_index is \d+/);
    expect(v[0].spanPath).toEqual(['fault']);
    expect(eng.log.get(v[0].seq).type).toBe('span_close');
    // the walk misses it too
    expect(v.some((x) => /finds 0 of the 1 mapping/.test(x.message))).toBe(true);
  });

  it('PTE in a VMA whose chain does not link the folio anon_vma', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024);
    mmap(eng, 2, B);
    eng.syscall('bogus-move', () => mmapLocked(eng, () => movePteAtoB(eng)));
    const v = of(h.violations(), 'rmap');
    expect(v[0].message).toMatch(/mapped at vpn \d+ in vma 2 .* does not link anon_vma 1/);
  });

  it('mapped folio pointing to a freed anon_vma', () => {
    const { eng, h } = world({ checkers: ['rmap'] });
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024);
    eng.syscall('free-av', function* () {
      yield* eng.lock('anon_vma:1', 0, 'sleep');
      eng.emit(E.AvcUnlink, 1, 1);
      yield* eng.unlock('anon_vma:1', 0, 'sleep');
      eng.emit(E.AnonVmaFree, 1);
      eng.emit(E.FolioCount, 1024, FolioCounter.Refcount, 0);
      return 0;
    });
    expect(h.violations().map((v) => v.message)).toContain('mapped folio 1024 points to anon_vma 1, which is freed');
  });
});

describe('rmap-race', () => {
  it('a window where the index is rewritten but the PTE not yet moved is seen by a racing walker', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024);
    expect(relocateMove(eng, 1024, false).ok).toBe(true);
    const vs = h.violations();
    const race = of(vs, 'rmap-race');
    expect(race.length).toBeGreaterThanOrEqual(1);
    expect(race[0].message).toMatch(/racing rmap walk \(anon_vma:1 not write-held\) would miss .* finds 0 of the 1 mapping\(s\) of page 1024/);
    expect(eng.log.get(race[0].seq).type).toBe('lock_release'); // when the PTL went
    expect(race[0].spanPath).toEqual(['mremap']);
    // the end state is consistent: the syscall-end rmap check is silent
    expect(of(vs, 'rmap')).toEqual([]);
    // and the index write without the rmap lock is a locking finding
    expect(of(vs, 'locking').map((v) => v.message)).toEqual([expect.stringMatching(/folio index write .* without the root anon_vma lock/)]);
  });

  it('the same sequence inside the root anon_vma write lock is clean (tested above); with rmap-race only', () => {
    const { eng, h } = world({ checkers: ['rmap-race'] });
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024);
    relocateMove(eng, 1024, true);
    expect(h.violations()).toEqual([]);
  });
});

describe('structure', () => {
  it('mapcount mismatch', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024, { mapcount: 2 });
    const v = of(h.violations(), 'structure');
    expect(v.map((x) => x.message)).toContain('page 1024 of folio 1024 has mapcount 2 but 1 PTE(s) map it');
  });

  it('refcount leak', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024);
    eng.syscall('get', function* () {
      eng.emit(E.FolioCount, 1024, FolioCounter.Refcount, 1);
      return 0;
    });
    expect(h.violations().map((v) => v.message)).toEqual(['anon folio 1024 has refcount 2, expected 1 (1 mapping(s) + 0 pin(s))']);
  });

  it('PTE left pointing to a freed folio', () => {
    const { eng, h } = world({ checkers: ['structure'] });
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024);
    eng.syscall('free', function* () {
      eng.emit(E.FolioCount, 1024, FolioCounter.PageMapcount, -1);
      eng.emit(E.FolioFree, 1024);
      return 0;
    });
    const msgs = h.violations().map((v) => v.message);
    expect(msgs).toContain('folio 1024 was freed while still mapped by 1 PTE(s) and 0 PMD(s)');
  });

  it('anon_vma counters', () => {
    const { eng, h } = world({ checkers: ['structure'] });
    mmap(eng, 1, A);
    eng.syscall('prepare', () =>
      mmapLocked(eng, function* () {
        eng.emit(E.AnonVmaCreate, 1, 1, 1); // forgets the self-parent num_children
        yield* eng.lock('anon_vma:1', 0, 'sleep');
        eng.emit(E.VmaSetAnonVma, 1, 1);
        eng.emit(E.AvcLink, 1, 1);
        eng.emit(E.AnonVmaCount, 1, AvCounter.NumActiveVmas, 1);
        yield* eng.unlock('anon_vma:1', 0, 'sleep');
      }),
    );
    expect(h.violations().map((v) => v.message)).toEqual([expect.stringMatching(/^anon_vma 1: num_children 0, expected 1/)]);
  });

  it('overlapping VMAs', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    mmap(eng, 2, A + LEN - 1);
    expect(h.violations().map((v) => v.message)).toEqual([expect.stringMatching(/VMAs of mm 1 overlap or are out of order: vma 1 .* then vma 2/)]);
  });
});

describe('modes, replay, plugin', () => {
  it('strict mode aborts the syscall: rolled back, error event logged, checking goes on', () => {
    const { eng, h } = world({ mode: 'strict' });
    mmap(eng, 1, A);
    const before = eng.state;
    const r = eng.syscall('fault', () =>
      mmapLocked(
        eng,
        function* () {
          eng.emit(E.PtAlloc, MM, A);
          eng.emit(E.FolioAlloc, 1024, 0);
          eng.emit(E.PteSet, MM, A, 1024, 0); // no PTL
        },
        1,
      ),
    );
    expect(r.ok).toBe(false);
    expect(r.ok ? null : r.error).toBeInstanceOf(InvariantViolationError);
    expect(((r as { error: InvariantViolationError }).error.violation.checker)).toBe('locking');
    expect(eng.state.mms).toBe(before.mms);
    const last = eng.log.get(eng.log.length - 1);
    expect(last.type).toBe('error');
    expect(h.violations()).toHaveLength(1);
    // a good fault after the rollback is clean
    fault(eng, 1, A, 1024);
    expect(h.violations()).toHaveLength(1);
  });

  it('checkLog replays a log to the same findings', () => {
    const { eng, h } = world();
    mmap(eng, 1, A);
    fault(eng, 1, A, 1024);
    relocateMove(eng, 1024, false);
    fault(eng, 2, B + 1, 1025, { ptl: false });
    const live = h.violations().map((v) => [v.checker, v.seq, v.message]);
    expect(live.length).toBeGreaterThan(1);
    expect(checkLog(eng.log).map((v) => [v.checker, v.seq, v.message])).toEqual(live);
    expect(() => checkLog(eng.log, { mode: 'strict' })).toThrow(InvariantViolationError);
  });

  it('the plugin attaches through ENGINE_SUBSCRIBER', () => {
    const eng = new Engine();
    eng.plugins.use(invariantsPlugin, { checkers: ['locking'] });
    const off = runEngineAttach(eng);
    eng.syscall('leaky', function* () {
      yield* eng.lock('mmap_lock:1', 1, 'sleep');
      return 0;
    });
    expect(checkersOf(eng)!.violations()).toHaveLength(1);
    off();
    // detached: what was found stays readable, later events are not checked
    eng.syscall('leaky again', function* () {
      yield* eng.lock('mmap_lock:2', 1, 'sleep');
      return 0;
    });
    expect(checkersOf(eng)!.violations()).toHaveLength(1);
  });

  it('engine.close() calls a subscriber detach function (once)', () => {
    const calls: string[] = [];
    const eng = new Engine();
    eng.plugins.use({ name: 'sub', setup: (host) => host.provide(ENGINE_SUBSCRIBER, () => () => void calls.push('detached')) });
    const off = runEngineAttach(eng);
    eng.close();
    off();
    expect(calls).toEqual(['detached']);
  });
});

describe('lifetime', () => {
  /** mmap + fault: VMA 1 with anon_vma 1 (its own root), one AVC, folio 1024 */
  function faulted(): World {
    const w = world({ checkers: ['lifetime'] });
    mmap(w.eng, 1, A);
    fault(w.eng, 1, A, 1024);
    return w;
  }
  /** unlink_anon_vmas() of VMA 1 from anon_vma 1, under its lock: the chain link, the pointer, the count */
  function* unlinkVma1(eng: Engine): KGen<void> {
    yield* eng.lock('anon_vma:1', 0, 'sleep');
    eng.emit(E.AvcUnlink, 1, 1);
    eng.emit(E.VmaSetAnonVma, 1, 0);
    eng.emit(E.AnonVmaCount, 1, AvCounter.NumActiveVmas, -1);
    yield* eng.unlock('anon_vma:1', 0, 'sleep');
  }

  it('an anon_vma freed while a VMA still points to it: at the free itself', () => {
    const { eng, h } = faulted();
    let freeSeq = -1;
    eng.syscall('early-free', function* () {
      yield* eng.lock('anon_vma:1', 0, 'sleep');
      eng.emit(E.AvcUnlink, 1, 1);
      yield* eng.unlock('anon_vma:1', 0, 'sleep');
      freeSeq = eng.log.length;
      eng.emit(E.AnonVmaFree, 1);
      return 0;
    });
    const v = of(h.violations(), 'lifetime');
    expect(v.map((x) => [x.seq, x.message])).toEqual([[freeSeq, 'anon_vma 1 freed while 1 VMA(s) still point to it (vma->anon_vma)']]);
  });

  it('a root freed before the anon_vmas of its tree', () => {
    const { eng, h } = faulted();
    eng.syscall('child-then-free-root', function* () {
      eng.emit(E.AnonVmaCreate, 2, 1, 1); // a fork child's anon_vma, rooted at 1
      yield* unlinkVma1(eng);
      eng.emit(E.AnonVmaFree, 1);
      return 0;
    });
    expect(of(h.violations(), 'lifetime').map((x) => x.message)).toEqual(['root anon_vma 1 freed while 1 anon_vma(s) of its tree still have it as root']);
  });

  it('a counter that drops below zero, at the event that drops it', () => {
    const { eng, h } = faulted();
    let at = -1;
    eng.syscall('double-put', function* () {
      eng.emit(E.AnonVmaCount, 1, AvCounter.NumActiveVmas, -1);
      at = eng.log.length;
      eng.emit(E.AnonVmaCount, 1, AvCounter.NumActiveVmas, -1); // once too often
      return 0;
    });
    expect(of(h.violations(), 'lifetime').map((x) => [x.seq, x.message])).toEqual([[at, 'anon_vma 1: num_active_vmas dropped to -1']]);
  });

  /** a second mm (a fork child) with VMA 2 over A, under its mmap_lock; `body` sets its anon_vma */
  function child(eng: Engine, body: () => void): number {
    let at = -1;
    eng.syscall('fork', function* () {
      eng.emit(E.MmCreate, MM + 1, 0);
      yield* eng.lock(`mmap_lock:${MM + 1}`, 0, 'sleep');
      eng.emit(E.VmaInsert, 2, MM + 1, A, A + LEN, A, 0x73);
      yield* eng.lock('anon_vma:1', 0, 'sleep');
      eng.emit(E.AvcLink, 2, 1);
      body();
      at = eng.log.length;
      eng.emit(E.AnonVmaCount, 1, AvCounter.NumActiveVmas, 1);
      yield* eng.unlock('anon_vma:1', 0, 'sleep');
      yield* eng.unlock(`mmap_lock:${MM + 1}`, 0, 'sleep');
      return 0;
    });
    return at;
  }

  it("an anon_vma reused by another mm's VMA while a VMA still uses it (CVE-2022-42703): at the count", () => {
    const { eng, h } = faulted();
    const at = child(eng, () => eng.emit(E.VmaSetAnonVma, 2, 1)); // anon_vma_clone()'s reuse
    expect(of(h.violations(), 'lifetime').map((x) => [x.seq, x.message])).toEqual([
      [at, "anon_vma 1 is vma->anon_vma of VMAs in 2 mms (1, 2): reused while still tied to another process's VMA"],
    ]);
  });

  it("dup_mmap()'s copied pointer, dropped before anon_vma_clone(), and a reuse once no VMA uses it are clean", () => {
    const { eng, h } = faulted();
    eng.syscall('munmap', () => mmapLocked(eng, () => unlinkVma1(eng)));
    // vm_area_dup() copies the parent's anon_vma; anon_vma_fork() drops it, then reuses
    child(eng, () => {
      eng.emit(E.VmaSetAnonVma, 2, 1);
      eng.emit(E.VmaSetAnonVma, 2, 0);
      eng.emit(E.VmaSetAnonVma, 2, 1);
    });
    expect(of(h.violations(), 'lifetime')).toEqual([]);
  });

  it('an orderly teardown (unlink, put, free) is clean; the model over the corpus is checked in corpus.test.ts', () => {
    const { eng, h } = faulted();
    eng.syscall('munmap', () =>
      mmapLocked(eng, function* () {
        yield* unlinkVma1(eng);
        eng.emit(E.AnonVmaFree, 1);
      }),
    );
    expect(of(h.violations(), 'lifetime')).toEqual([]);
  });
});
