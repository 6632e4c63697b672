/**
 * Racing rmap walkers against MREMAP_RELOCATE_ANON, wider than relocate-anon's own race
 * test: two walker tasks start at seeded points of the move, over ranges of different
 * sizes, partly faulted, sometimes split by an mprotect, moved to aligned and unaligned
 * destinations, with and without the large-folio extension, every checker attached.
 * Each walk must find every mapping of its page, and no checker may fire.
 */
import { describe, expect, it } from 'vitest';
import { E, POINT, ptePfn, type KGen } from '@mmsim/core';
import { Kernel, doMmap, doMprotect, doMremap, getPte, rmapWalkAnon, userAccess, type RmapWalkResult } from '@mmsim/linux';
import relocateAnon, { MREMAP_RELOCATE_ANON } from '@mmsim/relocate-anon';
import largeFolio from '@mmsim/large-folio';
import { attachCheckers } from './index.js';

const BASE = 0x10000000;

function* later<T>(points: number, body: () => KGen<T>): KGen<T> {
  for (let i = 0; i < points; i++) yield POINT;
  return yield* body();
}

describe('racing rmap walkers against MREMAP_RELOCATE_ANON (fixed)', () => {
  it('300 seeded interleavings: every walk finds its mapping, no checker fires', () => {
    let walks = 0;
    const misses: string[] = [];
    const violations: string[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const large = seed % 2 === 0;
      const k = new Kernel({ plugins: large ? [[relocateAnon, { variant: 'fixed' }], largeFolio] : [[relocateAnon, { variant: 'fixed' }]] });
      const h = attachCheckers(k.eng);
      k.eng.emit(E.MmCreate, 1, 0);
      k.eng.commit();
      const n = 8 + (seed % 24);
      k.eng.syscall('mmap', () => doMmap(k, 1, BASE, n, { prot: 3, shared: false, fixed: true, noreserve: false }));
      for (let p = 0; p < n; p++) if ((seed >> (p % 5)) & 1 || p % 3 === 0) k.eng.syscall('touch', () => userAccess(k, 1, BASE + p, true));
      if (seed % 5 === 0) k.eng.syscall('mprotect', () => doMprotect(k, 1, BASE + 2, 2, 1));
      const page = [...Array(n).keys()].map((p) => (p + seed) % n).find((p) => ptePfn(getPte(k, 1, BASE + p)) >= 1024);
      if (page === undefined) continue;
      const pfn = ptePfn(getPte(k, 1, BASE + page));
      const dst = BASE + 1000 + (seed % 3 === 0 ? 0 : seed % 7);
      const res = k.eng.interleave(
        [
          { task: 1, run: (): KGen<number> => doMremap(k, 1, BASE, n, n, 1 | 2 | MREMAP_RELOCATE_ANON, dst) },
          { task: 2, run: () => later(seed % 80, () => rmapWalkAnon(k, pfn)) },
          { task: 3, run: () => later((seed * 7) % 90, () => rmapWalkAnon(k, pfn)) },
        ],
        seed,
      );
      k.eng.commit();
      for (const t of [2, 3]) {
        const w = res.get(t) as RmapWalkResult;
        walks++;
        if (w.found.length !== w.mapcount) misses.push(`seed ${seed} task ${t}: ${JSON.stringify(w)}`);
      }
      for (const v of h.violations()) violations.push(`seed ${seed}: ${v.checker}: ${v.message}`);
    }
    expect(walks).toBeGreaterThan(500);
    expect(misses).toEqual([]);
    expect(violations).toEqual([]);
  });
});
