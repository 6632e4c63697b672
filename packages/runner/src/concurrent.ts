/**
 * The `concurrent` step: 2 to 8 tasks (threads of their process) run interleaved at
 * every lock operation and lockless access, under a schedule. A schedule is the
 * sequence of choices "which task runs the next segment"; it is written as its
 * deviations from the default policy (keep running the current task; when it ends or
 * blocks, the lowest-numbered runnable one), so a schedule string stays short:
 *
 *     "4:1,9:0"   at decision 4 run task 1, at decision 9 task 0, else the default
 *     ""          the default policy throughout (no preemption)
 *
 * Decisions are counted from 0 over every concurrent step of the run, in order.
 */
import { ABORT, DeadlockError, E, PluginError, describeThrown, isInstance, prng, type KGen } from '@mmsim/core';
import type { ConcurrentStep, Scenario, StepObservation, StepResult, TaskStep, TaskStepObservation } from '@mmsim/scenario';
import { ARENA_BASE, folioReferenced, gupFast, shrinkFolioList, userAccessPerVma, type Kernel } from '@mmsim/linux';
import { StepFailedError, runStep, type Procs } from './step.js';

/** Engine task id of a concurrent step's task t (tracks in the debugger). */
export const TASK_ID_BASE = 100;

/** A schedule string that does not parse, or names a task that cannot run. */
export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/** Deviations from the default policy: [decision, task] pairs, decisions increasing. */
export type Deviations = readonly (readonly [number, number])[];

/** Parse "d:t,d:t" ("" or "default": none). */
export function parseSchedule(text: string): Deviations {
  const t = text.trim();
  if (t === '' || t === 'default') return [];
  const out: [number, number][] = [];
  for (const part of t.split(',')) {
    const m = /^(\d+):(\d+)$/.exec(part.trim());
    if (!m) throw new ScheduleError(`schedule "${text}": "${part}" is not decision:task (e.g. "4:1,9:0")`);
    const d = Number(m[1]);
    const task = Number(m[2]);
    if (out.length && d <= out[out.length - 1][0]) throw new ScheduleError(`schedule "${text}": decisions must increase (${d} after ${out[out.length - 1][0]})`);
    out.push([d, task]);
  }
  return out;
}

export function formatSchedule(dev: Deviations): string {
  return dev.map(([d, t]) => `${d}:${t}`).join(',');
}

/** The default policy: the current task goes on while it can, else the lowest runnable. */
export function defaultChoice(runnable: readonly number[], current: number): number {
  return runnable.includes(current) ? current : runnable[0];
}

/**
 * Picks tasks for every concurrent step of a run and records what it chose: the
 * decisions, their deviations from the default policy and the preemptions (switches
 * away from a task that could have gone on).
 */
export abstract class ScheduleDriver {
  /** decisions made so far (over all concurrent steps) */
  decision = 0;
  preemptions = 0;
  readonly deviations: [number, number][] = [];
  /** a concurrent step of n tasks starts */
  begin(n: number): void {
    void n;
  }
  /** the choice at decision `this.decision` (one of runnable, or ABORT) */
  protected abstract pick(runnable: readonly number[], current: number): number;
  choose(runnable: readonly number[], current: number): number {
    const t = this.pick(runnable, current);
    if (t === ABORT) return t;
    if (t !== defaultChoice(runnable, current)) this.deviations.push([this.decision, t]);
    if (current >= 0 && t !== current && runnable.includes(current)) this.preemptions++;
    this.decision++;
    return t;
  }
  /** what ran, as a schedule string */
  schedule(): string {
    return formatSchedule(this.deviations);
  }
}

/** Replays deviations (a schedule string), the default policy elsewhere. */
class ReplayDriver extends ScheduleDriver {
  private k = 0;
  constructor(private readonly dev: Deviations) {
    super();
  }
  protected pick(runnable: readonly number[], current: number): number {
    const d = this.dev[this.k];
    if (d && d[0] === this.decision) {
      this.k++;
      if (!runnable.includes(d[1])) {
        throw new ScheduleError(`schedule: at decision ${d[0]} task ${d[1]} cannot run (runnable: ${runnable.join(', ')})`);
      }
      return d[1];
    }
    return defaultChoice(runnable, current);
  }
}

export function replayDriver(dev: Deviations): ScheduleDriver {
  return new ReplayDriver(dev);
}

/** A uniformly random runnable task at every point, from a seed (the baseline). */
class SeededDriver extends ScheduleDriver {
  private readonly rnd: () => number;
  constructor(seed: number) {
    super();
    this.rnd = prng(seed);
  }
  protected pick(runnable: readonly number[]): number {
    return runnable[Math.floor(this.rnd() * runnable.length)];
  }
}

export function seededDriver(seed: number): ScheduleDriver {
  return new SeededDriver(seed);
}

/** A driver from functions: one class for every call (a class per driver would be a new shape each schedule). */
class FnDriver extends ScheduleDriver {
  constructor(
    private readonly pickFn: (runnable: readonly number[], current: number, decision: number) => number,
    private readonly beginFn: ((n: number) => void) | undefined,
  ) {
    super();
  }
  override begin(n: number): void {
    this.beginFn?.(n);
  }
  protected pick(runnable: readonly number[], current: number): number {
    return this.pickFn(runnable, current, this.decision);
  }
}

/** A driver from a function (the explorer's strategies). */
export function driverOf(pick: (runnable: readonly number[], current: number, decision: number) => number, begin?: (n: number) => void): ScheduleDriver {
  return new FnDriver(pick, begin);
}

/** How a concurrent step ended. */
export type ConcurrentOutcome =
  | { entry: StepObservation }
  | { stopped: 'deadlock' | 'error'; message: string; tasks: TaskStepObservation[][] }
  | { aborted: true };

/** One task's step: kernel-side steps, a touch through the per-VMA lock, or a syscall. */
function* runTaskStep(k: Kernel, s: Scenario, procs: Procs, st: TaskStep): KGen<StepResult> {
  const mm = procs.live.get(st.proc);
  if (mm === undefined) throw new Error(`process ${st.proc} does not exist`);
  const base = ARENA_BASE;
  switch (st.op) {
    case 'rmap_walk': {
      const r = yield* folioReferenced(k, mm, base + st.page);
      return { ok: true, found: r.found, mapcount: r.mapcount, mapcountAfter: r.mapcountAfter };
    }
    case 'gup_fast':
      return { ok: true, pages: yield* gupFast(k, mm, base + st.page, st.pages, st.pin) };
    case 'reclaim':
      return { ok: true, pages: yield* shrinkFolioList(k, mm, base + st.page, st.pages) };
    case 'touch': {
      const write = st.access === 'write';
      for (let p = 0; p < st.pages; p++) {
        const out = yield* userAccessPerVma(k, mm, base + st.page + p, write);
        if (out !== 'ok') return { ok: false, signal: out, page: st.page + p };
      }
      return { ok: true };
    }
    case 'mmap':
    case 'munmap':
    case 'mprotect':
    case 'madvise':
    case 'mremap':
    case 'pin':
    case 'unpin':
    case 'ksm':
    case 'swapout':
      return yield* runStep(k, s, procs, st);
  }
}

function* taskBody(k: Kernel, s: Scenario, procs: Procs, steps: readonly TaskStep[], out: TaskStepObservation[]): KGen<void> {
  for (const st of steps) {
    const result = yield* k.eng.span(`task:${st.op}`, () => runTaskStep(k, s, procs, st));
    out.push({ op: st.op, result });
  }
}

/**
 * Run one concurrent step under the driver: a top-level span `step:concurrent` on the
 * step's process, each task as engine task TASK_ID_BASE + t, then the observation note.
 * A deadlock or a model error inside a task stops the step where it stands (locks held,
 * spans open) with a note saying so: the log shows it as it happened. A plugin's throw
 * is a StepFailedError, as in any other step (the CLI's exit 4, not a violation).
 */
export function runConcurrentStep(k: Kernel, s: Scenario, procs: Procs, step: ConcurrentStep, i: number, driver: ScheduleDriver): ConcurrentOutcome {
  const eng = k.eng;
  eng.setTask(step.proc);
  const span = eng.spanOpen('step:concurrent', i, step.proc);
  const out: TaskStepObservation[][] = step.tasks.map(() => []);
  driver.begin(step.tasks.length);
  let aborted: boolean;
  try {
    aborted = eng.runConcurrent(
      step.tasks.map((t, ti) => ({ task: TASK_ID_BASE + ti, run: () => taskBody(k, s, procs, t.steps, out[ti]) })),
      (r, c) => driver.choose(r, c),
    ).aborted;
  } catch (e) {
    if (e instanceof ScheduleError) throw e;
    // a plugin that throws fails the step as it fails any other step: not a finding of the model
    if (isInstance(e, PluginError)) throw new StepFailedError(i, step.op, e.message, e);
    const stopped = e instanceof DeadlockError ? 'deadlock' : 'error';
    const message = describeThrown(e);
    eng.setTask(step.proc);
    eng.emit(E.Note, i, 0, 0, 0, 0, 0, JSON.stringify({ i, stopped, message }));
    eng.commit();
    return { stopped, message, tasks: out };
  }
  if (aborted) return { aborted: true };
  eng.setTask(step.proc);
  const entry: StepObservation = { i, op: 'concurrent', result: { ok: true }, tasks: out };
  eng.emit(E.Note, i, 0, 0, 0, 0, 0, JSON.stringify(entry));
  eng.spanClose(span, 0);
  return { entry };
}

/** A violation a task's own result shows (a walk that missed a mapping). */
export interface TaskViolation {
  checker: 'rmap-walk';
  message: string;
}

/**
 * What the tasks' results say is wrong: an rmap walk (folio_referenced) must find every
 * PTE that maps its page for the whole walk, the seed's central claim. folio_referenced
 * takes no folio lock (an anon folio) and holds only the anon_vma read lock, so a
 * mapping may go (a zap, reclaim's unmap, a COW) or come (a fault, fork) while it runs:
 * the kernel guarantees nothing for those, only that a mapping present from the start
 * to the end is found. At least min(mapcount before, after) mappings are such; a walk
 * that found fewer missed one (a PTE moved to where the walk does not look: the
 * relocation races). Stock reclaim against the walk is no violation.
 */
export function taskResultViolations(steps: readonly StepObservation[], s: Scenario): TaskViolation[] {
  const out: TaskViolation[] = [];
  for (const e of steps) {
    if (!e.tasks) continue;
    const st = s.steps[e.i] as ConcurrentStep;
    e.tasks.forEach((ts, t) =>
      ts.forEach((r, j) => {
        const res = r.result as { ok: boolean; found?: number; mapcount?: number; mapcountAfter?: number };
        if (r.op !== 'rmap_walk' || res.found === undefined || res.mapcount === undefined) return;
        const after = res.mapcountAfter ?? res.mapcount;
        const lasting = Math.min(res.mapcount, after);
        if (res.found < lasting) {
          const page = (st.tasks[t].steps[j] as { page: number }).page;
          out.push({
            checker: 'rmap-walk',
            message: `step ${e.i} task ${t} step ${j}: folio_referenced() of page ${page} found ${res.found} of its ${lasting} mapping(s) (mapcount ${res.mapcount} when the walk began, ${after} when it ended)`,
          });
        }
      }),
    );
  }
  return out;
}
