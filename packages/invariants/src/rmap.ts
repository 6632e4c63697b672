/**
 * The rmap checker, at the end of a syscall (when no task has an open top-level span):
 *   - every present anon mapping touched, or in a VMA range that changed, lies where
 *     the rmap looks for it: in a VMA whose anon_vma chain links the folio's anon_vma,
 *     at the folio's linear address (checkLocation: vma_address / linear_page_index);
 *   - an rmap walk of every dirty mapped anon folio (rmap_walk_anon) finds, per page,
 *     exactly as many mappings as the mapcount (walkMismatch);
 *   - nothing rewrites the index or mapping of a pinned folio, nor the mapping of a KSM
 *     folio (folio_test_ksm() reads it);
 *   - a swap entry whose folio is still in the swap cache lies where that folio's index
 *     and anon_vma say (endSwapLocations).
 * The racing walker (rmap-race.ts) runs the same two looks at quiescent points.
 */
import { FOLIO_KSM, MappingKind, E, type Folio, type RawEvent, type State } from '@mmsim/core';
import type { Reporter } from './report.js';
import { END_MARK, TABLE_KEYS, countable, folioMapcountOf, type Shadows, type TaskInfo } from './shadows.js';
import { PairList, PfnSet } from './util.js';
import { VmaCache } from './vma-cache.js';

export class RmapChecker {
  /** how many mapping locations and folio rmap walks were checked (for tests of the checkers' cost) */
  readonly work = { locations: 0, walks: 0 };
  /** what the last failed checkLocation was about */
  readonly detail = { vma: 0, av: 0, folio: 0 };
  readonly cache = new VmaCache();
  /** scratch: folio heads already looked at by one look (syscall end, racing walker) */
  readonly seenHeads = new PfnSet();
  private found32 = new Int32Array(512);
  /** (mm, table) keys collected whole by the current syscall-end look */
  private readonly wholeTables = new Set<number>();
  /**
   * Pinned folios whose index or mapping was rewritten, by head pfn: where, and how many
   * of the pins held then are still held (unpins since count down)
   */
  private readonly pinSuspects = new Map<number, { seq: number; path: string[]; lasting: number; message: string }>();

  constructor(
    private readonly rep: Reporter,
    private readonly sh: Shadows,
    readonly pageFolio: (pfn: number) => Folio | undefined,
  ) {}

  /**
   * The present mappings in [start, end) of mm, for a look (a VMA there changed), into
   * out (huge leaves: their first page). A PTE table is skipped when nothing in it
   * changed since it was last collected for this look (`mark`: race or syscall end) and
   * the VMA covering all of it maps it the same way as then (vmaSignature: linear
   * offset, anon_vma, chain). That is what a split or a merge does to the pages that
   * only change VMA, and without it unmapping a large faulted VMA piece by piece
   * re-checks the whole rest of it each time (quadratic).
   */
  collectRange(s: State, mmId: number, start: number, end: number, out: PairList, mark: number, whole?: Set<number>): void {
    const mm = this.sh.mms.get(mmId);
    if (!mm) return;
    const k0 = Math.floor(start / 512);
    const k1 = Math.floor((end - 1) / 512);
    const visit = (key: number): void => {
      if (key < k0 || key > k1) return;
      const t = mm.tables.get(key);
      const lo = Math.max(start, key * 512);
      const hi = Math.min(end, key * 512 + 512);
      if (t) {
        const v = this.cache.vmaAt(s, mmId, key * 512);
        const sig = v && v.start <= key * 512 && v.end >= key * 512 + 512 ? this.cache.vmaSignature(v) : 0;
        if (sig !== 0 && t[mark] === sig) return;
        for (let x = lo; x < hi; x++) if (countable(t[x % 512])) out.push(mmId, x);
        // only a look at the whole table under one VMA vouches for all of it
        const all = lo === key * 512 && hi === key * 512 + 512;
        t[mark] = all ? sig : 0;
        if (all && whole) whole.add(mmId * TABLE_KEYS + key);
        return;
      }
      const h = mm.huge.get(key);
      if (h !== undefined && countable(h)) out.push(mmId, lo);
    };
    if (k1 - k0 + 1 > mm.tables.size + mm.huge.size) {
      for (const key of mm.tables.keys()) visit(key);
      for (const key of mm.huge.keys()) visit(key);
    } else {
      for (let key = k0; key <= k1; key++) visit(key);
    }
  }

  /**
   * Is the present mapping at (mm, vpn) where the rmap says it is? null, or what is
   * wrong (details in this.detail). Non-anon, KSM and zero pages are skipped.
   */
  checkLocation(s: State, mmId: number, vpn: number): string | null {
    this.work.locations++;
    const pte = this.sh.shadowPte(mmId, vpn);
    if (!countable(pte)) return null;
    if (!this.sh.mms.has(mmId)) return null;
    const pfn = Math.floor(pte / 256);
    const f = this.pageFolio(pfn);
    if (!f) return null; // a freed folio: the structure checker's finding
    if (f.mappingKind !== MappingKind.Anon) return null;
    const d = this.detail;
    d.folio = f.pfn;
    d.av = f.mapping;
    d.vma = 0;
    const v = this.cache.vmaAt(s, mmId, vpn);
    if (!v) return `page ${pfn} of anon folio ${f.pfn} is mapped at vpn ${vpn} of mm ${mmId}, which no VMA covers`;
    d.vma = v.id;
    if (!v.chain.includes(f.mapping)) {
      return `folio ${f.pfn} (anon_vma ${f.mapping}) is mapped at vpn ${vpn} in vma ${v.id} [${v.start}, ${v.end}) whose anon_vma chain [${v.chain.join(', ')}] does not link anon_vma ${f.mapping}`;
    }
    const idx = f.index + (pfn - f.pfn);
    const lin = v.pgoff + (vpn - v.start);
    if (idx !== lin) {
      return `page ${pfn} of folio ${f.pfn} has index ${idx} but is mapped at vpn ${vpn} of vma ${v.id} where linear_page_index is ${lin} (vma pgoff ${v.pgoff}, start ${v.start})`;
    }
    return null;
  }

  /**
   * rmap_walk_anon() for folio f on state s: for each VMA linked to f's anon_vma whose
   * pgoff range covers index + i, the PTE at the linear address. Compares, per page,
   * the mappings found with the mapcount. null or what is wrong.
   */
  walkMismatch(s: State, f: Folio): string | null {
    this.work.walks++;
    const n = f.pageMapcount.length;
    if (this.found32.length < n) this.found32 = new Int32Array(n);
    const found = this.found32;
    found.fill(0, 0, n);
    const av = this.cache.avNow(s, f.mapping);
    if (!av) return `mapped folio ${f.pfn} points to anon_vma ${f.mapping}, which is freed`;
    const ids = av.vmas;
    for (let k = 0; k < ids.length; k++) {
      const v = this.cache.vmaNow(s, ids[k]);
      if (!v) continue;
      const lo = Math.max(0, v.pgoff - f.index);
      const hi = Math.min(n, v.pgoff + (v.end - v.start) - f.index);
      for (let i = lo; i < hi; i++) {
        const pte = this.sh.shadowPte(v.mm, v.start + (f.index + i - v.pgoff));
        if (pte > 0 && Math.floor(pte / 256) === f.pfn + i) found[i]++;
      }
    }
    const entire = f.entireMapcount;
    for (let i = 0; i < n; i++) {
      const want = f.pageMapcount[i] + entire;
      if (found[i] < want) {
        return `an rmap walk of folio ${f.pfn} (anon_vma ${f.mapping}, index ${f.index}) finds ${found[i]} of the ${want} mapping(s) of page ${f.pfn + i}: a mapping lies in a VMA the walk does not visit at that index`;
      }
      if (found[i] > want) {
        return `an rmap walk of folio ${f.pfn} (anon_vma ${f.mapping}, index ${f.index}) finds ${found[i]} mappings of page ${f.pfn + i} but its mapcount is ${want}`;
      }
    }
    return null;
  }

  /**
   * The index or mapping of folio f is written (r.a === f.pfn); oldKind: its mapping
   * kind before a mapping write.
   */
  folioIdentity(r: Readonly<RawEvent>, t: TaskInfo, f: Folio, oldKind: number): void {
    const pfn = f.pfn;
    // a pin holder may rely on index and mapping staying put: nothing may rewrite them
    // (MREMAP_RELOCATE_ANON's promise; its v1 undo broke it). Only a lasting pin counts:
    // one taken before the rewrite and still held after it (at the end of the syscall,
    // or of the concurrent step). GUP-fast grabs, then re-reads the PTE and backs off
    // when it changed: that transient pin is no pin the rewrite broke.
    if (f.pincount > 0 && !this.pinSuspects.has(pfn)) {
      this.pinSuspects.set(pfn, {
        seq: r.seq,
        path: t.spans.slice(),
        lasting: f.pincount,
        message: `${r.type === E.FolioIndex ? 'index' : 'mapping'} of pinned folio ${pfn} rewritten (pincount ${f.pincount})`,
      });
    }
    // folio_test_ksm() is folio->mapping's low bits: a KSM folio's mapping is its
    // stable node, never an anon_vma; rewriting it (a relocation) is an impossible state
    if (r.type === E.FolioMapping && oldKind === MappingKind.Ksm && r.b !== MappingKind.Ksm && f.flags & FOLIO_KSM) {
      this.rep.violate('rmap', r, t, `ksm:${pfn}`, `mapping of KSM folio ${pfn} rewritten to ${r.b === MappingKind.Anon ? `anon_vma ${r.c}` : `kind ${r.b}`}: folio_test_ksm() no longer holds`, {
        folio: [pfn],
      });
    }
  }

  /** A pin of folio head was dropped (a GUP-fast back-off, an unpin): one pin of those held at a rewrite less. */
  unpinned(head: number, n: number): void {
    const p = this.pinSuspects.get(head);
    if (p) p.lasting -= n;
  }

  /** The folio is gone: nothing is pinned any more. */
  folioFreed(head: number): void {
    this.pinSuspects.delete(head);
  }

  /** Forget the suspects (a rebuild). */
  clearPins(): void {
    this.pinSuspects.clear();
  }

  /** The syscall end: a rewrite of a folio whose pin lasted past it is the violation. */
  endPins(r: Readonly<RawEvent>): void {
    for (const [pfn, p] of this.pinSuspects) {
      if (p.lasting > 0) this.rep.report('rmap', { ...r, seq: p.seq }, p.path, p.message, { folio: [pfn] });
    }
    this.pinSuspects.clear();
  }

  /**
   * The swap entries in the ranges of changed VMAs whose folio is still in the swap
   * cache: do_swap_page() maps that folio again at the swap PTE's address, so its index
   * and anon_vma must be those of where the entry now lies (a relocation that skips swap
   * entries moves the entry and leaves the folio's index and mapping behind). Only when
   * the swap cache holds a folio; swap PTEs are few, a table without one costs a scan.
   */
  endSwapLocations(r: Readonly<RawEvent>, path: readonly string[], s: State): void {
    const dr = this.sh.dRanges;
    if (!dr.length) return;
    let any = false;
    for (const _ in s.swapCache) {
      any = true;
      break;
    }
    if (!any) return;
    for (let i = 0; i < dr.length; i += 3) {
      const mmId = dr[i];
      const mm = this.sh.mms.get(mmId);
      if (!mm) continue;
      const k0 = Math.floor(dr[i + 1] / 512);
      const k1 = Math.floor((dr[i + 2] - 1) / 512);
      // the tables in the range: by key when the range is the smaller, else every table
      const keys = k1 - k0 + 1 <= mm.tables.size ? Array.from({ length: k1 - k0 + 1 }, (_, j) => k0 + j) : [...mm.tables.keys()];
      for (const key of keys) {
        const t = mm.tables.get(key);
        if (!t) continue;
        const lo = Math.max(dr[i + 1], key * 512);
        const hi = Math.min(dr[i + 2], key * 512 + 512);
        for (let vpn = lo; vpn < hi; vpn++) {
          const v = t[vpn % 512];
          if (v < 0) this.checkSwapLocation(r, path, s, mmId, vpn, Math.floor(-v / 256));
        }
      }
    }
  }

  private checkSwapLocation(r: Readonly<RawEvent>, path: readonly string[], s: State, mmId: number, vpn: number, slot: number): void {
    const pfn = s.swapCache[slot];
    const f = pfn ? this.pageFolio(pfn) : undefined;
    if (!f || f.mappingKind !== MappingKind.Anon) return;
    const v = this.cache.vmaAt(s, mmId, vpn);
    if (!v) return;
    const idx = f.index + (pfn - f.pfn);
    const lin = v.pgoff + (vpn - v.start);
    const where = `swap entry (slot ${slot}) at vpn ${vpn} of vma ${v.id}`;
    let msg: string | null = null;
    if (!v.chain.includes(f.mapping)) msg = `${where}: its swap-cache folio ${f.pfn} has anon_vma ${f.mapping}, which the VMA's chain [${v.chain.join(', ')}] does not link`;
    else if (idx !== lin) msg = `${where}: its swap-cache folio ${f.pfn} has index ${idx} but linear_page_index there is ${lin}`;
    if (msg) this.rep.report('rmap', r, path, `${msg} (do_swap_page would map it where the rmap does not look)`, { folio: [f.pfn], vma: [v.id], anonVma: [f.mapping], mm: [mmId] });
  }

  /**
   * The syscall-end look at PTE locations: the ranges of changed VMAs, then every
   * touched location; the folios they map are queued for checkFolio.
   */
  endLocations(r: Readonly<RawEvent>, path: readonly string[], s: State): void {
    const sh = this.sh;
    const dr = sh.dRanges;
    this.endSwapLocations(r, path, s);
    const dPtes = sh.dPtes;
    const direct = dPtes.n;
    const whole = this.wholeTables;
    whole.clear();
    for (let i = 0; i < dr.length; i += 3) this.collectRange(s, dr[i], dr[i + 1], dr[i + 2], dPtes, END_MARK, whole);
    const a = dPtes.a;
    for (let i = 0; i < dPtes.n; i += 2) {
      // a touched location in a table the ranges just collected whole is in the list twice
      if (i < direct && whole.size && whole.has(a[i] * TABLE_KEYS + Math.floor(a[i + 1] / 512))) continue;
      const msg = this.checkLocation(s, a[i], a[i + 1]);
      const d = this.detail;
      if (msg) this.rep.report('rmap', r, path, msg, { folio: [d.folio], vma: d.vma ? [d.vma] : [], anonVma: [d.av], mm: [a[i]] });
      const pte = sh.shadowPte(a[i], a[i + 1]);
      if (countable(pte)) sh.dPfns.add(Math.floor(pte / 256));
    }
  }

  /** The syscall-end walk of one dirty folio. */
  checkFolio(r: Readonly<RawEvent>, path: readonly string[], s: State, f: Folio): void {
    if (f.mappingKind !== MappingKind.Anon || folioMapcountOf(f) === 0) return;
    const msg = this.walkMismatch(s, f);
    if (msg) this.rep.report('rmap', r, path, msg, { folio: [f.pfn], anonVma: [f.mapping] });
  }
}
