/**
 * What the explorer reports: violations grouped by root cause. A checker's message may
 * embed where in the log it showed (`seq 1234`, `event 56`), which differs from one
 * schedule to the next although the cause (the checker, the object, the rule) is the
 * same: the key strips those numbers, so one root cause is one reported violation with
 * a count of the schedules that showed it, and its shortest schedule.
 */

/** A checker's finding as the explorer sees it. */
export interface FindingLike {
  checker: string;
  message: string;
}

/** Where in a log a message says it showed: a seq or event number (not an object). */
const LOG_POSITION = /\b(seq|seqs|event|events)\s+\d+(\s*(\.\.|-)\s*\d+)?/gi;

/** The root cause of a finding: checker, objects and rule, without log positions. */
export function rootCause(f: FindingLike): string {
  return `${f.checker}\u0000${f.message.replace(LOG_POSITION, '$1 #')}`;
}

/** The checker names the explorer adds to those of the attached checkers. */
export const EXPLORER_CHECKERS = ['rmap-walk', 'deadlock', 'error'] as const;

