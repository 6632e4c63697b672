/**
 * LogReplayer: the one way to apply a log's events to a state, event by event, for a
 * consumer that looks at every event as it goes (the checkers over a log, the debugger's
 * checks, `mmsim stats`). It reads the log's chunks through a cursor and applies the
 * events to an immer draft in batches; its readers (pageFolio, lock, counts, ...) see the
 * state right after the event applied last, whether or not its batch is committed, so
 * nothing outside core needs to know how a batch is applied.
 *
 *   const rp = new LogReplayer(log);
 *   while (rp.next()) look(rp.event, rp.state);
 *   const end = rp.commit();
 */
import { createDraft, finishDraft, type Draft } from 'immer';
import type { Engine } from './engine.js';
import { E, newRawEvent, type RawEvent } from './events.js';
import type { EventLog, LogCursor } from './log.js';
import { applyToDraft, batchFolio, batchLock, batchLocks, batchMm, batchPageFolio, batchSpans, finishBatch, newBatch, ReplayError, type Batch } from './reducer.js';
import { emptyState, folioAtHead, pageFolio, type Counts, type Folio, type LockState, type Mm, type SpanFrame, type State } from './state.js';

export interface LogReplayerOptions {
  /** the state to start from (default: the empty state); the replay starts at its seq */
  from?: State;
  /** events a batch holds before it is committed (default 65536) */
  batchEvents?: number;
  /** called with every state a full batch commits into (not the explicit commit()s) */
  onCommit?: (s: State) => void;
}

type MutableCounts = { -readonly [K in keyof Counts]: Counts[K] };

export class LogReplayer {
  private committed: State;
  private draft: Draft<State> | null = null;
  private batch: Batch = newBatch();
  private inBatch = 0;
  private cur: LogCursor | null = null;
  private readonly batchEvents: number;
  private readonly onCommit?: (s: State) => void;
  private readonly now: MutableCounts;
  /** the event applied last (reused by the next one: copy what you keep) */
  readonly event: RawEvent = newRawEvent();

  constructor(
    readonly log: EventLog,
    opts: LogReplayerOptions = {},
  ) {
    this.committed = opts.from ?? emptyState();
    this.batchEvents = opts.batchEvents ?? 65536;
    this.onCommit = opts.onCommit;
    this.now = { ...this.committed.counts };
  }

  /** seq of the next event to apply */
  get seq(): number {
    return this.draft ? this.event.seq + 1 : this.committed.seq;
  }

  /**
   * Apply the next event the log holds (it is `event` then); false once the log has no
   * more. A log that grows can be replayed on: next() reads what was appended since.
   * A full batch is committed before the next event is read, so the consumer's own work
   * on the batch's last event still sees it open.
   */
  next(): boolean {
    if (this.inBatch >= this.batchEvents) {
      const s = this.commit();
      this.onCommit?.(s);
    }
    const cur = (this.cur ??= this.log.cursor(this.committed.seq));
    const r = this.event;
    if (!cur.next(r)) return false;
    if (!this.draft) {
      this.draft = createDraft(this.committed);
      this.batch = newBatch();
      this.inBatch = 0;
    }
    try {
      applyToDraft(this.draft, r, this.batch);
    } catch (e) {
      // an event that does not fit, in a log whose decode checks were deferred: a damaged
      // file says so first, as a full read would have before any replay (DeferredChecks)
      if (e instanceof ReplayError && this.log.uncheckedFromSeq !== Infinity) this.log.checkDeferred();
      throw e;
    }
    this.inBatch++;
    return true;
  }

  /**
   * Emit a log's events again into an engine, in order, committing after each syscall
   * as a run does: what observes the engine (its raw listeners, checkers attached to it)
   * sees the events as it would have seen the run's. The engine then holds the log again.
   */
  static reemit(log: EventLog, engine: Engine): void {
    const cur = log.cursor(0);
    const r = newRawEvent();
    while (cur.next(r)) {
      if (r.type === E.TaskSwitch) engine.setTask(r.a);
      engine.emitRaw(r);
      if (r.type === E.SpanClose && !engine.spansOf(engine.currentTask)?.length) engine.commit();
    }
  }

  /** Apply events until the next one is `to` (or the log ends); the state there. */
  seek(to: number): State {
    while (this.seq < to && this.next());
    return this.commit();
  }

  /** Finish the open batch (if any) into an immutable state: the state after the last event. */
  commit(): State {
    if (this.draft) {
      finishBatch(this.draft, this.batch);
      this.committed = finishDraft(this.draft) as State;
      this.draft = null;
    }
    this.inBatch = 0;
    return this.committed;
  }

  /**
   * The state after the last event: a live draft while a batch is open (read it, do not
   * keep it; its `seq`, `counts` and `locks` are stale then: use the readers below).
   */
  get state(): State {
    return (this.draft ?? this.committed) as State;
  }

  /** page_folio(): the folio containing page pfn, as of now (proxy-free). */
  pageFolio(pfn: number): Folio | undefined {
    return this.draft ? batchPageFolio(this.draft, this.batch, pfn) : pageFolio(this.committed, pfn);
  }

  /** The folio whose head is pfn, as of now (proxy-free). */
  folioAtHead(head: number): Folio | undefined {
    return this.draft ? batchFolio(this.draft, this.batch, head) : folioAtHead(this.committed, head);
  }

  /** A lock's state as of now (proxy-free). */
  lock(name: string): LockState | undefined {
    return this.draft ? batchLock(this.draft, this.batch, name) : this.committed.locks[name];
  }

  /** Every held lock as of now, by name. */
  locks(): Map<string, LockState> {
    const all = this.draft ? batchLocks(this.draft, this.batch) : this.committed.locks;
    const out = new Map<string, LockState>();
    if (all instanceof Map) {
      for (const [n, l] of all) if (l !== undefined) out.set(n, l);
    } else {
      const rec = all as Readonly<Record<string, LockState>>;
      for (const n of Object.keys(rec)) out.set(n, rec[n]);
    }
    return out;
  }

  /** An mm's record as of now (proxy-free). */
  mm(id: number): Mm | undefined {
    return this.draft ? batchMm(this.draft, this.batch, id) : this.committed.mms[id];
  }

  /** A task's open spans as of now, outermost first (proxy-free). */
  spans(task: number): readonly SpanFrame[] | undefined {
    return this.draft ? batchSpans(this.draft, this.batch, task) : this.committed.spans[task];
  }

  /** The object counts as of now (one object, rewritten by every call: copy what you keep). */
  counts(): Readonly<Counts> {
    const base = this.committed.counts;
    const now = this.now;
    if (!this.draft) return Object.assign(now, base);
    // the batch keeps count deltas to itself until finishBatch: counts = batch start + deltas
    const c = this.batch.counts;
    now.vmas = base.vmas + c.vmas;
    now.anonVmas = base.anonVmas + c.anonVmas;
    now.avcs = base.avcs + c.avcs;
    now.folios = base.folios + c.folios;
    now.mms = base.mms + c.mms;
    now.errors = base.errors + c.errors;
    return now;
  }
}
