/**
 * The one reducer: state + event -> state. Pure: it reads nothing but its arguments.
 *
 * `applyToDraft` is the hot path: it mutates an immer draft in place and is called for
 * many events inside one `produce` (a batch). The big tables are not immer's: page-table
 * levels, PTE arrays, the folio table and its chunks are `Radix` nodes and typed arrays
 * that immer treats as values. The batch copies each one on its first write (the path
 * from the root down) and records it in `owned`; it never mutates a node it did not copy.
 */
import { createDraft, finishDraft, original, type Draft } from 'immer';
import { E, MappingKind, fromEvent, newRawEvent, type MmEvent, type RawEvent } from './events.js';
import {
  FOLIO_PAE,
  PTE_TABLE_SLOTS,
  emptyState,
  FOLIO_CHUNK,
  folioChunk,
  folioSlot,
  pgdIndex,
  pmdBase,
  pmdIndex,
  pteIndex,
  pudIndex,
  mkPte,
  type Folio,
  type LockState,
  type Mm,
  type SpanFrame,
  MmRecord,
  type PmdEntry,
  type PmdTable,
  type PudTable,
  Radix,
  radixCopy,
  type State,
  type Vma,
  type AnonVma,
} from './state.js';
import type { IdTable } from './idtable.js';
import { MapleTree } from './maple.js';

type D = Draft<State>;
/** an mm record the batch owns (copied on its first change) */
type DMm = { -readonly [K in keyof Mm]: Mm[K] extends readonly number[] ? number[] : Mm[K] };

/** Thrown when an event does not fit the state: the log is corrupt or from another model. */
export class ReplayError extends Error {
  constructor(
    readonly seq: number,
    message: string,
  ) {
    super(`event ${seq}: ${message}`);
    this.name = 'ReplayError';
  }
}

/**
 * Per-batch bookkeeping: what this batch owns (copied or made, so its to mutate), its
 * own writable copies of the lock table, span stacks and mm records, and caches of the
 * writable nodes the hot events reach (a PTE table's array, a PMD table, a folio chunk)
 * so that a run of PTE events in one table costs a Map lookup each. Structural
 * page-table events clear the table caches.
 */
export interface Batch {
  /**
   * PTE arrays, radix nodes and records this batch copied or made: its to mutate (the
   * folios it owns: chunkSlots). A Set, not a WeakSet: the batch is short-lived, and a
   * WeakSet of a hundred thousand objects costs the garbage collector (ephemeron tables)
   * more than a whole fault-in.
   */
  owned: Set<object>;
  /** writable PTE arrays by (mm, PMD) */
  tables: Map<number, Float64Array>;
  /**
   * the last of them and its key: runs of PTE events stay in one table, and the keys of
   * a high mm id are not small integers (a Map lookup would box each one)
   */
  lastTableKey: number;
  lastTable: Float64Array | null;
  /** writable PMD tables by (mm, PUD) */
  pmdts: Map<number, Radix<PmdEntry>>;
  /** mm records this batch copied or made (its to mutate); null: exited in this batch */
  mms: Map<number, DMm | null>;
  /** the folio table as of now (read once per batch; the owned copy after a write) */
  ftop: Radix<Radix<Folio>> | null;
  /** seq of the next event (-1: not read from the draft yet); written back by finishBatch */
  seq: number;
  /** the task events are applied for (-1: not read yet) */
  task: number;
  /**
   * the batch's own writable copy of `locks` (transient, small). A released lock keeps
   * its key with the value undefined: deleting from a small Map shrinks and regrows its
   * table on every acquire/release pair
   */
  locks: Map<string, LockState | undefined> | null;
  /**
   * The lock taken last by a sole holder, held outside `locks` until another lock is taken
   * or someone reads the batch's locks (spillLock): a walk's lock folio / unlock folio pairs
   * then cost one Map lookup each, not four Map operations. null: none.
   */
  slotName: string | null;
  slotState: LockState | null;
  /** the batch's own writable copy of `spans` */
  spans: Record<number, SpanFrame[]> | null;
  spanOwned: Set<number>;
  /** count deltas, added to state.counts by finishBatch */
  counts: { vmas: number; anonVmas: number; avcs: number; folios: number; mms: number; errors: number };
  /** the state the draft started from (read once, for proxy-free reads of locks and spans) */
  base: State | null;
  /** head pfns of owned folios whose per-page arrays are the batch's too (writable) */
  pagesOwned: Set<number>;
  /**
   * Per folio chunk this batch copied: which of its slots hold a folio the batch owns
   * (copied or made). A bitmap by chunk, not the folios in `owned`: a million folios in
   * a Set cost a hash entry each, and a relocation's runs of folio events stay in one chunk.
   */
  chunkSlots: Map<number, Uint8Array>;
  /** the last chunk made writable, and its slots (runs of folio events stay in one chunk) */
  lastChunk: number;
  lastChunkObj: Radix<Folio> | null;
  lastSlots: Uint8Array | null;
  /** chunks a folio_free emptied a slot of: finishBatch drops those left empty */
  freedChunks: number[];
  /**
   * The last folio an event wrote, owned (its head pfn, -1: none): a fault writes one
   * folio five times in a row (flags, mapping, index, count, PageAnonExclusive), and a
   * relocation two. folio_free and folio_split forget it.
   */
  wPfn: number;
  wFolio: WFolio | null;
}

export function newBatch(): Batch {
  return {
    owned: new Set(),
    tables: new Map(),
    lastTableKey: -1,
    lastTable: null,
    pmdts: new Map(),
    mms: new Map(),
    ftop: null,
    seq: -1,
    task: -1,
    locks: null,
    slotName: null,
    slotState: null,
    spans: null,
    spanOwned: new Set(),
    counts: { vmas: 0, anonVmas: 0, avcs: 0, folios: 0, mms: 0, errors: 0 },
    base: null,
    pagesOwned: new Set(),
    chunkSlots: new Map(),
    lastChunk: -1,
    lastChunkObj: null,
    lastSlots: null,
    freedChunks: [],
    wPfn: -1,
    wFolio: null,
  };
}

/** The folio with this head pfn as the batch sees it (owned copy, or the base's), no proxies. */
export function batchFolio(d: D, b: Batch, head: number): Folio | undefined {
  const top = b.ftop ?? (b.ftop = d.folios as Radix<Radix<Folio>>);
  const c = top[folioChunk(head)];
  return c ? c[folioSlot(head)] : undefined;
}

function baseOf(d: D, b: Batch): State {
  return b.base ?? (b.base = (original(d) as State | undefined) ?? emptyState());
}

/** An mm as the batch sees it (no proxies). */
export function batchMm(d: D, b: Batch, id: number): Mm | undefined {
  const m = b.mms.get(id);
  if (m !== undefined) return m ?? undefined;
  return baseOf(d, b).mms[id];
}

/** A lock as the batch sees it (no proxies). */
export function batchLock(d: D, b: Batch, name: string): LockState | undefined {
  if (b.slotName === name) return b.slotState!;
  return b.locks ? b.locks.get(name) : baseOf(d, b).locks[name];
}

/** A task's open spans as the batch sees it (no proxies). */
export function batchSpans(d: D, b: Batch, task: number): readonly SpanFrame[] | undefined {
  return (b.spans ?? baseOf(d, b).spans)[task];
}

/** page_folio() as the batch sees it */
export function batchPageFolio(d: D, b: Batch, pfn: number): Folio | undefined {
  for (let order = 0; order <= 18; order++) {
    const head = pfn - (pfn % 2 ** order);
    const f = batchFolio(d, b, head);
    if (f && f.order >= order) return f;
  }
  return undefined;
}

/**
 * Write what the batch kept to itself back into the draft (seq, counts). Call it before
 * finishDraft: until then `seq` and `counts` of the draft are stale.
 */
export function finishBatch(d: D, b: Batch): void {
  if (b.seq >= 0) d.seq = b.seq;
  if (b.freedChunks.length) dropEmptyChunks(b);
  spillLock(b);
  if (b.locks) {
    const o: Record<string, LockState> = {};
    for (const [k, v] of b.locks) if (v !== undefined) o[k] = v;
    d.locks = o as Draft<Record<string, LockState>>;
    b.locks = null;
  }
  const c = b.counts;
  if (c.vmas || c.anonVmas || c.avcs || c.folios || c.mms || c.errors) {
    const dc = d.counts;
    dc.vmas += c.vmas;
    dc.anonVmas += c.anonVmas;
    dc.avcs += c.avcs;
    dc.folios += c.folios;
    dc.mms += c.mms;
    dc.errors += c.errors;
    c.vmas = c.anonVmas = c.avcs = c.folios = c.mms = c.errors = 0;
  }
}

/**
 * A chunk of the folio table whose last folio was freed goes too: pfns are never reused
 * (the allocator counts up), so a long run would otherwise keep an empty chunk per 256
 * folios it ever allocated, and copy the table's whole key list once per batch. Done
 * at the end of the batch, so the state is the same however the events were batched: a
 * committed folio table holds no empty chunk.
 */
function dropEmptyChunks(b: Batch): void {
  const top = b.ftop!;
  for (const ch of b.freedChunks) {
    const c = top[ch];
    if (c !== undefined && isEmptyRadix(c)) {
      delete top[ch];
      b.chunkSlots.delete(ch);
    }
  }
  b.freedChunks.length = 0;
  b.lastChunk = -1;
  b.lastChunkObj = null;
  b.lastSlots = null;
}

function isEmptyRadix(c: Radix<unknown>): boolean {
  for (const k in c) if (k !== undefined) return false;
  return true;
}

/**
 * The batch's writable lock table: a Map, written back to the draft as a plain object by
 * finishBatch. (Most locks are taken and dropped inside one batch; a Map does not intern
 * its keys as an object's properties would: a folio lock name is new for every folio.)
 * Until finishBatch the draft's `locks` is stale: read locks with batchLock.
 */
function ownLocks(d: D, b: Batch): Map<string, LockState | undefined> {
  if (b.locks) return b.locks;
  const base = baseOf(d, b).locks;
  const m = new Map<string, LockState | undefined>();
  for (const k of Object.keys(base)) m.set(k, base[k]);
  b.locks = m;
  return m;
}

/** The slot's lock into `locks` (see Batch.slotName). */
function spillLock(b: Batch): void {
  if (b.slotName === null) return;
  b.locks!.set(b.slotName, b.slotState!);
  b.slotName = null;
  b.slotState = null;
}

/** released locks a batch keeps as keys, at most (see LockRelease) */
const LOCK_KEYS_KEPT = 4096;

/** Every lock as the batch sees it, by name (in the Map form, undefined: released in this batch). */
export function batchLocks(d: D, b: Batch): ReadonlyMap<string, LockState | undefined> | Readonly<Record<string, LockState>> {
  spillLock(b);
  return b.locks ?? baseOf(d, b).locks;
}

/** The batch's writable span stack of a task. */
function ownSpans(d: D, b: Batch, task: number): SpanFrame[] {
  if (!b.spans) {
    const base = baseOf(d, b).spans;
    b.spans = { ...base } as Record<number, SpanFrame[]>;
    d.spans = b.spans as Draft<Record<number, SpanFrame[]>>;
  }
  let st = b.spans[task];
  if (!b.spanOwned.has(task)) {
    st = st ? st.slice() : [];
    b.spans[task] = st;
    b.spanOwned.add(task);
  }
  return st;
}

/*
 * A lock held by one task: one frozen LockState per (mode, kind, task), shared by every
 * lock in that situation. Lock states are values (never changed in place), and taking a
 * lock is a quarter of all events: this keeps it from allocating.
 */
const SOLE = new Map<number, LockState>();
function soleHolder(mode: number, kind: number, task: number): LockState {
  const key = task * 4 + mode * 2 + kind;
  let l = SOLE.get(key);
  if (!l) {
    l = Object.freeze({ mode, kind, holders: Object.freeze([task]) });
    SOLE.set(key, l);
  }
  return l;
}

function fail(r: RawEvent, msg: string): never {
  throw new ReplayError(r.seq, msg);
}

let curBatch: Batch | null = null;

function mmOf(d: D, r: RawEvent, id: number): DMm {
  const b = curBatch!;
  const cached = b.mms.get(id);
  if (cached) return cached;
  const m = cached === null ? undefined : (d.mms[id] as Mm | undefined);
  if (!m) fail(r, `no mm ${id}`);
  // the VMA tree is persistent: the record shares it until a VMA event changes it
  const copy = new MmRecord(m.id, m.parent, m.vmas, m.pgd, m.ptTables, m.wpSeq, m.mergeAny) as DMm;
  d.mms[id] = copy as Draft<Mm>;
  b.mms.set(id, copy);
  return copy;
}

/** A writable folio chunk: the table and the chunk are copied on their first write. */
function chunkForWrite(d: D, b: Batch, ch: number): Radix<Folio> {
  if (b.lastChunk === ch) return b.lastChunkObj!;
  let top = b.ftop ?? (d.folios as Radix<Radix<Folio>>);
  if (!b.owned.has(top)) {
    top = radixCopy(top);
    b.owned.add(top);
    d.folios = top as Draft<Radix<Radix<Folio>>>;
  }
  b.ftop = top;
  let c = top[ch];
  let slots = b.chunkSlots.get(ch);
  if (!c || !slots) {
    c = radixCopy(c);
    slots = new Uint8Array(FOLIO_CHUNK);
    b.chunkSlots.set(ch, slots);
    top[ch] = c;
  }
  b.lastChunk = ch;
  b.lastChunkObj = c;
  b.lastSlots = slots;
  return c;
}

/*
 * The VMA and anon_vma tables are persistent IdTables (not immer drafts): the draft's
 * property holds the batch's current table, replaced on each change. A record is copied
 * on its first change in the batch (then owned: changed in place).
 */
type Tables = { vmas: IdTable<Vma>; anonVmas: IdTable<AnonVma> };
type WVma = { -readonly [K in keyof Vma]: Vma[K] extends readonly number[] ? number[] : Vma[K] };
type WAnonVma = { -readonly [K in keyof AnonVma]: AnonVma[K] extends readonly number[] ? number[] : AnonVma[K] };

function tables(d: D): Tables {
  return d as unknown as Tables;
}

/** A VMA as the batch sees it (read-only; undefined: none). */
function vmaNow(d: D, id: number): Vma | undefined {
  return tables(d).vmas.get(id);
}

/** A writable VMA (copied on its first change in the batch). */
function vmaOf(d: D, r: RawEvent, id: number): WVma {
  const b = curBatch!;
  const t = tables(d);
  const v = t.vmas.get(id);
  if (!v) fail(r, `no vma ${id}`);
  if (b.owned.has(v)) return v as WVma;
  const c: WVma = {
    id: v.id,
    mm: v.mm,
    start: v.start,
    end: v.end,
    pgoff: v.pgoff,
    flags: v.flags,
    anonVma: v.anonVma,
    chain: v.chain.slice(),
    file: v.file,
  };
  // vm_policy only where a VMA has one: the common VMA keeps its shape
  if (v.policy) c.policy = v.policy;
  b.owned.add(c);
  t.vmas = t.vmas.set(id, c, b.owned);
  return c;
}

/** A writable anon_vma (copied on its first change in the batch), or undefined. */
function anonVmaOf(d: D, id: number): WAnonVma | undefined {
  const b = curBatch!;
  const t = tables(d);
  const a = t.anonVmas.get(id);
  if (!a) return undefined;
  if (b.owned.has(a)) return a as WAnonVma;
  const c: WAnonVma = {
    id: a.id,
    root: a.root,
    parent: a.parent,
    refcount: a.refcount,
    numChildren: a.numChildren,
    numActiveVmas: a.numActiveVmas,
    // shared until an AVC event writes it (avVmasForWrite): a count change does not copy k ids
    vmas: a.vmas as number[],
  };
  b.owned.add(c);
  t.anonVmas = t.anonVmas.set(id, c, b.owned);
  return c;
}

/**
 * An anon_vma's VMA list, writable: copied on its first write in the batch, then changed
 * in place. A list in a committed state is never written again, so readers may share it
 * (shareAnonVma) until the next event.
 */
function avVmasForWrite(b: Batch, av: WAnonVma): number[] {
  if (!b.owned.has(av.vmas)) {
    av.vmas = av.vmas.slice();
    b.owned.add(av.vmas);
  }
  return av.vmas;
}

type WFolio = { -readonly [K in keyof Folio]: Folio[K] extends readonly number[] ? number[] : Folio[K] };

/** Per-page arrays of a large folio the batch owns, made writable (copied once per batch). */
function ownPages(b: Batch, f: WFolio): WFolio {
  if (b.pagesOwned.has(f.pfn)) return f;
  f.pageMapcount = f.pageMapcount.slice();
  f.pae = f.pae.length ? f.pae.slice() : NO_PAE;
  f.content = f.content.slice();
  b.pagesOwned.add(f.pfn);
  return f;
}

/** A writable folio owned by the batch: copied from the base on first change (arrays: see ownPages). */
function own(d: D, b: Batch, f: Folio): WFolio {
  // f is what the table holds at its pfn: the batch's own once its slot says so
  const c = chunkForWrite(d, b, folioChunk(f.pfn));
  const slot = folioSlot(f.pfn);
  if (b.lastSlots![slot] === 1) return f as WFolio;
  // field by field, in newFolio's order: one hidden class for every folio, no spread
  const copy: WFolio = {
    pfn: f.pfn,
    order: f.order,
    index: f.index,
    mappingKind: f.mappingKind,
    mapping: f.mapping,
    flags: f.flags,
    refcount: f.refcount,
    pincount: f.pincount,
    entireMapcount: f.entireMapcount,
    // the per-page arrays stay shared until one is written (ownPages): a relocation
    // rewrites a million folios' index and mapping and never touches them
    pageMapcount: f.pageMapcount as number[],
    pae: f.pae as number[],
    content: f.content as number[],
  };
  c[slot] = copy;
  b.lastSlots![slot] = 1;
  return copy;
}

function folioOf(d: D, r: RawEvent, pfn: number): WFolio {
  const b = curBatch!;
  if (b.wPfn === pfn) return b.wFolio!;
  const f = batchFolio(d, b, pfn);
  if (!f) fail(r, `no folio with head pfn ${pfn}`);
  return remember(b, own(d, b, f));
}

function remember(b: Batch, f: WFolio): WFolio {
  b.wPfn = f.pfn;
  b.wFolio = f;
  return f;
}
function forget(b: Batch): void {
  b.wPfn = -1;
  b.wFolio = null;
}

/** page_folio on a draft: the folio containing page pfn (writable) */
function folioOfPage(d: D, r: RawEvent, pfn: number): WFolio {
  const b = curBatch!;
  const w = b.wFolio;
  if (w !== null && pfn >= w.pfn && pfn - w.pfn < 2 ** w.order) return w;
  const f = batchPageFolio(d, b, pfn);
  if (!f) fail(r, `no folio contains pfn ${pfn}`);
  return remember(b, own(d, b, f));
}

/** The PMD table for vpn, read-only (undefined when an upper level is missing). */
function pmdtAt(mm: Mm, vpn: number): PmdTable | undefined {
  const pud = mm.pgd[pgdIndex(vpn)];
  return pud ? pud[pudIndex(vpn)] : undefined;
}

/** A writable PUD table (the pgd copied on its first write in the batch). */
function pudForWrite(b: Batch, mm: DMm, vpn: number): Radix<PmdTable> {
  let pgd = mm.pgd as Radix<PudTable>;
  if (!b.owned.has(pgd)) {
    pgd = radixCopy(pgd);
    b.owned.add(pgd);
    mm.pgd = pgd;
  }
  const g = pgdIndex(vpn);
  let pud = pgd[g] as Radix<PmdTable> | undefined;
  if (!pud || !b.owned.has(pud)) {
    pud = radixCopy(pud);
    b.owned.add(pud);
    pgd[g] = pud;
  }
  return pud;
}

/**
 * A writable PMD table for vpn: the path pgd -> pud -> pmd copied on its first write in
 * the batch. Undefined when it does not exist and `create` is false.
 */
function pmdSlot(b: Batch, mm: DMm, vpn: number, create: boolean): Radix<PmdEntry> | undefined {
  const key = mm.id * 1048576 + Math.floor(vpn / 262144);
  const hit = b.pmdts.get(key);
  if (hit) return hit;
  let pmdt = pmdtAt(mm, vpn) as Radix<PmdEntry> | undefined;
  if (!pmdt && !create) return undefined;
  const pud = pudForWrite(b, mm, vpn);
  if (!pmdt || !b.owned.has(pmdt)) {
    pmdt = radixCopy(pmdt);
    b.owned.add(pmdt);
    pud[pudIndex(vpn)] = pmdt;
  }
  b.pmdts.set(key, pmdt);
  return pmdt;
}

/** A writable PTE array for the table covering vpn (copy on first write in a batch). */
function ptesForWrite(b: Batch, mm: DMm, r: RawEvent, vpn: number): Float64Array {
  const key = mm.id * 67108864 + Math.floor(vpn / 512);
  if (key === b.lastTableKey) return b.lastTable!;
  const hit = b.tables.get(key);
  if (hit) {
    b.lastTableKey = key;
    b.lastTable = hit;
    return hit;
  }
  const i = pmdIndex(vpn);
  const cur = pmdtAt(mm, vpn)?.[i];
  if (!cur || cur.kind !== 'table') fail(r, `no PTE table at vpn ${vpn} in mm ${mm.id}`);
  let t = cur.ptes;
  if (!b.owned.has(t)) {
    t = t.slice();
    b.owned.add(t);
    pmdSlot(b, mm, vpn, false)![i] = { kind: 'table', ptes: t };
  }
  b.tables.set(key, t);
  b.lastTableKey = key;
  b.lastTable = t;
  return t;
}

/** A structural page-table event: the cached PTE arrays may no longer be where they were. */
function clearTables(b: Batch): void {
  b.tables.clear();
  b.lastTableKey = -1;
  b.lastTable = null;
}

function setPte(b: Batch, mm: DMm, r: RawEvent, vpn: number, v: number): void {
  const t = ptesForWrite(b, mm, r, vpn);
  const i = pteIndex(vpn);
  const old = t[i];
  if (old === 0 && v !== 0) t[512]++;
  else if (old !== 0 && v === 0) t[512]--;
  t[i] = v;
}

function getPte(b: Batch, mm: DMm, vpn: number): number {
  const key = mm.id * 67108864 + Math.floor(vpn / 512);
  const hit = key === b.lastTableKey ? b.lastTable : b.tables.get(key);
  if (hit) return hit[pteIndex(vpn)];
  const e = pmdtAt(mm, vpn)?.[pmdIndex(vpn)];
  if (!e || e.kind !== 'table') return 0;
  return e.ptes[pteIndex(vpn)];
}

function removeId(arr: number[], id: number): boolean {
  const i = arr.indexOf(id);
  if (i < 0) return false;
  arr.splice(i, 1);
  return true;
}

/** A small folio's `pae` (it uses FOLIO_PAE instead): one shared frozen empty array. */
const NO_PAE: number[] = Object.freeze([]) as unknown as number[];

/*
 * A small folio's one-page arrays (pageMapcount, content) are shared frozen constants,
 * replaced rather than written: a fault-in of a million pages then makes one object per
 * folio, not three (what survives a scavenge is copied, so fewer objects is less GC).
 */
const ONE_PAGE: number[][] = Array.from({ length: 64 }, (_, i) => Object.freeze([i]) as unknown as number[]);
function onePage(v: number): number[] {
  return v >= 0 && v < ONE_PAGE.length ? ONE_PAGE[v] : [v];
}

function newFolio(pfn: number, order: number): Folio {
  const n = 2 ** order;
  return {
    pfn,
    order,
    index: 0,
    mappingKind: MappingKind.None,
    mapping: 0,
    flags: 0,
    refcount: 1,
    pincount: 0,
    entireMapcount: 0,
    pageMapcount: n === 1 ? ONE_PAGE[0] : new Array<number>(n).fill(0),
    pae: order > 0 ? new Array<number>(n).fill(0) : NO_PAE,
    content: n === 1 ? ONE_PAGE[0] : new Array<number>(n).fill(0),
  };
}

/** Apply one raw event to a draft. The hot path of recording and of replay. */
export function applyToDraft(d: D, r: RawEvent, b: Batch): void {
  curBatch = b;
  if (b.seq < 0) b.seq = d.seq;
  if (r.seq !== b.seq) fail(r, `out of order: state expects seq ${b.seq}`);
  b.seq = r.seq + 1;
  // every type id has a case: a new schema entry (and its E member) fails to compile
  // here until it has one (the default's `never`)
  const type = r.type as E;
  switch (type) {
    case E.SpanOpen: {
      if (b.task < 0) b.task = d.task;
      ownSpans(d, b, b.task).push({ id: r.a, name: r.s });
      return;
    }
    case E.SpanClose: {
      if (b.task < 0) b.task = d.task;
      const st = ownSpans(d, b, b.task);
      if (st.length === 0 || st[st.length - 1].id !== r.a) fail(r, `span ${r.a} closed but not innermost open span of task ${b.task}`);
      st.pop();
      if (st.length === 0) {
        delete b.spans![b.task];
        b.spanOwned.delete(b.task);
      }
      return;
    }
    case E.TaskSwitch:
      d.task = r.a;
      b.task = r.a;
      return;
    case E.Error:
      b.counts.errors++;
      return;
    case E.MmCreate: {
      if (batchMm(d, b, r.a)) fail(r, `mm ${r.a} exists`);
      const m = new MmRecord(r.a, r.b, MapleTree.EMPTY, new Radix<PudTable>(), 0) as DMm;
      d.mms[r.a] = m as Draft<Mm>;
      b.mms.set(r.a, m);
      b.counts.mms++;
      return;
    }
    case E.MmExit: {
      const mm = mmOf(d, r, r.a);
      b.mms.set(r.a, null);
      clearTables(b);
      b.pmdts.clear();
      if (mm.vmas.size) fail(r, `mm ${r.a} exits with ${mm.vmas.size} VMAs`);
      delete d.mms[r.a];
      b.counts.mms--;
      return;
    }
    case E.MmWpSeq: {
      // raw_write_seqcount_begin/end(&mm->write_protect_seq) (kernel/fork.c dup_mmap)
      const mm = mmOf(d, r, r.a);
      mm.wpSeq += r.b;
      return;
    }
    case E.MmMergeAny: {
      // mm_flags_set/clear(MMF_VM_MERGE_ANY, mm) (mm/ksm.c ksm_enable_merge_any, ksm_disable_merge_any)
      const mm = mmOf(d, r, r.a);
      mm.mergeAny = r.b;
      return;
    }
    case E.LockAcquire: {
      if (b.task < 0) b.task = d.task;
      const locks = ownLocks(d, b);
      spillLock(b);
      const l = locks.get(r.s);
      if (!l) {
        // in the slot, not the Map, until another lock is taken (most are released first)
        b.slotName = r.s;
        b.slotState = soleHolder(r.a, r.b, b.task);
      } else {
        if (l.mode !== 1 || r.a !== 1) fail(r, `lock ${r.s} taken in mode ${r.a} while held in mode ${l.mode}`);
        locks.set(r.s, { mode: l.mode, kind: l.kind, holders: [...l.holders, b.task] });
      }
      return;
    }
    case E.LockRelease: {
      if (b.task < 0) b.task = d.task;
      if (b.slotName === r.s && b.slotState!.holders[0] === b.task) {
        // the lock taken last, by this task alone: released without the Map ever seeing it
        b.slotName = null;
        b.slotState = null;
        return;
      }
      const locks = ownLocks(d, b);
      spillLock(b);
      const l = locks.get(r.s);
      if (!l || !l.holders.includes(b.task)) fail(r, `lock ${r.s} released by task ${b.task} that does not hold it`);
      // a released lock stays as a key (undefined): deleting from a small Map shrinks and
      // regrows its table on every acquire/release pair; a batch of a whole log would
      // keep every folio lock it ever saw, so a large one lets go of them
      if (l.holders.length === 1) {
        if (locks.size < LOCK_KEYS_KEPT) locks.set(r.s, undefined);
        else locks.delete(r.s);
      } else {
        const rest = l.holders.filter((t) => t !== b.task);
        locks.set(r.s, rest.length === 1 ? soleHolder(l.mode, l.kind, rest[0]) : { mode: l.mode, kind: l.kind, holders: rest });
      }
      return;
    }
    case E.LockTryFail:
      return;
    case E.VmaInsert: {
      const t = tables(d);
      if (t.vmas.get(r.a)) fail(r, `vma ${r.a} exists`);
      const mm = mmOf(d, r, r.b);
      const v: WVma = { id: r.a, mm: r.b, start: r.c, end: r.d, pgoff: r.e, flags: r.f, anonVma: 0, chain: [], file: 0 };
      b.owned.add(v);
      t.vmas = t.vmas.set(r.a, v, b.owned);
      // vma_iter_store(): before any VMA with the same start (as a sorted array's insert)
      mm.vmas = mm.vmas.insert(r.c, r.a, b.owned);
      b.counts.vmas++;
      return;
    }
    case E.VmaRemove: {
      const v = vmaNow(d, r.a);
      if (!v) fail(r, `no vma ${r.a}`);
      if (v.chain.length) fail(r, `vma ${r.a} removed with ${v.chain.length} AVCs linked`);
      const mm = mmOf(d, r, v.mm);
      mm.vmas = mm.vmas.erase(v.start, r.a, b.owned);
      const t = tables(d);
      t.vmas = t.vmas.delete(r.a, b.owned);
      b.counts.vmas--;
      return;
    }
    case E.VmaAdjust: {
      const v = vmaOf(d, r, r.a);
      const old = v.start;
      v.start = r.b;
      v.end = r.c;
      v.pgoff = r.d;
      if (old !== r.b) {
        // a new vm_start is a new key: erase and store again (vma_iter_store)
        const mm = mmOf(d, r, v.mm);
        mm.vmas = mm.vmas.erase(old, r.a, b.owned).insert(r.b, r.a, b.owned);
      }
      return;
    }
    case E.VmaFlags:
      vmaOf(d, r, r.a).flags = r.b;
      return;
    case E.VmaSetAnonVma:
      vmaOf(d, r, r.a).anonVma = r.b;
      return;
    case E.VmaSetFile:
      vmaOf(d, r, r.a).file = r.b;
      return;
    case E.VmaPolicy: {
      // vma_replace_policy() / vma_dup_policy() (mm/mempolicy.c)
      const v = vmaOf(d, r, r.a);
      if (r.b) v.policy = r.b;
      else delete v.policy;
      return;
    }
    case E.SwapCache:
      if (r.b === 0) delete d.swapCache[r.a];
      else d.swapCache[r.a] = r.b;
      return;
    case E.PageContent: {
      const f = folioOfPage(d, r, r.a);
      if (f.order === 0) f.content = onePage(r.b ? 1 : 0);
      else ownPages(b, f).content[r.a - f.pfn] = r.b ? 1 : 0;
      return;
    }
    case E.VmaSplit:
    case E.VmaMerge:
    case E.Fault:
    case E.Note:
    case E.PudMove:
      return;
    case E.AnonVmaCreate: {
      const t = tables(d);
      if (t.anonVmas.get(r.a)) fail(r, `anon_vma ${r.a} exists`);
      const av: WAnonVma = { id: r.a, root: r.b || r.a, parent: r.c, refcount: 1, numChildren: 0, numActiveVmas: 0, vmas: [] };
      b.owned.add(av);
      b.owned.add(av.vmas);
      t.anonVmas = t.anonVmas.set(r.a, av, b.owned);
      b.counts.anonVmas++;
      return;
    }
    case E.AnonVmaFree: {
      const t = tables(d);
      const av = t.anonVmas.get(r.a);
      if (!av) fail(r, `no anon_vma ${r.a}`);
      if (av.vmas.length) fail(r, `anon_vma ${r.a} freed with ${av.vmas.length} AVCs`);
      t.anonVmas = t.anonVmas.delete(r.a, b.owned);
      b.counts.anonVmas--;
      return;
    }
    case E.AnonVmaCount: {
      const av = anonVmaOf(d, r.a);
      if (!av) fail(r, `no anon_vma ${r.a}`);
      if (r.b === 0) av.refcount += r.c;
      else if (r.b === 1) av.numChildren += r.c;
      else av.numActiveVmas += r.c;
      return;
    }
    case E.AvcLink: {
      const v = vmaOf(d, r, r.a);
      const av = anonVmaOf(d, r.b);
      if (!av) fail(r, `no anon_vma ${r.b}`);
      v.chain.push(r.b);
      avVmasForWrite(b, av).push(r.a);
      b.counts.avcs++;
      return;
    }
    case E.AvcUnlink: {
      const v = vmaOf(d, r, r.a);
      const av = anonVmaOf(d, r.b);
      if (!av || !removeId(v.chain, r.b) || !removeId(avVmasForWrite(b, av), r.a)) fail(r, `no AVC between vma ${r.a} and anon_vma ${r.b}`);
      b.counts.avcs--;
      return;
    }
    case E.FolioAlloc: {
      const ch = folioChunk(r.a);
      if (batchFolio(d, b, r.a)) fail(r, `folio ${r.a} exists`);
      const f = newFolio(r.a, r.b);
      chunkForWrite(d, b, ch)[folioSlot(r.a)] = f;
      b.lastSlots![folioSlot(r.a)] = 1;
      b.pagesOwned.add(r.a);
      remember(b, f as WFolio);
      b.counts.folios++;
      return;
    }
    case E.FolioFree: {
      if (!batchFolio(d, b, r.a)) fail(r, `no folio with head pfn ${r.a}`);
      const ch = folioChunk(r.a);
      delete chunkForWrite(d, b, ch)[folioSlot(r.a)];
      b.lastSlots![folioSlot(r.a)] = 0;
      if (b.wPfn === r.a) forget(b);
      if (b.freedChunks[b.freedChunks.length - 1] !== ch) b.freedChunks.push(ch);
      b.counts.folios--;
      return;
    }
    case E.FolioSplit: {
      // __split_folio_to_order(): each new folio keeps its pages' mappings and the
      // references they hold (pins stay with the head); a piece left unmapped has no
      // reference and must be freed by a folio_free that follows.
      const f = folioOf(d, r, r.a);
      forget(b);
      const n = 2 ** f.order;
      const m = 2 ** r.b;
      if (r.b >= f.order) fail(r, `split of order-${f.order} folio to order ${r.b}`);
      if (f.entireMapcount) fail(r, `split of a PMD-mapped folio ${r.a}`);
      for (let off = 0; off < n; off += m) {
        const pfn = f.pfn + off;
        const pae = f.pae.slice(off, off + m);
        const maps = f.pageMapcount.slice(off, off + m);
        const nf: Folio = {
          ...newFolio(pfn, r.b),
          index: f.index + off,
          mappingKind: f.mappingKind,
          mapping: f.mapping,
          flags: (f.flags & ~FOLIO_PAE) | (r.b === 0 && pae[0] ? FOLIO_PAE : 0),
          refcount: maps.reduce((x, y) => x + y, 0) + (off === 0 ? f.pincount : 0),
          pincount: off === 0 ? f.pincount : 0,
          entireMapcount: 0,
          pageMapcount: maps,
          pae: r.b > 0 ? pae : NO_PAE,
          content: f.content.slice(off, off + m),
        };
        chunkForWrite(d, b, folioChunk(pfn))[folioSlot(pfn)] = nf;
        b.lastSlots![folioSlot(pfn)] = 1;
        b.pagesOwned.add(pfn);
        if (off > 0) b.counts.folios++;
      }
      return;
    }
    case E.FolioIndex:
      folioOf(d, r, r.a).index = r.b;
      return;
    case E.FolioMapping: {
      const f = folioOf(d, r, r.a);
      f.mappingKind = r.b;
      f.mapping = r.c;
      return;
    }
    case E.FolioFlags: {
      const f = folioOf(d, r, r.a);
      f.flags = (f.flags | r.b) & ~r.c;
      return;
    }
    case E.PageAnonExclusive: {
      const f = folioOfPage(d, r, r.a);
      if (f.order === 0) f.flags = r.b ? f.flags | FOLIO_PAE : f.flags & ~FOLIO_PAE;
      else ownPages(b, f).pae[r.a - f.pfn] = r.b ? 1 : 0;
      return;
    }
    case E.FolioCount: {
      if (r.b === 2) {
        const f = folioOfPage(d, r, r.a);
        if (f.order === 0) f.pageMapcount = onePage(f.pageMapcount[0] + r.c);
        else ownPages(b, f).pageMapcount[r.a - f.pfn] += r.c;
        return;
      }
      const f = folioOf(d, r, r.a);
      if (r.b === 0) f.refcount += r.c;
      else if (r.b === 1) f.pincount += r.c;
      else f.entireMapcount += r.c;
      return;
    }
    case E.PteSet:
      setPte(b, mmOf(d, r, r.a), r, r.b, mkPte(r.c, r.d));
      return;
    case E.PteClear:
      setPte(b, mmOf(d, r, r.a), r, r.b, 0);
      return;
    case E.PteMove: {
      const mm = mmOf(d, r, r.a);
      const v = getPte(b, mm, r.b);
      setPte(b, mm, r, r.b, 0);
      setPte(b, mm, r, r.c, v);
      return;
    }
    case E.PteFlags: {
      const mm = mmOf(d, r, r.a);
      const v = getPte(b, mm, r.b);
      if (v <= 0) fail(r, `pte_flags on a non-present PTE at vpn ${r.b}`);
      setPte(b, mm, r, r.b, mkPte(Math.floor(v / 256), r.c));
      return;
    }
    case E.PteSwap:
      setPte(b, mmOf(d, r, r.a), r, r.b, -(r.c * 256 + (r.d & 255)));
      return;
    case E.PtAlloc: {
      clearTables(b);
      const mm = mmOf(d, r, r.a);
      const pmdt = pmdSlot(b, mm, r.b, true)!;
      const i = pmdIndex(r.b);
      if (pmdt[i]) fail(r, `PMD at vpn ${pmdBase(r.b)} already populated`);
      const t = new Float64Array(PTE_TABLE_SLOTS);
      b.owned.add(t);
      pmdt[i] = { kind: 'table', ptes: t };
      mm.ptTables++;
      return;
    }
    case E.PtFree: {
      clearTables(b);
      const mm = mmOf(d, r, r.a);
      const pmdt = pmdSlot(b, mm, r.b, false);
      const i = pmdIndex(r.b);
      const e = pmdt && pmdt[i];
      if (!e || e.kind !== 'table') fail(r, `no PTE table at vpn ${r.b}`);
      delete pmdt[i];
      mm.ptTables--;
      return;
    }
    case E.PtMove: {
      clearTables(b);
      const mm = mmOf(d, r, r.a);
      if (r.d === 1) {
        const src = pmdSlot(b, mm, r.b, false);
        const e = src && src[pmdIndex(r.b)];
        if (!e) fail(r, `pt_move from an empty PMD at vpn ${r.b}`);
        const dst = pmdSlot(b, mm, r.c, true)!;
        if (dst[pmdIndex(r.c)]) fail(r, `pt_move onto a populated PMD at vpn ${r.c}`);
        dst[pmdIndex(r.c)] = e;
        delete src[pmdIndex(r.b)];
      } else {
        b.pmdts.clear();
        const e = pmdtAt(mm, r.b);
        if (!e) fail(r, `pt_move from an empty PUD at vpn ${r.b}`);
        if (pmdtAt(mm, r.c)) fail(r, `pt_move onto a populated PUD at vpn ${r.c}`);
        pudForWrite(b, mm, r.c)[pudIndex(r.c)] = e;
        delete pudForWrite(b, mm, r.b)[pudIndex(r.b)];
      }
      return;
    }
    case E.PmdSet: {
      clearTables(b);
      const mm = mmOf(d, r, r.a);
      const pmdt = pmdSlot(b, mm, r.b, true)!;
      const i = pmdIndex(r.b);
      const e = pmdt[i];
      if (e && (e.kind !== 'table' || e.ptes[512] !== 0)) fail(r, `pmd_set over a populated PMD at vpn ${r.b}`);
      if (e) mm.ptTables--; // the empty PTE table is withdrawn (deposited) under the huge PMD
      pmdt[i] = { kind: 'huge', pfn: r.c, flags: r.d | 1 };
      return;
    }
    case E.PmdClear: {
      clearTables(b);
      const mm = mmOf(d, r, r.a);
      const pmdt = pmdSlot(b, mm, r.b, false);
      const i = pmdIndex(r.b);
      if (!pmdt || !pmdt[i] || pmdt[i].kind !== 'huge') fail(r, `pmd_clear of a non-huge PMD at vpn ${r.b}`);
      delete pmdt[i];
      return;
    }
    case E.PmdMove: {
      clearTables(b);
      const mm = mmOf(d, r, r.a);
      const src = pmdSlot(b, mm, r.b, false);
      const e = src && src[pmdIndex(r.b)];
      if (!e || e.kind !== 'huge') fail(r, `pmd_move of a non-huge PMD at vpn ${r.b}`);
      const dst = pmdSlot(b, mm, r.c, true)!;
      const de = dst[pmdIndex(r.c)];
      if (de && (de.kind !== 'table' || de.ptes[512] !== 0)) fail(r, `pmd_move onto a populated PMD at vpn ${r.c}`);
      if (de) mm.ptTables--;
      dst[pmdIndex(r.c)] = e;
      delete src[pmdIndex(r.b)];
      return;
    }
    case E.PmdSplit: {
      clearTables(b);
      const mm = mmOf(d, r, r.a);
      const pmdt = pmdSlot(b, mm, r.b, false);
      const i = pmdIndex(r.b);
      const e = pmdt && pmdt[i];
      if (!e || e.kind !== 'huge') fail(r, `pmd_split of a non-huge PMD at vpn ${r.b}`);
      const t = new Float64Array(PTE_TABLE_SLOTS);
      for (let k = 0; k < 512; k++) t[k] = mkPte(e.pfn + k, e.flags);
      t[512] = 512;
      b.owned.add(t);
      pmdt[i] = { kind: 'table', ptes: t };
      mm.ptTables++;
      return;
    }
    case E.PmdFlags: {
      const mm = mmOf(d, r, r.a);
      const pmdt = pmdSlot(b, mm, r.b, false);
      const e = pmdt && pmdt[pmdIndex(r.b)];
      if (!e || e.kind !== 'huge') fail(r, `pmd_flags of a non-huge PMD at vpn ${r.b}`);
      pmdt[pmdIndex(r.b)] = { kind: 'huge', pfn: e.pfn, flags: r.c | 1 };
      return;
    }
    case E.ShmemCreate:
      d.shmems[r.a] = { id: r.a, size: r.b, pages: {} };
      return;
    case E.ShmemPage: {
      const sh = d.shmems[r.a];
      if (!sh) fail(r, `no shmem ${r.a}`);
      if (r.c === 0) delete sh.pages[r.b];
      else sh.pages[r.b] = r.c;
      return;
    }
    case E.SwapCount: {
      const n = (d.swap[r.a] ?? 0) + r.b;
      if (n < 0) fail(r, `swap slot ${r.a} count below zero`);
      if (n === 0) delete d.swap[r.a];
      else d.swap[r.a] = n;
      return;
    }
    default:
      unknownType(r, type);
  }
}

/** A type id no schema entry has (a corrupt log); `never`: every known id has a case. */
function unknownType(r: RawEvent, _type: never): never {
  fail(r, `unknown event type id ${r.type}`);
}

/** apply(state, event): the pure reducer on typed events (one produce per call). */
export function apply(state: State, event: MmEvent): State {
  return applyMany(state, [event]);
}

/** Apply several typed events in one produce. */
export function applyMany(state: State, events: Iterable<MmEvent>): State {
  const d = createDraft(state);
  const b = newBatch();
  const r = newRawEvent();
  for (const ev of events) applyToDraft(d, fromEvent(ev, r), b);
  finishBatch(d, b);
  return finishDraft(d) as State;
}

export { emptyState };
