/**
 * How a checker module reports what it finds: through the coordinator (checker.ts),
 * which counts, records up to maxViolations, throws in strict mode, and stays quiet
 * while a syscall unwinds after a strict-mode throw.
 */
import type { RawEvent } from '@mmsim/core';
import type { TaskInfo } from './shadows.js';
import type { CheckerName, Violation } from './types.js';

export interface Reporter {
  /** A violation found at event r (a syscall-end check: the closing span_close); path: the open spans. */
  report(checker: CheckerName, r: Readonly<RawEvent>, path: readonly string[], message: string, objects: Violation['objects']): void;
  /** Report once per rule key per syscall (a loop of unlocked writes is one finding). */
  violate(checker: CheckerName, r: Readonly<RawEvent>, t: TaskInfo, key: string, message: string, objects: Violation['objects']): void;
}
