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

/**
 * A KGen that has already finished with `value`: what a kernel function returns on its
 * fast path (no lock to take, nothing to yield), instead of a generator (each generator
 * object is some 300 bytes: a fault made eight of them).
 */
export function finished<T>(value: T): KGen<T> {
  return new Finished(value) as unknown as KGen<T>;
}

/** stateless (always done), so one instance may be shared: see the constants callers keep */
class Finished<T> {
  private readonly result: IteratorReturnResult<T>;
  constructor(value: T) {
    this.result = Object.freeze({ done: true, value });
  }
  [Symbol.iterator](): this {
    return this;
  }
  next(): IteratorReturnResult<T> {
    return this.result;
  }
  return(v: T): IteratorReturnResult<T> {
    return { done: true, value: v };
  }
  throw(e: unknown): never {
    throw e;
  }
}

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

/** A chooser's answer: stop this run here (the explorer knows it is redundant). */
export const ABORT = -1;

/**
 * Picks the task that runs next at a scheduling point: `runnable` are indices into the
 * task list (not finished, not blocked), `current` the index of the task that ran last
 * (-1 before the first). Returns one of `runnable`, or ABORT.
 */
export type Chooser = (runnable: readonly number[], current: number) => number;

/**
 * Run tasks under a chooser: at every POINT (and when a task blocks or ends) `choose`
 * picks who runs the next segment. A task that yields BLOCKED is not runnable until
 * some other task makes progress (a lock may have been released). All blocked is a
 * deadlock. Returns each task's result in task order, or `aborted`.
 */
export function schedule(
  tasks: readonly SchedTask[],
  choose: Chooser,
  onSwitch: (task: number) => void,
  onAlone?: () => void,
): { results: unknown[]; aborted: boolean } {
  const n = tasks.length;
  const done = new Array<boolean>(n).fill(false);
  const blocked = new Array<boolean>(n).fill(false);
  const results = new Array<unknown>(n);
  const runnable: number[] = [];
  let left = n;
  let current = -1;
  while (left) {
    runnable.length = 0;
    for (let i = 0; i < n; i++) if (!done[i] && !blocked[i]) runnable.push(i);
    if (runnable.length === 0) {
      throw new DeadlockError(`tasks ${tasks.filter((_, i) => !done[i]).map((x) => x.id).join(', ')} all blocked`);
    }
    const t = choose(runnable, current);
    if (t === ABORT) return { results, aborted: true };
    current = t;
    onSwitch(tasks[t].id);
    const r = tasks[t].gen.next();
    if (r.value === BLOCKED && !r.done) {
      blocked[t] = true;
      continue;
    }
    // progress: a lock may have been released, every blocked task may retry
    blocked.fill(false);
    if (r.done) {
      results[t] = r.value;
      done[t] = true;
      left--;
      // one task left: nobody else can run at its points, it may run alone (fast paths)
      if (left === 1) onAlone?.();
    }
  }
  return { results, aborted: false };
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
  const { results } = schedule(tasks, (runnable) => runnable[Math.floor(rnd() * runnable.length)], onSwitch);
  return new Map(tasks.map((t, i) => [t.id, results[i]]));
}
