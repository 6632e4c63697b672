/**
 * Reverse mapping: anon_vmas, their chains, and the folio side of rmap (mm/rmap.c,
 * include/linux/rmap.h). Every change is an event; the anon_vma root lock is taken
 * where the kernel takes it.
 */
import {
  AvCounter,
  E,
  FOLIO_ANON,
  FolioCounter,
  MappingKind,
  pageAnonExclusive,
  type Folio,
  type KGen,
  finished,
  type Vma,
} from '@mmsim/core';
import { Kernel } from './kernel.js';

/* ----------------------------- anon_vma ----------------------------------------- */

/** anon_vma_alloc(): refcount 1, its own root and parent. */
export function anonVmaAlloc(k: Kernel, root = 0, parent = 0): number {
  const id = k.eng.ids.anonVma++;
  k.eng.emit(E.AnonVmaCreate, id, root || id, parent || id);
  return id;
}

function count(k: Kernel, av: number, counter: AvCounter, delta: number): void {
  k.eng.emit(E.AnonVmaCount, av, counter, delta);
}

/** anon_vma_lock_write(): down_write(&anon_vma->root->rwsem) */
export function* anonVmaLockWrite(k: Kernel, av: number): KGen<void> {
  yield* k.eng.lock(Kernel.anonVmaLock(k.anonVma(av).root), 0, 'sleep');
}
export function* anonVmaUnlockWrite(k: Kernel, av: number): KGen<void> {
  yield* k.eng.unlock(Kernel.anonVmaLock(k.anonVma(av).root), 0, 'sleep');
}

/** anon_vma_chain_link(): the VMA joins the anon_vma's interval tree */
function avcLink(k: Kernel, vma: number, av: number): void {
  k.eng.emit(E.AvcLink, vma, av);
}

/** put_anon_vma() / __put_anon_vma(): drop a reference; the last frees it (and its root ref). */
export function putAnonVma(k: Kernel, av: number): void {
  const a = k.anonVma(av);
  count(k, av, AvCounter.Refcount, -1);
  if (a.refcount - 1 > 0) return;
  const root = a.root;
  k.eng.emit(E.AnonVmaFree, av);
  if (root !== av) putAnonVma(k, root);
}

/**
 * __anon_vma_prepare(): give an unfaulted VMA an anon_vma, reusing a compatible
 * neighbour's (find_mergeable_anon_vma) or allocating a new root.
 */
export function anonVmaPrepare(k: Kernel, vmaId: number, exclude = 0): KGen<number> {
  // anon_vma_prepare() (include/linux/rmap.h): likely(vma->anon_vma) returns at once,
  // without a generator; else __anon_vma_prepare()
  const vma = k.vma(vmaId);
  if (vma.anonVma) return finished(vma.anonVma);
  return anonVmaPrepareSlow(k, vma, vmaId, exclude);
}

/** __anon_vma_prepare() */
function anonVmaPrepareSlow(k: Kernel, vma: Vma, vmaId: number, exclude: number): KGen<number> {
  return k.eng.span('__anon_vma_prepare', function* () {
    let av = findMergeableAnonVma(k, vma, exclude);
    let allocated = 0;
    if (!av) {
      av = anonVmaAlloc(k);
      count(k, av, AvCounter.NumChildren, 1); /* self-parent link for new root */
      allocated = av;
    }
    yield* anonVmaLockWrite(k, av);
    yield* k.eng.lock(Kernel.pageTableLock(vma.mm), 0, 'spin');
    // page_table_lock against threads: another fault of the same VMA (both under
    // mmap_read_lock, or the per-VMA lock) may have prepared it meanwhile
    const won = !k.vma(vmaId).anonVma;
    if (won) {
      k.eng.emit(E.VmaSetAnonVma, vmaId, av);
      avcLink(k, vmaId, av);
      count(k, av, AvCounter.NumActiveVmas, 1);
    }
    yield* k.eng.unlock(Kernel.pageTableLock(vma.mm), 0, 'spin');
    yield* anonVmaUnlockWrite(k, av);
    if (won) return av;
    if (allocated) putAnonVma(k, allocated);
    return k.vma(vmaId).anonVma;
  }, vmaId);
}

/** reusable_anon_vma(): old's anon_vma, if a and b are compatible and old is no fork child */
function reusableAnonVma(k: Kernel, old: Vma, a: Vma, b: Vma): number {
  if (k.mergePolicy.anonVmaCompatible(a, b)) {
    if (old.anonVma && old.chain.length === 1) return old.anonVma;
  }
  return 0;
}

/**
 * find_mergeable_anon_vma(): try the next VMA first, then prev (touching neighbours
 * only). `exclude` is a VMA that must not lend its anon_vma (MREMAP_RELOCATE_ANON: the
 * VMA being moved away).
 */
export function findMergeableAnonVma(k: Kernel, vma: Vma, exclude = 0): number {
  const next = k.vmaNext(vma);
  if (next && next.start === vma.end && next.id !== exclude) {
    const av = reusableAnonVma(k, next, vma, next);
    if (av) return av;
  }
  const prev = k.vmaPrev(vma);
  if (prev && prev.id !== exclude) return reusableAnonVma(k, prev, prev, vma);
  return 0;
}

/**
 * anon_vma_clone(dst, src): dst joins every anon_vma src is linked to, oldest first,
 * reusing one with no VMAs and fewer than two children (fork's reuse rule).
 */
export function* anonVmaClone(k: Kernel, dst: number, src: number, heldRoot = 0): KGen<void> {
  const s = k.vma(src);
  let root = 0;
  for (const av of s.chain) {
    const r = k.anonVma(av).root;
    if (r !== root) {
      if (root && root !== heldRoot) yield* k.eng.unlock(Kernel.anonVmaLock(root), 0, 'sleep');
      if (r !== heldRoot) yield* k.eng.lock(Kernel.anonVmaLock(r), 0, 'sleep');
      root = r;
    }
    avcLink(k, dst, av);
    /*
     * Reuse existing anon_vma if it has no vma and only one anon_vma child.
     * Root anon_vma is never reused: it has self-parent reference and at least one child.
     */
    const a = k.anonVma(av);
    // release.ts 'anon-vma-degree' reverted: anon_vma != src->anon_vma && anon_vma->degree < 2
    const reusable = k.has('anon-vma-degree') ? a.numChildren < 2 && a.numActiveVmas === 0 : av !== s.anonVma && a.numChildren + a.numActiveVmas < 2;
    if (!k.vma(dst).anonVma && s.anonVma && reusable) {
      k.eng.emit(E.VmaSetAnonVma, dst, av);
    }
  }
  const d = k.vma(dst);
  if (d.anonVma) count(k, d.anonVma, AvCounter.NumActiveVmas, 1);
  if (root && root !== heldRoot) yield* k.eng.unlock(Kernel.anonVmaLock(root), 0, 'sleep');
}

/** anon_vma_fork(child vma, parent vma) */
export function* anonVmaFork(k: Kernel, vma: number, pvma: number): KGen<void> {
  const p = k.vma(pvma);
  /* Don't bother if the parent process has no anon_vma here. */
  if (!p.anonVma) return;
  /* Drop inherited anon_vma, we'll reuse existing or allocate new. */
  k.eng.emit(E.VmaSetAnonVma, vma, 0);
  yield* anonVmaClone(k, vma, pvma);
  /* An existing anon_vma has been reused, all done then. */
  if (k.vma(vma).anonVma) return;
  const parentAv = k.anonVma(p.anonVma);
  const av = anonVmaAlloc(k, parentAv.root, parentAv.id);
  count(k, av, AvCounter.NumActiveVmas, 1);
  count(k, parentAv.root, AvCounter.Refcount, 1); /* get_anon_vma(anon_vma->root) */
  k.eng.emit(E.VmaSetAnonVma, vma, av);
  yield* anonVmaLockWrite(k, av);
  avcLink(k, vma, av);
  count(k, parentAv.id, AvCounter.NumChildren, 1);
  yield* anonVmaUnlockWrite(k, av);
}

/**
 * unlink_anon_vmas(): the VMA leaves every anon_vma it was linked to, newest first;
 * anon_vmas left empty lose their parent link and their reference.
 */
export function* unlinkAnonVmas(k: Kernel, vmaId: number, heldRoot = 0): KGen<void> {
  const vma = k.vma(vmaId);
  if (!vma.chain.length && !vma.anonVma) return;
  const chain = vma.chain.slice().reverse();
  const empty: number[] = [];
  let root = 0;
  for (const av of chain) {
    const r = k.anonVma(av).root;
    if (r !== root) {
      if (root && root !== heldRoot) yield* k.eng.unlock(Kernel.anonVmaLock(root), 0, 'sleep');
      if (r !== heldRoot) yield* k.eng.lock(Kernel.anonVmaLock(r), 0, 'sleep');
      root = r;
    }
    k.eng.emit(E.AvcUnlink, vmaId, av);
    const a = k.anonVma(av);
    if (a.vmas.length === 0) {
      // Leave empty anon_vmas for later: freeing needs the root lock again.
      count(k, a.parent, AvCounter.NumChildren, -1);
      empty.push(av);
    }
  }
  const anonVma = k.vma(vmaId).anonVma;
  if (anonVma) {
    count(k, anonVma, AvCounter.NumActiveVmas, -1);
    k.eng.emit(E.VmaSetAnonVma, vmaId, 0);
  }
  if (root && root !== heldRoot) yield* k.eng.unlock(Kernel.anonVmaLock(root), 0, 'sleep');
  for (const av of empty) putAnonVma(k, av);
}

/* ------------------------------ folios ------------------------------------------ */

export function folioOf(k: Kernel, pfn: number): Folio {
  const f = k.eng.pageFolio(pfn);
  if (!f) throw new Error(`no folio contains pfn ${pfn}`);
  return f;
}

/** Allocate a zeroed folio of 2^order pages (refcount 1). */
export function folioAlloc(k: Kernel, order: number): number {
  const pfn = k.allocPfn(order);
  k.eng.emit(E.FolioAlloc, pfn, order);
  return pfn;
}

export function folioGet(k: Kernel, head: number, n = 1): void {
  k.eng.emit(E.FolioCount, head, FolioCounter.Refcount, n);
}

/** folio_put(): the last reference frees the folio. */
export function folioPut(k: Kernel, head: number, n = 1): void {
  const f = k.eng.folioAtHead(head);
  if (!f) throw new Error(`folio_put of a missing folio ${head}`);
  const left = f.refcount - n; // read before the event: f is live while a syscall runs
  k.eng.emit(E.FolioCount, head, FolioCounter.Refcount, -n);
  if (left === 0) k.eng.emit(E.FolioFree, head);
}

/**
 * folio_try_get() of the folio holding page pfn: a reference unless the folio is gone
 * or its refcount already dropped to zero (being freed). Returns its head, or 0.
 */
export function folioTryGet(k: Kernel, pfn: number): number {
  const f = k.eng.pageFolio(pfn);
  if (!f || f.refcount === 0) return 0;
  k.eng.emit(E.FolioCount, f.pfn, FolioCounter.Refcount, 1);
  return f.pfn;
}

/** linear_page_index(vma, address) */
export function linearPageIndex(vma: Vma, vpn: number): number {
  return vma.pgoff + (vpn - vma.start);
}

/**
 * folio_add_new_anon_rmap(): a new folio joins vma's anon_vma (the root one when not
 * exclusive), at index linear_page_index(vma, vpn). `pmd` maps it whole.
 */
export function folioAddNewAnonRmap(k: Kernel, head: number, vma: Vma, vpn: number, exclusive: boolean, pmd = false): void {
  const av = exclusive ? vma.anonVma : k.anonVma(vma.anonVma).root;
  const f = k.eng.folioAtHead(head)!;
  k.eng.emit(E.FolioFlags, head, FOLIO_ANON, 0);
  k.eng.emit(E.FolioMapping, head, MappingKind.Anon, av);
  k.eng.emit(E.FolioIndex, head, linearPageIndex(vma, vpn));
  const n = 2 ** f.order;
  if (pmd) {
    k.eng.emit(E.FolioCount, head, FolioCounter.EntireMapcount, 1);
    if (exclusive) k.eng.emit(E.PageAnonExclusive, head, 1);
  } else {
    for (let i = 0; i < n; i++) {
      k.eng.emit(E.FolioCount, head + i, FolioCounter.PageMapcount, 1);
      if (exclusive) k.eng.emit(E.PageAnonExclusive, head + i, 1);
    }
  }
}

/** folio_add_anon_rmap_pte(): one more PTE maps this page */
export function folioAddAnonRmapPte(k: Kernel, pfn: number, exclusive: boolean): void {
  k.eng.emit(E.FolioCount, pfn, FolioCounter.PageMapcount, 1);
  if (exclusive) k.eng.emit(E.PageAnonExclusive, pfn, 1);
}

/** folio_remove_rmap_pte(): one PTE mapping of this page goes away */
export function folioRemoveRmapPte(k: Kernel, pfn: number): void {
  k.eng.emit(E.FolioCount, pfn, FolioCounter.PageMapcount, -1);
}

/** folio_remove_rmap_pmd() */
export function folioRemoveRmapPmd(k: Kernel, head: number): void {
  k.eng.emit(E.FolioCount, head, FolioCounter.EntireMapcount, -1);
}

/**
 * __folio_try_dup_anon_rmap() at PTE level (fork): fails (-EBUSY) when the page may be
 * pinned and is exclusive; otherwise clears PageAnonExclusive and adds a mapping.
 */
export function folioTryDupAnonRmapPte(k: Kernel, pfn: number): boolean {
  const f = folioOf(k, pfn);
  const maybePinned = f.pincount > 0;
  if (maybePinned && pageAnonExclusive(f, pfn)) return false;
  if (pageAnonExclusive(f, pfn)) k.eng.emit(E.PageAnonExclusive, pfn, 0);
  k.eng.emit(E.FolioCount, pfn, FolioCounter.PageMapcount, 1);
  return true;
}

/** the same at PMD level (copy_huge_pmd) */
export function folioTryDupAnonRmapPmd(k: Kernel, head: number): boolean {
  const f = folioOf(k, head);
  if (pageAnonExclusive(f, head)) {
    if (f.pincount > 0) return false;
    k.eng.emit(E.PageAnonExclusive, head, 0);
  }
  k.eng.emit(E.FolioCount, head, FolioCounter.EntireMapcount, 1);
  return true;
}

/** folio_move_anon_rmap(): the folio now belongs to vma's anon_vma (index unchanged). */
export function folioMoveAnonRmap(k: Kernel, head: number, vma: Vma): void {
  k.eng.emit(E.FolioMapping, head, MappingKind.Anon, vma.anonVma);
}

export function folioTestAnon(f: Folio): boolean {
  return (f.flags & FOLIO_ANON) !== 0;
}
/** folio_test_ksm(): as the kernel derives it, from folio->mapping's low bits (PAGE_MAPPING_KSM) */
export function folioTestKsm(f: Folio): boolean {
  return f.mappingKind === MappingKind.Ksm;
}

/** folio_maybe_dma_pinned() */
export function folioMaybeDmaPinned(f: Folio): boolean {
  return f.pincount > 0;
}

/** total PTE + PMD mappings (folio_mapcount) */
export function folioMapcount(f: Folio): number {
  let n = f.entireMapcount;
  for (const c of f.pageMapcount) n += c;
  return n;
}

/** What one rmap walk saw: the mappings it found, and how many the folio has. */
export interface RmapWalkResult {
  pfn: number;
  /** [vma, vpn] of every PTE/PMD found mapping the page */
  found: [number, number][];
  /** the page's mapcount when the walk finished */
  mapcount: number;
}

/**
 * rmap_walk_anon() for one page, as a task of its own: folio_lock_anon_vma_read() (read
 * the mapping, take its root lock for read, check the mapping did not change), then
 * every VMA of the anon_vma's interval tree that covers the page's index, its PTE looked
 * up at vma_address(). Run it interleaved with kernel code to race it.
 */
export function* rmapWalkAnon(k: Kernel, pfn: number): KGen<RmapWalkResult> {
  return yield* k.eng.span('rmap_walk_anon', () => rmapWalkAnonBody(k, pfn), pfn);
}

/** rmapWalkAnon's body, inside its span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* rmapWalkAnonBody(k: Kernel, pfn: number): KGen<RmapWalkResult> {
  for (;;) {
    const f = folioOf(k, pfn);
    const av = f.mapping;
    if (!av || f.mappingKind !== MappingKind.Anon) return { pfn, found: [], mapcount: 0 };
    const root = k.anonVma(av).root;
    yield* k.eng.lock(Kernel.anonVmaLock(root), 1, 'sleep');
    const g = folioOf(k, pfn);
    if (g.mapping !== av) {
      // folio_lock_anon_vma_read(): the mapping changed under us, try again
      yield* k.eng.unlock(Kernel.anonVmaLock(root), 1, 'sleep');
      continue;
    }
    const index = g.index + (pfn - g.pfn);
    const found: [number, number][] = [];
    for (const vmaId of k.anonVma(av).vmas) {
      const v = k.liveVma(vmaId);
      if (!v || index < v.pgoff || index >= v.pgoff + (v.end - v.start)) continue;
      const vpn = v.start + (index - v.pgoff);
      if (!k.hasMm(v.mm)) continue;
      const pte = k.pteOf(v.mm, vpn);
      if (pte > 0 && Math.floor(pte / 256) === pfn) found.push([vmaId, vpn]);
    }
    const mapcount = g.pageMapcount[pfn - g.pfn] + g.entireMapcount;
    yield* k.eng.unlock(Kernel.anonVmaLock(root), 1, 'sleep');
    return { pfn, found, mapcount };
  }
}

/**
 * folio_maybe_mapped_shared() (CONFIG_MM_ID): a large folio mapped more than once is
 * shared when it is PMD-mapped as well, mapped more times than it has pages, or mapped
 * by more than one mm (the rmap walk stands in for folio->_mm_ids).
 */
export function folioMaybeMappedShared(k: Kernel, f: Folio): boolean {
  const total = folioMapcount(f);
  if (f.order === 0) return total > 1;
  if (total <= 1) return false;
  if (f.entireMapcount || total > 2 ** f.order) return true;
  if (f.mappingKind !== MappingKind.Anon || !f.mapping || !k.liveAnonVma(f.mapping)) return false;
  const mms = new Set<number>();
  for (const vmaId of k.anonVma(f.mapping).vmas) {
    const v = k.vma(vmaId);
    if (!k.hasMm(v.mm)) continue;
    const first = v.start + (f.index - v.pgoff);
    for (let i = 0; i < 2 ** f.order; i++) {
      const a = first + i;
      if (a < v.start || a >= v.end) continue;
      const pte = k.pteOf(v.mm, a);
      if (pte > 0 && Math.floor(pte / 256) === f.pfn + i) {
        mms.add(v.mm);
        break;
      }
    }
    if (mms.size > 1) return true;
  }
  return false;
}
