/**
 * Lookups in an mm's VMA set (its MapleTree of vm_start -> id), after mm/vma.h's
 * vma_iter and mm/mmap.c's find_vma(): each is O(log n) in the mm's VMAs. They take the
 * tree and a way to read a VMA by id, so that kernel code (through its copy cache) and
 * readers of a committed state (s.vmas) share them.
 */
import type { MapleTree } from './maple.js';
import type { Vma } from './state.js';

export type VmaById = (id: number) => Vma;

/**
 * Rank of find_vma(mm, vpn) in the tree: the first VMA with vm_end > vpn (tree.size:
 * none). VMAs do not overlap, so it is the VMA starting at or below vpn when that one
 * still covers vpn, else the next one.
 */
export function findVmaRank(t: MapleTree, get: VmaById, vpn: number): number {
  const r = t.upperRank(vpn);
  if (r > 0 && get(t.idAt(r - 1)!).end > vpn) return r - 1;
  return r;
}

/** find_vma(): the first VMA with vm_end > vpn */
export function mtFindVma(t: MapleTree, get: VmaById, vpn: number): Vma | undefined {
  const r = findVmaRank(t, get, vpn);
  return r < t.size ? get(t.idAt(r)!) : undefined;
}

/** find_vma_prev(): find_vma(vpn) and the VMA before it (the last VMA when there is none) */
export function mtFindVmaPrev(t: MapleTree, get: VmaById, vpn: number): { vma: Vma | null; prev: Vma | null } {
  const r = findVmaRank(t, get, vpn);
  return { vma: r < t.size ? get(t.idAt(r)!) : null, prev: r > 0 ? get(t.idAt(r - 1)!) : null };
}

/** vma_iter_next_range() from vpn: the first VMA with vm_start >= vpn */
export function mtVmaStartingFrom(t: MapleTree, get: VmaById, vpn: number): Vma | null {
  const r = t.lowerRank(vpn);
  return r < t.size ? get(t.idAt(r)!) : null;
}

/** vma_prev() of a VMA in the tree: the VMA before it (null: it is the first) */
export function mtVmaPrev(t: MapleTree, get: VmaById, v: Vma): Vma | null {
  const r = t.rankOf(v.start, v.id);
  return r > 0 ? get(t.idAt(r - 1)!) : null;
}

/** vma_next() of a VMA in the tree: the VMA after it (null: it is the last) */
export function mtVmaNext(t: MapleTree, get: VmaById, v: Vma): Vma | null {
  const r = t.rankOf(v.start, v.id);
  return r >= 0 && r + 1 < t.size ? get(t.idAt(r + 1)!) : null;
}

/**
 * for_each_vma_range(): the VMAs overlapping [start, end), ascending, until fn returns
 * true. O(log n + k).
 */
export function mtForEachVmaInRange(t: MapleTree, get: VmaById, start: number, end: number, fn: (v: Vma) => boolean | void): void {
  t.forEachFrom(findVmaRank(t, get, start), (_k, id) => {
    const v = get(id);
    if (v.start >= end) return true;
    return fn(v);
  });
}

/** The ids of the VMAs overlapping [start, end), ascending (a snapshot: safe to change the tree while using it). */
export function mtVmaIdsInRange(t: MapleTree, get: VmaById, start: number, end: number): number[] {
  const out: number[] = [];
  mtForEachVmaInRange(t, get, start, end, (v) => {
    out.push(v.id);
  });
  return out;
}
