/**
 * One pass over a log that applies every event and hands the caller each raw event
 * with the machine's counts right after it (exact per event, unlike the keyframes).
 */
import { createDraft, finishDraft, type Draft } from 'immer';
import { applyToDraft, emptyState, newBatch, newRawEvent, type Counts, type EventLog, type RawEvent, type State } from '@mmsim/core';

export function walkLog(
  log: EventLog,
  fn: (r: Readonly<RawEvent>, counts: Readonly<Counts>) => void,
  opts: { batch?: number; onProgress?: (seq: number) => void } = {},
): State {
  const batch = opts.batch ?? 8192;
  let s: State = emptyState();
  let d: Draft<State> = createDraft(s);
  let b = newBatch();
  let n = 0;
  const cur = log.cursor(0);
  const r = newRawEvent();
  while (cur.next(r)) {
    applyToDraft(d, r, b);
    fn(r, d.counts);
    if (++n === batch) {
      s = finishDraft(d) as State;
      d = createDraft(s);
      b = newBatch();
      n = 0;
      opts.onProgress?.(r.seq);
    }
  }
  return finishDraft(d) as State;
}
