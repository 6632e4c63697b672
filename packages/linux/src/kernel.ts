/**
 * The simulated kernel: an Engine plus the configuration the model reads (THP mode,
 * mTHP orders) and the helpers every mm file shares (lock names, allocators).
 */
import {
  ACCESS,
  E,
  Engine,
  lookupPmd,
  lookupPte,
  shareAnonVma,
  copyVma,
  findVmaRank,
  mtFindVma,
  mtFindVmaPrev,
  mtForEachVmaInRange,
  mtVmaIdsInRange,
  mtVmaNext,
  mtVmaPrev,
  mtVmaStartingFrom,
  type EngineOptions,
  type Mm,
  type PmdEntry,
  type Plugin,
  type Shmem,
  type State,
  type Vma,
  type AnonVma,
} from '@mmsim/core';
import { defaultMergePolicy } from './merge_policy.js';
import { MERGE_POLICY, type MergePolicy } from './points.js';
import { HISTORIC_FIXES, LATEST_RELEASE, isHistoricFix, releaseHas, releaseSublevel, type ReleaseChangeId } from './release.js';

export interface KernelConfig {
  /** /sys/kernel/mm/transparent_hugepage/enabled */
  thp: 'always' | 'madvise' | 'never';
  /** mTHP orders (1..8) enabled as "inherit"/"always" at PTE level; the machines have none */
  mthpOrders: number[];
  /** transparent_hugepage/use_zero_page */
  useZeroPage: boolean;
  /**
   * Read faults map the shared zero page (do_anonymous_page(), and the huge zero page in
   * do_huge_pmd_anonymous_page() with useZeroPage). False on kernels booted with the
   * vendor parameter `pvm_no_zero_page=1` (these machines): a read fault then allocates a
   * folio exactly as a write fault does, anon_vma and all, like mm_forbids_zeropage() —
   * but, unlike it, try_to_map_unused_to_zeropage() still maps zero-filled subpages to
   * the zero page after a THP split (measured on 6.18.44 with pvm_no_zero_page=1).
   */
  faultZeroPage: boolean;
  /** vm.overcommit_memory (0 guess, 1 always, 2 never) */
  overcommit: 0 | 1 | 2;
  /** vm.max_map_count */
  maxMapCount: number;
  /**
   * The 6.18.y release whose code runs ("6.18.7", or LATEST_RELEASE): where stable
   * releases differ (release.ts RELEASE_CHANGES), the model follows this one.
   */
  release: string;
  /** Fixes undone (release.ts HISTORIC_FIXES): a historic bug brought back, for the bug zoo. */
  revert: readonly string[];
}

export const DEFAULT_CONFIG: KernelConfig = {
  thp: 'madvise',
  mthpOrders: [],
  useZeroPage: true,
  faultZeroPage: true,
  overcommit: 0,
  maxMapCount: 65530,
  release: LATEST_RELEASE,
  revert: [],
};

/** Where the scenario arena starts (vpn), 2 MiB aligned, far from anything else. */
export const ARENA_BASE = 0x10000000;
/** mmap_base of every simulated process: top-down searches start below it. */
export const MMAP_BASE = 0x7f0000000;
/** TASK_SIZE in pages (47-bit user address space) */
export const TASK_SIZE = 2 ** 35;

export interface KernelOptions extends EngineOptions {
  engine?: Engine;
  config?: Partial<KernelConfig>;
  plugins?: (Plugin<unknown> | [Plugin<unknown>, unknown])[];
}

export class Kernel {
  readonly eng: Engine;
  readonly config: KernelConfig;
  /**
   * shmem objects mapped through vm_ops without ->map_pages: a SysV segment's
   * shm_vm_ops (ipc/shm.c) has none, so should_fault_around() is false and a read
   * fault maps only its own page. Set by whoever creates the object (shmget).
   */
  readonly noFaultAround = new Set<number>();

  constructor(opts: KernelOptions = {}) {
    this.config = { ...DEFAULT_CONFIG, ...(opts.config ?? {}) };
    if (releaseSublevel(this.config.release) === null)
      throw new Error(`unknown kernel release "${this.config.release}": the model knows 6.18.N (N = 0, 1, ...) and ${LATEST_RELEASE}`);
    for (const id of this.config.revert)
      if (!isHistoricFix(id)) throw new Error(`unknown fix to revert "${id}" (known: ${HISTORIC_FIXES.map((f) => f.id).join(', ')})`);
    this.latest = this.config.release === LATEST_RELEASE && this.config.revert.length === 0;
    this.eng = opts.engine ?? new Engine({ ...opts, config: { ...(opts.config ?? {}), ...(opts.engine ? {} : {}) } });
    for (const p of opts.plugins ?? []) {
      if (Array.isArray(p)) this.eng.plugins.use(p[0], p[1]);
      else this.eng.plugins.use(p);
    }
    if (!opts.engine) this.eng.attachSubscribers();
  }

  /**
   * Fault injection (tools/testing/vma's fail_prealloc): the next maple-tree
   * preallocation (vma_iter_prealloc) fails with -ENOMEM. Armed by a scenario step's
   * `"fail": "prealloc"` for that step only; consumed by the first allocation it hits.
   */
  private armed: 'prealloc' | null = null;

  /** Arm (or with null, disarm) the fault the next allocation of its kind hits. */
  armFault(kind: 'prealloc' | null): void {
    this.armed = kind;
  }

  /**
   * vma_iter_prealloc(): false when an armed fault makes it fail (then disarmed, with a
   * note in the log saying which call failed).
   */
  vmaIterPrealloc(where: string): boolean {
    if (this.armed !== 'prealloc') return true;
    this.armed = null;
    this.eng.emit(E.Note, 0, 0, 0, 0, 0, 0, JSON.stringify({ inject: 'prealloc', failed: `vma_iter_prealloc in ${where}` }));
    return false;
  }

  /** the release is the newest the model follows: every change of release.ts is in (the hot path asks this) */
  private readonly latest: boolean;

  /** Does the release this kernel runs have the change (release.ts)? */
  has(change: ReleaseChangeId): boolean {
    return this.latest || (releaseHas(this.config.release, change) && !this.config.revert.includes(change));
  }

  /**
   * current state (draft while a syscall runs). Model code reads through the accessors
   * below, which tell the explorer what they read; a read of the raw state counts as
   * reading everything.
   */
  get s(): State {
    this.eng.noteRead(ACCESS.All);
    return this.eng.s;
  }

  /** The mm record (its VMA tree: a structure read; PTE reads go through pgtable.ts's getPte). */
  mm(id: number): Mm {
    this.eng.noteRead(ACCESS.Structure);
    const m = this.eng.mmNow(id);
    if (!m) throw new Error(`no mm ${id}`);
    return m;
  }

  /** The PMD entry covering vpn (a PTE table read; pmd_offset on a live mm). */
  pmdOf(mm: number, vpn: number): PmdEntry | undefined {
    this.eng.noteRead(ACCESS.Pte, mm, vpn);
    const m = this.eng.mmNow(mm);
    if (!m) throw new Error(`no mm ${mm}`);
    return lookupPmd(m, vpn);
  }

  /** The PTE at vpn (a PMD leaf read as the PTE it stands for; 0: none). */
  pteOf(mm: number, vpn: number): number {
    this.eng.noteRead(ACCESS.Pte, mm, vpn);
    const m = this.eng.mmNow(mm);
    if (!m) throw new Error(`no mm ${mm}`);
    return lookupPte(m, vpn);
  }

  /** Is mm alive (not exited)? */
  hasMm(id: number): boolean {
    this.eng.noteRead(ACCESS.Structure);
    return this.eng.mmNow(id) !== undefined;
  }

  /** A VMA as it is now, or undefined when it is gone (a copy, as vma()). */
  liveVma(id: number): Vma | undefined {
    this.syncCaches();
    return this.vmaCache.get(id) ?? (this.eng.s.vmas.get(id) ? this.vma(id) : undefined);
  }

  /** An anon_vma as it is now, or undefined when it was freed (a copy, as anonVma()). */
  liveAnonVma(id: number): AnonVma | undefined {
    this.syncCaches();
    return this.avCache.get(id) ?? (this.eng.s.anonVmas.get(id) ? this.anonVma(id) : undefined);
  }

  /** Every anon_vma, as they are now (a structure read). */
  anonVmasNow(): Iterable<AnonVma> {
    this.eng.noteRead(ACCESS.Structure);
    return this.eng.s.anonVmas.values();
  }

  /** swap_count(): the references to a swap slot. */
  swapCount(slot: number): number {
    this.eng.noteRead(ACCESS.Swap, slot);
    return this.eng.s.swap[slot] ?? 0;
  }

  /** The swap cache's folio for a slot (0: none). */
  swapCacheFolio(slot: number): number {
    this.eng.noteRead(ACCESS.Swap, slot);
    return this.eng.s.swapCache[slot] ?? 0;
  }

  /** A shmem object as it is now (undefined: none). */
  shmem(id: number): Shmem | undefined {
    this.eng.noteRead(ACCESS.Shmem, id);
    return this.eng.s.shmems[id];
  }

  /**
   * A VMA as it is now. A copy: the state is a live immer draft while a syscall runs,
   * and a value read after the next event must not change under the reader.
   */
  vma(id: number): Vma {
    this.syncCaches();
    const hit = this.vmaCache.get(id);
    if (hit) return hit;
    const v = this.eng.s.vmas.get(id);
    if (!v) throw new Error(`no vma ${id}`);
    this.vmaReads++;
    const copy = copyVma(v);
    this.vmaCache.set(id, copy);
    return copy;
  }

  /*
   * Copies of VMAs and anon_vmas read since the last change to either (Engine.structureGen):
   * a fault-in of a million pages reads the same VMA a million times through immer's
   * proxies otherwise. Shared between readers: treat them as frozen.
   */
  private vmaCache = new Map<number, Vma>();
  /** VMA records read from the state (cache misses of vma()): a work counter for tests */
  vmaReads = 0;
  private avCache = new Map<number, AnonVma>();
  private lastLookup = new Map<number, Vma>();
  private cacheGen = -1;
  private syncCaches(): void {
    // every VMA and anon_vma read passes here, cache hits too: a structure read
    this.eng.noteRead(ACCESS.Structure);
    if (this.cacheGen === this.eng.structureGen) return;
    this.cacheGen = this.eng.structureGen;
    // Map.clear() allocates a fresh table: skip the empty ones (most, on most events)
    if (this.vmaCache.size) this.vmaCache.clear();
    if (this.avCache.size) this.avCache.clear();
    if (this.lastLookup.size) this.lastLookup.clear();
  }

  /** vma_lookup() with a one-entry cache per mm (faults walk a VMA page by page). */
  vmaAt(mm: number, vpn: number): Vma | undefined {
    this.syncCaches();
    const last = this.lastLookup.get(mm);
    if (last && last.start <= vpn && vpn < last.end) return last;
    const v = this.findVma(mm, vpn);
    if (!v || v.start > vpn) return undefined;
    this.lastLookup.set(mm, v);
    return v;
  }

  /* ----- the mm's VMA tree (mm->mm_mt): every lookup O(log n) in its VMAs ----- */

  /** this.vma as a function, for the vmaiter lookups */
  private readonly byId = (id: number): Vma => this.vma(id);

  /** map_count: the mm's VMAs (O(1)) */
  /**
   * mm->def_flags' VM_LOCKED_MASK bits (mlockall(MCL_FUTURE)): ORed into each new
   * mmap()/brk() VMA. Kernel-side, not state (mlock.ts says why); a fork starts at 0
   * (mm_init() keeps only VM_NOHUGEPAGE, which the model does not set).
   */
  private readonly mmDefFlags = new Map<number, number>();

  defFlags(mm: number): number {
    return this.mmDefFlags.get(mm) ?? 0;
  }

  setDefFlags(mm: number, flags: number): void {
    if (flags) this.mmDefFlags.set(mm, flags);
    else this.mmDefFlags.delete(mm);
  }

  mapCount(mm: number): number {
    return this.mm(mm).vmas.size;
  }

  /** find_vma(): the first VMA with vm_end > vpn */
  findVma(mm: number, vpn: number): Vma | undefined {
    return mtFindVma(this.mm(mm).vmas, this.byId, vpn);
  }

  /** find_vma_prev(): find_vma(vpn) and the VMA before it */
  findVmaPrev(mm: number, vpn: number): { vma: Vma | null; prev: Vma | null } {
    return mtFindVmaPrev(this.mm(mm).vmas, this.byId, vpn);
  }

  /** The first VMA with vm_start >= vpn (vma_iter_next_range) */
  vmaStartingFrom(mm: number, vpn: number): Vma | null {
    return mtVmaStartingFrom(this.mm(mm).vmas, this.byId, vpn);
  }

  /** vma_prev(): the VMA before v in its mm (null: none) */
  vmaPrev(v: Vma): Vma | null {
    return mtVmaPrev(this.mm(v.mm).vmas, this.byId, v);
  }

  /** vma_next(): the VMA after v in its mm (null: none) */
  vmaNext(v: Vma): Vma | null {
    return mtVmaNext(this.mm(v.mm).vmas, this.byId, v);
  }

  /** for_each_vma_range(): VMAs overlapping [start, end), ascending, until fn returns true */
  forEachVmaInRange(mm: number, start: number, end: number, fn: (v: Vma) => boolean | void): void {
    mtForEachVmaInRange(this.mm(mm).vmas, this.byId, start, end, fn);
  }

  /** Ids of the VMAs overlapping [start, end), ascending: a snapshot to change them by */
  vmaIdsInRange(mm: number, start: number, end: number): number[] {
    return mtVmaIdsInRange(this.mm(mm).vmas, this.byId, start, end);
  }

  /** Every VMA id of mm, ascending (O(n): fork, exit and whole-mm walks only) */
  vmaIds(mm: number): number[] {
    return this.mm(mm).vmas.ids();
  }

  /** Rank of find_vma(vpn) in the mm's tree (its index in vm_start order) */
  findVmaRank(mm: number, vpn: number): number {
    return findVmaRank(this.mm(mm).vmas, this.byId, vpn);
  }



  /** An anon_vma as it is now (a copy sharing its VMA list: read it before the next event). */
  anonVma(id: number): AnonVma {
    this.syncCaches();
    const hit = this.avCache.get(id);
    if (hit) return hit;
    const a = this.eng.s.anonVmas.get(id);
    if (!a) throw new Error(`no anon_vma ${id}`);
    // its VMA list is shared (O(1)): the cache is dropped at the next VMA/AVC event
    const copy = shareAnonVma(a);
    this.avCache.set(id, copy);
    return copy;
  }

  get mergePolicy(): MergePolicy {
    return this.eng.plugins.get(MERGE_POLICY)?.impl ?? defaultMergePolicy;
  }

  /* ----- lock names: one string per kernel lock instance ----- */
  static mmapLock(mm: number): string {
    return lockName(MMAP_NAMES, mm, 'mmap_lock:', mm);
  }
  static vmaLock(vma: number): string {
    return lockName(VMA_NAMES, vma, 'vma_lock:', vma);
  }
  /** the anon_vma root's rwsem (anon_vma_lock_write locks vma->anon_vma->root) */
  static anonVmaLock(root: number): string {
    return lockName(AV_NAMES, root, 'anon_vma:', root);
  }
  /** split PTE lock of the PTE table covering vpn */
  static ptl(mm: number, vpn: number): string {
    const base = vpn - (vpn % 512);
    // a walk or a fault-in takes the same PTE lock for 512 pages in a row
    if (base === lastPtl.base && mm === lastPtl.mm) return lastPtl.name;
    const name = lockName(PTL_NAMES, mm * 2 ** 27 + base / 512, `ptl:${mm}:`, base);
    lastPtl.mm = mm;
    lastPtl.base = base;
    lastPtl.name = name;
    return name;
  }
  /** split PMD lock of the PMD table covering vpn */
  static pmdLock(mm: number, vpn: number): string {
    const base = vpn - (vpn % (512 * 512));
    return lockName(PMD_NAMES, mm * 2 ** 18 + base / (512 * 512), `pmd_lock:${mm}:`, base);
  }
  static pageTableLock(mm: number): string {
    return lockName(PTLOCK_NAMES, mm, 'page_table_lock:', mm);
  }
  static folioLock(pfn: number): string {
    // one per folio, each used a couple of times: a cache would cost more than it saves
    return 'folio:' + pfn;
  }

  /** A pfn for a new folio of 2^order pages (naturally aligned, like the buddy allocator). */
  allocPfn(order: number): number {
    const n = 2 ** order;
    const ids = this.eng.ids;
    const pfn = Math.ceil(ids.pfn / n) * n;
    ids.pfn = pfn + n;
    return pfn;
  }
}

/*
 * Lock names are made once per lock and reused: the same string object every time means
 * its hash is computed once (the engine's lock table, the log's string table and the
 * checkers all look locks up by name), and a fault-in does not build a dozen strings.
 */
const MMAP_NAMES = new Map<number, string>();
const VMA_NAMES = new Map<number, string>();
const AV_NAMES = new Map<number, string>();
const PTL_NAMES = new Map<number, string>();
const lastPtl = { mm: -1, base: -1, name: '' };
const PMD_NAMES = new Map<number, string>();
const PTLOCK_NAMES = new Map<number, string>();

function lockName(cache: Map<number, string>, key: number, prefix: string, n: number): string {
  let s = cache.get(key);
  if (s === undefined) {
    if (cache.size >= 1 << 20) cache.clear();
    s = prefix + n;
    cache.set(key, s);
  }
  return s;
}
