/**
 * Public types of @mmsim/invariants.
 */

export type CheckerName = 'rmap' | 'rmap-race' | 'locking' | 'structure' | 'lifetime';

export const ALL_CHECKERS: readonly CheckerName[] = ['rmap', 'rmap-race', 'locking', 'structure', 'lifetime'];

export interface Violation {
  /** a built-in checker, or the name of a checker a plugin provides at CHECKER */
  checker: CheckerName | (string & {});
  /** seq of the event at which it was found (a syscall-end check: the closing span_close) */
  seq: number;
  /** names of the open spans of the emitting task, outermost first */
  spanPath: string[];
  message: string;
  objects: { vma?: number[]; folio?: number[]; anonVma?: number[]; mm?: number[]; lock?: string[] };
}

export interface CheckerOptions {
  /** 'report' (default) collects violations; 'strict' throws InvariantViolationError at the first */
  mode?: 'report' | 'strict';
  /** which checkers run, built-in or provided at CHECKER (default: all) */
  checkers?: (CheckerName | (string & {}))[];
  /**
   * Seed the lock-order graph with the kernel's documented order (mm/rmap.c header:
   * mmap_lock > folio_lock > vma_start_write > anon_vma->rwsem > page_table_lock/PTL),
   * so a cycle shows even when the model exercises only one direction. Default true.
   */
  kernelLockOrder?: boolean;
  /** stop recording after this many violations (they are still counted); default 10000 */
  maxViolations?: number;
}

/** Thrown (strict mode) from the raw-event listener: the engine's syscall() rolls back. */
export class InvariantViolationError extends Error {
  constructor(readonly violation: Violation) {
    super(`[${violation.checker}] ${violation.message} (seq ${violation.seq}${violation.spanPath.length ? `, in ${violation.spanPath.join(' > ')}` : ''})`);
    this.name = 'InvariantViolationError';
  }
}
