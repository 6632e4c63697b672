/**
 * The invariant checkers (@mmsim/invariants) run over the loaded log inside the worker,
 * in slices: the same replay as the package's checkLog (apply every event to an immer
 * draft, feed it to InvariantChecker, commit in batches), resumable so that the worker
 * answers views between slices and the page is usable while the checkers still run.
 */
import { createDraft, finishDraft, type Draft } from 'immer';
import {
  applyToDraft,
  batchLock,
  batchPageFolio,
  emptyState,
  finishBatch,
  newBatch,
  newRawEvent,
  pageFolio,
  type EventLog,
  type LogCursor,
  type State,
} from '@mmsim/core';
import { InvariantChecker, type Violation } from '@mmsim/invariants';

/** A checker's finding as the page shows it. */
export interface CheckerFinding {
  readonly seq: number;
  readonly checker: string;
  readonly message: string;
  readonly spanPath: string[];
  /** folio pfns, VMA ids, anon_vma ids and locks the checker named */
  readonly folios: number[];
  readonly vmas: number[];
  readonly anonVmas: number[];
  readonly locks: string[];
}

export function finding(v: Violation): CheckerFinding {
  return {
    seq: v.seq,
    checker: v.checker,
    message: v.message,
    spanPath: v.spanPath.slice(),
    folios: (v.objects.folio ?? []).slice(),
    vmas: (v.objects.vma ?? []).slice(),
    anonVmas: (v.objects.anonVma ?? []).slice(),
    locks: (v.objects.lock ?? []).slice(),
  };
}

const BATCH_EVENTS = 65536;

export class CheckJob {
  private state: State = emptyState();
  private draft: Draft<State> | null = null;
  private batch = newBatch();
  private n = 0;
  private readonly cur: LogCursor;
  private readonly r = newRawEvent();
  private readonly chk: InvariantChecker;
  /** events checked so far */
  done = 0;
  finished = false;

  constructor(private readonly log: EventLog) {
    this.cur = log.cursor(0);
    this.chk = new InvariantChecker(() => (this.draft ?? this.state) as State, { mode: 'report' }, () => this.commit(), {
      pageFolio: (pfn) => (this.draft ? batchPageFolio(this.draft, this.batch, pfn) : pageFolio(this.state, pfn)),
      lock: (name) => (this.draft ? batchLock(this.draft, this.batch, name) : this.state.locks[name]),
    });
  }

  private commit(): void {
    if (this.draft) {
      finishBatch(this.draft, this.batch);
      this.state = finishDraft(this.draft) as State;
    }
    this.draft = null;
  }

  /**
   * Check up to `events` more events, stopping early once `budgetMs` has passed (a slice
   * must not hold up a seek); true once the whole log is checked.
   */
  step(events: number, budgetMs = Infinity): boolean {
    if (this.finished) return true;
    const t0 = budgetMs === Infinity ? 0 : performance.now();
    for (let i = 0; i < events; i++) {
      if ((i & 255) === 255 && budgetMs !== Infinity && performance.now() - t0 > budgetMs) return false;
      if (!this.cur.next(this.r)) {
        this.commit();
        this.chk.flush(this.log.length - 1, true);
        this.finished = true;
        return true;
      }
      if (!this.draft) {
        this.draft = createDraft(this.state);
        this.batch = newBatch();
        this.n = 0;
      }
      applyToDraft(this.draft, this.r, this.batch);
      this.chk.onEvent(this.r);
      this.done++;
      if (++this.n >= BATCH_EVENTS) this.commit();
    }
    return false;
  }

  findings(): CheckerFinding[] {
    return this.chk.violations.map(finding);
  }

  /** violations found, including any past the recording limit */
  count(): number {
    return this.chk.found;
  }
}
