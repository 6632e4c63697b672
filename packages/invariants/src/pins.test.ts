/**
 * "index/mapping of pinned folio rewritten" judges lasting pins: one taken before the
 * rewrite and still held after it. A GUP-fast grab that backs off at its PTE re-check
 * (it unpins before anything relied on the pin) is no pin the rewrite broke.
 */
import { describe, expect, it } from 'vitest';
import { E, FolioCounter, ptePfn, type KGen } from '@mmsim/core';
import { Kernel, doMmap, getPte, userAccess } from '@mmsim/linux';
import { attachCheckers } from './index.js';

const BASE = 0x10000000;

/** A faulted page; then one syscall: a pin inside `gup_fast`, the index rewritten, and the pin dropped or kept. */
function rewriteUnderPin(unpinAfter: boolean): string[] {
  const k = new Kernel();
  const h = attachCheckers(k.eng);
  k.eng.emit(E.MmCreate, 1, 0);
  k.eng.commit();
  k.eng.syscall('mmap', () => doMmap(k, 1, BASE, 1, { prot: 3, shared: false, fixed: true, noreserve: false }));
  k.eng.syscall('touch', () => userAccess(k, 1, BASE, true));
  const head = ptePfn(getPte(k, 1, BASE));
  const index = k.eng.pageFolio(head)!.index;
  const res = k.eng.syscall('race', function* (): KGen<number> {
    const gup = k.eng.spanOpen('gup_fast', BASE, 1);
    k.eng.emit(E.FolioCount, head, FolioCounter.Refcount, 1);
    k.eng.emit(E.FolioCount, head, FolioCounter.Pincount, 1);
    k.eng.spanClose(gup, 0);
    // the rewrite (and back, so that no other rule fires)
    k.eng.emit(E.FolioIndex, head, index + 1);
    k.eng.emit(E.FolioIndex, head, index);
    if (unpinAfter) {
      k.eng.emit(E.FolioCount, head, FolioCounter.Pincount, -1);
      k.eng.emit(E.FolioCount, head, FolioCounter.Refcount, -1);
    }
    yield* [];
    return 0;
  });
  expect(res.ok).toBe(true);
  return h.violations().map((v) => `[${v.checker}] ${v.message}`);
}

describe('the rmap checker on pinned folios', () => {
  it('a pin dropped after the rewrite (GUP-fast backing off at its re-check) is no violation', () => {
    expect(rewriteUnderPin(true).filter((m) => m.includes('pinned'))).toEqual([]);
  });

  it('a pin held past the rewrite is the violation, once', () => {
    expect(rewriteUnderPin(false).filter((m) => m.includes('pinned'))).toEqual([expect.stringMatching(/^\[rmap\] index of pinned folio \d+ rewritten \(pincount 1\)$/)]);
  });
});
