/**
 * What each task runs, from the log's own spans: a `concurrent` step runs each of its
 * tasks' steps in a top-level span `task:<op>` (packages/linux concurrent.ts), so the
 * lanes of a race say `mremap` and `gup_fast` instead of `task 100` and `task 101`.
 * Tasks without such spans (the scenario's main task, a trace's threads) get no name.
 */
import type { LogIndex } from './log-index.js';

const TASK_SPAN = 'task:';

/** task -> its ops in the order it first ran them ("mremap", "touch, madvise") */
export function taskNames(index: Pick<LogIndex, 'spans' | 'spanNames'>): Record<number, string> {
  const ops = new Map<number, string[]>();
  const { id, task, depth } = index.spans;
  for (let i = 0; i < id.length; i++) {
    if (depth[i] !== 0) continue;
    const name = index.spanNames.get(id[i]);
    if (!name?.startsWith(TASK_SPAN)) continue;
    const op = name.slice(TASK_SPAN.length);
    const l = ops.get(task[i]) ?? [];
    if (!l.includes(op)) l.push(op);
    ops.set(task[i], l);
  }
  const out: Record<number, string> = {};
  for (const [t, l] of ops) out[t] = l.join(', ');
  return out;
}
