/**
 * A debugging session over one log: decode, time travel, and the indexes the timeline
 * needs, all built once. Runs in the worker; every method answers with plain data.
 */
import {
  E,
  EVENT_SCHEMA,
  LogFileError,
  TimeTravel,
  decodeLogFile,
  diffStates,
  newRawEvent,
  type ReadLogResult,
  type State,
} from '@mmsim/core';
import {
  MAX_AROUND_ROWS,
  MAX_LANE_INTERVALS,
  type DiffSummary,
  type EventRow,
  type HistoryResult,
  type HistoryTarget,
  type LockInterval,
  type LockLane,
  type PteRow,
  type SearchQuery,
  type SearchResult,
  type SpanBar,
  type SyscallList,
  type TaskTracks,
  type VmaPages,
  type LockLanes,
  type LogSummary,
  type StepUnit,
  type ViewData,
  type ViolationSource,
} from './protocol.js';
import type { CheckerFinding } from './checks.js';
import { mergePairs } from '@mmsim/linux';
import { history, search } from './provenance.js';
import { LogIndexer, indexLog, type LogIndex } from './log-index.js';
import { taskNames } from './task-names.js';

/** why (not) merged, for every two adjacent VMAs of each mm: the model's, shared with `mmsim why` */
export { mergePairs };

/** a keyframe every this many events: a seek replays at most this many */
const KEYFRAME_EVERY = 16384;
/** how long the keyframes' worker waits, once replayed, for the index from the other worker */
const INDEX_WAIT_MS = 30_000;
import {
  anonVmaForest,
  decodeContext,
  eventRow,
  heldLocks,
  mmViews,
  taskViews,
  vmaPages,
  vmaSetDiff,
  type DecodeContext,
} from './views.js';

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

export class DebugSession {
  readonly tt: TimeTravel;
  readonly index: LogIndex;
  /** who built the index: this replay, the other worker, or here after it sent none */
  readonly indexedBy: 'replay' | 'other worker' | 'fallback';
  private pinnedPos: number | null = null;
  private pinnedState: State | null = null;
  private extra: ViolationSource = { violations: [] };
  private violations: number[] = [];
  private violationReasons: Record<number, string> = {};
  private readonly timing: LogSummary['timing'];
  /** what each task runs (taskNames), found once */
  private names: Record<number, string> | undefined;
  private readonly noteSeqs: Float64Array;
  private findings: CheckerFinding[] = [];
  private findingSeqs = new Float64Array(0);
  /** folio pfn -> seqs of the findings naming it, ascending */
  private findingsByFolio = new Map<number, number[]>();
  private checked: { count: number } | null = null;
  readonly ctx: DecodeContext;

  /**
   * `prebuilt`: the keyframes and the debugger's index, built by fromBytesWithIndex (the
   * index in another worker, in parallel) in `ms`; without it one replay here builds the
   * keyframes, the span index and the debugger's own index.
   */
  constructor(
    readonly result: ReadLogResult,
    decodeMs = 0,
    prebuilt?: { tt: TimeTravel; index: LogIndex; ms: number; by: 'other worker' | 'fallback' },
  ) {
    const t0 = performance.now();
    if (prebuilt) {
      this.tt = prebuilt.tt;
      this.index = prebuilt.index;
      this.indexedBy = prebuilt.by;
    } else {
      this.indexedBy = 'replay';
      const indexer = new LogIndexer(result.log.length);
      this.tt = TimeTravel.finalFirst(result.log, KEYFRAME_EVERY, (r) => indexer.observe(r));
      this.index = indexer.finish();
    }
    this.noteSeqs = Float64Array.from(this.index.vmaNotes, (n) => n.seq);
    const cfg = result.header.config as { arenaBase?: unknown };
    this.ctx = decodeContext(typeof cfg.arenaBase === 'number' ? cfg.arenaBase : 0);
    const index = (prebuilt?.ms ?? 0) + performance.now() - t0;
    this.timing = { decode: decodeMs, index, total: decodeMs + index, indexedBy: this.indexedBy };
    this.mergeViolations();
  }

  /** Decode a log file image; throws LogFileError (corrupt file) or ReplayError (events do not fit). */
  static fromBytes(bytes: Uint8Array, opts: { salvage?: boolean; file?: string } = {}): DebugSession {
    const t0 = performance.now();
    const res = decodeLogFile(bytes, { salvage: opts.salvage, file: opts.file });
    return new DebugSession(res, performance.now() - t0);
  }

  /**
   * As fromBytes, while another worker indexes the same file (indexLog): the keyframes
   * replay here, then the index it sent is taken, if it is of this log (same length);
   * when it is not, or none came, the index is built here after all.
   */
  static async fromBytesWithIndex(bytes: Uint8Array, opts: { salvage?: boolean; file?: string }, index: Promise<LogIndex | null>): Promise<DebugSession> {
    const t0 = performance.now();
    const res = decodeLogFile(bytes, { salvage: opts.salvage, file: opts.file });
    return DebugSession.withIndex(res, performance.now() - t0, index);
  }

  /** As fromBytesWithIndex, of a log already decoded (fetchLog: while it downloaded). */
  static async withIndex(res: ReadLogResult, decodeMs: number, index: Promise<LogIndex | null>): Promise<DebugSession> {
    // the keyframes first (the other worker indexes meanwhile), then its index
    const t1 = performance.now();
    // the final state first (the page opens there), the keyframes in the worker's idle slices
    const tt = TimeTravel.finalFirst(res.log, KEYFRAME_EVERY);
    // a worker that died sends nothing: then index here after a while
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), INDEX_WAIT_MS)));
    const got = await Promise.race([index.catch(() => null), late]);
    clearTimeout(timer);
    const fits = got !== null && got.events === res.log.length;
    const ix = fits ? got : indexLog(res.log);
    return new DebugSession(res, decodeMs, { tt, index: ix, ms: performance.now() - t1, by: fits ? 'other worker' : 'fallback' });
  }

  get length(): number {
    return this.tt.length;
  }

  /** Keyframes still to build (TimeTravel.finalFirst): a seek past them builds them up to it. */
  get keyframesPending(): boolean {
    return this.tt.keyframesBuilt < this.tt.length;
  }

  /** Events the keyframes cover so far. */
  get keyframesBuilt(): number {
    return this.tt.keyframesBuilt;
  }

  /** Build keyframes for about `ms` (the worker's idle slices); true once all are built. */
  buildKeyframes(ms: number): boolean {
    return this.tt.buildKeyframes(ms);
  }

  private mergeViolations(): void {
    const set = new Set<number>([...this.index.errors, ...this.extra.violations.filter((s) => s >= 0 && s < this.length)]);
    const reasons: Record<number, string> = {};
    for (const s of this.index.errors) reasons[s] = `error: ${this.index.errorMessages[s]}`;
    for (const [k, v] of Object.entries(this.extra.reasons ?? {})) reasons[+k] = reasons[+k] ? `${reasons[+k]}; ${v}` : v;
    for (const f of this.findings) {
      set.add(f.seq);
      const t = `[${f.checker}] ${f.message}`;
      reasons[f.seq] = reasons[f.seq] ? `${reasons[f.seq]}; ${t}` : t;
    }
    this.violations = [...set].sort((a, b) => a - b);
    this.violationReasons = reasons;
  }

  /** The worker's checkers finished: their findings join the marks. */
  setFindings(findings: CheckerFinding[], count = findings.length): LogSummary {
    this.findings = findings.slice().sort((a, b) => a.seq - b.seq);
    this.findingSeqs = Float64Array.from(this.findings, (f) => f.seq);
    this.findingsByFolio = new Map();
    for (const f of this.findings) {
      for (const pfn of f.folios) {
        const l = this.findingsByFolio.get(pfn) ?? [];
        l.push(f.seq);
        this.findingsByFolio.set(pfn, l);
      }
    }
    this.checked = { count };
    this.mergeViolations();
    return this.summary();
  }

  /** Every event that wrote a value, with the last writer before pos. */
  history(target: HistoryTarget, pos: number): HistoryResult {
    return history(this.tt.log, target, this.clamp(pos), this.index.spanNames, this.ctx);
  }

  /** Events matching a query from pos forward (or backward). */
  search(query: SearchQuery, pos: number, dir: 1 | -1): SearchResult {
    return search(this.tt.log, query, this.clamp(pos), dir, this.index.spanNames, this.ctx);
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
      taskNames: (this.names ??= taskNames(this.index)),
      violations: this.violations,
      violationReasons: this.violationReasons,
      checked: this.checked,
      arenaBase: this.ctx.arenaBase,
      eventTypes: EVENT_SCHEMA.map((e) => e.name),
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
    for (let i = 0; i < n && cur.next(r); i++) out.push(eventRow(r, this.index.spanNames.get(r.span) ?? '', this.ctx));
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
    // lane key -> [first use (lock id: ids are given in order of first acquire), locks in it]
    const lanes = new Map<string, { first: number; locks: Set<number> }>();
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
      const lane = lockLaneKey(lock);
      const l = lanes.get(lane) ?? { first: L.lock[i], locks: new Set<number>() };
      l.first = Math.min(l.first, L.lock[i]);
      l.locks.add(L.lock[i]);
      lanes.set(lane, l);
      out.push({ lane, lock, task: L.task[i], mode: L.mode[i], start: L.start[i], end: L.end[i] });
    }
    // classes by their first use, lanes within a class by theirs
    const clsFirst = new Map<string, number>();
    for (const [k, l] of lanes) {
      const c = lockClass(k);
      clsFirst.set(c, Math.min(clsFirst.get(c) ?? Infinity, l.first));
    }
    const laneList: LockLane[] = [...lanes.entries()]
      .sort((a, b) => clsFirst.get(lockClass(a[0]))! - clsFirst.get(lockClass(b[0]))! || a[1].first - b[1].first)
      .map(([key, l]) => ({ key, cls: lockClass(key), count: l.locks.size }));
    return { from, to, lanes: laneList, intervals: out, truncated };
  }

  /**
   * The rows of `n` events centred on the current one (seq pos-1), kept inside the log: what
   * the events list shows when it follows the current event.
   */
  eventsAround(pos: number, n: number): { from: number; rows: EventRow[] } {
    n = Math.max(0, Math.min(n, MAX_AROUND_ROWS, this.length));
    const from = Math.max(0, Math.min(this.length - n, this.clamp(pos) - 1 - Math.floor(n / 2)));
    return { from, rows: this.events(from, n) };
  }

  view(pos: number, pinned: number | null, laneWindow?: number, around = 0): ViewData {
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
    const open = s.spans[s.task]?.[0];
    const syscall = open ? { task: s.task, span: open.id, name: open.name, args: this.index.callArgs.get(open.id) ?? '', seq: this.spanOpenSeq(open.id) } : null;
    return {
      pos,
      last: lastRows[0] ?? null,
      task: s.task,
      counts: { ...s.counts },
      mms: mmViews(s),
      pages: this.pagesWithCover(s, pos),
      anonVmas: forest.nodes,
      anonVmaTotal: forest.total,
      locks: heldLocks(s),
      tasks: taskViews(s, this.index.tasks).map((t) => ({ ...t, spans: t.spans.map((sp) => ({ ...sp, args: this.index.callArgs.get(sp.id) })) })),
      lanes: this.lockLanes(pos, laneWindow),
      tracks: this.taskTracks(pos, laneWindow),
      merges: mergePairs(s),
      syscall,
      findings: this.findingsBefore(pos, 5),
      vmaDiff,
      around: around > 0 ? this.eventsAround(pos, around) : null,
      ms: performance.now() - t0,
    };
  }

  /** the top-level spans, for matching two logs syscall by syscall */
  syscalls(): SyscallList {
    const S = this.index.spans;
    const out: { open: number[]; close: number[]; names: string[]; args: string[] } = { open: [], close: [], names: [], args: [] };
    for (let i = 0; i < S.id.length; i++) {
      if (S.depth[i] !== 0) continue;
      out.open.push(S.open[i]);
      out.close.push(S.close[i]);
      out.names.push(this.index.spanNames.get(S.id[i]) ?? '');
      out.args.push(this.index.callArgs.get(S.id[i]) ?? '');
    }
    return out;
  }

  private spanOpenSeq(id: number): number {
    const i = this.index.spanIdx.get(id);
    return i === undefined ? -1 : this.index.spans.open[i];
  }

  /** the last `n` checker findings before pos, nearest first */
  findingsBefore(pos: number, n: number): CheckerFinding[] {
    const out: CheckerFinding[] = [];
    for (let i = binFirstGE(this.findingSeqs, pos) - 1; i >= 0 && out.length < n; i--) out.push(this.findings[i]);
    return out;
  }

  /**
   * Page rows, each stale one with the locks that cover it now (an expected intermediate
   * state while they are held) and a checker's finding about its folio, if any: only
   * findings are shown red.
   */
  private pagesWithCover(s: State, pos: number): VmaPages[] {
    return vmaPages(s).map((p) => {
      if (!p.stale) return p;
      const v = s.vmas.get(p.vma);
      const vroot = v?.anonVma ? (s.anonVmas.get(v.anonVma)?.root ?? 0) : 0;
      const rows = p.rows.map((r): PteRow => {
        if (!r.problems.length) return r;
        const names = [`folio:${r.folio}`, `ptl:${p.mm}:${r.vpn - (r.vpn % 512)}`, `mmap_lock:${p.mm}`, `vma_lock:${p.vma}`];
        if (r.mappingKind === 1 && s.anonVmas.get(r.mapping)) names.unshift(`anon_vma:${s.anonVmas.get(r.mapping)!.root}`);
        if (vroot) names.unshift(`anon_vma:${vroot}`);
        const covered: string[] = [];
        for (const n of new Set(names)) {
          const l = s.locks[n];
          if (l && l.holders.length) covered.push(`${n} (${l.mode === 0 ? 'write' : 'read'}, task ${l.holders.join(',')})`);
        }
        const seqs = this.findingsByFolio.get(r.folio) ?? this.findingsByFolio.get(r.pfn);
        let flagged = '';
        if (seqs) {
          const k = binFirstGE(seqs, pos) - 1;
          if (k >= 0) {
            const f = this.findings[binFirstGE(this.findingSeqs, seqs[k])];
            flagged = f ? `[${f.checker}] ${f.message} (seq ${f.seq})` : `checker finding at seq ${seqs[k]}`;
          }
        }
        return { ...r, covered, flagged };
      });
      return { ...p, rows };
    });
  }

  /** Spans per task in the window around pos, nested by depth (bounded). */
  taskTracks(pos: number, window = 240): TaskTracks {
    const N = this.length;
    const w = Math.max(16, Math.min(window, N || 16));
    let from = Math.max(0, pos - Math.floor(w / 2));
    const to = Math.min(N, from + w);
    from = Math.max(0, to - w);
    const S = this.index.spans;
    const seen = new Set<number>();
    const bars: SpanBar[] = [];
    const MAX = 400;
    const add = (i: number) => {
      if (seen.has(i) || bars.length >= MAX) return;
      if (S.open[i] >= to || S.close[i] < from) return;
      seen.add(i);
      const id = S.id[i];
      bars.push({ task: S.task[i], id, name: this.index.spanNames.get(id) ?? '', depth: S.depth[i], start: S.open[i], end: S.close[i], result: S.result[i] });
    };
    // spans open at `to` or `from` that started earlier: the stacks at those points
    const s = this.stateAt(pos);
    for (const k of Object.keys(s.spans)) for (const f of s.spans[+k]) {
      const i = this.index.spanIdx.get(f.id);
      if (i !== undefined) add(i);
    }
    // spans opened in the window
    for (let i = binFirstGE(S.open, from); i < S.open.length && S.open[i] < to && bars.length < MAX; i++) add(i);
    // spans closed in the window (opened before it)
    const co = this.index.closeOrder;
    let lo = 0;
    let hi = co.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (S.close[co[mid]] < from) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < co.length && S.close[co[k]] < to && bars.length < MAX; k++) add(co[k]);
    const tasks = [...new Set([...this.index.tasks.filter((t) => t !== 0 || bars.some((b) => b.task === 0)), ...bars.map((b) => b.task)])].sort((a, b) => a - b);
    return { from, to, tasks, bars, topOnly: false };
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

/** The lock class: the name up to its first ':' (ptl:1:512 -> ptl). */
export function lockClass(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(0, i);
}

/** The lane a lock is drawn in: folio locks (one per folio, thousands) share one. */
export function lockLaneKey(name: string): string {
  return name.startsWith('folio:') ? 'folio:*' : name;
}

/** The message an error shows: a LogFileError's own message, else name: message. */
export function describeError(e: unknown): { name: string; message: string } {
  if (e instanceof LogFileError) return { name: 'LogFileError', message: e.message };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}
