/**
 * The seed's central claim, checked by racing: an rmap walk (rmap_walk_anon, as its own
 * task) interleaved with an mremap(MREMAP_RELOCATE_ANON) at every lock acquire and
 * release, over many seeds, must always find the page exactly where it is mapped.
 */
import { describe, expect, it } from 'vitest';
import { E, POINT, ptePfn, type KGen } from '@mmsim/core';
import { Kernel, doMmap, doMremap, getPte, rmapWalkAnon, userAccess, type RmapWalkResult } from '@mmsim/linux';
import relocateAnon, { MREMAP_RELOCATE_ANON, type RelocateVariant } from './index.js';

const BASE = 0x10000000;

/** A process with 10 faulted pages; returns the kernel and the pfn of page 3. */
function setup(variant: RelocateVariant): { k: Kernel; pfn: number } {
  const k = new Kernel({ plugins: [[relocateAnon, { variant }]] });
  k.eng.emit(E.MmCreate, 1, 0);
  k.eng.commit();
  const ok = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
    if (!r.ok) throw r.error;
    return r.value;
  };
  ok(k.eng.syscall('mmap', () => doMmap(k, 1, BASE, 10, { prot: 3, shared: false, fixed: false, noreserve: false })));
  for (let p = 0; p < 10; p++) ok(k.eng.syscall('touch', () => userAccess(k, 1, BASE + p, true)));
  return { k, pfn: ptePfn(getPte(k, 1, BASE + 3)) };
}

function* later<T>(points: number, body: () => KGen<T>): KGen<T> {
  for (let i = 0; i < points; i++) yield POINT;
  return yield* body();
}

/** mremap (task 1) against an rmap walk (task 2), interleaved by `seed`. */
function race(variant: RelocateVariant, seed: number): { walk: RmapWalkResult; moved: number } {
  const { k, pfn } = setup(variant);
  const results = k.eng.interleave(
    [
      { task: 1, run: (): KGen<number> => doMremap(k, 1, BASE, 10, 10, 1 | 2 | MREMAP_RELOCATE_ANON, BASE + 1000) },
      // the walker starts after `seed % 60` scheduling points, so runs land all over the move
      { task: 2, run: () => later(seed % 60, () => rmapWalkAnon(k, pfn)) },
    ],
    seed,
  );
  k.eng.commit();
  return { walk: results.get(2) as RmapWalkResult, moved: results.get(1) as number };
}

describe('a racing rmap walk never sees a wrong or missing VMA', () => {
  it('fixed: every interleaving finds the one mapping', () => {
    const where = new Set<number>();
    for (let seed = 1; seed <= 120; seed++) {
      const { walk, moved } = race('fixed', seed);
      expect(moved, `seed ${seed}`).toBe(BASE + 1000);
      expect(walk.found.length, `seed ${seed}: found ${JSON.stringify(walk.found)}`).toBe(walk.mapcount);
      expect(walk.mapcount).toBe(1);
      where.add(walk.found[0][1]);
    }
    // the walk ran both before and after the move: the race was real
    expect(where).toEqual(new Set([BASE + 3, BASE + 1003]));
  });

  it('without the new anon_vma locked, some interleaving loses the mapping', () => {
    let lost = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const { walk } = race('bug-unlocked-new-anon-vma', seed);
      if (walk.found.length !== walk.mapcount) lost++;
    }
    expect(lost).toBeGreaterThan(0);
  });
});
