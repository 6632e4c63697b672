/**
 * The racing rmap walker (the rmap-race checker). Model: rmap_walk_anon() takes the
 * folio's root anon_vma rwsem for read (anon_vma_lock_read), then visits each VMA of
 * the folio's anon_vma interval tree at the folio's linear address, taking that page
 * table's lock for the look (page_vma_mapped_walk). So a walk can start whenever the
 * root lock is not write-held, and its look at a page table waits for any holder of
 * that table's lock. We therefore look at "quiescent points": right after an event when
 * no task holds a spinlock (no PTL, PMD lock or page_table_lock). There, for every
 * folio and PTE touched since the last point whose root anon_vma lock is free, a walk
 * on the current state must find every mapping (per page, as many as the mapcount:
 * none missing, none extra), and every touched present PTE must lie in a VMA that links
 * the folio's anon_vma at its linear index (otherwise the walk visits the wrong
 * VMA/address). Items whose root lock is write-held wait (are deferred) until it is
 * released. A walk is taken as atomic: the order-dependent miss of a non-atomic walk (a
 * PTE moved from a VMA the walk has not visited yet into one it already passed:
 * mremap's need_rmap_locks) is not modelled.
 */
import { MappingKind, type LockState, type RawEvent, type State } from '@mmsim/core';
import type { LockClasses } from './lock-classes.js';
import type { Reporter } from './report.js';
import type { RmapChecker } from './rmap.js';
import { RACE_MARK, countable, folioMapcountOf, type Shadows, type TaskInfo } from './shadows.js';

export class RacingWalker {
  /** items waiting for the root anon_vma lock (by root): PTE locations (mm, vpn) and folio heads */
  private readonly deferred = new Map<number, { ptes: number[]; pfns: number[] }>();

  constructor(
    private readonly rep: Reporter,
    private readonly sh: Shadows,
    private readonly rmap: RmapChecker,
    private readonly classes: LockClasses,
    private readonly reader: { lock(name: string): LockState | undefined },
  ) {}

  /** Nothing waits (a rebuild). */
  clear(): void {
    this.deferred.clear();
  }

  /** The anon_vma lock `name` of root `root` was released by a task: once free, what waited on it is due. */
  anonLockReleased(name: string, root: number): void {
    if (this.deferred.size && !this.reader.lock(name)) this.undefer(root);
  }

  private rootHeldWrite(root: number): boolean {
    const l = this.reader.lock(this.classes.rootLockName(root));
    return !!l && l.mode === 0;
  }

  private defer(root: number): { ptes: number[]; pfns: number[] } {
    let d = this.deferred.get(root);
    if (!d) {
      d = { ptes: [], pfns: [] };
      this.deferred.set(root, d);
    }
    return d;
  }

  private undefer(root: number): void {
    const d = this.deferred.get(root);
    if (!d) return;
    this.deferred.delete(root);
    for (let i = 0; i < d.ptes.length; i += 2) this.sh.rPtes.push(d.ptes[i], d.ptes[i + 1]);
    for (const p of d.pfns) this.sh.rPfns.add(p);
  }

  /** A quiescent point after event r of task t: walk what is pending (see the header). */
  process(r: Readonly<RawEvent>, t: TaskInfo, s: State): void {
    const sh = this.sh;
    const rmap = this.rmap;
    const cache = rmap.cache;
    // PTE locations touched by PTE events: the location check suffices (the event
    // changed only that mapping); locations in changed VMA ranges: walk their folios too
    const rr = sh.rRanges;
    const ptes = sh.rPtes;
    const direct = ptes.n;
    // VMA ranges wait while any anon_vma is write-locked: between vma_prepare() and
    // vma_complete() the VMAs are being redrawn (a split's upper part belongs to no VMA
    // for a moment) and every walker that could see those pages waits on that lock
    if (sh.anonWriteHeld === 0) {
      for (let i = 0; i < rr.length; i += 3) rmap.collectRange(s, rr[i], rr[i + 1], rr[i + 2], ptes, RACE_MARK);
      rr.length = 0;
    }
    const a = ptes.a;
    for (let i = 0; i < ptes.n; i += 2) {
      const mmId = a[i];
      const vpn = a[i + 1];
      const pte = sh.shadowPte(mmId, vpn);
      if (!countable(pte)) continue;
      const pfn = Math.floor(pte / 256);
      const f = rmap.pageFolio(pfn);
      if (!f || f.mappingKind !== MappingKind.Anon) continue;
      if (i >= direct) sh.rPfns.add(f.pfn);
      const av = cache.avNow(s, f.mapping);
      const root = av ? av.root : f.mapping;
      if (this.rootHeldWrite(root)) {
        const d = this.defer(root);
        d.ptes.push(mmId, vpn);
        continue;
      }
      const msg = rmap.checkLocation(s, mmId, vpn);
      if (msg) {
        const d = rmap.detail;
        this.rep.report('rmap-race', r, t.spans, `a racing rmap walk (anon_vma:${root} not write-held) sees a wrong VMA: ${msg}`, {
          folio: [d.folio],
          vma: d.vma ? [d.vma] : [],
          anonVma: [d.av],
          mm: [mmId],
        });
      }
    }
    ptes.clear();
    if (sh.rPfns.size) {
      const heads = rmap.seenHeads;
      heads.clear();
      const rp = sh.rPfns;
      for (let i = 0; i < rp.size; i++) {
        const p = rp.at(i);
        const f = rmap.pageFolio(p);
        if (!f || heads.has(f.pfn)) continue;
        heads.add(f.pfn);
        if (f.mappingKind !== MappingKind.Anon || folioMapcountOf(f) === 0) continue;
        const av = cache.avNow(s, f.mapping);
        const root = av ? av.root : f.mapping;
        if (this.rootHeldWrite(root)) {
          this.defer(root).pfns.push(f.pfn);
          continue;
        }
        const msg = rmap.walkMismatch(s, f);
        if (msg) {
          this.rep.report('rmap-race', r, t.spans, `a racing rmap walk (anon_vma:${root} not write-held) would miss or mis-count: ${msg}`, {
            folio: [f.pfn],
            anonVma: [f.mapping],
          });
        }
      }
      sh.rPfns.clear();
    }
  }
}
