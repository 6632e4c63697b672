/**
 * One pass over a log that applies every event and hands the caller each raw event
 * with the machine's counts right after it (exact per event, unlike the keyframes).
 */
import { createDraft, finishDraft, type Draft } from 'immer';
import { applyToDraft, emptyState, finishBatch, newBatch, newRawEvent, type Counts, type EventLog, type RawEvent, type State } from '@mmsim/core';

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
  // the batch keeps count deltas to itself until finishBatch: counts = batch start + deltas
  let base: Counts = { ...s.counts };
  const now = { ...base };
  while (cur.next(r)) {
    applyToDraft(d, r, b);
    const c = b.counts;
    now.vmas = base.vmas + c.vmas;
    now.anonVmas = base.anonVmas + c.anonVmas;
    now.avcs = base.avcs + c.avcs;
    now.folios = base.folios + c.folios;
    now.mms = base.mms + c.mms;
    now.errors = base.errors + c.errors;
    fn(r, now);
    if (++n === batch) {
      finishBatch(d, b);
      s = finishDraft(d) as State;
      base = { ...s.counts };
      d = createDraft(s);
      b = newBatch();
      n = 0;
      opts.onProgress?.(r.seq);
    }
  }
  finishBatch(d, b);
  return finishDraft(d) as State;
}
