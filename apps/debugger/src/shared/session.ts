/**
 * A debugging session over one log: decode, time travel, and the indexes the timeline
 * needs, all built once. Runs in the worker; every method answers with plain data.
 */
import {
  E,
  LogFileError,
  TimeTravel,
  decodeLogFile,
  diffStates,
  newRawEvent,
  type EventLog,
  type ReadLogResult,
  type State,
} from '@mmsim/core';
import {
  MAX_COUNT_SAMPLES,
  MAX_LANE_INTERVALS,
  type CountsSeries,
  type DiffSummary,
  type EventRow,
  type LockInterval,
  type LockLanes,
  type LogSummary,
  type StepUnit,
  type ViewData,
  type ViolationSource,
} from './protocol.js';
import { anonVmaForest, eventRow, heldLocks, mmViews, taskViews, vmaPages, vmaSetDiff } from './views.js';

/** What one pass over the log learns. */
export interface LogIndex {
  spanNames: Map<number, string>;
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
}

function binFirstGE(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One decode pass: span names, syscalls, tasks, errors, counts samples, lock holds. */
export function indexLog(log: EventLog): LogIndex {
  const N = log.length;
  const cur = log.cursor(0);
  const r = newRawEvent();
  const spanNames = new Map<number, string>();
  const depth = new Map<number, number>();
  const tasks = new Set<number>();
  const errors: number[] = [];
  const errorMessages: Record<number, string> = {};
  let syscalls = 0;
  // counts, kept from events alone (the reducer's bookkeeping, without the state)
  let vmas = 0;
  let anonVmas = 0;
  let avcs = 0;
  let folios = 0;
  const order = new Map<number, number>();
  const sPos: number[] = [0];
  const sV: number[] = [0];
  const sA: number[] = [0];
  const sC: number[] = [0];
  const sF: number[] = [0];
  const stride = Math.max(1, Math.ceil(N / MAX_COUNT_SAMPLES));
  let lastSample = 0;
  // locks
  const lockIds = new Map<string, number>();
  const lockNames: string[] = [];
  const lLock: number[] = [];
  const lTask: number[] = [];
  const lMode: number[] = [];
  const lStart: number[] = [];
  const lEnd: number[] = [];
  const open = new Map<string, number>();
  const vmaNotes: LogIndex['vmaNotes'] = [];

  while (cur.next(r)) {
    tasks.add(r.task);
    let boundary = false;
    switch (r.type) {
      case E.SpanOpen: {
        spanNames.set(r.a, r.s);
        const d = depth.get(r.task) ?? 0;
        if (d === 0) syscalls++;
        depth.set(r.task, d + 1);
        boundary = true;
        break;
      }
      case E.SpanClose:
        depth.set(r.task, Math.max(0, (depth.get(r.task) ?? 1) - 1));
        boundary = true;
        break;
      case E.Error:
        errors.push(r.seq);
        errorMessages[r.seq] = r.s;
        boundary = true;
        break;
      case E.VmaInsert:
        vmas++;
        break;
      case E.VmaRemove:
        vmas--;
        break;
      case E.AnonVmaCreate:
        anonVmas++;
        break;
      case E.AnonVmaFree:
        anonVmas--;
        break;
      case E.AvcLink:
        avcs++;
        break;
      case E.AvcUnlink:
        avcs--;
        break;
      case E.FolioAlloc:
        folios++;
        order.set(r.a, r.b);
        break;
      case E.FolioFree:
        folios--;
        order.delete(r.a);
        break;
      case E.FolioSplit: {
        const o = order.get(r.a) ?? r.b;
        const n = 2 ** (o - r.b);
        folios += n - 1;
        for (let k = 0; k < n; k++) order.set(r.a + k * 2 ** r.b, r.b);
        break;
      }
      case E.VmaSplit:
      case E.VmaMerge:
        vmaNotes.push({ seq: r.seq, type: r.type, a: r.a, b: r.b, c: r.c });
        break;
      case E.LockAcquire: {
        let id = lockIds.get(r.s);
        if (id === undefined) {
          id = lockNames.length;
          lockIds.set(r.s, id);
          lockNames.push(r.s);
        }
        open.set(`${id}:${r.task}`, lStart.length);
        lLock.push(id);
        lTask.push(r.task);
        lMode.push(r.a);
        lStart.push(r.seq);
        lEnd.push(N);
        break;
      }
      case E.LockRelease: {
        const id = lockIds.get(r.s);
        if (id === undefined) break;
        const key = `${id}:${r.task}`;
        const i = open.get(key);
        if (i !== undefined) {
          lEnd[i] = r.seq;
          open.delete(key);
        }
        break;
      }
    }
    if (boundary && r.seq + 1 - lastSample >= stride) {
      lastSample = r.seq + 1;
      sPos.push(r.seq + 1);
      sV.push(vmas);
      sA.push(anonVmas);
      sC.push(avcs);
      sF.push(folios);
    }
  }
  if (sPos[sPos.length - 1] !== N) {
    sPos.push(N);
    sV.push(vmas);
    sA.push(anonVmas);
    sC.push(avcs);
    sF.push(folios);
  }
  let maxDur = 0;
  for (let i = 0; i < lStart.length; i++) maxDur = Math.max(maxDur, lEnd[i] - lStart[i]);
  return {
    spanNames,
    spanCount: spanNames.size,
    syscalls,
    tasks: [...tasks].sort((a, b) => a - b),
    errors,
    errorMessages,
    counts: {
      pos: Float64Array.from(sPos),
      vmas: Float64Array.from(sV),
      anonVmas: Float64Array.from(sA),
      avcs: Float64Array.from(sC),
      folios: Float64Array.from(sF),
    },
    lockNames,
    locks: {
      lock: Int32Array.from(lLock),
      task: Int32Array.from(lTask),
      mode: Uint8Array.from(lMode),
      start: Float64Array.from(lStart),
      end: Float64Array.from(lEnd),
      maxDur,
    },
    vmaNotes,
  };
}

export class DebugSession {
  readonly tt: TimeTravel;
  readonly index: LogIndex;
  private pinnedPos: number | null = null;
  private pinnedState: State | null = null;
  private extra: ViolationSource = { violations: [] };
  private violations: number[] = [];
  private violationReasons: Record<number, string> = {};
  private readonly timing: LogSummary['timing'];
  private readonly noteSeqs: Float64Array;

  constructor(
    readonly result: ReadLogResult,
    decodeMs = 0,
  ) {
    const t0 = performance.now();
    this.tt = new TimeTravel(result.log, 16384);
    this.tt.spanIndex();
    this.index = indexLog(result.log);
    this.noteSeqs = Float64Array.from(this.index.vmaNotes, (n) => n.seq);
    const index = performance.now() - t0;
    this.timing = { decode: decodeMs, index, total: decodeMs + index };
    this.mergeViolations();
  }

  /** Decode a log file image; throws LogFileError (corrupt file) or ReplayError (events do not fit). */
  static fromBytes(bytes: Uint8Array, opts: { salvage?: boolean; file?: string } = {}): DebugSession {
    const t0 = performance.now();
    const res = decodeLogFile(bytes, { salvage: opts.salvage, file: opts.file });
    return new DebugSession(res, performance.now() - t0);
  }

  get length(): number {
    return this.tt.length;
  }

  private mergeViolations(): void {
    const set = new Set<number>([...this.index.errors, ...this.extra.violations.filter((s) => s >= 0 && s < this.length)]);
    this.violations = [...set].sort((a, b) => a - b);
    const reasons: Record<number, string> = {};
    for (const s of this.index.errors) reasons[s] = `error: ${this.index.errorMessages[s]}`;
    for (const [k, v] of Object.entries(this.extra.reasons ?? {})) reasons[+k] = reasons[+k] ? `${reasons[+k]}; ${v}` : v;
    this.violationReasons = reasons;
  }

  /** Add a checker's violations to the error events the timeline marks. */
  setViolations(src: ViolationSource): LogSummary {
    this.extra = src;
    this.mergeViolations();
    return this.summary();
  }

  summary(): LogSummary {
    return {
      events: this.length,
      header: this.result.header,
      damage: this.result.damage,
      syscalls: this.index.syscalls,
      spans: this.index.spanCount,
      tasks: this.index.tasks,
      violations: this.violations,
      violationReasons: this.violationReasons,
      counts: this.index.counts,
      lockNames: this.index.lockNames,
      timing: this.timing,
    };
  }

  private clamp(pos: number): number {
    if (!Number.isFinite(pos)) return 0;
    return Math.max(0, Math.min(this.length, Math.floor(pos)));
  }

  private pinned(pos: number): State {
    if (this.pinnedPos !== pos || !this.pinnedState) {
      this.pinnedPos = pos;
      this.pinnedState = this.tt.stateAt(pos);
    }
    return this.pinnedState;
  }

  stateAt(pos: number): State {
    pos = this.clamp(pos);
    if (pos === this.pinnedPos && this.pinnedState) return this.pinnedState;
    return this.tt.stateAt(pos);
  }

  /** Events [from, from+count) as rows. */
  events(from: number, count: number): EventRow[] {
    from = this.clamp(from);
    const n = Math.max(0, Math.min(count, 2000, this.length - from));
    const out: EventRow[] = [];
    if (n === 0) return out;
    const cur = this.tt.log.cursor(from);
    const r = newRawEvent();
    for (let i = 0; i < n && cur.next(r); i++) out.push(eventRow(r, this.index.spanNames.get(r.span) ?? ''));
    return out;
  }

  lockLanes(pos: number, window = 240): LockLanes {
    const N = this.length;
    const w = Math.max(16, Math.min(window, N || 16));
    let from = Math.max(0, pos - Math.floor(w / 2));
    const to = Math.min(N, from + w);
    from = Math.max(0, to - w);
    const L = this.index.locks;
    const out: LockInterval[] = [];
    const lanes = new Set<string>();
    let truncated = false;
    // holds start in order; none is longer than maxDur
    const i0 = binFirstGE(L.start, from - L.maxDur - 1);
    for (let i = i0; i < L.start.length && L.start[i] < to; i++) {
      if (L.end[i] < from) continue;
      if (out.length >= MAX_LANE_INTERVALS) {
        truncated = true;
        break;
      }
      const lock = this.index.lockNames[L.lock[i]];
      lanes.add(lock);
      out.push({ lock, task: L.task[i], mode: L.mode[i], start: L.start[i], end: L.end[i] });
    }
    return { from, to, lanes: [...lanes].sort(), intervals: out, truncated };
  }

  view(pos: number, pinned: number | null, laneWindow?: number): ViewData {
    const t0 = performance.now();
    pos = this.clamp(pos);
    const pin = pinned === null ? null : this.clamp(pinned);
    const a = pin === null ? null : this.pinned(pin);
    const s = this.stateAt(pos);
    const forest = anonVmaForest(s);
    let vmaDiff: ViewData['vmaDiff'] = null;
    if (a && pin !== null) {
      const lo = Math.min(pin, pos);
      const hi = Math.max(pin, pos);
      const notes = new Map<number, string[]>();
      const add = (id: number, t: string) => {
        const l = notes.get(id) ?? [];
        if (l.length < 8) l.push(t);
        notes.set(id, l);
      };
      const vn = this.index.vmaNotes;
      for (let i = binFirstGE(this.noteSeqs, lo); i < vn.length && vn[i].seq < hi; i++) {
        const n = vn[i];
        if (n.type === E.VmaSplit) {
          add(n.a, `split at vpn ${n.c} → #${n.b} (seq ${n.seq})`);
          add(n.b, `split from #${n.a} (seq ${n.seq})`);
        } else {
          add(n.a, `absorbed #${n.b} (seq ${n.seq})`);
          add(n.b, `merged into #${n.a} (seq ${n.seq})`);
        }
      }
      // always A -> now, whichever comes first: "removed" VMAs are the ones not shown now
      vmaDiff = { pinned: pin, entries: vmaSetDiff(a, s, notes) };
    }
    const lastRows = pos > 0 ? this.events(pos - 1, 1) : [];
    return {
      pos,
      last: lastRows[0] ?? null,
      task: s.task,
      counts: { ...s.counts },
      mms: mmViews(s),
      pages: vmaPages(s),
      anonVmas: forest.nodes,
      anonVmaTotal: forest.total,
      locks: heldLocks(s),
      tasks: taskViews(s, this.index.tasks),
      lanes: this.lockLanes(pos, laneWindow),
      vmaDiff,
      ms: performance.now() - t0,
    };
  }

  step(pos: number, dir: 1 | -1, unit: StepUnit): number {
    pos = this.clamp(pos);
    if (unit === 'violation') {
      // a violation at seq k is reached at position k+1
      const v = this.violations;
      if (dir > 0) {
        const i = binFirstGE(v, pos);
        return i < v.length ? v[i] + 1 : pos;
      }
      const i = binFirstGE(v, pos - 1) - 1;
      return i >= 0 ? v[i] + 1 : pos;
    }
    return dir > 0 ? this.tt.forward(pos, unit) : this.tt.back(pos, unit);
  }

  diff(a: number, b: number): DiffSummary {
    const t0 = performance.now();
    a = this.clamp(a);
    b = this.clamp(b);
    const sa = this.pinnedPos === a && this.pinnedState ? this.pinnedState : this.pinned(a);
    const sb = this.stateAt(b);
    const d = diffStates(sa, sb);
    const S = 50;
    return {
      a,
      b,
      vmas: d.vmas,
      anonVmas: d.anonVmas,
      folios: {
        added: d.folios.added.length,
        removed: d.folios.removed.length,
        changed: d.folios.changed.length,
        sample: { added: d.folios.added.slice(0, S), removed: d.folios.removed.slice(0, S), changed: d.folios.changed.slice(0, S) },
      },
      ptes: { count: d.ptes.length, sample: d.ptes.slice(0, S) },
      mms: d.mms,
      ms: performance.now() - t0,
    };
  }
}

/** The message an error shows: a LogFileError's own message, else name: message. */
export function describeError(e: unknown): { name: string; message: string } {
  if (e instanceof LogFileError) return { name: 'LogFileError', message: e.message };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}
