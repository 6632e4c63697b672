/**
 * One pass over a log that applies every event and hands the caller each raw event
 * with the machine's counts right after it (exact per event, unlike the keyframes).
 * LogWalker takes the log as it grows (a file read as a stream: `mmsim stats`);
 * walkLog walks a whole log at once.
 */
import { LogReplayer, emptyState, type Counts, type EventLog, type RawEvent, type State } from '@mmsim/core';

type Visit = (r: Readonly<RawEvent>, counts: Readonly<Counts>) => void;

export class LogWalker {
  private rp: LogReplayer | null = null;

  constructor(
    private readonly fn: Visit,
    private readonly opts: { batch?: number; onProgress?: (seq: number) => void } = {},
  ) {}

  /** Walk the events `log` holds past the last one walked (the same log every time). */
  feed(log: EventLog): void {
    const onProgress = this.opts.onProgress;
    const rp = (this.rp ??= new LogReplayer(log, { batchEvents: this.opts.batch ?? 8192, onCommit: onProgress && ((s) => onProgress(s.seq - 1)) }));
    while (rp.next()) this.fn(rp.event, rp.counts());
  }

  /** The state after the last event walked. */
  finish(): State {
    return this.rp ? this.rp.commit() : emptyState();
  }
}
export function walkLog(log: EventLog, fn: Visit, opts: { batch?: number; onProgress?: (seq: number) => void } = {}): State {
  const w = new LogWalker(fn, opts);
  w.feed(log);
  return w.finish();
}
