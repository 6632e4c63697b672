/**
 * One pass over a log that applies every event and hands the caller each raw event
 * with the machine's counts right after it (exact per event, unlike the keyframes).
 * LogWalker takes the log as it grows (a file read as a stream: `mmsim stats`);
 * walkLog walks a whole log at once.
 */
import { createDraft, finishDraft, type Draft } from 'immer';
import { applyToDraft, emptyState, finishBatch, newBatch, newRawEvent, type Batch, type Counts, type EventLog, type LogCursor, type RawEvent, type State } from '@mmsim/core';

type Visit = (r: Readonly<RawEvent>, counts: Readonly<Counts>) => void;

export class LogWalker {
  private s: State = emptyState();
  private d: Draft<State> = createDraft(this.s);
  private b: Batch = newBatch();
  private n = 0;
  private cur: LogCursor | null = null;
  private readonly r = newRawEvent();
  // the batch keeps count deltas to itself until finishBatch: counts = batch start + deltas
  private base: Counts = { ...this.s.counts };
  private readonly now: { -readonly [K in keyof Counts]: Counts[K] } = { ...this.base };

  constructor(
    private readonly fn: Visit,
    private readonly opts: { batch?: number; onProgress?: (seq: number) => void } = {},
  ) {}

  /** Walk the events `log` holds past the last one walked (the same log every time). */
  feed(log: EventLog): void {
    const batch = this.opts.batch ?? 8192;
    const cur = (this.cur ??= log.cursor(0));
    const { r, now } = this;
    while (cur.next(r)) {
      applyToDraft(this.d, r, this.b);
      const c = this.b.counts;
      const base = this.base;
      now.vmas = base.vmas + c.vmas;
      now.anonVmas = base.anonVmas + c.anonVmas;
      now.avcs = base.avcs + c.avcs;
      now.folios = base.folios + c.folios;
      now.mms = base.mms + c.mms;
      now.errors = base.errors + c.errors;
      this.fn(r, now);
      if (++this.n === batch) {
        finishBatch(this.d, this.b);
        this.s = finishDraft(this.d) as State;
        this.base = { ...this.s.counts };
        this.d = createDraft(this.s);
        this.b = newBatch();
        this.n = 0;
        this.opts.onProgress?.(r.seq);
      }
    }
  }

  /** The state after the last event walked. */
  finish(): State {
    finishBatch(this.d, this.b);
    return finishDraft(this.d) as State;
  }
}

export function walkLog(log: EventLog, fn: Visit, opts: { batch?: number; onProgress?: (seq: number) => void } = {}): State {
  const w = new LogWalker(fn, opts);
  w.feed(log);
  return w.finish();
}
