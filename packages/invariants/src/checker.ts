/**
 * The incremental checker: one object fed every raw event right after the reducer
 * applied it, with read access to the current state (the engine's draft).
 *
 * Cost model. Per event the work is a switch on the numeric type plus O(1) shadow
 * updates (no allocation on the PTE paths); what must be verified is queued as dirty
 * objects (folio pfns, PTE locations, VMA ranges, VMA and anon_vma ids) and verified
 * later, once per object:
 *   - rmap and structure: when no task has an open top-level span (a syscall ended),
 *   - rmap-race: at the next "quiescent point" (no task holds a spinlock), unless the
 *     root anon_vma lock of the folio is write-held, in which case the item waits until
 *     that lock is released,
 *   - locking: immediately, on the event itself (lock events and mutations).
 *
 * Shadows. onRaw runs after the event is applied, so the previous value of a PTE, a
 * VMA or a folio's mapping is gone from the state. The checker keeps small shadows it
 * updates from the events: page tables (mutable Float64Arrays, one per PTE table), a
 * per-page count of PTE mappings and per-folio count of PMD mappings (the reverse map
 * the accounting check compares mapcounts with), VMA ranges, anon_vma parents/roots and
 * counts derived from the events (non-empty children per parent, non-root anon_vmas
 * per root, VMAs per anon_vma). After a rollback they are rebuilt from the state.
 */
import {
  E,
  FIRST_ALLOC_PFN,
  FOLIO_ANON,
  FOLIO_KSM,
  FOLIO_SWAPCACHE,
  MappingKind,
  PTE_SPECIAL,
  STRUCTURE_EVENT,
  shareAnonVma,
  copyVma,
  forEachFolio,
  pageFolio,
  vmaLookup,
  type AnonVma,
  type Folio,
  type LockState,
  type Vma,
  type RawEvent,
  type State,
} from '@mmsim/core';
import { ALL_CHECKERS, InvariantViolationError, type CheckerName, type CheckerOptions, type Violation } from './types.js';
import { GrowI32, MappingTable, PairList, PfnSet, bump } from './util.js';

/* ------------------------------- lock classes ------------------------------------ */

export const enum LC {
  Mmap = 0,
  Vma = 1,
  Anon = 2,
  Ptl = 3,
  Pmd = 4,
  PageTable = 5,
  Folio = 6,
}
const KNOWN_CLASSES = ['mmap_lock', 'vma_lock', 'anon_vma', 'ptl', 'pmd_lock', 'page_table_lock', 'folio'];

interface LockInfo {
  readonly name: string;
  readonly cls: number;
  /** first numeric field after the class (mm, vma, root, pfn) */
  readonly a: number;
  /** second numeric field (PTL: pmd base vpn, pmd_lock: pud base vpn) */
  readonly b: number;
}

interface Held {
  info: LockInfo;
  mode: number;
  kind: number;
  tryLock: boolean;
}

interface TaskInfo {
  id: number;
  spans: string[];
  held: Held[];
  spin: number;
}

interface ShadowVma {
  mm: number;
  start: number;
  end: number;
  pgoff: number;
  anonVma: number;
}

interface ShadowAv {
  root: number;
  parent: number;
}

/** The shadows built from one state (InvariantChecker.rebuild): copies, restored by copying. */
interface SavedShadows {
  /** per mm: its PTE tables (a copy, and the array the shadow uses, refilled on restore) and huge leaves */
  mms: { id: number; tables: { key: number; saved: Float64Array; live: Float64Array }[]; huge: [number, number][] }[];
  pteMaps: Int32Array;
  pmdMaps: Int32Array;
  folioOrder: Int32Array;
  folioMapping: Int32Array;
  vmas: [number, ShadowVma][];
  avs: [number, ShadowAv][];
  nonEmptyChildren: [number, number][];
  rootChildren: [number, number][];
  activeVmas: [number, number][];
  tasks: TaskInfo[];
  openTasks: number;
  spinTotal: number;
  anonWriteHeld: number;
}

interface Edge {
  seq: number;
  from: string;
  to: string;
}

class MmShadow {
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

const PUD_PAGES = 512 * 512;

/*
 * A shadow PTE table: 512 entries, then two marks (0: none): the signature of the VMA
 * the whole table was last collected under, for the racing walker and for the
 * syscall-end look. Any change to the table clears them.
 */
/** table keys (vpn / 512) of one mm are below this (47-bit user addresses) */
const TABLE_KEYS = 2 ** 26;
const RACE_MARK = 512;
const END_MARK = 513;
function newShadowTable(): Float64Array {
  return new Float64Array(514);
}

/** Does this encoded PTE hold a reference and a mapcount of a folio? (vm_normal_page) */
function countable(v: number): boolean {
  return v > 0 && (v % 256 & PTE_SPECIAL) === 0 && v >= FIRST_ALLOC_PFN * 256;
}

function folioMapcountOf(f: Folio): number {
  let n = f.entireMapcount;
  const pm = f.pageMapcount;
  for (let i = 0; i < pm.length; i++) n += pm[i];
  return n;
}

/**
 * Proxy-free reads of the current state for the hot checks (the engine's own readers:
 * `engine.pageFolio`, `engine.lockState`); by default they go through getState().
 */
export interface CheckerReader {
  pageFolio(pfn: number): Folio | undefined;
  lock(name: string): LockState | undefined;
}

/**
 * The incremental checkers. `getState` returns the current state (a draft while a
 * batch is open); nothing read from it is kept across events.
 */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  /** how many mapping locations and folio rmap walks were checked (for tests of the checkers' cost) */
  readonly work = { locations: 0, walks: 0 };
  /** violations found, including those not recorded past maxViolations */
  found = 0;

  private readonly reader: CheckerReader;
  private readonly pageFolio: (pfn: number) => Folio | undefined;
  private readonly on: Record<CheckerName, boolean>;
  private readonly strict: boolean;
  private readonly maxViolations: number;
  private readonly kernelOrder: boolean;
  private toThrow: Violation | null = null;
  private aborting = false;

  /* tasks, spans, locks */
  private readonly tasks = new Map<number, TaskInfo>();
  private lastTask: TaskInfo | null = null;
  private openTasks = 0;
  private spinTotal = 0;
  private lockInfos = new Map<string, LockInfo>();
  /** anon_vma root locks held for write, by any task */
  private anonWriteHeld = 0;
  private folioClass = -1;
  private readonly classIds = new Map<string, number>();
  private readonly classNames: string[] = [];
  private readonly edges = new Map<number, Edge>();
  private adj: number[][] = [];
  /** rule keys already reported in the current syscall (dedup of repeated mutations) */
  private readonly reported = new Set<string>();
  private readonly rootLockNames = new Map<number, string>();

  /* shadows */
  private readonly mms = new Map<number, MmShadow>();
  private lastMmId = -1;
  private lastMm: MmShadow | undefined = undefined;
  private readonly pteMaps = new GrowI32();
  private readonly pmdMaps = new GrowI32();
  /** folio order + 1 by head pfn (0: no folio) */
  private readonly folioOrder = new GrowI32();
  /** folio mapping by head pfn: kind + 4 * target (only for folios that ever had one) */
  private readonly folioMapping = new MappingTable();
  private readonly vmas = new Map<number, ShadowVma>();
  private readonly avs = new Map<number, ShadowAv>();
  /** parent id -> number of non-empty anon_vmas with that parent (incl. a root itself) */
  private readonly nonEmptyChildren = new Map<number, number>();
  /** root id -> number of existing non-root anon_vmas with that root */
  private readonly rootChildren = new Map<number, number>();
  /** anon_vma id -> VMAs whose vma->anon_vma is it */
  private readonly activeVmas = new Map<number, number>();

  /* dirty sets for the syscall-end checks (rmap + structure) */
  private readonly dPtes = new PairList();
  private readonly dRanges: number[] = [];
  private readonly dPfns = new PfnSet();
  private readonly dFreed = new PairList();
  private readonly dVmas = new Set<number>();
  private readonly dAvs = new Set<number>();

  /* pending items of the racing walker */
  private readonly rPtes = new PairList();
  private readonly rRanges: number[] = [];
  private readonly rPfns = new PfnSet();
  private readonly deferred = new Map<number, { ptes: number[]; pfns: number[] }>();

  /* scratch */
  private readonly seenHeads = new PfnSet();
  private found32 = new Int32Array(512);
  private readonly scratch = new PairList();

  /**
   * @param getState the current state (a draft while a batch is open)
   * @param commit finish the open batch so that getState() returns plain immutable
   *   objects; called at a syscall end when no task is inside one (the engine commits
   *   there anyway), so the syscall-end checks do not read through draft proxies
   */
  constructor(
    private readonly getState: () => State,
    opts: CheckerOptions = {},
    private readonly commit: () => void = () => {},
    reader?: CheckerReader,
  ) {
    this.reader = reader ?? { pageFolio: (pfn) => pageFolio(this.getState(), pfn), lock: (name) => this.getState().locks[name] };
    this.pageFolio = this.reader.pageFolio;
    const list = opts.checkers ?? ALL_CHECKERS;
    this.on = { rmap: false, 'rmap-race': false, locking: false, structure: false };
    for (const c of list) {
      if (!(c in this.on)) throw new Error(`unknown checker "${c}" (known: ${ALL_CHECKERS.join(', ')})`);
      this.on[c as CheckerName] = true;
    }
    this.strict = opts.mode === 'strict';
    this.maxViolations = opts.maxViolations ?? 10000;
    this.kernelOrder = opts.kernelLockOrder ?? true;
    for (const c of KNOWN_CLASSES) this.classId(c);
    this.folioClass = this.classId('folio');
    this.seedKernelOrder();
    // the shadows start from a committed state (a batch keeps some tables to itself)
    commit();
    this.rebuild(getState());
  }

  /* =============================== event entry ================================== */

  onEvent(r: Readonly<RawEvent>): void {
    if (STRUCTURE_EVENT[r.type]) this.structGen++;
    const t = this.task(r.task);
    switch (r.type) {
      case E.SpanOpen:
        if (t.spans.length === 0) {
          if (this.openTasks === 0) this.aborting = false;
          // events outside any span are checked at the next syscall start
          if (this.openTasks === 0 && this.hasDirty()) this.endChecks(r, []);
          this.openTasks++;
        }
        t.spans.push(r.s);
        break;
      case E.SpanClose:
        if (t.spans.length === 1) {
          if (this.on.locking && t.held.length) {
            this.report('locking', r, t.spans, `locks still held at the end of ${t.spans[0]}: ${t.held.map((h) => h.info.name).join(', ')}`, {
              lock: t.held.map((h) => h.info.name),
            });
          }
          this.openTasks--;
          if (this.openTasks === 0) {
            this.commit();
            this.endChecks(r, t.spans);
          }
          this.reported.clear();
        }
        if (t.spans.length) t.spans.pop();
        break;
      case E.LockAcquire:
        this.lockAcquire(r, t);
        break;
      case E.LockRelease:
        this.lockRelease(r, t);
        break;
      case E.MmCreate:
        this.mms.set(r.a, new MmShadow());
        break;
      case E.MmExit:
        this.mmExit(r.a);
        break;
      case E.VmaInsert:
        this.vmaInsert(r, t);
        break;
      case E.VmaRemove:
        this.vmaRemove(r, t);
        break;
      case E.VmaAdjust:
        this.vmaAdjust(r, t);
        break;
      case E.VmaFlags:
        if (this.on.locking) {
          const v = this.vmas.get(r.a);
          if (v) this.requireVmaWrite(r, t, v.mm, r.a, 'vma_flags', true);
        }
        break;
      case E.VmaSetAnonVma: {
        const v = this.vmas.get(r.a);
        if (!v) break;
        if (this.on.locking && !this.holds(t, LC.Mmap, v.mm, -1, false)) {
          this.violate('locking', r, t, `vma_set_anon_vma:${r.a}`, `vma_set_anon_vma of vma ${r.a} without mmap_lock:${v.mm}`, { vma: [r.a], mm: [v.mm] });
        }
        if (v.anonVma) {
          bump(this.activeVmas, v.anonVma, -1);
          this.dAvs.add(v.anonVma);
        }
        v.anonVma = r.b;
        if (r.b) {
          bump(this.activeVmas, r.b, 1);
          this.dAvs.add(r.b);
        }
        break;
      }
      case E.AnonVmaCreate: {
        const root = r.b || r.a;
        this.avs.set(r.a, { root, parent: r.c });
        if (root !== r.a) {
          bump(this.rootChildren, root, 1);
          this.dAvs.add(root);
        }
        this.dAvs.add(r.a);
        break;
      }
      case E.AnonVmaFree: {
        const a = this.avs.get(r.a);
        if (a && a.root !== r.a) {
          bump(this.rootChildren, a.root, -1);
          this.dAvs.add(a.root);
        }
        this.avs.delete(r.a);
        break;
      }
      case E.AnonVmaCount:
        this.dAvs.add(r.a);
        break;
      case E.AvcLink:
      case E.AvcUnlink:
        this.avc(r, t);
        break;
      case E.FolioAlloc:
        this.folioOrder.set(r.a, r.b + 1);
        this.folioMapping.delete(r.a);
        break;
      case E.FolioFree: {
        const o = this.folioOrder.get(r.a);
        this.folioOrder.set(r.a, 0);
        this.folioMapping.delete(r.a);
        if (o > 0) this.dFreed.push(r.a, o - 1);
        break;
      }
      case E.FolioSplit: {
        const o = this.folioOrder.get(r.a) - 1;
        const m = this.folioMapping.get(r.a);
        const step = 2 ** r.b;
        for (let off = 0; off < 2 ** o; off += step) {
          this.folioOrder.set(r.a + off, r.b + 1);
          if (m !== undefined) this.folioMapping.set(r.a + off, m);
          this.dPfns.add(r.a + off);
        }
        break;
      }
      case E.FolioIndex:
      case E.FolioMapping:
        this.folioIdentity(r, t);
        break;
      case E.FolioFlags:
      case E.FolioCount:
        this.dPfns.add(r.a);
        break;
      case E.PteSet:
        if (this.on.locking) this.requirePtl(r, t, r.a, r.b, 'pte_set');
        this.setShadowPte(r.a, r.b, r.c * 256 + ((r.d | 1) & 255), true);
        break;
      case E.PteClear:
        if (this.on.locking) this.requirePtl(r, t, r.a, r.b, 'pte_clear');
        this.setShadowPte(r.a, r.b, 0, false);
        break;
      case E.PteSwap:
        if (this.on.locking) this.requirePtl(r, t, r.a, r.b, 'pte_swap');
        this.setShadowPte(r.a, r.b, -(r.c * 256 + (r.d & 255)), false);
        break;
      case E.PteFlags: {
        if (this.on.locking) this.requirePtl(r, t, r.a, r.b, 'pte_flags');
        const old = this.getShadowPte(r.a, r.b);
        if (old > 0) this.setShadowPte(r.a, r.b, Math.floor(old / 256) * 256 + ((r.c | 1) & 255), false);
        break;
      }
      case E.PteMove: {
        if (this.on.locking) {
          this.requirePtl(r, t, r.a, r.b, 'pte_move');
          this.requirePtl(r, t, r.a, r.c, 'pte_move');
        }
        const v = this.getShadowPte(r.a, r.b);
        this.setShadowPte(r.a, r.b, 0, false);
        this.setShadowPte(r.a, r.c, v, true);
        break;
      }
      case E.PtAlloc: {
        const mm = this.mm(r.a);
        mm.tables.set(Math.floor(r.b / 512), newShadowTable());
        mm.invalidate();
        break;
      }
      case E.PtFree:
        this.ptFree(r.a, Math.floor(r.b / 512));
        break;
      case E.PtMove:
        this.ptMove(r, t);
        break;
      case E.PmdSet:
        if (this.on.locking) this.requirePmd(r, t, r.a, r.b, 'pmd_set');
        this.pmdSet(r.a, Math.floor(r.b / 512), r.c * 256 + ((r.d | 1) & 255));
        this.touchLocation(r.a, r.b, r.c);
        break;
      case E.PmdClear:
        if (this.on.locking) this.requirePmd(r, t, r.a, r.b, 'pmd_clear');
        this.pmdClear(r.a, Math.floor(r.b / 512));
        break;
      case E.PmdMove: {
        if (this.on.locking) {
          this.requirePmd(r, t, r.a, r.b, 'pmd_move');
          this.requirePmd(r, t, r.a, r.c, 'pmd_move');
        }
        const mm = this.mm(r.a);
        const from = Math.floor(r.b / 512);
        const to = Math.floor(r.c / 512);
        const v = mm.huge.get(from);
        if (v !== undefined) {
          mm.huge.delete(from);
          this.dropTable(r.a, to);
          mm.huge.set(to, v);
          this.touchLocation(r.a, to * 512, Math.floor(v / 256));
        }
        break;
      }
      case E.PmdSplit:
        if (this.on.locking) this.requirePmd(r, t, r.a, r.b, 'pmd_split');
        this.pmdSplit(r.a, Math.floor(r.b / 512));
        break;
      case E.PmdFlags: {
        if (this.on.locking) this.requirePmd(r, t, r.a, r.b, 'pmd_flags');
        const mm = this.mm(r.a);
        const k = Math.floor(r.b / 512);
        const v = mm.huge.get(k);
        if (v !== undefined) mm.huge.set(k, Math.floor(v / 256) * 256 + ((r.c | 1) & 255));
        break;
      }
      default:
        break;
    }
    if (this.spinTotal === 0 && this.on['rmap-race'] && this.racePending()) this.processRace(r, t);
    if (this.toThrow) {
      const v = this.toThrow;
      this.toThrow = null;
      // strict: the syscall unwinds (spans closed with locks held); those are not findings
      this.aborting = true;
      throw new InvariantViolationError(v);
    }
  }

  /** Another checker stopped the syscall (strict mode): the unwinding that follows is no finding. */
  abortSyscall(): void {
    this.aborting = true;
  }

  /** Check what is left (events outside any span); call at the end of a log. */
  flush(seq: number, throwing = true): void {
    if (this.openTasks !== 0) return;
    this.aborting = false;
    const r = { type: -1, seq, task: 0, span: 0, a: 0, b: 0, c: 0, d: 0, e: 0, f: 0, s: '' };
    if (this.spinTotal === 0 && this.on['rmap-race'] && this.racePending()) this.processRace(r, this.task(0));
    if (this.hasDirty()) this.endChecks(r, []);
    if (this.toThrow) {
      const v = this.toThrow;
      this.toThrow = null;
      if (throwing) throw new InvariantViolationError(v);
    }
  }

  /** The syscall starting at `seq` was rolled back: forget it, rebuild from the state. */
  onRollback(seq: number): void {
    for (const [k, e] of this.edges) if (e.seq >= seq) this.edges.delete(k);
    this.adj = [];
    for (const k of this.edges.keys()) this.adjOf(Math.floor(k / 1024)).push(k % 1024);
    this.reported.clear();
    this.toThrow = null;
    this.aborting = false;
    this.structGen++;
    this.rebuild(this.getState());
  }

  /* =============================== reporting ==================================== */

  private report(checker: CheckerName, r: Readonly<RawEvent>, path: readonly string[], message: string, objects: Violation['objects']): void {
    if (this.aborting) return;
    this.found++;
    const v: Violation = { checker, seq: r.seq, spanPath: path.slice(), message, objects };
    if (this.violations.length < this.maxViolations) this.violations.push(v);
    if (this.strict && !this.toThrow) this.toThrow = v;
  }

  /** Report once per rule key per syscall (a loop of unlocked writes is one finding). */
  private violate(checker: CheckerName, r: Readonly<RawEvent>, t: TaskInfo, key: string, message: string, objects: Violation['objects']): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.report(checker, r, t.spans, message, objects);
  }

  /* =============================== tasks & locks ================================ */

  private task(id: number): TaskInfo {
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

  private classId(name: string): number {
    let id = this.classIds.get(name);
    if (id === undefined) {
      id = this.classNames.length;
      this.classIds.set(name, id);
      this.classNames.push(name);
    }
    return id;
  }

  private lockInfo(name: string): LockInfo {
    let li = this.lockInfos.get(name);
    if (li) return li;
    const i = name.indexOf(':');
    const j = i < 0 ? -1 : name.indexOf(':', i + 1);
    const cls = this.classId(i < 0 ? name : name.slice(0, i));
    li = { name, cls, a: i < 0 ? -1 : Number(j < 0 ? name.slice(i + 1) : name.slice(i + 1, j)), b: j < 0 ? -1 : Number(name.slice(j + 1)) };
    // folio locks are one per folio: caching them would only grow the map
    if (cls === this.folioClass) return li;
    if (this.lockInfos.size > 200000) this.lockInfos = new Map();
    this.lockInfos.set(name, li);
    return li;
  }

  private rootLockName(root: number): string {
    let n = this.rootLockNames.get(root);
    if (n === undefined) {
      n = `anon_vma:${root}`;
      this.rootLockNames.set(root, n);
    }
    return n;
  }

  /** Does task t hold lock (cls, a[, b]) (in write mode when `write`)? b = -1: any. */
  private holds(t: TaskInfo, cls: number, a: number, b: number, write: boolean): boolean {
    const h = t.held;
    for (let i = h.length - 1; i >= 0; i--) {
      const x = h[i];
      if (x.info.cls === cls && x.info.a === a && (b < 0 || x.info.b === b) && (!write || x.mode === 0)) return true;
    }
    return false;
  }

  private lockAcquire(r: Readonly<RawEvent>, t: TaskInfo): void {
    const li = this.lockInfo(r.s);
    const tryLock = r.c !== 0;
    if (this.on.locking) {
      if (r.b === 0 && !tryLock && t.spin > 0) {
        const spins = t.held.filter((h) => h.kind === 1).map((h) => h.info.name);
        this.violate('locking', r, t, `sleep:${r.s}`, `sleeping lock ${r.s} taken (blocking) while holding spinlock${spins.length > 1 ? 's' : ''} ${spins.join(', ')}`, {
          lock: [r.s, ...spins],
        });
      }
      if (!tryLock) this.lockOrder(r, t, li);
    }
    t.held.push({ info: li, mode: r.a, kind: r.b, tryLock });
    if (r.b === 1) {
      t.spin++;
      this.spinTotal++;
    }
    if (li.cls === LC.Anon && r.a === 0) this.anonWriteHeld++;
  }

  private lockRelease(r: Readonly<RawEvent>, t: TaskInfo): void {
    const h = t.held;
    for (let i = h.length - 1; i >= 0; i--) {
      if (h[i].info.name === r.s) {
        const x = h[i];
        h.splice(i, 1);
        if (x.kind === 1) {
          t.spin--;
          this.spinTotal--;
        }
        if (x.info.cls === LC.Anon && x.mode === 0) this.anonWriteHeld--;
        if (x.info.cls === LC.Anon && this.deferred.size) {
          if (!this.reader.lock(r.s)) this.undefer(x.info.a);
        }
        return;
      }
    }
  }

  private adjOf(c: number): number[] {
    let a = this.adj[c];
    if (!a) a = this.adj[c] = [];
    return a;
  }

  private seedKernelOrder(): void {
    if (!this.kernelOrder) return;
    const chain: [number, number][] = [
      [LC.Mmap, LC.Folio],
      [LC.Folio, LC.Vma],
      [LC.Vma, LC.Anon],
      [LC.Anon, LC.PageTable],
      [LC.Anon, LC.Ptl],
      [LC.Anon, LC.Pmd],
    ];
    for (const [a, b] of chain) {
      this.edges.set(a * 1024 + b, { seq: -1, from: KNOWN_CLASSES[a], to: KNOWN_CLASSES[b] });
      this.adjOf(a).push(b);
    }
  }

  /** lockdep: edges held-class -> new-class; a new edge closing a cycle is a violation. */
  private lockOrder(r: Readonly<RawEvent>, t: TaskInfo, li: LockInfo): void {
    const h = t.held;
    let same = 0;
    for (let i = 0; i < h.length; i++) {
      const x = h[i];
      if (x.tryLock) continue;
      const from = x.info.cls;
      if (from === li.cls) {
        same++;
        continue;
      }
      const key = from * 1024 + li.cls;
      if (this.edges.has(key)) continue;
      const edge: Edge = { seq: r.seq, from: x.info.name, to: li.name };
      this.edges.set(key, edge);
      this.adjOf(from).push(li.cls);
      const path = this.findPath(li.cls, from);
      if (path) {
        const describe = (a: number, b: number): string => {
          const e = this.edges.get(a * 1024 + b)!;
          return e.seq < 0
            ? `${this.classNames[a]} -> ${this.classNames[b]} (kernel lock order, mm/rmap.c)`
            : `${this.classNames[a]} -> ${this.classNames[b]} (first at seq ${e.seq}: ${e.from} then ${e.to})`;
        };
        const back: string[] = [];
        for (let k = 0; k + 1 < path.length; k++) back.push(describe(path[k], path[k + 1]));
        this.report(
          'locking',
          r,
          t.spans,
          `lock order cycle between classes ${this.classNames[from]} and ${this.classNames[li.cls]}: ` +
            `new ${describe(from, li.cls)}; existing ${back.join(', ')}`,
          { lock: [x.info.name, li.name] },
        );
      }
    }
    // SINGLE_DEPTH_NESTING: one nested level of a class; VMA write locks are not nested locks
    if (same >= 2 && li.cls !== LC.Vma) {
      this.violate('locking', r, t, `nest:${li.cls}`, `${same + 1} locks of class ${this.classNames[li.cls]} held at once (${li.name}): deeper than SINGLE_DEPTH_NESTING`, {
        lock: h.filter((x) => x.info.cls === li.cls).map((x) => x.info.name).concat(li.name),
      });
    }
  }

  /** BFS from class a to class b in the order graph; the class path or null. */
  private findPath(a: number, b: number): number[] | null {
    const prev = new Map<number, number>([[a, -1]]);
    const q = [a];
    while (q.length) {
      const c = q.shift()!;
      if (c === b) {
        const p: number[] = [];
        for (let x = b; x !== -1; x = prev.get(x)!) p.push(x);
        return p.reverse();
      }
      for (const n of this.adj[c] ?? []) {
        if (!prev.has(n)) {
          prev.set(n, c);
          q.push(n);
        }
      }
    }
    return null;
  }

  /* ------------------------ mutation lock requirements ------------------------- */

  private requirePtl(r: Readonly<RawEvent>, t: TaskInfo, mm: number, vpn: number, what: string): void {
    const base = vpn - (vpn % 512);
    if (this.holds(t, LC.Ptl, mm, base, false)) return;
    // a PTE table being filled under the PMD lock (__split_huge_zero_page_pmd, collapse) is fine
    if (this.holds(t, LC.Pmd, mm, vpn - (vpn % PUD_PAGES), false)) return;
    this.violate('locking', r, t, `ptl:${mm}:${base}`, `${what} at vpn ${vpn} of mm ${mm} without its page table lock ptl:${mm}:${base}`, {
      mm: [mm],
      lock: [`ptl:${mm}:${base}`],
    });
  }

  private requirePmd(r: Readonly<RawEvent>, t: TaskInfo, mm: number, vpn: number, what: string): void {
    const base = vpn - (vpn % PUD_PAGES);
    if (this.holds(t, LC.Pmd, mm, base, false)) return;
    this.violate('locking', r, t, `pmd:${mm}:${base}`, `${what} at vpn ${vpn} of mm ${mm} without pmd_lock:${mm}:${base}`, {
      mm: [mm],
      lock: [`pmd_lock:${mm}:${base}`],
    });
  }

  private requireVmaWrite(r: Readonly<RawEvent>, t: TaskInfo, mm: number, vma: number, what: string, needVmaLock: boolean): void {
    if (!this.holds(t, LC.Mmap, mm, -1, true)) {
      this.violate('locking', r, t, `mmap:${mm}:${what}`, `${what} of vma ${vma} without mmap_lock:${mm} held for write`, {
        vma: [vma],
        mm: [mm],
        lock: [`mmap_lock:${mm}`],
      });
    }
    if (needVmaLock && !this.holds(t, LC.Vma, vma, -1, true)) {
      this.violate('locking', r, t, `vma:${vma}:${what}`, `${what} of vma ${vma} without its VMA write lock vma_lock:${vma}`, {
        vma: [vma],
        mm: [mm],
        lock: [`vma_lock:${vma}`],
      });
    }
  }

  /* ================================ VMAs ======================================== */

  private addRange(mm: number, start: number, end: number): void {
    if (end <= start) return;
    if (this.on.rmap) this.dRanges.push(mm, start, end);
    if (this.on['rmap-race']) this.rRanges.push(mm, start, end);
  }

  private vmaInsert(r: Readonly<RawEvent>, t: TaskInfo): void {
    if (this.on.locking) this.requireVmaWrite(r, t, r.b, r.a, 'vma_insert', false);
    this.vmas.set(r.a, { mm: r.b, start: r.c, end: r.d, pgoff: r.e, anonVma: 0 });
    this.dVmas.add(r.a);
    this.addRange(r.b, r.c, r.d);
  }

  private vmaRemove(r: Readonly<RawEvent>, t: TaskInfo): void {
    const v = this.vmas.get(r.a);
    if (!v) return;
    if (this.on.locking) this.requireVmaWrite(r, t, v.mm, r.a, 'vma_remove', true);
    if (v.anonVma) {
      bump(this.activeVmas, v.anonVma, -1);
      this.dAvs.add(v.anonVma);
    }
    this.vmas.delete(r.a);
    this.addRange(v.mm, v.start, v.end);
  }

  private vmaAdjust(r: Readonly<RawEvent>, t: TaskInfo): void {
    const v = this.vmas.get(r.a);
    if (!v) return;
    if (this.on.locking) this.requireVmaWrite(r, t, v.mm, r.a, 'vma_adjust', true);
    const start = r.b;
    const end = r.c;
    const pgoff = r.d;
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
    this.dVmas.add(r.a);
  }

  private avc(r: Readonly<RawEvent>, t: TaskInfo): void {
    const a = this.avs.get(r.b);
    const root = a ? a.root : r.b;
    const what = r.type === E.AvcLink ? 'avc_link' : 'avc_unlink';
    if (this.on.locking && !this.holds(t, LC.Anon, root, -1, true)) {
      this.violate('locking', r, t, `avc:${root}`, `${what} of vma ${r.a} and anon_vma ${r.b} without the root anon_vma lock anon_vma:${root} held for write`, {
        vma: [r.a],
        anonVma: [r.b],
        lock: [`anon_vma:${root}`],
      });
    }
    const av = this.getState().anonVmas.get(r.b);
    if (av && a) {
      const n = av.vmas.length;
      if (r.type === E.AvcLink ? n === 1 : n === 0) {
        bump(this.nonEmptyChildren, a.parent, r.type === E.AvcLink ? 1 : -1);
        this.dAvs.add(a.parent);
      }
    }
    this.dAvs.add(r.b);
    const v = this.vmas.get(r.a);
    if (v) this.addRange(v.mm, v.start, v.end);
  }

  /* ================================ folios ====================================== */

  private folioIdentity(r: Readonly<RawEvent>, t: TaskInfo): void {
    const pfn = r.a;
    let oldKind: number = MappingKind.None;
    let oldTarget = 0;
    if (r.type === E.FolioMapping) {
      const m = this.folioMapping.get(pfn);
      if (m !== undefined) {
        oldKind = m % 4;
        oldTarget = Math.floor(m / 4);
      }
      this.folioMapping.set(pfn, r.b + 4 * r.c);
    }
    const f = this.on.rmap || this.on.locking ? this.pageFolio(pfn) : undefined;
    if (this.on.rmap) {
      // a pin holder may rely on index and mapping staying put: nothing may rewrite them
      // (MREMAP_RELOCATE_ANON's promise; its v1 undo broke it)
      if (f && f.pfn === pfn && f.pincount > 0) {
        this.violate('rmap', r, t, `pinned:${pfn}`, `${r.type === E.FolioIndex ? 'index' : 'mapping'} of pinned folio ${pfn} rewritten (pincount ${f.pincount})`, {
          folio: [pfn],
        });
      }
      // folio_test_ksm() is folio->mapping's low bits: a KSM folio's mapping is its
      // stable node, never an anon_vma; rewriting it (a relocation) is an impossible state
      if (r.type === E.FolioMapping && oldKind === MappingKind.Ksm && r.b !== MappingKind.Ksm && f && f.pfn === pfn && f.flags & FOLIO_KSM) {
        this.violate('rmap', r, t, `ksm:${pfn}`, `mapping of KSM folio ${pfn} rewritten to ${r.b === MappingKind.Anon ? `anon_vma ${r.c}` : `kind ${r.b}`}: folio_test_ksm() no longer holds`, {
          folio: [pfn],
        });
      }
    }
    if (this.on.locking) {
      if (f && f.pfn === pfn && folioMapcountOf(f) > 0) {
        if (r.type === E.FolioIndex) {
          if (f.mappingKind === MappingKind.Anon) this.requireFolioRmapLocks(r, t, f, f.mapping, -1, 'folio index write');
        } else if (oldKind === MappingKind.Anon) {
          // folio_move_anon_rmap() within one anon_vma tree needs only the folio lock;
          // moving to another tree (or any index change) needs the root lock too
          const oldRoot = this.avs.get(oldTarget)?.root ?? oldTarget;
          const newRoot = r.b === MappingKind.Anon ? (this.avs.get(r.c)?.root ?? r.c) : oldRoot;
          if (newRoot === oldRoot) this.requireFolioRmapLocks(r, t, f, -1, -1, 'folio mapping write');
          else this.requireFolioRmapLocks(r, t, f, oldTarget, r.c, 'folio mapping write (to another anon_vma tree)');
        }
      }
    }
    this.dPfns.add(pfn);
    if (this.on['rmap-race']) this.rPfns.add(pfn);
  }

  /**
   * The folio lock, and (avA >= 0) the root lock of anon_vma avA or avB (-1: none) held
   * for write. Two numbers, not an array: this runs for every folio index/mapping write.
   */
  private requireFolioRmapLocks(r: Readonly<RawEvent>, t: TaskInfo, f: Folio, avA: number, avB: number, what: string): void {
    if (!this.holds(t, LC.Folio, f.pfn, -1, false)) {
      this.violate('locking', r, t, `folio:${f.pfn}:${what}`, `${what} of mapped anon folio ${f.pfn} without its folio lock folio:${f.pfn}`, {
        folio: [f.pfn],
        lock: [`folio:${f.pfn}`],
      });
    }
    if (avA < 0) return;
    const rootA = this.avs.get(avA)?.root ?? avA;
    const rootB = avB < 0 ? -1 : (this.avs.get(avB)?.root ?? avB);
    if (this.holds(t, LC.Anon, rootA, -1, true) || (rootB >= 0 && this.holds(t, LC.Anon, rootB, -1, true))) return;
    const avIds = avB < 0 ? [avA] : [avA, avB];
    const roots = avB < 0 ? [rootA] : [rootA, rootB];
    this.violate('locking', r, t, `avlock:${f.pfn}:${what}`, `${what} of mapped anon folio ${f.pfn} without the root anon_vma lock (${roots.map((x) => `anon_vma:${x}`).join(' or ')}) held for write`, {
      folio: [f.pfn],
      anonVma: avIds,
      lock: roots.map((x) => `anon_vma:${x}`),
    });
  }

  /* ============================ shadow page tables ============================== */

  private mm(id: number): MmShadow {
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

  private getShadowPte(mmId: number, vpn: number): number {
    const t = this.mm(mmId).table(Math.floor(vpn / 512));
    return t ? t[vpn % 512] : 0;
  }

  /** The PTE at vpn from the shadow (a huge leaf: the PTE it implies), like lookupPte(). */
  private shadowPte(mmId: number, vpn: number): number {
    const mm = this.mm(mmId);
    const key = Math.floor(vpn / 512);
    const t = mm.table(key);
    if (t) return t[vpn % 512];
    const h = mm.huge.get(key);
    if (h === undefined) return 0;
    return h + (vpn % 512) * 256;
  }

  /** Write one shadow PTE, keeping the reverse counts; queue what changed. */
  private setShadowPte(mmId: number, vpn: number, v: number, location: boolean): void {
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

  /** A present mapping of page pfn now lives at (mm, vpn): check it and its folio. */
  private touchLocation(mm: number, vpn: number, pfn: number): void {
    if (pfn < FIRST_ALLOC_PFN) return;
    this.dPfns.add(pfn);
    if (this.on.rmap) this.dPtes.push(mm, vpn);
    if (this.on['rmap-race']) this.rPtes.push(mm, vpn);
  }

  /** Forget a shadow PTE table (freed, or replaced by a huge PMD). */
  private dropTable(mmId: number, key: number): void {
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

  private ptFree(mmId: number, key: number): void {
    this.dropTable(mmId, key);
  }

  private pmdSet(mmId: number, key: number, v: number): void {
    const mm = this.mm(mmId);
    this.dropTable(mmId, key);
    const old = mm.huge.get(key);
    if (old !== undefined && countable(old)) this.pmdMaps.add(Math.floor(old / 256), -1);
    mm.huge.set(key, v);
    if (countable(v)) this.pmdMaps.add(Math.floor(v / 256), 1);
  }

  private pmdClear(mmId: number, key: number): void {
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

  private pmdSplit(mmId: number, key: number): void {
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

  private ptMove(r: Readonly<RawEvent>, t: TaskInfo): void {
    const mmId = r.a;
    if (this.on.locking && r.d === 1) {
      this.requirePmd(r, t, mmId, r.b, 'pt_move');
      this.requirePmd(r, t, mmId, r.c, 'pt_move');
    }
    const mm = this.mm(mmId);
    const n = r.d === 1 ? 1 : 512;
    const from = Math.floor(r.b / 512);
    const to = Math.floor(r.c / 512);
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

  private mmExit(id: number): void {
    const mm = this.mms.get(id);
    if (!mm) return;
    for (const k of [...mm.tables.keys()]) this.dropTable(id, k);
    for (const k of [...mm.huge.keys()]) this.pmdClear(id, k);
    this.mms.delete(id);
    this.lastMmId = -1;
    this.lastMm = undefined;
  }

  /* =============================== checks ======================================= */

  private hasDirty(): boolean {
    return (
      this.dPtes.n > 0 ||
      this.dRanges.length > 0 ||
      this.dPfns.size > 0 ||
      this.dFreed.n > 0 ||
      this.dVmas.size > 0 ||
      this.dAvs.size > 0
    );
  }

  private racePending(): boolean {
    return this.rPtes.n > 0 || this.rRanges.length > 0 || this.rPfns.size > 0;
  }

  /** Present PTE locations in [start, end) of mm (from the shadow), into out (huge leaves: their first page). */
  /**
   * The present mappings in [start, end) of mm, for a look (a VMA there changed). A PTE
   * table is skipped when nothing in it changed since it was last collected for this
   * look (`mark`: race or syscall end) and the VMA covering all of it maps it the same
   * way as then (vmaSignature: linear offset, anon_vma, chain). That is what a split or
   * a merge does to the pages that only change VMA, and without it unmapping a large
   * faulted VMA piece by piece re-checks the whole rest of it each time (quadratic).
   */
  private collectRange(s: State, mmId: number, start: number, end: number, out: PairList, mark: number, whole?: Set<number>): void {
    const mm = this.mms.get(mmId);
    if (!mm) return;
    const k0 = Math.floor(start / 512);
    const k1 = Math.floor((end - 1) / 512);
    const visit = (key: number): void => {
      if (key < k0 || key > k1) return;
      const t = mm.tables.get(key);
      const lo = Math.max(start, key * 512);
      const hi = Math.min(end, key * 512 + 512);
      if (t) {
        const v = this.vmaAt(s, mmId, key * 512);
        const sig = v && v.start <= key * 512 && v.end >= key * 512 + 512 ? this.vmaSignature(v) : 0;
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

  private detail = { vma: 0, av: 0, folio: 0 };

  /** What checkLocation reads of a VMA, as a small positive number (same number: same mapping). */
  private vmaSignature(v: Vma): number {
    this.syncCache();
    let sig = this.vmaSigs.get(v.id);
    if (sig !== undefined) return sig;
    const key = `${v.pgoff - v.start}:${v.anonVma}:${v.chain.slice().sort((a, b) => a - b).join(',')}`;
    sig = this.sigIds.get(key);
    if (sig === undefined) {
      sig = this.sigIds.size + 1;
      this.sigIds.set(key, sig);
    }
    this.vmaSigs.set(v.id, sig);
    return sig;
  }
  private readonly vmaSigs = new Map<number, number>();
  /** (mm, table) keys collected whole by the current syscall-end look */
  private readonly wholeTables = new Set<number>();
  private readonly sigIds = new Map<string, number>();

  /*
   * Copies of the VMAs and anon_vmas the hot checks read, kept while no event changes a
   * VMA, an anon_vma or a chain (structGen): the state is an immer draft during a
   * syscall, and a fault-in or a relocation reads the same VMA for every page.
   */
  private structGen = 0;
  private cacheGen = -1;
  private readonly vmaCopies = new Map<number, Vma>();
  private readonly avCopies = new Map<number, AnonVma>();
  private readonly lastVmaOfMm = new Map<number, Vma>();
  private syncCache(): void {
    if (this.cacheGen === this.structGen) return;
    this.cacheGen = this.structGen;
    this.vmaCopies.clear();
    this.avCopies.clear();
    this.lastVmaOfMm.clear();
    this.vmaSigs.clear();
  }
  private vmaNow(s: State, id: number): Vma | undefined {
    this.syncCache();
    let v = this.vmaCopies.get(id);
    if (v) return v;
    const d = s.vmas.get(id);
    if (!d) return undefined;
    v = copyVma(d);
    this.vmaCopies.set(id, v);
    return v;
  }
  private avNow(s: State, id: number): AnonVma | undefined {
    this.syncCache();
    let a = this.avCopies.get(id);
    if (a) return a;
    const d = s.anonVmas.get(id);
    if (!d) return undefined;
    a = shareAnonVma(d);
    this.avCopies.set(id, a);
    return a;
  }
  /** vma_lookup(), remembering the last VMA found per mm */
  private vmaAt(s: State, mmId: number, vpn: number): Vma | undefined {
    this.syncCache();
    const last = this.lastVmaOfMm.get(mmId);
    if (last && last.start <= vpn && vpn < last.end) return last;
    const mm = s.mms[mmId];
    if (!mm) return undefined;
    const found = vmaLookup(s, mm, vpn);
    if (!found) return undefined;
    const v = this.vmaNow(s, found.id)!;
    this.lastVmaOfMm.set(mmId, v);
    return v;
  }

  /**
   * Is the present mapping at (mm, vpn) where the rmap says it is? null, or what is
   * wrong (details in this.detail). Non-anon, KSM and zero pages are skipped.
   */
  private checkLocation(s: State, mmId: number, vpn: number): string | null {
    this.work.locations++;
    const pte = this.shadowPte(mmId, vpn);
    if (!countable(pte)) return null;
    if (!this.mms.has(mmId)) return null;
    const pfn = Math.floor(pte / 256);
    const f = this.pageFolio(pfn);
    if (!f) return null; // a freed folio: the structure checker's finding
    if (f.mappingKind !== MappingKind.Anon) return null;
    const d = this.detail;
    d.folio = f.pfn;
    d.av = f.mapping;
    d.vma = 0;
    const v = this.vmaAt(s, mmId, vpn);
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
  private walkMismatch(s: State, f: Folio): string | null {
    this.work.walks++;
    const n = f.pageMapcount.length;
    if (this.found32.length < n) this.found32 = new Int32Array(n);
    const found = this.found32;
    found.fill(0, 0, n);
    const av = this.avNow(s, f.mapping);
    if (!av) return `mapped folio ${f.pfn} points to anon_vma ${f.mapping}, which is freed`;
    const ids = av.vmas;
    for (let k = 0; k < ids.length; k++) {
      const v = this.vmaNow(s, ids[k]);
      if (!v) continue;
      const lo = Math.max(0, v.pgoff - f.index);
      const hi = Math.min(n, v.pgoff + (v.end - v.start) - f.index);
      for (let i = lo; i < hi; i++) {
        const pte = this.shadowPte(v.mm, v.start + (f.index + i - v.pgoff));
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

  private rootHeldWrite(_s: State, root: number): boolean {
    const l = this.reader.lock(this.rootLockName(root));
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
    for (let i = 0; i < d.ptes.length; i += 2) this.rPtes.push(d.ptes[i], d.ptes[i + 1]);
    for (const p of d.pfns) this.rPfns.add(p);
  }

  /**
   * The racing rmap walker. Model: rmap_walk_anon() takes the folio's root anon_vma
   * rwsem for read, then visits each VMA of the folio's anon_vma interval tree at the
   * folio's linear address, taking that page table's lock for the look. So a walk can
   * start whenever the root lock is not write-held, and its look at a page table waits
   * for any holder of that table's lock. We therefore look at "quiescent points":
   * right after an event when no task holds a spinlock (no PTL, PMD lock or
   * page_table_lock). There, for every folio and PTE touched since the last point
   * whose root anon_vma lock is free, a walk on the current state must find every
   * mapping (per page, as many as the mapcount: none missing, none extra), and every
   * touched present PTE must lie in a VMA that links the folio's anon_vma at its
   * linear index (otherwise the walk visits the wrong VMA/address). Items whose root
   * lock is write-held wait until it is released. A walk is taken as atomic: the
   * order-dependent miss of a non-atomic walk (a PTE moved from a VMA the walk has not
   * visited yet into one it already passed: mremap's need_rmap_locks) is not modelled.
   */
  private processRace(r: Readonly<RawEvent>, t: TaskInfo): void {
    const s = this.getState();
    // PTE locations touched by PTE events: the location check suffices (the event
    // changed only that mapping); locations in changed VMA ranges: walk their folios too
    const rr = this.rRanges;
    const ptes = this.rPtes;
    const direct = ptes.n;
    // VMA ranges wait while any anon_vma is write-locked: between vma_prepare() and
    // vma_complete() the VMAs are being redrawn (a split's upper part belongs to no VMA
    // for a moment) and every walker that could see those pages waits on that lock
    if (this.anonWriteHeld === 0) {
      for (let i = 0; i < rr.length; i += 3) this.collectRange(s, rr[i], rr[i + 1], rr[i + 2], ptes, RACE_MARK);
      rr.length = 0;
    }
    const a = ptes.a;
    for (let i = 0; i < ptes.n; i += 2) {
      const mmId = a[i];
      const vpn = a[i + 1];
      const pte = this.shadowPte(mmId, vpn);
      if (!countable(pte)) continue;
      const pfn = Math.floor(pte / 256);
      const f = this.pageFolio(pfn);
      if (!f || f.mappingKind !== MappingKind.Anon) continue;
      if (i >= direct) this.rPfns.add(f.pfn);
      const av = this.avNow(s, f.mapping);
      const root = av ? av.root : f.mapping;
      if (this.rootHeldWrite(s, root)) {
        const d = this.defer(root);
        d.ptes.push(mmId, vpn);
        continue;
      }
      const msg = this.checkLocation(s, mmId, vpn);
      if (msg) {
        const d = this.detail;
        this.report('rmap-race', r, t.spans, `a racing rmap walk (anon_vma:${root} not write-held) sees a wrong VMA: ${msg}`, {
          folio: [d.folio],
          vma: d.vma ? [d.vma] : [],
          anonVma: [d.av],
          mm: [mmId],
        });
      }
    }
    ptes.clear();
    if (this.rPfns.size) {
      const heads = this.seenHeads;
      heads.clear();
      const rp = this.rPfns;
      for (let i = 0; i < rp.size; i++) {
        const p = rp.at(i);
        const f = this.pageFolio(p);
        if (!f || heads.has(f.pfn)) continue;
        heads.add(f.pfn);
        if (f.mappingKind !== MappingKind.Anon || folioMapcountOf(f) === 0) continue;
        const av = this.avNow(s, f.mapping);
        const root = av ? av.root : f.mapping;
        if (this.rootHeldWrite(s, root)) {
          this.defer(root).pfns.push(f.pfn);
          continue;
        }
        const msg = this.walkMismatch(s, f);
        if (msg) {
          this.report('rmap-race', r, t.spans, `a racing rmap walk (anon_vma:${root} not write-held) would miss or mis-count: ${msg}`, {
            folio: [f.pfn],
            anonVma: [f.mapping],
          });
        }
      }
      this.rPfns.clear();
    }
  }

  /** The syscall-end checks (rmap and structure) on everything dirty. */
  private endChecks(r: Readonly<RawEvent>, path: readonly string[]): void {
    if (this.spinTotal === 0 && this.on['rmap-race'] && this.racePending()) this.processRace(r, this.task(r.task));
    const s = this.getState();
    const rmap = this.on.rmap;
    const structure = this.on.structure;

    // PTE locations: ranges of changed VMAs, then every touched location
    if (rmap) {
      const dr = this.dRanges;
      const direct = this.dPtes.n;
      const whole = this.wholeTables;
      whole.clear();
      for (let i = 0; i < dr.length; i += 3) this.collectRange(s, dr[i], dr[i + 1], dr[i + 2], this.dPtes, END_MARK, whole);
      const a = this.dPtes.a;
      for (let i = 0; i < this.dPtes.n; i += 2) {
        // a touched location in a table the ranges just collected whole is in the list twice
        if (i < direct && whole.size && whole.has(a[i] * TABLE_KEYS + Math.floor(a[i + 1] / 512))) continue;
        const msg = this.checkLocation(s, a[i], a[i + 1]);
        const d = this.detail;
        if (msg) this.report('rmap', r, path, msg, { folio: [d.folio], vma: d.vma ? [d.vma] : [], anonVma: [d.av], mm: [a[i]] });
        const pte = this.shadowPte(a[i], a[i + 1]);
        if (countable(pte)) this.dPfns.add(Math.floor(pte / 256));
      }
    }
    this.dRanges.length = 0;
    this.dPtes.clear();

    // folios
    const heads = this.seenHeads;
    heads.clear();
    const dp = this.dPfns;
    for (let i = 0; i < dp.size; i++) {
      const p = dp.at(i);
      const f = this.pageFolio(p);
      if (!f) {
        if (structure && (this.pteMaps.get(p) > 0 || this.pmdMaps.get(p) > 0)) {
          this.report('structure', r, path, `page ${p} is mapped (${this.pteMaps.get(p)} PTE, ${this.pmdMaps.get(p)} PMD) but belongs to no folio: a PTE points to a freed folio`, {
            folio: [p],
          });
        }
        continue;
      }
      if (heads.has(f.pfn)) continue;
      heads.add(f.pfn);
      if (rmap && f.mappingKind === MappingKind.Anon && folioMapcountOf(f) > 0) {
        const msg = this.walkMismatch(s, f);
        if (msg) this.report('rmap', r, path, msg, { folio: [f.pfn], anonVma: [f.mapping] });
      }
      if (structure) this.checkFolioCounts(r, path, f);
    }
    this.dPfns.clear();

    if (structure) {
      const fr = this.dFreed.a;
      for (let i = 0; i < this.dFreed.n; i += 2) {
        const head = fr[i];
        if (this.pageFolio(head)) continue;
        const n = 2 ** fr[i + 1];
        let ptes = 0;
        for (let k = 0; k < n; k++) ptes += this.pteMaps.get(head + k);
        const pmds = this.pmdMaps.get(head);
        if (ptes > 0 || pmds > 0) {
          this.report('structure', r, path, `folio ${head} was freed while still mapped by ${ptes} PTE(s) and ${pmds} PMD(s)`, { folio: [head] });
        }
      }
      for (const id of this.dVmas) this.checkVmaOrder(r, path, s, id);
      for (const id of this.dAvs) this.checkAnonVma(r, path, s, id);
    }
    this.dFreed.clear();
    this.dVmas.clear();
    this.dAvs.clear();
  }

  private checkFolioCounts(r: Readonly<RawEvent>, path: readonly string[], f: Folio): void {
    const n = f.pageMapcount.length;
    let maps = 0;
    for (let i = 0; i < n; i++) {
      const real = this.pteMaps.get(f.pfn + i);
      maps += real;
      if (real !== f.pageMapcount[i]) {
        this.report('structure', r, path, `page ${f.pfn + i} of folio ${f.pfn} has mapcount ${f.pageMapcount[i]} but ${real} PTE(s) map it`, { folio: [f.pfn] });
        return;
      }
    }
    const pmds = this.pmdMaps.get(f.pfn);
    if (pmds !== f.entireMapcount) {
      this.report('structure', r, path, `folio ${f.pfn} has entire mapcount ${f.entireMapcount} but ${pmds} PMD(s) map it`, { folio: [f.pfn] });
      return;
    }
    maps += pmds;
    // refcount convention of the model (rmap.ts): each PTE or PMD mapping holds one
    // reference, each pin one more; the swap cache holds its own (not checked)
    if ((f.flags & FOLIO_ANON) !== 0 && (f.flags & FOLIO_SWAPCACHE) === 0 && f.mappingKind !== MappingKind.Shmem) {
      const want = maps + f.pincount;
      if (f.refcount !== want) {
        this.report('structure', r, path, `anon folio ${f.pfn} has refcount ${f.refcount}, expected ${want} (${maps} mapping(s) + ${f.pincount} pin(s))`, { folio: [f.pfn] });
      }
    }
  }

  private checkVmaOrder(r: Readonly<RawEvent>, path: readonly string[], s: State, id: number): void {
    const v = s.vmas.get(id);
    if (!v) return;
    const mm = s.mms[v.mm];
    if (!mm) return;
    if (v.start >= v.end) {
      this.report('structure', r, path, `vma ${id} of mm ${v.mm} is empty or inverted: [${v.start}, ${v.end})`, { vma: [id], mm: [v.mm] });
      return;
    }
    // its neighbours in the tree: O(log n), not a scan of the mm's VMAs
    const ids = mm.vmas;
    const i = ids.rankOf(v.start, id);
    if (i < 0) {
      this.report('structure', r, path, `vma ${id} is not in the VMA tree of mm ${v.mm}`, { vma: [id], mm: [v.mm] });
      return;
    }
    if (i > 0) {
      const p = s.vmas.get(ids.idAt(i - 1)!)!;
      if (p.end > v.start) {
        this.report('structure', r, path, `VMAs of mm ${v.mm} overlap or are out of order: vma ${p.id} [${p.start}, ${p.end}) then vma ${id} [${v.start}, ${v.end})`, {
          vma: [p.id, id],
          mm: [v.mm],
        });
      }
    }
    if (i + 1 < ids.size) {
      const n = s.vmas.get(ids.idAt(i + 1)!)!;
      if (v.end > n.start) {
        this.report('structure', r, path, `VMAs of mm ${v.mm} overlap or are out of order: vma ${id} [${v.start}, ${v.end}) then vma ${n.id} [${n.start}, ${n.end})`, {
          vma: [id, n.id],
          mm: [v.mm],
        });
      }
    }
  }

  private checkAnonVma(r: Readonly<RawEvent>, path: readonly string[], s: State, id: number): void {
    const a = s.anonVmas.get(id);
    if (!a) return;
    const children = this.nonEmptyChildren.get(id) ?? 0;
    const active = this.activeVmas.get(id) ?? 0;
    const ref = (a.vmas.length > 0 ? 1 : 0) + (a.root === id ? (this.rootChildren.get(id) ?? 0) : 0);
    const bad: string[] = [];
    if (a.numChildren !== children) bad.push(`num_children ${a.numChildren}, expected ${children} (anon_vmas with parent ${id} still linked to a VMA, a root counting itself)`);
    if (a.numActiveVmas !== active) bad.push(`num_active_vmas ${a.numActiveVmas}, expected ${active} (VMAs whose anon_vma it is)`);
    if (a.refcount !== ref) {
      bad.push(
        `refcount ${a.refcount}, expected ${ref} (${a.vmas.length > 0 ? 1 : 0} own reference while linked${a.root === id ? ` + ${this.rootChildren.get(id) ?? 0} non-root anon_vma(s) of this root` : ''})`,
      );
    }
    if (bad.length) this.report('structure', r, path, `anon_vma ${id}: ${bad.join('; ')}`, { anonVma: [id] });
  }

  /* =============================== rebuild ====================================== */

  /** the state the shadows were last rebuilt from */
  private rebuiltFrom: State | null = null;
  /** the shadows built from `rebuiltFrom`, kept once it is rebuilt from a second time */
  private saved: SavedShadows | null = null;

  /**
   * Rebuild every shadow from a state (attach, rollback). O(state), rare, except in
   * the explorer: it restores the same marked state before every schedule, so the
   * shadows of a state rebuilt from twice are kept and copied back from then on (the
   * shadows are a function of the immutable state alone).
   */
  private rebuild(s: State): void {
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
    this.deferred.clear();
    this.lastTask = null;
    if (s === this.rebuiltFrom && this.saved) {
      this.restoreShadows(this.saved);
      return;
    }
    this.buildShadows(s);
    if (s === this.rebuiltFrom) this.saved = this.saveShadows();
    else {
      this.rebuiltFrom = s;
      this.saved = null;
    }
  }

  private saveShadows(): SavedShadows {
    const pairs = (m: Map<number, number>): [number, number][] => [...m];
    return {
      mms: [...this.mms].map(([id, m]) => ({ id, tables: [...m.tables].map(([k, t]) => ({ key: k, saved: t.slice(), live: t })), huge: pairs(m.huge) })),
      pteMaps: this.pteMaps.save(),
      pmdMaps: this.pmdMaps.save(),
      folioOrder: this.folioOrder.save(),
      folioMapping: this.folioMapping.save(),
      vmas: [...this.vmas].map(([id, v]) => [id, { ...v }]),
      avs: [...this.avs].map(([id, a]) => [id, { ...a }]),
      nonEmptyChildren: pairs(this.nonEmptyChildren),
      rootChildren: pairs(this.rootChildren),
      activeVmas: pairs(this.activeVmas),
      tasks: [...this.tasks.values()].map((t) => ({ id: t.id, spans: t.spans.slice(), held: t.held.map((h) => ({ ...h })), spin: t.spin })),
      openTasks: this.openTasks,
      spinTotal: this.spinTotal,
      anonWriteHeld: this.anonWriteHeld,
    };
  }

  /** The shadows as saveShadows() saw them (every mutable part copied, the tables' arrays reused). */
  private restoreShadows(sv: SavedShadows): void {
    const fill = (m: Map<number, number>, from: readonly (readonly [number, number])[]): void => {
      m.clear();
      for (const [k, v] of from) m.set(k, v);
    };
    this.mms.clear();
    for (const m of sv.mms) {
      const sh = new MmShadow();
      for (const t of m.tables) {
        t.live.set(t.saved);
        sh.tables.set(t.key, t.live);
      }
      for (const [k, v] of m.huge) sh.huge.set(k, v);
      this.mms.set(m.id, sh);
    }
    this.pteMaps.restore(sv.pteMaps);
    this.pmdMaps.restore(sv.pmdMaps);
    this.folioOrder.restore(sv.folioOrder);
    this.folioMapping.restore(sv.folioMapping);
    this.vmas.clear();
    for (const [id, v] of sv.vmas) this.vmas.set(id, { ...v });
    this.avs.clear();
    for (const [id, a] of sv.avs) this.avs.set(id, { ...a });
    fill(this.nonEmptyChildren, sv.nonEmptyChildren);
    fill(this.rootChildren, sv.rootChildren);
    fill(this.activeVmas, sv.activeVmas);
    this.tasks.clear();
    for (const t of sv.tasks) this.tasks.set(t.id, { id: t.id, spans: t.spans.slice(), held: t.held.map((h) => ({ ...h })), spin: t.spin });
    this.openTasks = sv.openTasks;
    this.spinTotal = sv.spinTotal;
    this.anonWriteHeld = sv.anonWriteHeld;
  }

  /** Every shadow from the state, from scratch. */
  private buildShadows(s: State): void {
    this.mms.clear();
    this.pteMaps.reset();
    this.pmdMaps.reset();
    this.folioOrder.reset();
    this.folioMapping.clear();
    this.vmas.clear();
    this.avs.clear();
    this.nonEmptyChildren.clear();
    this.rootChildren.clear();
    this.activeVmas.clear();
    for (const k of Object.keys(s.mms)) {
      const m = s.mms[+k];
      const sh = new MmShadow();
      this.mms.set(m.id, sh);
      for (const g of Object.keys(m.pgd)) {
        const pud = m.pgd[+g];
        for (const u of Object.keys(pud)) {
          const pmdt = pud[+u];
          for (const p of Object.keys(pmdt)) {
            const key = (+g * 512 + +u) * 512 + +p;
            const e = pmdt[+p];
            if (e.kind === 'table') {
              const t = newShadowTable();
              t.set(e.ptes.subarray(0, 512));
              sh.tables.set(key, t);
              for (let i = 0; i < 512; i++) if (countable(t[i])) this.pteMaps.add(Math.floor(t[i] / 256), 1);
            } else {
              const v = e.pfn * 256 + (e.flags | 1);
              sh.huge.set(key, v);
              if (countable(v)) this.pmdMaps.add(e.pfn, 1);
            }
          }
        }
      }
    }
    forEachFolio(s, (f) => {
      this.folioOrder.set(f.pfn, f.order + 1);
      if (f.mappingKind !== MappingKind.None || f.mapping) this.folioMapping.set(f.pfn, f.mappingKind + 4 * f.mapping);
    });
    s.vmas.forEach((v) => {
      this.vmas.set(v.id, { mm: v.mm, start: v.start, end: v.end, pgoff: v.pgoff, anonVma: v.anonVma });
      if (v.anonVma) bump(this.activeVmas, v.anonVma, 1);
    });
    s.anonVmas.forEach((a) => {
      this.avs.set(a.id, { root: a.root, parent: a.parent });
      if (a.root !== a.id) bump(this.rootChildren, a.root, 1);
      if (a.vmas.length > 0) bump(this.nonEmptyChildren, a.parent, 1);
    });
    // tasks: spans and held locks (acquisition order is not in the state)
    this.tasks.clear();
    this.lastTask = null;
    this.openTasks = 0;
    this.spinTotal = 0;
    this.anonWriteHeld = 0;
    for (const k of Object.keys(s.spans)) {
      const st = s.spans[+k];
      if (!st || !st.length) continue;
      this.task(+k).spans.push(...st.map((f) => f.name));
      this.openTasks++;
    }
    for (const name of Object.keys(s.locks)) {
      const l = s.locks[name];
      for (const h of l.holders) {
        const t = this.task(h);
        const info = this.lockInfo(name);
        t.held.push({ info, mode: l.mode, kind: l.kind, tryLock: false });
        if (l.kind === 1) {
          t.spin++;
          this.spinTotal++;
        }
        if (info.cls === LC.Anon && l.mode === 0) this.anonWriteHeld++;
      }
    }
  }
}
