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
 *
 * This file is the coordinator: the event dispatch, the syscall-end and flush points,
 * rollback, and reporting. The parts:
 *   - shadows.ts: the shadows and the dirty queues; rebuild.ts: them from a state;
 *   - lock-classes.ts: lock names parsed into classes;
 *   - locking.ts, rmap.ts, rmap-race.ts, structure.ts: one checker each (what each
 *     checks is in its header); vma-cache.ts: the VMA copies the rmap looks read.
 */
import { E, MappingKind, STRUCTURE_EVENT, pageFolio, type Folio, type LockState, type RawEvent, type State } from '@mmsim/core';
import { LockClasses, LC } from './lock-classes.js';
import { LifetimeChecker } from './lifetime.js';
import { LockingChecker } from './locking.js';
import { buildShadows, restoreShadows, saveShadows, type SavedShadows } from './rebuild.js';
import type { Reporter } from './report.js';
import { RmapChecker } from './rmap.js';
import { RacingWalker } from './rmap-race.js';
import { Shadows, type TaskInfo } from './shadows.js';
import { StructureChecker } from './structure.js';
import { ALL_CHECKERS, InvariantViolationError, type CheckerName, type CheckerOptions, type Violation } from './types.js';

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
  readonly work: { locations: number; walks: number };
  /** violations found, including those not recorded past maxViolations */
  found = 0;

  private readonly reader: CheckerReader;
  private readonly pageFolio: (pfn: number) => Folio | undefined;
  private readonly on: Record<CheckerName, boolean>;
  private readonly strict: boolean;
  private readonly maxViolations: number;
  private toThrow: Violation | null = null;
  private aborting = false;
  /** rule keys already reported in the current syscall (dedup of repeated mutations) */
  private readonly reported = new Set<string>();

  private readonly classes = new LockClasses();
  private readonly sh: Shadows;
  private readonly locking: LockingChecker;
  private readonly rmap: RmapChecker;
  private readonly race: RacingWalker;
  private readonly structure: StructureChecker;
  private readonly lifetime: LifetimeChecker;

  /** the state the shadows were last rebuilt from */
  private rebuiltFrom: State | null = null;
  /** the shadows built from `rebuiltFrom`, kept once it is rebuilt from a second time */
  private saved: SavedShadows | null = null;

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
    this.on = { rmap: false, 'rmap-race': false, locking: false, structure: false, lifetime: false };
    for (const c of list) {
      if (!(c in this.on)) throw new Error(`unknown checker "${c}" (known: ${ALL_CHECKERS.join(', ')})`);
      this.on[c as CheckerName] = true;
    }
    this.strict = opts.mode === 'strict';
    this.maxViolations = opts.maxViolations ?? 10000;
    // the checker modules report through these (called only when something is wrong)
    const rep: Reporter = {
      report: (checker, r, path, message, objects) => this.report(checker, r, path, message, objects),
      violate: (checker, r, t, key, message, objects) => this.violate(checker, r, t, key, message, objects),
    };
    this.sh = new Shadows(this.on.rmap, this.on['rmap-race']);
    this.locking = new LockingChecker(rep, this.classes, this.sh, opts.kernelLockOrder ?? true);
    this.rmap = new RmapChecker(rep, this.sh, this.pageFolio);
    this.work = this.rmap.work;
    this.race = new RacingWalker(rep, this.sh, this.rmap, this.classes, this.reader);
    this.structure = new StructureChecker(rep, this.sh, this.pageFolio);
    this.lifetime = new LifetimeChecker(rep, this.sh, this.getState);
    // the shadows start from a committed state (a batch keeps some tables to itself)
    commit();
    this.rebuild(getState());
  }

  /* =============================== event entry ================================== */

  onEvent(r: Readonly<RawEvent>): void {
    if (STRUCTURE_EVENT[r.type]) this.rmap.cache.changed();
    const sh = this.sh;
    const locking = this.on.locking;
    const t = sh.task(r.task);
    // a case per type id: a new event type fails to compile here (the default's `never`)
    // until it is given a case, even one that keeps no shadow
    const type = r.type as E;
    switch (type) {
      case E.SpanOpen:
        if (t.spans.length === 0) {
          if (sh.openTasks === 0) this.aborting = false;
          // events outside any span are checked at the next syscall start
          if (sh.openTasks === 0 && sh.hasDirty()) this.endChecks(r, []);
          sh.openTasks++;
        }
        t.spans.push(r.s);
        break;
      case E.SpanClose:
        if (t.spans.length === 1) {
          if (locking) this.locking.spanEnd(r, t);
          sh.openTasks--;
          if (sh.openTasks === 0) {
            this.commit();
            this.endChecks(r, t.spans);
          }
          this.reported.clear();
        }
        if (t.spans.length) t.spans.pop();
        break;
      case E.LockAcquire: {
        const li = this.classes.lockInfo(r.s);
        const tryLock = r.c !== 0;
        if (locking) this.locking.lockAcquire(r, t, li, tryLock);
        sh.lockTaken(t, li, r.a, r.b, tryLock);
        break;
      }
      case E.LockRelease: {
        const x = sh.lockReleased(t, r.s);
        if (x && x.info.cls === LC.Anon) this.race.anonLockReleased(r.s, x.info.a);
        break;
      }
      case E.MmCreate:
        sh.mmCreate(r.a);
        break;
      case E.MmExit:
        sh.mmDrop(r.a);
        break;
      case E.VmaInsert:
        if (locking) this.locking.requireVmaWrite(r, t, r.b, r.a, 'vma_insert', false);
        sh.vmaInsert(r.a, r.b, r.c, r.d, r.e);
        break;
      case E.VmaRemove: {
        const v = sh.vmas.get(r.a);
        if (!v) break;
        if (locking) this.locking.requireVmaWrite(r, t, v.mm, r.a, 'vma_remove', true);
        sh.vmaRemove(r.a, v);
        break;
      }
      case E.VmaAdjust: {
        const v = sh.vmas.get(r.a);
        if (!v) break;
        if (locking) this.locking.requireVmaWrite(r, t, v.mm, r.a, 'vma_adjust', true);
        sh.vmaAdjust(r.a, v, r.b, r.c, r.d);
        break;
      }
      case E.VmaFlags:
        if (locking) {
          const v = sh.vmas.get(r.a);
          if (v) this.locking.requireVmaWrite(r, t, v.mm, r.a, 'vma_flags', true);
        }
        break;
      case E.VmaPolicy:
        // vma_replace_policy(): under mmap_write_lock and the VMA's write lock, as vm_flags
        if (locking) {
          const v = sh.vmas.get(r.a);
          if (v) this.locking.requireVmaWrite(r, t, v.mm, r.a, 'vma_policy', true);
        }
        break;
      case E.VmaSetAnonVma: {
        const v = sh.vmas.get(r.a);
        if (!v) break;
        if (locking) this.locking.requireSetAnonVma(r, t, r.a, v.mm);
        sh.vmaSetAnonVma(v, r.b);
        break;
      }
      case E.AnonVmaCreate:
        sh.anonVmaCreate(r.a, r.b || r.a, r.c);
        break;
      case E.AnonVmaFree:
        if (this.on.lifetime) this.lifetime.freed(r, t);
        sh.anonVmaFree(r.a);
        break;
      case E.AnonVmaCount:
        if (this.on.lifetime) this.lifetime.counted(r, t);
        sh.dAvs.add(r.a);
        break;
      case E.AvcLink:
      case E.AvcUnlink:
        if (locking) this.locking.requireAvcLock(r, t, r.a, r.b);
        sh.avc(r.type === E.AvcLink, r.a, r.b, this.getState().anonVmas.get(r.b));
        break;
      case E.FolioAlloc:
        sh.folioAlloc(r.a, r.b);
        break;
      case E.FolioFree:
        sh.folioFree(r.a);
        this.rmap.folioFreed(r.a);
        break;
      case E.FolioSplit:
        sh.folioSplit(r.a, r.b);
        break;
      case E.FolioIndex:
      case E.FolioMapping:
        this.folioIdentity(r, t);
        break;
      case E.FolioCount:
        // GUP's references (refcount) and pins (pincount: the pin owns its reference)
        if (r.b <= 1 && t.spans.includes('gup_fast')) sh.gupRef(r.a, r.b === 0 ? r.c : -r.c);
        if (r.b === 1 && r.c < 0) this.rmap.unpinned(r.a, -r.c);
        sh.dPfns.add(r.a);
        break;
      case E.FolioFlags:
        sh.dPfns.add(r.a);
        break;
      case E.PteSet:
        if (locking) this.locking.requirePtl(r, t, r.a, r.b, 'pte_set');
        sh.setShadowPte(r.a, r.b, r.c * 256 + ((r.d | 1) & 255), true);
        break;
      case E.PteClear:
        if (locking) this.locking.requirePtl(r, t, r.a, r.b, 'pte_clear');
        sh.setShadowPte(r.a, r.b, 0, false);
        break;
      case E.PteSwap:
        if (locking) this.locking.requirePtl(r, t, r.a, r.b, 'pte_swap');
        sh.setShadowPte(r.a, r.b, -(r.c * 256 + (r.d & 255)), false);
        break;
      case E.PteFlags: {
        if (locking) this.locking.requirePtl(r, t, r.a, r.b, 'pte_flags');
        const old = sh.getShadowPte(r.a, r.b);
        if (old > 0) sh.setShadowPte(r.a, r.b, Math.floor(old / 256) * 256 + ((r.c | 1) & 255), false);
        break;
      }
      case E.PteMove:
        if (locking) {
          this.locking.requirePtl(r, t, r.a, r.b, 'pte_move');
          this.locking.requirePtl(r, t, r.a, r.c, 'pte_move');
        }
        sh.pteMove(r.a, r.b, r.c);
        break;
      case E.PtAlloc:
        sh.ptAlloc(r.a, Math.floor(r.b / 512));
        break;
      case E.PtFree:
        sh.dropTable(r.a, Math.floor(r.b / 512));
        break;
      case E.PtMove:
        // level 1: move_normal_pmd (one PTE table, under both PMD locks); 2: move_normal_pud
        if (locking && r.d === 1) {
          this.locking.requirePmd(r, t, r.a, r.b, 'pt_move');
          this.locking.requirePmd(r, t, r.a, r.c, 'pt_move');
        }
        sh.ptMove(r.a, r.b, r.c, r.d === 1);
        break;
      case E.PmdSet:
        if (locking) this.locking.requirePmd(r, t, r.a, r.b, 'pmd_set');
        sh.pmdSet(r.a, Math.floor(r.b / 512), r.c * 256 + ((r.d | 1) & 255));
        sh.touchLocation(r.a, r.b, r.c);
        break;
      case E.PmdClear:
        if (locking) this.locking.requirePmd(r, t, r.a, r.b, 'pmd_clear');
        sh.pmdClear(r.a, Math.floor(r.b / 512));
        break;
      case E.PmdMove:
        if (locking) {
          this.locking.requirePmd(r, t, r.a, r.b, 'pmd_move');
          this.locking.requirePmd(r, t, r.a, r.c, 'pmd_move');
        }
        sh.pmdMove(r.a, Math.floor(r.b / 512), Math.floor(r.c / 512));
        break;
      case E.PmdSplit:
        if (locking) this.locking.requirePmd(r, t, r.a, r.b, 'pmd_split');
        sh.pmdSplit(r.a, Math.floor(r.b / 512));
        break;
      case E.PmdFlags:
        if (locking) this.locking.requirePmd(r, t, r.a, r.b, 'pmd_flags');
        sh.pmdFlags(r.a, Math.floor(r.b / 512), r.c);
        break;
      case E.MmWpSeq:
        if (locking) this.locking.requireMmapWrite(r, t, r.a, 'write_protect_seq');
        break;
      case E.MmMergeAny:
        // prctl(PR_SET_MEMORY_MERGE) holds mmap_write_lock; dup_mmap holds the child's
        if (locking) this.locking.requireMmapWrite(r, t, r.a, 'MMF_VM_MERGE_ANY');
        break;
      // no shadow follows these: annotations, the scheduler, errors, and state the checkers
      // read from the committed State when they need it (swap, shmem, page content, PAE)
      case E.TaskSwitch:
      case E.Error:
      case E.LockTryFail:
      case E.VmaSetFile:
      case E.VmaSplit:
      case E.VmaMerge:
      case E.PageAnonExclusive:
      case E.ShmemCreate:
      case E.ShmemPage:
      case E.SwapCount:
      case E.SwapCache:
      case E.PageContent:
      case E.Fault:
      case E.Note:
      case E.PudMove:
        break;
      default: {
        const unknown: never = type;
        void unknown;
      }
    }
    if (sh.spinTotal === 0 && this.on['rmap-race'] && sh.racePending()) this.race.process(r, t, this.getState());
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
    const sh = this.sh;
    if (sh.openTasks !== 0) return;
    this.aborting = false;
    const r = { type: -1, seq, task: 0, span: 0, a: 0, b: 0, c: 0, d: 0, e: 0, f: 0, s: '' };
    if (sh.spinTotal === 0 && this.on['rmap-race'] && sh.racePending()) this.race.process(r, sh.task(0), this.getState());
    if (sh.hasDirty()) this.endChecks(r, []);
    if (this.toThrow) {
      const v = this.toThrow;
      this.toThrow = null;
      if (throwing) throw new InvariantViolationError(v);
    }
  }

  /** The syscall starting at `seq` was rolled back: forget it, rebuild from the state. */
  onRollback(seq: number): void {
    this.locking.rollback(seq);
    this.reported.clear();
    this.toThrow = null;
    this.aborting = false;
    this.rmap.cache.changed();
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

  /* ================================ glue ======================================== */

  /** folio_set_index / folio->mapping written: the shadow, the rmap and locking rules, the folio due for a look. */
  private folioIdentity(r: Readonly<RawEvent>, t: TaskInfo): void {
    const pfn = r.a;
    let oldKind: number = MappingKind.None;
    let oldTarget = 0;
    if (r.type === E.FolioMapping) {
      const m = this.sh.setFolioMapping(pfn, r.b, r.c);
      if (m >= 0) {
        oldKind = m % 4;
        oldTarget = Math.floor(m / 4);
      }
    }
    if (this.on.rmap || this.on.locking) {
      const f = this.pageFolio(pfn);
      if (f && f.pfn === pfn) {
        if (this.on.rmap) this.rmap.folioIdentity(r, t, f, oldKind);
        if (this.on.locking) this.locking.folioIdentity(r, t, f, oldKind, oldTarget);
      }
    }
    this.sh.folioIdentityChanged(pfn);
  }

  /** The syscall-end checks (rmap and structure) on everything dirty. */
  private endChecks(r: Readonly<RawEvent>, path: readonly string[]): void {
    const sh = this.sh;
    if (sh.spinTotal === 0 && this.on['rmap-race'] && sh.racePending()) this.race.process(r, sh.task(r.task), this.getState());
    const s = this.getState();
    const rmap = this.on.rmap;
    const structure = this.on.structure;

    // PTE locations: ranges of changed VMAs, then every touched location
    if (rmap) {
      this.rmap.endPins(r);
      this.rmap.endLocations(r, path, s);
    }
    sh.dRanges.length = 0;
    sh.dPtes.clear();

    // folios
    const heads = this.rmap.seenHeads;
    heads.clear();
    const dp = sh.dPfns;
    for (let i = 0; i < dp.size; i++) {
      const p = dp.at(i);
      const f = this.pageFolio(p);
      if (!f) {
        if (structure) this.structure.unownedPage(r, path, p);
        continue;
      }
      if (heads.has(f.pfn)) continue;
      heads.add(f.pfn);
      if (rmap) this.rmap.checkFolio(r, path, s, f);
      if (structure) this.structure.checkFolioCounts(r, path, f);
    }
    dp.clear();

    if (structure) this.structure.endChecks(r, path, s);
    sh.dFreed.clear();
    sh.dVmas.clear();
    sh.dAvs.clear();
  }

  /**
   * Rebuild every shadow from a state (attach, rollback). O(state), rare, except in
   * the explorer: it restores the same marked state before every schedule, so the
   * shadows of a state rebuilt from twice are kept and copied back from then on (the
   * shadows are a function of the immutable state alone).
   */
  private rebuild(s: State): void {
    this.sh.clearDirty();
    this.race.clear();
    this.rmap.clearPins();
    if (s === this.rebuiltFrom && this.saved) {
      restoreShadows(this.sh, this.saved);
      return;
    }
    buildShadows(this.sh, s, this.classes);
    if (s === this.rebuiltFrom) this.saved = saveShadows(this.sh);
    else {
      this.rebuiltFrom = s;
      this.saved = null;
    }
  }
}
