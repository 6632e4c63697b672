/**
 * Resumable kernel code. Kernel functions that take locks are generators: every lock
 * acquire and release is a `yield`, a point where a scheduler may run another task
 * (an rmap walker racing an mremap, a fault on another thread). A single task simply
 * runs its generator to the end.
 */

/** yielded at a lock acquire/release: another task may run here */
export const POINT = 0;
/** yielded when a lock is held by another task: this task cannot go on yet */
export const BLOCKED = 1;

export type KGen<T = void> = Generator<number, T, void>;

export class DeadlockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlockError';
  }
}

/** Run one task's kernel code to completion; blocking with no other task is a deadlock. */
export function runTask<T>(g: KGen<T>, what = 'task'): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    if (r.value === BLOCKED) throw new DeadlockError(`${what} blocked on a lock with no other task to release it`);
  }
}

/** Small deterministic PRNG (mulberry32), so interleavings are reproducible from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SchedTask {
  readonly id: number;
  readonly gen: KGen<unknown>;
}

/**
 * Interleave several tasks deterministically from a seed: at every POINT the next task
 * to run is drawn among the runnable ones. `onSwitch` lets the engine record the task.
 */
export function interleave(
  tasks: readonly SchedTask[],
  seed: number,
  onSwitch: (task: number) => void,
): Map<number, unknown> {
  const rnd = prng(seed);
  const live = tasks.map((t) => ({ ...t, blocked: false }));
  const results = new Map<number, unknown>();
  while (live.length) {
    const runnable = live.filter((t) => !t.blocked);
    if (runnable.length === 0) throw new DeadlockError(`tasks ${live.map((x) => x.id).join(', ')} all blocked`);
    const t = runnable[Math.floor(rnd() * runnable.length)];
    onSwitch(t.id);
    const r = t.gen.next();
    if (r.value === BLOCKED && !r.done) {
      t.blocked = true;
      continue;
    }
    // progress: a lock may have been released, every blocked task may retry
    for (const o of live) o.blocked = false;
    if (r.done) {
      results.set(t.id, r.value);
      live.splice(live.indexOf(t), 1);
    }
  }
  return results;
}
