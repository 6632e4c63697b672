/**
 * The checkers' shadows of the state, and what is due for a look.
 *
 * The checker sees an event after the reducer applied it, so the previous value of a
 * PTE, a VMA or a folio's mapping is gone from the state. These shadows keep what the
 * checks need, updated from the events alone: page tables (mutable Float64Arrays, one
 * per PTE table), the reverse counts (PTE mappings per page, PMD mappings per folio),
 * folio orders and mappings, VMA ranges, anon_vma parents/roots and counts derived from
 * the events, and per task its open spans and held locks. Every write that changes
 * what the rmap or the structure must satisfy queues the object as dirty (`d*`: the
 * syscall-end look; `r*`: the racing walker's next quiescent point).
 *
 * No allocation on the PTE paths: the tables are typed arrays, the queues PairList and
 * PfnSet; the last mm and the last PTE table looked up are remembered.
 */
import { FIRST_ALLOC_PFN, PTE_SPECIAL, type AnonVma, type Folio } from '@mmsim/core';
import { LC, type LockInfo } from './lock-classes.js';
import { GrowI32, MappingTable, PairList, PfnSet, bump } from './util.js';

/** A lock a task holds. */
export interface Held {
  info: LockInfo;
  mode: number;
  kind: number;
  tryLock: boolean;
}

/** A task: its open spans (outermost first), the locks it holds, how many of them are spinlocks. */
export interface TaskInfo {
  id: number;
  spans: string[];
  held: Held[];
  spin: number;
}

export interface ShadowVma {
  mm: number;
  start: number;
  end: number;
  pgoff: number;
  anonVma: number;
}

export interface ShadowAv {
  root: number;
  parent: number;
}

/** One mm's page tables. */
export class MmShadow {
  /** key: vpn / 512 -> 512 PTEs */
  readonly tables = new Map<number, Float64Array>();
  /** key: vpn / 512 -> encoded PTE of the huge leaf's head (pfn * 256 + flags) */
  readonly huge = new Map<number, number>();
  lastKey = -1;
  lastTable: Float64Array | undefined = undefined;
  table(key: number): Float64Array | undefined {
    if (key === this.lastKey) return this.lastTable;
    const t = this.tables.get(key);
    this.lastKey = key;
    this.lastTable = t;
    return t;
  }
  invalidate(): void {
    this.lastKey = -1;
    this.lastTable = undefined;
  }
}

export const PUD_PAGES = 512 * 512;

/*
 * A shadow PTE table: 512 entries, then two marks (0: none): the signature of the VMA
 * the whole table was last collected under, for the racing walker and for the
 * syscall-end look. Any change to the table clears them.
 */
/** table keys (vpn / 512) of one mm are below this (47-bit user addresses) */
export const TABLE_KEYS = 2 ** 26;
export const RACE_MARK = 512;
export const END_MARK = 513;
export function newShadowTable(): Float64Array {
  return new Float64Array(514);
}

/** Does this encoded PTE hold a reference and a mapcount of a folio? (vm_normal_page) */
export function countable(v: number): boolean {
  return v > 0 && (v % 256 & PTE_SPECIAL) === 0 && v >= FIRST_ALLOC_PFN * 256;
}

/** folio_mapcount(): the entire mapcount plus every page's */
export function folioMapcountOf(f: Folio): number {
  let n = f.entireMapcount;
  const pm = f.pageMapcount;
  for (let i = 0; i < pm.length; i++) n += pm[i];
  return n;
}

/**
 * Every shadow, and the dirty queues. `rmap` and `race` say which queues of locations
 * and ranges are filled (the rmap checker's, the racing walker's); dirty folios, VMAs
 * and anon_vmas are queued always (the structure checks read them too).
 */
export class Shadows {
  /* tasks, spans, locks */
  readonly tasks = new Map<number, TaskInfo>();
  lastTask: TaskInfo | null = null;
  /** tasks inside a top-level span (a syscall) */
  openTasks = 0;
  /** spinlocks held, by all tasks */
  spinTotal = 0;
  /** anon_vma root locks held for write, by any task */
  anonWriteHeld = 0;

  /* page tables and the reverse counts */
  readonly mms = new Map<number, MmShadow>();
  lastMmId = -1;
  lastMm: MmShadow | undefined = undefined;
  readonly pteMaps = new GrowI32();
  readonly pmdMaps = new GrowI32();
  /** folio order + 1 by head pfn (0: no folio) */
  readonly folioOrder = new GrowI32();
  /** folio mapping by head pfn: kind + 4 * target (only for folios that ever had one) */
  readonly folioMapping = new MappingTable();
  /**
   * References GUP left to its caller, by head pfn: a FOLL_GET reference (get_user_pages
   * without FOLL_PIN) is a plain refcount the kernel does not tell apart, so the checker
   * counts those taken and dropped inside a `gup_fast` span (a pin's reference is in
   * its pincount). Not in the state: a rebuild starts from none.
   */
  readonly gupRefs = new Map<number, number>();

  /* VMAs and anon_vmas */
  readonly vmas = new Map<number, ShadowVma>();
  readonly avs = new Map<number, ShadowAv>();
  /** parent id -> number of non-empty anon_vmas with that parent (incl. a root itself) */
  readonly nonEmptyChildren = new Map<number, number>();
  /** root id -> number of existing non-root anon_vmas with that root */
  readonly rootChildren = new Map<number, number>();
  /** anon_vma id -> VMAs whose vma->anon_vma is it */
  readonly activeVmas = new Map<number, number>();
  /** anon_vma id -> mm -> VMAs of that mm whose vma->anon_vma is it */
  readonly activeMms = new Map<number, Map<number, number>>();

  /* dirty sets for the syscall-end checks (rmap + structure) */
  readonly dPtes = new PairList();
  readonly dRanges: number[] = [];
  readonly dPfns = new PfnSet();
  readonly dFreed = new PairList();
  readonly dVmas = new Set<number>();
  readonly dAvs = new Set<number>();

  /* pending items of the racing walker */
  readonly rPtes = new PairList();
  readonly rRanges: number[] = [];
  readonly rPfns = new PfnSet();

  constructor(
    private readonly rmap: boolean,
    private readonly race: boolean,
  ) {}

  /* ------------------------------- tasks ------------------------------------- */

  task(id: number): TaskInfo {
    const l = this.lastTask;
    if (l && l.id === id) return l;
    let t = this.tasks.get(id);
    if (!t) {
      t = { id, spans: [], held: [], spin: 0 };
      this.tasks.set(id, t);
    }
    this.lastTask = t;
    return t;
  }

  /** Task t now holds lock li (mode 0: write; kind 1: a spinlock). */
  lockTaken(t: TaskInfo, li: LockInfo, mode: number, kind: number, tryLock: boolean): void {
    t.held.push({ info: li, mode, kind, tryLock });
    if (kind === 1) {
      t.spin++;
      this.spinTotal++;
    }
    if (li.cls === LC.Anon && mode === 0) this.anonWriteHeld++;
  }

  /** Task t released the lock named `name`: what it held, or undefined. */
  lockReleased(t: TaskInfo, name: string): Held | undefined {
    const h = t.held;
    for (let i = h.length - 1; i >= 0; i--) {
      if (h[i].info.name === name) {
        const x = h[i];
        h.splice(i, 1);
        if (x.kind === 1) {
          t.spin--;
          this.spinTotal--;
        }
        if (x.info.cls === LC.Anon && x.mode === 0) this.anonWriteHeld--;
        return x;
      }
    }
    return undefined;
  }

  /* ---------------------------- dirty queues --------------------------------- */

  hasDirty(): boolean {
    return this.dPtes.n > 0 || this.dRanges.length > 0 || this.dPfns.size > 0 || this.dFreed.n > 0 || this.dVmas.size > 0 || this.dAvs.size > 0;
  }

  racePending(): boolean {
    return this.rPtes.n > 0 || this.rRanges.length > 0 || this.rPfns.size > 0;
  }

  /** Nothing due for a look (a rebuild). */
  clearDirty(): void {
    this.lastMmId = -1;
    this.lastMm = undefined;
    this.dPtes.clear();
    this.dRanges.length = 0;
    this.dPfns.clear();
    this.dFreed.clear();
    this.dVmas.clear();
    this.dAvs.clear();
    this.rPtes.clear();
    this.rRanges.length = 0;
    this.rPfns.clear();
    this.lastTask = null;
  }

  /** The pages of [start, end) of mm changed VMA: due for a look. */
  addRange(mm: number, start: number, end: number): void {
    if (end <= start) return;
    if (this.rmap) this.dRanges.push(mm, start, end);
    if (this.race) this.rRanges.push(mm, start, end);
  }

  /** A present mapping of page pfn now lives at (mm, vpn): check it and its folio. */
  touchLocation(mm: number, vpn: number, pfn: number): void {
    if (pfn < FIRST_ALLOC_PFN) return;
    this.dPfns.add(pfn);
    if (this.rmap) this.dPtes.push(mm, vpn);
    if (this.race) this.rPtes.push(mm, vpn);
  }

  /* ---------------------------- page tables ---------------------------------- */

  mmCreate(id: number): void {
    this.mms.set(id, new MmShadow());
  }

  mm(id: number): MmShadow {
    if (id === this.lastMmId && this.lastMm) return this.lastMm;
    let m = this.mms.get(id);
    if (!m) {
      m = new MmShadow();
      this.mms.set(id, m);
    }
    this.lastMmId = id;
    this.lastMm = m;
    return m;
  }

  getShadowPte(mmId: number, vpn: number): number {
    const t = this.mm(mmId).table(Math.floor(vpn / 512));
    return t ? t[vpn % 512] : 0;
  }

  /** The PTE at vpn from the shadow (a huge leaf: the PTE it implies), like lookupPte(). */
  shadowPte(mmId: number, vpn: number): number {
    const mm = this.mm(mmId);
    const key = Math.floor(vpn / 512);
    const t = mm.table(key);
    if (t) return t[vpn % 512];
    const h = mm.huge.get(key);
    if (h === undefined) return 0;
    return h + (vpn % 512) * 256;
  }

  /** Write one shadow PTE, keeping the reverse counts; queue what changed. */
  setShadowPte(mmId: number, vpn: number, v: number, location: boolean): void {
    const mm = this.mm(mmId);
    const key = Math.floor(vpn / 512);
    let t = mm.table(key);
    if (!t) {
      t = newShadowTable();
      mm.tables.set(key, t);
      mm.invalidate();
    }
    const i = vpn % 512;
    const old = t[i];
    t[i] = v;
    t[RACE_MARK] = t[END_MARK] = 0;
    if (countable(old)) {
      const p = Math.floor(old / 256);
      this.pteMaps.add(p, -1);
      this.dPfns.add(p);
    }
    if (countable(v)) {
      const p = Math.floor(v / 256);
      this.pteMaps.add(p, 1);
      if (location) this.touchLocation(mmId, vpn, p);
      else this.dPfns.add(p);
    }
  }

  /** pte_move: the PTE at vpn `from` moves to `to` (move_ptes) */
  pteMove(mmId: number, from: number, to: number): void {
    const v = this.getShadowPte(mmId, from);
    this.setShadowPte(mmId, from, 0, false);
    this.setShadowPte(mmId, to, v, true);
  }

  ptAlloc(mmId: number, key: number): void {
    const mm = this.mm(mmId);
    mm.tables.set(key, newShadowTable());
    mm.invalidate();
  }

  /** Forget a shadow PTE table (freed, or replaced by a huge PMD). */
  dropTable(mmId: number, key: number): void {
    const mm = this.mm(mmId);
    const t = mm.tables.get(key);
    if (!t) return;
    for (let i = 0; i < 512; i++) {
      const v = t[i];
      if (countable(v)) {
        const p = Math.floor(v / 256);
        this.pteMaps.add(p, -1);
        this.dPfns.add(p);
      }
    }
    mm.tables.delete(key);
    mm.invalidate();
  }

  pmdSet(mmId: number, key: number, v: number): void {
    const mm = this.mm(mmId);
    this.dropTable(mmId, key);
    const old = mm.huge.get(key);
    if (old !== undefined && countable(old)) this.pmdMaps.add(Math.floor(old / 256), -1);
    mm.huge.set(key, v);
    if (countable(v)) this.pmdMaps.add(Math.floor(v / 256), 1);
  }

  pmdClear(mmId: number, key: number): void {
    const mm = this.mm(mmId);
    const old = mm.huge.get(key);
    if (old === undefined) return;
    mm.huge.delete(key);
    if (countable(old)) {
      const p = Math.floor(old / 256);
      this.pmdMaps.add(p, -1);
      this.dPfns.add(p);
    }
  }

  /** pmd_move: the huge leaf at table key `from` moves to `to` (move_huge_pmd) */
  pmdMove(mmId: number, from: number, to: number): void {
    const mm = this.mm(mmId);
    const v = mm.huge.get(from);
    if (v === undefined) return;
    mm.huge.delete(from);
    this.dropTable(mmId, to);
    mm.huge.set(to, v);
    this.touchLocation(mmId, to * 512, Math.floor(v / 256));
  }

  pmdFlags(mmId: number, key: number, flags: number): void {
    const mm = this.mm(mmId);
    const v = mm.huge.get(key);
    if (v !== undefined) mm.huge.set(key, Math.floor(v / 256) * 256 + ((flags | 1) & 255));
  }

  pmdSplit(mmId: number, key: number): void {
    const mm = this.mm(mmId);
    const v = mm.huge.get(key);
    if (v === undefined) return;
    mm.huge.delete(key);
    const head = Math.floor(v / 256);
    const flags = v % 256;
    const t = newShadowTable();
    for (let k = 0; k < 512; k++) t[k] = (head + k) * 256 + flags;
    mm.tables.set(key, t);
    mm.invalidate();
    if (countable(v)) {
      this.pmdMaps.add(head, -1);
      for (let k = 0; k < 512; k++) this.pteMaps.add(head + k, 1);
      this.touchLocation(mmId, key * 512, head);
    }
  }

  /** pt_move: one PTE table (move_normal_pmd) or a PMD table's 512 (move_normal_pud) from vpn `fromVpn` to `toVpn` */
  ptMove(mmId: number, fromVpn: number, toVpn: number, oneTable: boolean): void {
    const mm = this.mm(mmId);
    const n = oneTable ? 1 : 512;
    const from = Math.floor(fromVpn / 512);
    const to = Math.floor(toVpn / 512);
    const fromBase = n === 1 ? from : from - (from % 512);
    const toBase = n === 1 ? to : to - (to % 512);
    for (let k = 0; k < n; k++) {
      const tb = mm.tables.get(fromBase + k);
      const hg = mm.huge.get(fromBase + k);
      if (tb) {
        mm.tables.delete(fromBase + k);
        mm.tables.set(toBase + k, tb);
        tb[RACE_MARK] = tb[END_MARK] = 0;
        for (let i = 0; i < 512; i++) {
          const v = tb[i];
          if (countable(v)) this.touchLocation(mmId, (toBase + k) * 512 + i, Math.floor(v / 256));
        }
      } else if (hg !== undefined) {
        mm.huge.delete(fromBase + k);
        mm.huge.set(toBase + k, hg);
        if (countable(hg)) this.touchLocation(mmId, (toBase + k) * 512, Math.floor(hg / 256));
      }
    }
    mm.invalidate();
  }

  /** mm_exit: the mm is gone (mmdrop()): forget its shadow tables */
  mmDrop(id: number): void {
    const mm = this.mms.get(id);
    if (!mm) return;
    for (const k of [...mm.tables.keys()]) this.dropTable(id, k);
    for (const k of [...mm.huge.keys()]) this.pmdClear(id, k);
    this.mms.delete(id);
    this.lastMmId = -1;
    this.lastMm = undefined;
  }

  /* ------------------------------ folios ------------------------------------- */

  folioAlloc(pfn: number, order: number): void {
    this.folioOrder.set(pfn, order + 1);
    this.folioMapping.delete(pfn);
  }

  /** A refcount (delta) or pincount (-delta: the pin owns that reference) change inside GUP. */
  gupRef(head: number, delta: number): void {
    const n = (this.gupRefs.get(head) ?? 0) + delta;
    if (n === 0) this.gupRefs.delete(head);
    else this.gupRefs.set(head, n);
  }

  folioFree(pfn: number): void {
    this.gupRefs.delete(pfn);
    const o = this.folioOrder.get(pfn);
    this.folioOrder.set(pfn, 0);
    this.folioMapping.delete(pfn);
    if (o > 0) this.dFreed.push(pfn, o - 1);
  }

  /** split_folio_to_order(): every new folio keeps the mapping */
  folioSplit(pfn: number, newOrder: number): void {
    const o = this.folioOrder.get(pfn) - 1;
    const m = this.folioMapping.get(pfn);
    const step = 2 ** newOrder;
    for (let off = 0; off < 2 ** o; off += step) {
      this.folioOrder.set(pfn + off, newOrder + 1);
      if (m !== undefined) this.folioMapping.set(pfn + off, m);
      this.dPfns.add(pfn + off);
    }
  }

  /** folio->mapping written: the previous mapping (kind + 4 * target), -1 if none */
  setFolioMapping(pfn: number, kind: number, target: number): number {
    const m = this.folioMapping.get(pfn);
    this.folioMapping.set(pfn, kind + 4 * target);
    return m === undefined ? -1 : m;
  }

  /** folio index or mapping written: its folio is due for a look */
  folioIdentityChanged(pfn: number): void {
    this.dPfns.add(pfn);
    if (this.race) this.rPfns.add(pfn);
  }

  /* --------------------------- VMAs, anon_vmas ------------------------------- */

  vmaInsert(id: number, mm: number, start: number, end: number, pgoff: number): void {
    this.vmas.set(id, { mm, start, end, pgoff, anonVma: 0 });
    this.dVmas.add(id);
    this.addRange(mm, start, end);
  }

  /** v (of mm) becomes (d = 1) or stops being (d = -1) a VMA whose anon_vma is av */
  activeVma(av: number, mm: number, d: number): void {
    bump(this.activeVmas, av, d);
    let m = this.activeMms.get(av);
    if (!m) this.activeMms.set(av, (m = new Map()));
    bump(m, mm, d);
    if (m.size === 0) this.activeMms.delete(av);
  }

  vmaRemove(id: number, v: ShadowVma): void {
    if (v.anonVma) {
      this.activeVma(v.anonVma, v.mm, -1);
      this.dAvs.add(v.anonVma);
    }
    this.vmas.delete(id);
    this.addRange(v.mm, v.start, v.end);
  }

  vmaAdjust(id: number, v: ShadowVma, start: number, end: number, pgoff: number): void {
    if (pgoff - start === v.pgoff - v.start) {
      // same linear mapping: only pages that changed VMA need a look
      this.addRange(v.mm, Math.min(start, v.start), Math.max(start, v.start));
      this.addRange(v.mm, Math.min(end, v.end), Math.max(end, v.end));
    } else {
      this.addRange(v.mm, Math.min(start, v.start), Math.max(end, v.end));
    }
    v.start = start;
    v.end = end;
    v.pgoff = pgoff;
    this.dVmas.add(id);
  }

  /** vma->anon_vma = av (0: none) */
  vmaSetAnonVma(v: ShadowVma, av: number): void {
    if (v.anonVma) {
      this.activeVma(v.anonVma, v.mm, -1);
      this.dAvs.add(v.anonVma);
    }
    v.anonVma = av;
    if (av) {
      this.activeVma(av, v.mm, 1);
      this.dAvs.add(av);
    }
  }

  anonVmaCreate(id: number, root: number, parent: number): void {
    this.avs.set(id, { root, parent });
    if (root !== id) {
      bump(this.rootChildren, root, 1);
      this.dAvs.add(root);
    }
    this.dAvs.add(id);
  }

  anonVmaFree(id: number): void {
    const a = this.avs.get(id);
    if (a && a.root !== id) {
      bump(this.rootChildren, a.root, -1);
      this.dAvs.add(a.root);
    }
    this.avs.delete(id);
  }

  /**
   * avc_link / avc_unlink of VMA `vma` and anon_vma `avId` (anon_vma_chain_link,
   * unlink_anon_vmas); `now` is that anon_vma in the state after the event.
   */
  avc(link: boolean, vma: number, avId: number, now: AnonVma | undefined): void {
    const a = this.avs.get(avId);
    if (now && a) {
      const n = now.vmas.length;
      if (link ? n === 1 : n === 0) {
        bump(this.nonEmptyChildren, a.parent, link ? 1 : -1);
        this.dAvs.add(a.parent);
      }
    }
    this.dAvs.add(avId);
    const v = this.vmas.get(vma);
    if (v) this.addRange(v.mm, v.start, v.end);
  }

  /** the root of anon_vma id (itself when unknown) */
  rootOf(id: number): number {
    return this.avs.get(id)?.root ?? id;
  }
}
