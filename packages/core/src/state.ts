/**
 * The simulated machine's state: immutable, produced with immer by the reducer.
 *
 * Shaped like the hardware so that structural sharing works: a 4-level radix page
 * table per mm whose leaves are 4 KiB typed arrays of 512 entries (a PTE table),
 * folios chunked by pfn, small records for VMAs and anon_vmas. A change copies one PTE
 * table and the path to it, never a whole table of the machine.
 */

import { IdTable } from './idtable.js';
import { MapleTree } from './maple.js';
import { mtFindVma, mtForEachVmaInRange } from './vmaiter.js';

export const PAGE_SHIFT = 12;
export const PTRS_PER_TABLE = 512;
/** pages mapped by one PMD entry (2 MiB) */
export const HPAGE_PMD_NR = 512;
export const HPAGE_PMD_ORDER = 9;
/** pages mapped by one PUD entry (1 GiB) */
export const HPAGE_PUD_NR = 512 * 512;

/** Physical page numbers reserved for the shared zero pages. */
export const ZERO_PFN = 1;
/** The huge zero folio: an order-9 folio at this (aligned) pfn. */
export const HUGE_ZERO_PFN = 512;
/** First pfn handed out by the folio allocator. */
export const FIRST_ALLOC_PFN = 1024;

/* ----- PTE encoding: one double per entry ------------------------------------------
 * 0                 none
 * pfn * 256 + flags present page (flags & PTE_PRESENT set)
 * -(slot * 256 + f) swap entry
 */
export const PTE_PRESENT = 1;
export const PTE_WRITE = 2;
export const PTE_DIRTY = 4;
export const PTE_YOUNG = 8;
/** pte_special: the zero page (vm_normal_page() returns NULL) */
export const PTE_SPECIAL = 16;
export const PTE_SOFT_DIRTY = 32;
/** swap PTE: the page was PageAnonExclusive when swapped out (pte_swp_exclusive) */
export const PTE_SWP_EXCLUSIVE = 64;

export function ptePfn(v: number): number {
  return v > 0 ? Math.floor(v / 256) : 0;
}
export function pteFlags(v: number): number {
  return v > 0 ? v % 256 : v < 0 ? -v % 256 : 0;
}
export function pteIsPresent(v: number): boolean {
  return v > 0;
}
export function pteIsSwap(v: number): boolean {
  return v < 0;
}
export function pteSwapSlot(v: number): number {
  return v < 0 ? Math.floor(-v / 256) : 0;
}
export function mkPte(pfn: number, flags: number): number {
  return pfn * 256 + ((flags | PTE_PRESENT) & 255);
}
export function mkSwapPte(slot: number, flags: number): number {
  return -(slot * 256 + (flags & 255));
}

/** A PMD entry: a PTE table, or a huge leaf mapping a PMD-sized folio. */
export interface PteTable {
  readonly kind: 'table';
  /**
   * 512 encoded PTEs, then at [512] the number of non-none entries (to free empty tables
   * and skip them when walking). Copied on write: never mutate one you did not allocate
   * in this batch.
   */
  readonly ptes: Float64Array;
}

/** Slots of a PTE table's array: 512 entries and the count of used ones. */
export const PTE_TABLE_SLOTS = 513;

/** Non-none entries of a PTE table. */
export function tableUsed(t: PteTable): number {
  return t.ptes[512];
}
export interface HugePmd {
  readonly kind: 'huge';
  readonly pfn: number;
  /** PTE_* bits, with PTE_PRESENT */
  readonly flags: number;
}
export type PmdEntry = PteTable | HugePmd;

/**
 * A node of one of the state's radix trees (a pgd, pud or pmd level of a page table; the
 * folio table and its chunks): index -> child, as own integer-keyed properties so that
 * `t[i]` and `Object.keys(t)` read like a record.
 *
 * It is a class, not a plain object, on purpose: immer drafts and finalizes only plain
 * objects, so it treats a Radix as a value. The reducer copies a node on its first write
 * in a batch (the path from the root down, like the PTE arrays) and never mutates a node
 * it did not copy itself. That keeps immer's per-commit walk and its read traps off the
 * big tables: a 1 GiB region's page table or folio table is never proxied or frozen.
 */
export class Radix<T> {
  [index: number]: T;
}

/** A writable copy of a radix node (for the reducer's copy-on-write). */
export function radixCopy<T>(n: Readonly<Record<number, T>> | undefined): Radix<T> {
  const c = new Radix<T>();
  if (!n) return c;
  // an explicit key loop: several times faster than Object.assign on integer keys
  const ks = Object.keys(n);
  for (let i = 0; i < ks.length; i++) {
    const k = ks[i] as unknown as number;
    c[k] = n[k];
  }
  return c;
}

/** pmd index -> entry */
export type PmdTable = Readonly<Record<number, PmdEntry>>;
/** pud index -> PMD table */
export type PudTable = Readonly<Record<number, PmdTable>>;
/** pgd index -> PUD table */
export type Pgd = Readonly<Record<number, PudTable>>;

export function pgdIndex(vpn: number): number {
  return Math.floor(vpn / (512 * 512 * 512)) % 512;
}
export function pudIndex(vpn: number): number {
  return Math.floor(vpn / (512 * 512)) % 512;
}
export function pmdIndex(vpn: number): number {
  return Math.floor(vpn / 512) % 512;
}
export function pteIndex(vpn: number): number {
  return vpn % 512;
}
/** first vpn covered by the PMD entry containing vpn */
export function pmdBase(vpn: number): number {
  return vpn - (vpn % 512);
}

/**
 * An mm's record in the state. A class for the same reason as Radix: immer treats it as a
 * value, so the reducer copies it on its first change in a batch and kernel code reads
 * its page table and VMA list without proxies.
 */
export class MmRecord implements Mm {
  constructor(
    readonly id: number,
    readonly parent: number,
    readonly vmas: MapleTree,
    readonly pgd: Pgd,
    readonly ptTables: number,
    readonly wpSeq: number = 0,
    readonly mergeAny: number = 0,
  ) {}
}

export interface Mm {
  readonly id: number;
  /** mm this one was forked from (0: none) */
  readonly parent: number;
  /** the mm's VMAs: vm_start -> VMA id, ascending (mm->mm_mt, the maple tree); `.size` is map_count */
  readonly vmas: MapleTree;
  readonly pgd: Pgd;
  /** number of PTE tables allocated (mm->pgtables_bytes / PAGE_SIZE) */
  readonly ptTables: number;
  /** mm->write_protect_seq (odd while fork, or a relocation that closes GUP-fast's window, writes) */
  readonly wpSeq: number;
  /** MMF_VM_MERGE_ANY in mm->flags (1: set by prctl(PR_SET_MEMORY_MERGE, 1) or inherited at fork) */
  readonly mergeAny: number;
}

/** vm_flags bits, the kernel's values (include/linux/mm.h) */
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_UFFD_MISSING = 0x200;
export const VM_PFNMAP = 0x400;
/**
 * VM_SEALED (mseal()). The kernel's bit is 42 (VM_SEALED_BIT), past the 32 bits the
 * model's vm_flags arithmetic uses (JavaScript's bitwise operators), so the model keeps it
 * at 0x800, a bit 6.18 leaves unused (once VM_DENYWRITE). Only its meaning matters: it
 * takes part in merges as any flag does (is_mergeable_vma), smaps shows it as `sl`.
 */
export const VM_SEALED = 0x800;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
/** MADV_SEQUENTIAL */
export const VM_SEQ_READ = 0x8000;
/** MADV_RANDOM */
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
/** mlock2(MLOCK_ONFAULT), mlockall(MCL_ONFAULT): lock pages as they are faulted in */
export const VM_LOCKONFAULT = 0x80000;
/** VM_LOCKED | VM_LOCKONFAULT (mm.h VM_LOCKED_MASK) */
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_SYNC = 0x800000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_SOFTDIRTY = 0x8000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
export const VM_MERGEABLE = 0x80000000;
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

export interface Vma {
  readonly id: number;
  readonly mm: number;
  /** vm_start >> PAGE_SHIFT */
  readonly start: number;
  /** vm_end >> PAGE_SHIFT (exclusive) */
  readonly end: number;
  readonly pgoff: number;
  readonly flags: number;
  /** vma->anon_vma (0: unfaulted) */
  readonly anonVma: number;
  /** anon_vma ids this VMA's anon_vma_chain links, oldest first (the chain's order) */
  readonly chain: readonly number[];
  /** shmem object backing a shared anonymous mapping (0: none) */
  readonly file: number;
  /**
   * vma->vm_policy (mbind), as a key that is equal exactly when mpol_equal() says so
   * (@mmsim/linux mempolicy.ts); absent or 0: none. Set by vma_policy events only, so a
   * VMA that never had one carries no field.
   */
  readonly policy?: number;
}

export interface AnonVma {
  readonly id: number;
  readonly root: number;
  /** 0 for a root */
  readonly parent: number;
  readonly refcount: number;
  readonly numChildren: number;
  readonly numActiveVmas: number;
  /** VMAs whose chain links this anon_vma (the interval tree, by id) */
  readonly vmas: readonly number[];
}

/** folio flag bits */
export const FOLIO_ANON = 1;
export const FOLIO_KSM = 2;
export const FOLIO_SWAPCACHE = 4;
export const FOLIO_LOCKED = 8;
/** PageAnonExclusive of a small folio's only page (large folios use `pae`) */
export const FOLIO_PAE = 16;
export const FOLIO_DIRTY = 32;

export interface Folio {
  /** head pfn */
  readonly pfn: number;
  readonly order: number;
  readonly index: number;
  /** 0 none, 1 anon_vma, 2 shmem, 3 ksm (MappingKind) */
  readonly mappingKind: number;
  /** anon_vma id / shmem id */
  readonly mapping: number;
  readonly flags: number;
  readonly refcount: number;
  readonly pincount: number;
  /** PMD mappings of the whole folio (folio->_entire_mapcount + 1) */
  readonly entireMapcount: number;
  /** per-page mapcounts (page->_mapcount + 1), length 2^order */
  readonly pageMapcount: readonly number[];
  /** per-page PageAnonExclusive for large folios (small: FOLIO_PAE flag); length 2^order or empty */
  readonly pae: readonly number[];
  /** per page: 1 once it holds non-zero data (a user wrote it), 0 while it is all zeroes */
  readonly content: readonly number[];
}

/** folio_mapcount(): PTE maps of every page plus entire maps */
export function folioMapcount(f: Folio): number {
  let n = 0;
  for (const c of f.pageMapcount) n += c;
  return n + f.entireMapcount * (f.order > 0 ? 1 : 0);
}

/** folio_precise_page_mapcount(): how many times this page is mapped */
export function pagePreciseMapcount(f: Folio, pfn: number): number {
  return f.pageMapcount[pfn - f.pfn] + f.entireMapcount;
}

export function pageAnonExclusive(f: Folio, pfn: number): boolean {
  return f.order === 0 ? (f.flags & FOLIO_PAE) !== 0 : f.pae[pfn - f.pfn] === 1;
}

/**
 * Folios per chunk of the folio table. Small, so that copying a chunk on its first
 * write in a batch is cheap (a syscall that touches one folio copies one chunk).
 */
export const FOLIO_CHUNK = 256;
/** pfn chunk -> head pfn % FOLIO_CHUNK -> folio (dense small keys: fast to read and copy) */
export type FolioTable = Readonly<Record<number, Readonly<Record<number, Folio>>>>;

export interface Shmem {
  readonly id: number;
  /** i_size in pages: faults at or beyond it get SIGBUS */
  readonly size: number;
  /** page index in the object -> pfn */
  readonly pages: Readonly<Record<number, number>>;
}

export interface LockState {
  /** 0 exclusive/write, 1 shared/read */
  readonly mode: number;
  /** 0 sleeping, 1 spinning */
  readonly kind: number;
  /** tasks holding it (one for exclusive) */
  readonly holders: readonly number[];
}

export interface SpanFrame {
  readonly id: number;
  readonly name: string;
}

export interface State {
  /** seq of the next event to apply (= events applied so far) */
  readonly seq: number;
  readonly mms: Readonly<Record<number, Mm>>;
  /** every VMA by id (a persistent table: a change copies a path, not the table) */
  readonly vmas: IdTable<Vma>;
  /** every anon_vma by id (as vmas) */
  readonly anonVmas: IdTable<AnonVma>;
  readonly folios: FolioTable;
  readonly shmems: Readonly<Record<number, Shmem>>;
  /** swap slot -> users */
  readonly swap: Readonly<Record<number, number>>;
  /** swap slot -> the folio the swap cache holds for it */
  readonly swapCache: Readonly<Record<number, number>>;
  readonly locks: Readonly<Record<string, LockState>>;
  /** open spans per task, outermost first */
  readonly spans: Readonly<Record<number, readonly SpanFrame[]>>;
  /** task whose events come next */
  readonly task: number;
  /** counts kept so that views and benchmarks need not walk the whole state */
  readonly counts: Counts;
}

export interface Counts {
  readonly vmas: number;
  readonly anonVmas: number;
  readonly avcs: number;
  readonly folios: number;
  readonly mms: number;
  readonly errors: number;
}

export function emptyState(): State {
  return {
    seq: 0,
    mms: {},
    vmas: IdTable.empty<Vma>(),
    anonVmas: IdTable.empty<AnonVma>(),
    folios: new Radix(),
    shmems: {},
    swap: {},
    swapCache: {},
    locks: {},
    spans: {},
    task: 0,
    counts: { vmas: 0, anonVmas: 0, avcs: 0, folios: 0, mms: 0, errors: 0 },
  };
}

/* ----- read-only lookups (work on states and on drafts) ----- */

export function lookupPmd(mm: Mm, vpn: number): PmdEntry | undefined {
  const pud = mm.pgd[pgdIndex(vpn)];
  if (!pud) return undefined;
  const pmdt = pud[pudIndex(vpn)];
  if (!pmdt) return undefined;
  return pmdt[pmdIndex(vpn)];
}

/** The encoded PTE at vpn: 0 none; for a huge PMD, the PTE it implies for that page. */
export function lookupPte(mm: Mm, vpn: number): number {
  const e = lookupPmd(mm, vpn);
  if (!e) return 0;
  if (e.kind === 'table') return e.ptes[pteIndex(vpn)];
  return mkPte(e.pfn + pteIndex(vpn), e.flags);
}

export function folioChunk(pfn: number): number {
  return Math.floor(pfn / FOLIO_CHUNK);
}

/** A folio's slot in its chunk. */
export function folioSlot(pfn: number): number {
  return pfn % FOLIO_CHUNK;
}

/** Every folio of a state, by ascending head pfn. */
export function forEachFolio(s: State, fn: (f: Folio) => void): void {
  const chunks = Object.keys(s.folios).map(Number).sort((a, b) => a - b);
  for (const c of chunks) {
    const ch = s.folios[c];
    for (const k of Object.keys(ch).map(Number).sort((a, b) => a - b)) fn(ch[k]);
  }
}

/** The folio whose head is exactly pfn. */
export function folioAtHead(s: State, pfn: number): Folio | undefined {
  const c = s.folios[folioChunk(pfn)];
  return c ? c[pfn % FOLIO_CHUNK] : undefined;
}

/** page_folio(): the folio containing page pfn (large folios are naturally aligned). */
export function pageFolio(s: State, pfn: number): Folio | undefined {
  const f = folioAtHead(s, pfn);
  if (f) return f;
  for (let order = 1; order <= 18; order++) {
    const head = pfn - (pfn % 2 ** order);
    const g = folioAtHead(s, head);
    if (g && g.order >= order) return g;
    if (head === 0) break;
  }
  return undefined;
}

/**
 * A plain copy of a VMA: field by field, so that it works on an immer draft without
 * running its ownKeys/descriptor traps (a spread would), and stays what it was after
 * the next event. For readers that cache VMAs between changes (kernel code, checkers).
 */
export function copyVma(v: Vma): Vma {
  const c: { -readonly [K in keyof Vma]: Vma[K] } = {
    id: v.id,
    mm: v.mm,
    start: v.start,
    end: v.end,
    pgoff: v.pgoff,
    flags: v.flags,
    anonVma: v.anonVma,
    chain: v.chain.length === 1 ? [v.chain[0]] : v.chain.slice(),
    file: v.file,
  };
  if (v.policy) c.policy = v.policy;
  return c;
}

/** A plain copy of an anon_vma (as copyVma). */
export function copyAnonVma(a: AnonVma): AnonVma {
  return {
    id: a.id,
    root: a.root,
    parent: a.parent,
    refcount: a.refcount,
    numChildren: a.numChildren,
    numActiveVmas: a.numActiveVmas,
    vmas: a.vmas.slice(),
  };
}

/** A reader of a state's VMAs by id (for the vmaiter lookups). */
export function vmaReader(s: State): (id: number) => Vma {
  const t = s.vmas;
  return (id) => {
    const v = t.get(id);
    if (!v) throw new Error(`no vma ${id}`);
    return v;
  };
}

/**
 * A plain copy of an anon_vma that shares its VMA list (O(1), where copyAnonVma copies
 * k ids): for readers that drop it at the next event (the kernel's and the checkers'
 * caches). The list may change in place while the batch that wrote it is open.
 */
export function shareAnonVma(a: AnonVma): AnonVma {
  return {
    id: a.id,
    root: a.root,
    parent: a.parent,
    refcount: a.refcount,
    numChildren: a.numChildren,
    numActiveVmas: a.numActiveVmas,
    vmas: a.vmas,
  };
}

/** find_vma(): the first VMA with end > vpn, in mm (O(log n)) */
export function findVma(s: State, mm: Mm, vpn: number): Vma | undefined {
  return mtFindVma(mm.vmas, vmaReader(s), vpn);
}

/** vma_lookup(): the VMA containing vpn */
export function vmaLookup(s: State, mm: Mm, vpn: number): Vma | undefined {
  const v = findVma(s, mm, vpn);
  return v && v.start <= vpn ? v : undefined;
}

/** VMAs of mm overlapping [start, end), ascending (O(log n + k)). */
export function vmasInRange(s: State, mm: Mm, start: number, end: number): Vma[] {
  const out: Vma[] = [];
  mtForEachVmaInRange(mm.vmas, vmaReader(s), start, end, (v) => {
    out.push(v);
  });
  return out;
}

/** Every VMA of mm, ascending (O(n): for views and whole-state checks). */
export function mmVmas(s: State, mm: Mm): Vma[] {
  const get = vmaReader(s);
  return mm.vmas.ids().map(get);
}

/** Iterate present/swap PTE entries of mm in [start, end) (skips empty tables fast). */
export function forEachPte(
  mm: Mm,
  start: number,
  end: number,
  fn: (vpn: number, pte: number, huge: HugePmd | null) => void,
): void {
  let vpn = start;
  while (vpn < end) {
    const base = pmdBase(vpn);
    const next = Math.min(end, base + 512);
    const e = lookupPmd(mm, vpn);
    if (e) {
      if (e.kind === 'huge') {
        for (let v = vpn; v < next; v++) fn(v, mkPte(e.pfn + (v - base), e.flags), e);
      } else if (e.ptes[512] > 0) {
        const t = e.ptes;
        for (let v = vpn; v < next; v++) {
          const p = t[v - base];
          if (p !== 0) fn(v, p, null);
        }
      }
    }
    vpn = next;
  }
}
