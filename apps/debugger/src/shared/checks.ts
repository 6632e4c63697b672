/**
 * The invariant checkers (@mmsim/invariants) run over the loaded log inside the worker,
 * in slices: the package's own LogChecker (checkLog's replay), resumed a slice at a time
 * so that the worker answers views between slices and the page is usable while the
 * checkers still run.
 */
import type { EventLog } from '@mmsim/core';
import { LogChecker, type ExtraChecker, type Violation } from '@mmsim/invariants';

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

/**
 * The checkers over a log, a slice at a time (@mmsim/invariants' LogChecker, in report
 * mode): `extra` are plugin checkers to run beside the built-ins.
 */
export class CheckJob {
  private readonly job: LogChecker;

  constructor(log: EventLog, opts: { extra?: readonly ExtraChecker[] } = {}) {
    this.job = new LogChecker(log, { mode: 'report', extra: opts.extra });
  }

  /** events checked so far */
  get done(): number {
    return this.job.done;
  }

  get finished(): boolean {
    return this.job.finished;
  }

  /**
   * Check up to `events` more events, stopping early once `budgetMs` has passed (a slice
   * must not hold up a seek); true once the whole log is checked.
   */
  step(events: number, budgetMs = Infinity): boolean {
    return this.job.step(events, budgetMs);
  }

  findings(): CheckerFinding[] {
    return this.job.violations().map(finding);
  }

  /** violations found, including any past the recording limit */
  count(): number {
    return this.job.count();
  }
}
