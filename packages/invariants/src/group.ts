/**
 * One fault is often found many times: every page of a moved folio, every PTE a loop
 * writes, every syscall after the state went wrong. Grouping puts a root cause's
 * repeats in one report: same checker, same span path, same message once the numbers
 * in it (pfns, vpns, ids, counts) are set aside.
 */
import type { Violation } from './types.js';

export interface ViolationGroup {
  checker: string;
  /** the first violation of the group (lowest seq) */
  first: Violation;
  /** how many violations the group holds */
  count: number;
  /** seq of the last one */
  lastSeq: number;
  /** the message with its numbers replaced by `#`: what the group's violations share */
  pattern: string;
}

const pathOf = (v: Violation) => (Array.isArray(v.spanPath) ? v.spanPath.join(' > ') : String(v.spanPath ?? ''));

/** Group violations by checker, span path and message pattern; groups in order of their first seq. */
export function groupViolations(violations: readonly Violation[]): ViolationGroup[] {
  const groups = new Map<string, ViolationGroup>();
  for (const v of violations) {
    const pattern = v.message.replace(/0x[0-9a-f]+|\d+/gi, '#');
    const key = `${v.checker}\u0000${pathOf(v)}\u0000${pattern}`;
    const g = groups.get(key);
    if (!g) groups.set(key, { checker: v.checker, first: v, count: 1, lastSeq: v.seq, pattern });
    else {
      g.count++;
      if (v.seq < g.first.seq) g.first = v;
      if (v.seq > g.lastSeq) g.lastSeq = v.seq;
    }
  }
  return [...groups.values()].sort((a, b) => a.first.seq - b.first.seq);
}

/** `[rmap] seq 120 in step:mremap > move_vma: <message> {objects}` and, for a group, `(32 times: first at seq 120, last at seq 410)`. */
export function formatViolationGroup(g: ViolationGroup): string {
  const v = g.first;
  const path = pathOf(v);
  const objs = v.objects === undefined || !Object.keys(v.objects).length ? '' : ` ${JSON.stringify(v.objects)}`;
  const more = g.count > 1 ? ` (${g.count} times: first at seq ${v.seq}, last at seq ${g.lastSeq})` : '';
  return `[${v.checker}] seq ${v.seq}${path ? ` in ${path}` : ''}: ${v.message}${objs}${more}`;
}
