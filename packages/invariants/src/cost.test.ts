/**
 * What the checkers cost, counted (not timed): how many mapping locations and folio rmap
 * walks they look at. A VMA split moves pages to another VMA without changing how they
 * are mapped; the checkers must not look at the whole rest of a large VMA again for
 * every piece unmapped from it (that was quadratic: 1 GiB in 2 MiB pieces took minutes).
 */
import { describe, expect, it } from 'vitest';
import { E } from '@mmsim/core';
import { ARENA_BASE, Kernel, PROT_READ, PROT_WRITE, doMadvise, doMmap, doMremap, doMunmap, userAccess } from '@mmsim/linux';
import { InvariantChecker } from './checker.js';

function faultedRegion(pages: number): { k: Kernel; mm: number; chk: InvariantChecker; faultWork: { locations: number; walks: number } } {
  const k = new Kernel({});
  const eng = k.eng;
  const chk = new InvariantChecker(() => eng.s, {}, () => eng.commit(), {
    pageFolio: (pfn) => eng.pageFolio(pfn),
    lock: (name) => eng.lockState(name),
  });
  eng.onRaw((r) => chk.onEvent(r));
  const mm = eng.ids.mm++;
  eng.emit(E.MmCreate, mm, 0);
  eng.commit();
  const ok = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
    if (!r.ok) throw r.error;
    return r.value;
  };
  ok(eng.syscall('mmap', () => doMmap(k, mm, ARENA_BASE, pages, { prot: PROT_READ | PROT_WRITE, shared: false, fixed: true, noreserve: false })));
  ok(eng.syscall('madvise', () => doMadvise(k, mm, ARENA_BASE, pages, 'NOHUGEPAGE')));
  const w0 = { ...chk.work };
  ok(
    eng.syscall('touch', function* () {
      for (let i = 0; i < pages; i++) yield* userAccess(k, mm, ARENA_BASE + i, true);
      return 0;
    }),
  );
  return { k, mm, chk, faultWork: { locations: chk.work.locations - w0.locations, walks: chk.work.walks - w0.walks } };
}

describe('checker cost', () => {
  it('a fault-in looks at each new mapping and walks each new folio once per look (racing walker, syscall end)', () => {
    const pages = 4 * 512;
    const { chk, faultWork } = faultedRegion(pages);
    expect(chk.violations).toEqual([]);
    // the first fault links the anon_vma: the whole VMA range is due for a look too, and
    // must not make the syscall-end look check every page a second time
    expect(faultWork.locations).toBeLessThanOrEqual(2 * pages + 2);
    expect(faultWork.walks).toBeLessThanOrEqual(2 * pages + 2);
    expect(faultWork.locations).toBeGreaterThanOrEqual(2 * pages);
  });

  it('unmapping a faulted VMA 2 MiB at a time looks at each page a bounded number of times', () => {
    const pages = 16 * 512; // 32 MiB: 16 pieces
    const { k, mm, chk } = faultedRegion(pages);
    const before = { ...chk.work };
    for (let off = 0; off < pages; off += 512) {
      const r = k.eng.syscall('munmap', () => doMunmap(k, mm, ARENA_BASE + off, 512));
      expect(r.ok).toBe(true);
    }
    expect(chk.violations).toEqual([]);
    const locations = chk.work.locations - before.locations;
    const walks = chk.work.walks - before.walks;
    // each piece: its own 512 pages (split off, zapped) by both looks, and the page-table
    // boundary around it; the rest of the VMA is not looked at again. Quadratic would be
    // about 16 * pages / 2 per look.
    expect(locations).toBeLessThan(6 * pages);
    expect(walks).toBeLessThan(6 * pages);
  });

  it('still looks at every page whose VMA or linear address a change does alter', () => {
    const pages = 4 * 512;
    const { k, mm, chk } = faultedRegion(pages);
    const before = { ...chk.work };
    // a move to a far address (MREMAP_MAYMOVE | MREMAP_FIXED): every mapping changes place
    const dst = ARENA_BASE + 64 * 512 + 1;
    const r = k.eng.syscall('mremap', () => doMremap(k, mm, ARENA_BASE, pages, pages, 1 | 2, dst));
    expect(r).toEqual({ ok: true, value: dst });
    expect(chk.violations).toEqual([]);
    expect(chk.work.locations - before.locations).toBeGreaterThanOrEqual(pages);
    expect(chk.work.walks - before.walks).toBeGreaterThanOrEqual(pages);
  });
});
