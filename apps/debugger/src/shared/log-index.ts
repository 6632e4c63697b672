/**
 * What the debugger learns from one pass over a log: span names and nesting, syscalls,
 * tasks, errors, the counts series and every lock hold. Built as an observer of the
 * replay that builds the time-travel keyframes (one decode of the log, not three).
 */
import { E, newRawEvent, type EventLog, type RawEvent } from '@mmsim/core';
import { MAX_COUNT_SAMPLES, type CountsSeries } from './protocol.js';
import { callArgs } from './calls.js';

/** What the index looks values up in by key: a Map, or the columns of one (index-wire.ts). */
export interface Lookup<T> {
  get(key: number): T | undefined;
  readonly size: number;
}

export interface LogIndex {
  /** events indexed (the log's length) */
  events: number;
  spanNames: Lookup<string>;
  spanCount: number;
  syscalls: number;
  tasks: number[];
  errors: number[];
  errorMessages: Record<number, string>;
  counts: CountsSeries;
  lockNames: string[];
  /** lock holds, sorted by start */
  locks: { lock: Int32Array; task: Int32Array; mode: Uint8Array; start: Float64Array; end: Float64Array; maxDur: number };
  /** vma_split / vma_merge annotations: seq, type, a, b, c */
  vmaNotes: { seq: number; type: number; a: number; b: number; c: number }[];
  /** every span in order of opening: task, depth, open and close seq (N: never closed), result */
  spans: { id: Int32Array; task: Int32Array; depth: Uint8Array; open: Float64Array; close: Float64Array; result: Int32Array };
  /** span indexes in order of closing */
  closeOrder: Int32Array;
  /** span id -> index in spans */
  spanIdx: Lookup<number>;
  /** the decoded arguments of a top-level span (a `{"call": ...}` note of runScenario), by span id */
  callArgs: Map<number, string>;
}

/** The index as built here: its lookups are Maps (packIndex sends them as columns). */
export type BuiltIndex = Omit<LogIndex, 'spanNames' | 'spanIdx'> & { spanNames: Map<number, string>; spanIdx: Map<number, number> };

/** A growable column of numbers (a typed array doubled on demand: no boxed JS array). */
class Column<T extends Float64Array | Int32Array | Uint8Array> {
  n = 0;
  constructor(
    public a: T,
    private readonly make: (n: number) => T,
  ) {}
  push(x: number): number {
    if (this.n === this.a.length) {
      const b = this.make(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n] = x;
    return this.n++;
  }
  done(): T {
    return this.a.slice(0, this.n) as T;
  }
}
const f64 = (): Column<Float64Array> => new Column(new Float64Array(1024), (n) => new Float64Array(n));
const i32 = (): Column<Int32Array> => new Column(new Int32Array(1024), (n) => new Int32Array(n));
const u8 = (): Column<Uint8Array> => new Column(new Uint8Array(1024), (n) => new Uint8Array(n));

/** Task ids are small: a lock-hold key packs the lock id above them (a string past that). */
const TASK_SPAN = 2 ** 20;
const holdKey = (lock: number, task: number): number | string =>
  task >= 0 && task < TASK_SPAN ? lock * TASK_SPAN + task : `${lock}:${task}`;

const FOLIO_PREFIX = 'folio:';
/**
 * The pfn of a folio lock's name (`folio:<pfn>`, as the model names them), -1 for any
 * other name: folio locks are most of a log's locks (one per folio a page-table walk
 * takes), so their ids are kept by pfn in an array, not hashed as strings.
 */
function folioLockPfn(s: string): number {
  if (s.length <= 6 || s.length > 21 || !s.startsWith(FOLIO_PREFIX)) return -1;
  let n = 0;
  for (let i = 6; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9 || (c === 0 && i === 6 && s.length > 7)) return -1;
    n = n * 10 + c;
  }
  return n <= 0x3fffffff ? n : -1;
}

/** A growable array of ints (0: none), indexed by a small key. */
class IntSlots {
  a = new Int32Array(1024);
  get(k: number): number {
    return k < this.a.length ? this.a[k] : 0;
  }
  set(k: number, v: number): void {
    if (k >= this.a.length) {
      let n = this.a.length * 2;
      while (n <= k) n *= 2;
      const b = new Int32Array(n);
      b.set(this.a);
      this.a = b;
    }
    this.a[k] = v;
  }
}

export class LogIndexer {
  private readonly spanNames = new Map<number, string>();
  private readonly depth = new Map<number, number>();
  private readonly tasks = new Set<number>();
  private lastTask = -1;
  private readonly errors: number[] = [];
  private readonly errorMessages: Record<number, string> = {};
  private syscalls = 0;
  // counts, kept from events alone (the reducer's bookkeeping, without the state)
  private vmas = 0;
  private anonVmas = 0;
  private avcs = 0;
  private folios = 0;
  private readonly order = new Map<number, number>();
  private readonly sPos = f64();
  private readonly sV = f64();
  private readonly sA = f64();
  private readonly sC = f64();
  private readonly sF = f64();
  private readonly stride: number;
  private lastSample = 0;
  // locks
  private readonly lockIds = new Map<string, number>();
  private readonly lockNames: string[] = [];
  private readonly lLock = i32();
  private readonly lTask = i32();
  private readonly lMode = u8();
  private readonly lStart = f64();
  private readonly lEnd = f64();
  /** folio lock pfn -> its lock id + 1 (folioLockPfn) */
  private readonly folioLockIds = new IntSlots();
  /**
   * lock id -> index + 1 of an open hold of it, and that hold's task (most locks have at
   * most one holder at a time); the holds of further holders of a shared lock: `open`
   */
  private readonly openHold = new IntSlots();
  private readonly openTask = new IntSlots();
  /** (lock id * TASK_SPAN + task) -> index of its open hold, for holders past the first */
  private readonly open = new Map<number | string, number>();
  private readonly vmaNotes: LogIndex['vmaNotes'] = [];
  private readonly spId = i32();
  private readonly spTask = i32();
  private readonly spDepth = u8();
  private readonly spOpen = f64();
  private readonly spClose = f64();
  private readonly spResult = i32();
  private readonly closeOrder = i32();
  private readonly spanIdx = new Map<number, number>();
  private readonly calls = new Map<number, string>();

  /** N: the log's length (an unclosed span or lock hold ends there) */
  constructor(private readonly N: number) {
    this.stride = Math.max(1, Math.ceil(N / MAX_COUNT_SAMPLES));
    this.sample(0);
  }

  private sample(pos: number): void {
    this.sPos.push(pos);
    this.sV.push(this.vmas);
    this.sA.push(this.anonVmas);
    this.sC.push(this.avcs);
    this.sF.push(this.folios);
  }

  observe(r: RawEvent): void {
    if (r.task !== this.lastTask) {
      this.lastTask = r.task;
      this.tasks.add(r.task);
    }
    let boundary = false;
    // a case per type id (the default's `never`): a new event type fails to compile here
    // until it says what the index keeps of it, if anything
    const type = r.type as E;
    switch (type) {
      case E.SpanOpen: {
        this.spanNames.set(r.a, r.s);
        const d = this.depth.get(r.task) ?? 0;
        if (d === 0) this.syscalls++;
        this.depth.set(r.task, d + 1);
        this.spanIdx.set(r.a, this.spId.n);
        this.spId.push(r.a);
        this.spTask.push(r.task);
        this.spDepth.push(Math.min(255, d));
        this.spOpen.push(r.seq);
        this.spClose.push(this.N);
        this.spResult.push(0);
        boundary = true;
        break;
      }
      case E.SpanClose: {
        this.depth.set(r.task, Math.max(0, (this.depth.get(r.task) ?? 1) - 1));
        const i = this.spanIdx.get(r.a);
        if (i !== undefined) {
          this.spClose.a[i] = r.seq;
          this.spResult.a[i] = r.b;
          this.closeOrder.push(i);
        }
        boundary = true;
        break;
      }
      case E.Note:
        if (r.s.startsWith('{"call"')) {
          const a = callArgs(r.s);
          if (a) this.calls.set(r.span, a);
        }
        break;
      case E.Error:
        this.errors.push(r.seq);
        this.errorMessages[r.seq] = r.s;
        boundary = true;
        break;
      case E.VmaInsert:
        this.vmas++;
        break;
      case E.VmaRemove:
        this.vmas--;
        break;
      case E.AnonVmaCreate:
        this.anonVmas++;
        break;
      case E.AnonVmaFree:
        this.anonVmas--;
        break;
      case E.AvcLink:
        this.avcs++;
        break;
      case E.AvcUnlink:
        this.avcs--;
        break;
      case E.FolioAlloc:
        this.folios++;
        this.order.set(r.a, r.b);
        break;
      case E.FolioFree:
        this.folios--;
        this.order.delete(r.a);
        break;
      case E.FolioSplit: {
        const o = this.order.get(r.a) ?? r.b;
        const n = 2 ** (o - r.b);
        this.folios += n - 1;
        for (let k = 0; k < n; k++) this.order.set(r.a + k * 2 ** r.b, r.b);
        break;
      }
      case E.VmaSplit:
      case E.VmaMerge:
        this.vmaNotes.push({ seq: r.seq, type: r.type, a: r.a, b: r.b, c: r.c });
        break;
      case E.LockAcquire: {
        const id = this.lockId(r.s, true);
        if (this.openHold.get(id) === 0) {
          this.openHold.set(id, this.lStart.n + 1);
          this.openTask.set(id, r.task);
        } else this.open.set(holdKey(id, r.task), this.lStart.n);
        this.lLock.push(id);
        this.lTask.push(r.task);
        this.lMode.push(r.a);
        this.lStart.push(r.seq);
        this.lEnd.push(this.N);
        break;
      }
      case E.LockRelease: {
        const id = this.lockId(r.s, false);
        if (id < 0) break;
        // a later hold of the same task first (a shared lock taken twice), then the first holder's
        if (this.open.size) {
          const key = holdKey(id, r.task);
          const i = this.open.get(key);
          if (i !== undefined) {
            this.lEnd.a[i] = r.seq;
            this.open.delete(key);
            break;
          }
        }
        const h = this.openHold.get(id);
        if (h !== 0 && this.openTask.get(id) === r.task) {
          this.lEnd.a[h - 1] = r.seq;
          this.openHold.set(id, 0);
        }
        break;
      }
      // nothing indexed: the counts come from the create/free events above, the rest is
      // read from the state at a position
      case E.TaskSwitch:
      case E.MmCreate:
      case E.MmExit:
      case E.LockTryFail:
      case E.VmaAdjust:
      case E.VmaFlags:
      case E.VmaSetAnonVma:
      case E.VmaSetFile:
      case E.VmaPolicy:
      case E.AnonVmaCount:
      case E.FolioIndex:
      case E.FolioMapping:
      case E.FolioFlags:
      case E.PageAnonExclusive:
      case E.FolioCount:
      case E.PteSet:
      case E.PteClear:
      case E.PteMove:
      case E.PteFlags:
      case E.PteSwap:
      case E.PtAlloc:
      case E.PtFree:
      case E.PtMove:
      case E.PmdSet:
      case E.PmdClear:
      case E.PmdMove:
      case E.PmdSplit:
      case E.PmdFlags:
      case E.ShmemCreate:
      case E.ShmemPage:
      case E.SwapCount:
      case E.Fault:
      case E.PudMove:
      case E.PageContent:
      case E.SwapCache:
      case E.MmWpSeq:
      case E.MmMergeAny:
        break;
      default: {
        const unknown: never = type;
        void unknown;
      }
    }
    if (boundary && r.seq + 1 - this.lastSample >= this.stride) {
      this.lastSample = r.seq + 1;
      this.sample(r.seq + 1);
    }
  }

  /** The id of lock name s (-1: never acquired; `add`: give it one). */
  private lockId(s: string, add: boolean): number {
    const pfn = folioLockPfn(s);
    let id = pfn >= 0 ? this.folioLockIds.get(pfn) - 1 : (this.lockIds.get(s) ?? -1);
    if (id < 0 && add) {
      id = this.lockNames.length;
      this.lockNames.push(s);
      if (pfn >= 0) this.folioLockIds.set(pfn, id + 1);
      else this.lockIds.set(s, id);
    }
    return id;
  }

  finish(): BuiltIndex {
    if (this.sPos.a[this.sPos.n - 1] !== this.N) this.sample(this.N);
    const start = this.lStart.done();
    const end = this.lEnd.done();
    let maxDur = 0;
    for (let i = 0; i < start.length; i++) maxDur = Math.max(maxDur, end[i] - start[i]);
    return {
      events: this.N,
      spanNames: this.spanNames,
      spanCount: this.spanNames.size,
      syscalls: this.syscalls,
      tasks: [...this.tasks].sort((a, b) => a - b),
      errors: this.errors,
      errorMessages: this.errorMessages,
      counts: {
        pos: this.sPos.done(),
        vmas: this.sV.done(),
        anonVmas: this.sA.done(),
        avcs: this.sC.done(),
        folios: this.sF.done(),
      },
      lockNames: this.lockNames,
      locks: { lock: this.lLock.done(), task: this.lTask.done(), mode: this.lMode.done(), start, end, maxDur },
      vmaNotes: this.vmaNotes,
      spans: {
        id: this.spId.done(),
        task: this.spTask.done(),
        depth: this.spDepth.done(),
        open: this.spOpen.done(),
        close: this.spClose.done(),
        result: this.spResult.done(),
      },
      closeOrder: this.closeOrder.done(),
      spanIdx: this.spanIdx,
      callArgs: this.calls,
    };
  }
}

/** One decode pass over a log, for callers without a replay to ride on. */
export function indexLog(log: EventLog): BuiltIndex {
  const ix = new LogIndexer(log.length);
  const cur = log.cursor(0);
  const r = newRawEvent();
  while (cur.next(r)) ix.observe(r);
  return ix.finish();
}
