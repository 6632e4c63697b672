import { describe, expect, it } from 'vitest';
import { MAPLE_NODE_SLOTS, MapleTree } from './maple.js';
import { IdTable } from './idtable.js';
import { prng } from './sched.js';

/** The sorted array the tree replaced: insert before equal keys, erase by (key, id). */
class Ref {
  e: [number, number][] = [];
  insert(k: number, id: number) {
    let i = 0;
    while (i < this.e.length && this.e[i][0] < k) i++;
    this.e.splice(i, 0, [k, id]);
  }
  erase(k: number, id: number) {
    const i = this.e.findIndex(([a, b]) => a === k && b === id);
    if (i >= 0) this.e.splice(i, 1);
  }
}

describe('MapleTree', () => {
  it('matches a sorted array under random inserts and erases, old versions unchanged', () => {
    for (const batch of [false, true]) {
      const rnd = prng(batch ? 7 : 3);
      let t = MapleTree.EMPTY;
      const ref = new Ref();
      let owned = new Set<object>();
      let id = 1;
      const snaps: [MapleTree, [number, number][]][] = [];
      for (let step = 0; step < 6000; step++) {
        if (batch && step % 50 === 0) owned = new Set();
        const grow = ref.e.length < 300 || rnd() < 0.45;
        if (grow) {
          const k = Math.floor(rnd() * 2000);
          t = t.insert(k, id, batch ? owned : undefined);
          ref.insert(k, id++);
        } else {
          const [k, v] = ref.e[Math.floor(rnd() * ref.e.length)];
          t = t.erase(k, v, batch ? owned : undefined);
          ref.erase(k, v);
        }
        if (step % 500 === 0) {
          // a snapshot is a value only once its batch is over
          owned = new Set();
          snaps.push([t, ref.e.map((x) => [x[0], x[1]])]);
        }
        expect(t.size).toBe(ref.e.length);
      }
      const all: [number, number][] = [];
      t.forEachFrom(0, (k, v) => {
        all.push([k, v]);
      });
      expect(all).toEqual(ref.e);
      for (const [s, e] of snaps) {
        const got: [number, number][] = [];
        s.forEachFrom(0, (k, v) => {
          got.push([k, v]);
        });
        expect(got).toEqual(e);
      }
      // ranks, both bounds and iteration from the middle
      for (const q of [0, 1, 500, 1999, 2500]) {
        expect(t.lowerRank(q)).toBe(ref.e.filter(([k]) => k < q).length);
        expect(t.upperRank(q)).toBe(ref.e.filter(([k]) => k <= q).length);
      }
      const from: number[] = [];
      t.forEachFrom(100, (_k, v) => from.push(v) >= 5);
      expect(from).toEqual(ref.e.slice(100, 105).map((x) => x[1]));
      expect(t.at(42)).toEqual(ref.e[42]);
    }
  });

  it('stays shallow: 65,530 ascending inserts give a tree of height log16', () => {
    let t = MapleTree.EMPTY;
    const owned = new Set<object>();
    for (let i = 0; i < 65530; i++) t = t.insert(i * 2, i + 1, owned);
    expect(t.size).toBe(65530);
    expect(t.height).toBeLessThanOrEqual(Math.ceil(Math.log(65530) / Math.log(MAPLE_NODE_SLOTS / 2)) + 1);
    // erasing most of them keeps it balanced (nodes are merged)
    for (let i = 0; i < 65000; i++) t = t.erase(i * 2, i + 1, owned);
    expect(t.size).toBe(530);
    expect(t.height).toBeLessThanOrEqual(4);
    expect(t.ids()).toEqual(Array.from({ length: 530 }, (_, i) => 65001 + i));
  });

  it('an update copies a path, not the tree: the old tree shares every other node', () => {
    let t = MapleTree.EMPTY;
    for (let i = 0; i < 4096; i++) t = t.insert(i, i);
    const owned = new Set<object>();
    const u = t.insert(2048, 9999, owned);
    expect(owned.size).toBeLessThanOrEqual(2 * t.height + 1);
    expect(t.size).toBe(4096);
    expect(u.size).toBe(4097);
  });
});

describe('IdTable', () => {
  it('matches a Map under random sets and deletes, old versions unchanged', () => {
    const rnd = prng(11);
    let t = IdTable.empty<string>();
    const ref = new Map<number, string>();
    const snaps: [IdTable<string>, [number, string][]][] = [];
    for (let step = 0; step < 5000; step++) {
      const id = Math.floor(rnd() * (step < 2500 ? 300 : 70000));
      if (rnd() < 0.6) {
        t = t.set(id, 'v' + step);
        ref.set(id, 'v' + step);
      } else {
        t = t.delete(id);
        ref.delete(id);
      }
      expect(t.size).toBe(ref.size);
      if (step % 700 === 0) snaps.push([t, [...ref.entries()].sort((a, b) => a[0] - b[0])]);
    }
    const sorted = [...ref.entries()].sort((a, b) => a[0] - b[0]);
    const got: [number, string][] = [];
    t.forEach((v, id) => got.push([id, v]));
    expect(got).toEqual(sorted);
    for (const [id, v] of sorted.slice(0, 50)) expect(t.get(id)).toBe(v);
    expect(t.get(123456789)).toBeUndefined();
    for (const [s, e] of snaps) {
      const g: [number, string][] = [];
      s.forEach((v, id) => g.push([id, v]));
      expect(g).toEqual(e);
    }
  });
});
