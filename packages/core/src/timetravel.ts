/**
 * Time travel over a log: the state at any seq is the nearest keyframe at or before it
 * plus a replay of the events between (at most K). Keyframes are immutable states that
 * share structure, so memory stays bounded by what changed.
 */
import { createDraft, finishDraft } from 'immer';
import { E, newRawEvent, type RawEvent } from './events.js';
import type { EventLog } from './log.js';
import { applyToDraft, finishBatch, newBatch, ReplayError } from './reducer.js';
import { emptyState, type State } from './state.js';

export class Keyframes {
  private seqs: number[] = [];
  private states: State[] = [];
  constructor(readonly every: number) {}

  add(s: State): void {
    if (this.seqs.length && this.seqs[this.seqs.length - 1] >= s.seq) return;
    this.seqs.push(s.seq);
    this.states.push(s);
  }
  /** keep s if at least `every` events passed since the last keyframe */
  maybeAdd(s: State): void {
    const last = this.seqs.length ? this.seqs[this.seqs.length - 1] : -Infinity;
    if (s.seq - last >= this.every) this.add(s);
  }
  /** nearest keyframe with seq <= target */
  at(target: number): State {
    let lo = 0;
    let hi = this.seqs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.seqs[mid] <= target) lo = mid;
      else hi = mid - 1;
    }
    return this.states[lo];
  }
  dropAfter(seq: number): void {
    while (this.seqs.length > 1 && this.seqs[this.seqs.length - 1] > seq) {
      this.seqs.pop();
      this.states.pop();
    }
  }
  get count(): number {
    return this.seqs.length;
  }
}

/**
 * Replay events [from.seq, to) of a log onto a state, in batches of `batch` events.
 * `observe` sees every event applied (one decode serves the caller's own index too).
 */
export function replayRange(
  log: EventLog,
  from: State,
  to: number,
  batch = 65536,
  onBatch?: (s: State) => void,
  observe?: (r: RawEvent) => void,
): State {
  let s = from;
  if (to <= s.seq) return s;
  const cur = log.cursor(s.seq);
  const r = newRawEvent();
  try {
    while (s.seq < to) {
      const d = createDraft(s);
      const b = newBatch();
      const stop = Math.min(to, s.seq + batch);
      let n = s.seq;
      if (observe) {
        while (n < stop && cur.next(r)) {
          applyToDraft(d, r, b);
          observe(r);
          n++;
        }
      } else {
        while (n < stop && cur.next(r)) {
          applyToDraft(d, r, b);
          n++;
        }
      }
      finishBatch(d, b);
      s = finishDraft(d) as State;
      onBatch?.(s);
      if (n < stop) break;
    }
  } catch (e) {
    // an event that does not fit, in a log whose decode checks were deferred: a damaged
    // file says so first, as a full read would have before any replay (DeferredChecks)
    if (e instanceof ReplayError && log.uncheckedFromSeq !== Infinity) log.checkDeferred();
    throw e;
  }
  return s;
}

/** Replay a whole log from the empty state. */
export function replay(log: EventLog, batch = 65536): State {
  return replayRange(log, emptyState(), log.length, batch);
}

/** Where spans and syscalls start and end: built once per log, for stepping. */
export interface SpanIndex {
  /** seq of every span_open and span_close, ascending */
  readonly boundaries: Int32Array;
  /** seq of every top-level (depth 0) span_open */
  readonly syscalls: Int32Array;
  /** seq of every error event */
  readonly errors: Int32Array;
}

/** Builds a SpanIndex from the events in order (buildSpanIndex, or a replay's observer). */
export class SpanIndexBuilder {
  private b: number[] = [];
  private sc: number[] = [];
  private er: number[] = [];
  private depth = new Map<number, number>();
  private task = 0;
  observe(r: RawEvent): void {
    const t = r.type;
    if (t === E.TaskSwitch) this.task = r.a;
    else if (t === E.SpanOpen) {
      const dpt = this.depth.get(this.task) ?? 0;
      if (dpt === 0) this.sc.push(r.seq);
      this.depth.set(this.task, dpt + 1);
      this.b.push(r.seq);
    } else if (t === E.SpanClose) {
      this.depth.set(this.task, (this.depth.get(this.task) ?? 1) - 1);
      this.b.push(r.seq);
    } else if (t === E.Error) this.er.push(r.seq);
  }
  finish(): SpanIndex {
    return { boundaries: Int32Array.from(this.b), syscalls: Int32Array.from(this.sc), errors: Int32Array.from(this.er) };
  }
}

export function buildSpanIndex(log: EventLog): SpanIndex {
  const ix = new SpanIndexBuilder();
  const cur = log.cursor(0);
  const r = newRawEvent();
  while (cur.next(r)) ix.observe(r);
  return ix.finish();
}

function nextIn(a: Int32Array, seq: number): number | null {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo < a.length ? a[lo] : null;
}
function prevIn(a: Int32Array, seq: number): number | null {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? a[lo - 1] : null;
}

export type StepUnit = 'event' | 'span' | 'syscall' | 'error';

/**
 * A cursor over a log's history. Positions are "states after `pos` events": 0 is the
 * empty state, log.length the final one.
 */
export class TimeTravel {
  readonly keyframes: Keyframes;
  private index: SpanIndex | null = null;
  private cache: State | null = null;
  /** the state after the whole log (finalFirst: known before the keyframes are) */
  private final: State | null = null;
  /** the last keyframe built: the keyframes cover [0, built.seq] (the whole log once complete) */
  private built: State;

  /**
   * `observe`, if given, sees every event of the one replay pass that builds the keyframes
   * and the span index, so a consumer indexes the log without decoding it again.
   * `lazy`: that pass only computes the final state (one batch: each folio is copied
   * once, not once per keyframe it changed in); the keyframes are built later, by
   * buildKeyframes() or by a seek past them (see finalFirst).
   */
  constructor(
    readonly log: EventLog,
    every = 16384,
    observe?: (r: RawEvent) => void,
    lazy = false,
  ) {
    this.keyframes = new Keyframes(every);
    this.keyframes.add(emptyState());
    const spans = new SpanIndexBuilder();
    const see = observe
      ? (r: RawEvent) => {
          spans.observe(r);
          observe(r);
        }
      : (r: RawEvent) => spans.observe(r);
    if (lazy) {
      this.built = emptyState();
      this.final = replayRange(log, emptyState(), log.length, Infinity, undefined, see);
    } else {
      this.built = replayRange(log, emptyState(), log.length, every, (s) => this.keyframes.add(s), see);
    }
    this.index = spans.finish();
  }

  /**
   * The final state first, the keyframes after: a large log is seekable to its end at
   * once (a viewer opens there), and its keyframes are built in slices meanwhile
   * (buildKeyframes). A seek past the keyframes built so far builds them up to it.
   */
  static finalFirst(log: EventLog, every = 16384, observe?: (r: RawEvent) => void): TimeTravel {
    return new TimeTravel(log, every, observe, true);
  }

  get length(): number {
    return this.log.length;
  }

  /** Events the keyframes cover so far (the log's length once they are all built). */
  get keyframesBuilt(): number {
    return this.built.seq;
  }

  /**
   * Build keyframes on from the last one, for at most `ms` milliseconds (at least one
   * keyframe interval) or up to seq `until`. True once they cover the whole log.
   */
  buildKeyframes(ms = Infinity, until = this.log.length): boolean {
    const end = Math.min(until, this.log.length);
    const t0 = performance.now();
    while (this.built.seq < end) {
      const to = Math.min(end, this.built.seq + this.keyframes.every);
      this.built = replayRange(this.log, this.built, to, this.keyframes.every);
      this.keyframes.add(this.built);
      if (performance.now() - t0 >= ms) break;
    }
    if (this.built.seq >= this.log.length) this.final = null;
    return this.built.seq >= this.log.length;
  }

  /** State after the first `pos` events. */
  stateAt(pos: number): State {
    if (pos < 0 || pos > this.log.length) throw new RangeError(`position ${pos} outside [0, ${this.log.length}]`);
    if (this.final && pos === this.log.length) return this.final;
    // keyframes up to pos first: what a seek there would replay from
    if (pos > this.built.seq) this.buildKeyframes(Infinity, pos - (pos % this.keyframes.every));
    if (this.cache && this.cache.seq <= pos && pos - this.cache.seq < this.keyframes.every) {
      this.cache = replayRange(this.log, this.cache, pos);
      return this.cache;
    }
    this.cache = replayRange(this.log, this.keyframes.at(pos), pos);
    return this.cache;
  }

  spanIndex(): SpanIndex {
    return (this.index ??= buildSpanIndex(this.log));
  }

  /** The position one unit after `pos` (events, span boundaries, syscalls or errors). */
  forward(pos: number, unit: StepUnit = 'event'): number {
    if (unit === 'event') return Math.min(this.log.length, pos + 1);
    const ix = this.spanIndex();
    const arr = unit === 'span' ? ix.boundaries : unit === 'syscall' ? ix.syscalls : ix.errors;
    // a boundary at seq k is reached once k+1 events are applied
    const n = nextIn(arr, pos - 1);
    return n === null ? this.log.length : n + 1;
  }

  back(pos: number, unit: StepUnit = 'event'): number {
    if (unit === 'event') return Math.max(0, pos - 1);
    const ix = this.spanIndex();
    const arr = unit === 'span' ? ix.boundaries : unit === 'syscall' ? ix.syscalls : ix.errors;
    const p = prevIn(arr, pos - 1);
    return p === null ? 0 : p + 1 <= pos - 1 ? p + 1 : (prevIn(arr, p) ?? -1) + 1;
  }
}

export function rawCopy(r: RawEvent): RawEvent {
  return { ...r };
}
