/**
 * What a relocation leaves for the move's merge (afterMove) does not outlive the move:
 * a relocating mremap rolled back after its walk, then the engine sought back to a mark
 * before it (the explorer's restore: VMA ids come round again), leaves the next, ordinary
 * move exactly as on a kernel that never saw the rolled-back one.
 */
import { describe, expect, it } from 'vitest';
import { E, mmVmas, type Engine } from '@mmsim/core';
import { Kernel, MREMAP_FIXED, MREMAP_MAYMOVE, doMmap, doMremap, userAccess } from '@mmsim/linux';
import relocateAnon, { MREMAP_RELOCATE_ANON } from './index.js';

const BASE = 0x10000000;
const MOVE = MREMAP_MAYMOVE | MREMAP_FIXED;

const ok = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!r.ok) throw r.error;
  return r.value;
};

/** 10 faulted pages at BASE, and a faulted neighbour ending where the moves go (BASE + 1000) */
function setup(): Kernel {
  const k = new Kernel({ plugins: [[relocateAnon, { variant: 'fixed' }]] });
  k.eng.emit(E.MmCreate, 1, 0);
  k.eng.commit();
  for (const at of [BASE, BASE + 990]) {
    ok(k.eng.syscall('mmap', () => doMmap(k, 1, at, 10, { prot: 3, shared: false, fixed: true, noreserve: false })));
    for (let p = 0; p < 10; p++) ok(k.eng.syscall('touch', () => userAccess(k, 1, at + p, true)));
  }
  return k;
}

/** Throw at the end of the relocation's walk (relocate_anon closes): the syscall rolls back before afterMove. */
function failAfterRelocation(eng: Engine): () => void {
  let span = -1;
  return eng.onRaw((r) => {
    if (r.type === E.SpanOpen && r.s === 'relocate_anon') span = r.a;
    else if (r.type === E.SpanClose && r.a === span) throw new Error('stopped after the relocation');
  });
}

/** mm 1's VMAs, [start, end) in order */
const vmas = (k: Kernel) => mmVmas(k.eng.commit(), k.eng.commit().mms[1]).map((v) => [v.start, v.end]);

/** the events from `from` on, as objects */
const eventsFrom = (eng: Engine, from: number) => [...eng.log.events(from)];

describe('relocate-anon after a rolled-back move', () => {
  it('the relocating move does relocate and merge with the neighbour (the case the rollback cuts)', () => {
    const k = setup();
    expect(ok(k.eng.syscall('mremap', () => doMremap(k, 1, BASE, 10, 10, MOVE | MREMAP_RELOCATE_ANON, BASE + 1000)))).toBe(BASE + 1000);
    // relocated and merged: one VMA from BASE + 990 to BASE + 1010
    expect(vmas(k)).toEqual([[BASE + 990, BASE + 1010]]);
  });

  it('a rolled-back relocation, then a seek back (restore): the next plain move is as on a fresh kernel', () => {
    const k = setup();
    const m = k.eng.mark();
    const off = failAfterRelocation(k.eng);
    const r = k.eng.syscall('mremap', () => doMremap(k, 1, BASE, 10, 10, MOVE | MREMAP_RELOCATE_ANON, BASE + 1000));
    off();
    expect(r.ok).toBe(false);
    // the rolled-back syscall left its error event and nothing else
    expect(eventsFrom(k.eng, m.seq).map((e) => e.type)).toEqual(['error']);
    k.eng.restore(m);
    expect(k.eng.log.length).toBe(m.seq);

    ok(k.eng.syscall('mremap', () => doMremap(k, 1, BASE, 10, 10, MOVE, BASE + 1000)));
    const fresh = setup();
    ok(fresh.eng.syscall('mremap', () => doMremap(fresh, 1, BASE, 10, 10, MOVE, BASE + 1000)));
    expect(eventsFrom(k.eng, m.seq)).toEqual(eventsFrom(fresh.eng, m.seq));
    expect(k.eng.commit()).toEqual(fresh.eng.commit());
    // the plain move keeps its pgoff: it does not merge with the neighbour
    expect(vmas(k)).toEqual([
      [BASE + 990, BASE + 1000],
      [BASE + 1000, BASE + 1010],
    ]);
  });
});
