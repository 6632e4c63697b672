/**
 * Validation of the `concurrent` step: 2 to 8 tasks, each a thread of a live process
 * with its own steps. A task's syscall steps are validated as top-level steps are (the
 * task's `proc` filled in); errors name the step, then `tasks[t].steps[j].<field>`.
 */
import { ScenarioError } from './error.js';
import {
  KERNEL_STEP_OPS,
  MAX_PROCS,
  MAX_TASKS,
  TASK_OPS,
  type ConcurrentStep,
  type ConcurrentTask,
  type Step,
  type TaskStep,
} from './types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `${typeof v} ${JSON.stringify(v)}`);

/** Most steps one task may have (a task is a race, not a program). */
export const MAX_TASK_STEPS = 64;

/** Why an op cannot run inside a task. */
const NOT_IN_TASK: Record<string, string> = {
  fork: 'fork is not allowed inside a concurrent task (a task is a thread; fork before the concurrent step)',
  exit: 'exit is not allowed inside a concurrent task (the mm would go away under its other threads)',
  snapshot: 'snapshot is not allowed inside a concurrent task (take one before or after the concurrent step)',
  concurrent: 'concurrent steps do not nest',
  thp: 'thp is not allowed inside a concurrent task',
};

/**
 * Parse one `concurrent` step. `syscallStep` validates an ordinary step (as the top-level
 * validator does) and throws ScenarioError with the field it found wrong.
 */
export function parseConcurrent(
  rs: Obj,
  i: number,
  live: ReadonlySet<number>,
  file: string | undefined,
  syscallStep: (sub: Obj, i: number) => Step,
  arena: number,
): ConcurrentStep {
  const op = 'concurrent';
  const fail = (reason: string, field?: string): never => {
    throw new ScenarioError(reason, { file, step: i, op, field });
  };
  for (const k of Object.keys(rs)) if (k !== 'op' && k !== 'tasks') fail(k === 'proc' ? 'a concurrent step has no "proc": each task names its own' : 'unknown field for op "concurrent"', k);
  if (!Array.isArray(rs.tasks)) return fail(`must be an array of 2 to ${MAX_TASKS} tasks, got ${show(rs.tasks)}`, 'tasks');
  if (rs.tasks.length < 2 || rs.tasks.length > MAX_TASKS) fail(`must have 2 to ${MAX_TASKS} tasks, got ${rs.tasks.length}`, 'tasks');
  const tasks: ConcurrentTask[] = rs.tasks.map((rt: unknown, t: number): ConcurrentTask => {
    const at = `tasks[${t}]`;
    if (!isObj(rt)) return fail(`a task must be an object {proc, steps}, got ${show(rt)}`, at);
    for (const k of Object.keys(rt)) if (k !== 'proc' && k !== 'steps') fail('unknown field for a task', `${at}.${k}`);
    let proc = 0;
    if (rt.proc !== undefined) {
      if (!Number.isSafeInteger(rt.proc) || (rt.proc as number) < 0 || (rt.proc as number) >= MAX_PROCS)
        fail(`must be an integer in [0, ${MAX_PROCS}), got ${show(rt.proc)}`, `${at}.proc`);
      proc = rt.proc as number;
    }
    if (!live.has(proc)) fail(`process ${proc} does not exist at this step`, `${at}.proc`);
    if (!Array.isArray(rt.steps)) return fail(`must be an array of steps, got ${show(rt.steps)}`, `${at}.steps`);
    if (rt.steps.length < 1 || rt.steps.length > MAX_TASK_STEPS) fail(`must have 1 to ${MAX_TASK_STEPS} steps, got ${rt.steps.length}`, `${at}.steps`);
    const steps = rt.steps.map((sub: unknown, j: number) => taskStep(sub, `${at}.steps[${j}]`, proc));
    return { proc, steps };
  });
  return { op, proc: tasks[0].proc, tasks };

  function taskStep(sub: unknown, at: string, proc: number): TaskStep {
    if (!isObj(sub)) return fail(`a step must be an object, got ${show(sub)}`, at);
    const sop = sub.op;
    if (typeof sop === 'string' && NOT_IN_TASK[sop]) fail(NOT_IN_TASK[sop], `${at}.op`);
    if (typeof sop !== 'string' || !(TASK_OPS as readonly string[]).includes(sop))
      fail(`unknown op ${show(sop)} (a task step is one of: ${TASK_OPS.join(', ')})`, `${at}.op`);
    if (sub.proc !== undefined) fail('a task step has no "proc": it runs in its task\'s process', `${at}.proc`);
    // an armed fault is one allocation anywhere in the kernel: in a task it would hit whichever task allocates first
    if (sub.fail !== undefined) fail('fault injection is not allowed inside a concurrent task (inject into a step before or after it)', `${at}.fail`);
    if ((KERNEL_STEP_OPS as readonly string[]).includes(sop as string)) return kernelStep(sub, at, proc);
    try {
      return syscallStep({ ...sub, proc }, i) as TaskStep;
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      return fail(e.reason, e.field === undefined ? at : `${at}.${e.field}`);
    }
  }

  function int(o: Obj, field: string, at: string, lo: number, hi: number): number {
    const v = o[field];
    if (v === undefined) fail('missing', `${at}.${field}`);
    if (!Number.isSafeInteger(v) || (v as number) < lo || (v as number) > hi) fail(`must be an integer in [${lo}, ${hi}], got ${show(v)}`, `${at}.${field}`);
    return v as number;
  }

  function kernelStep(sub: Obj, at: string, proc: number): TaskStep {
    const kop = sub.op as (typeof KERNEL_STEP_OPS)[number];
    const allowed = kop === 'rmap_walk' ? ['op', 'page'] : kop === 'gup_fast' ? ['op', 'page', 'pages', 'pin'] : ['op', 'page', 'pages'];
    for (const k of Object.keys(sub)) if (!allowed.includes(k)) fail(`unknown field for op "${kop}"`, `${at}.${k}`);
    const page = int(sub, 'page', at, 0, arena - 1);
    if (kop === 'rmap_walk') return { op: kop, proc, page };
    const pages = int(sub, 'pages', at, 1, arena - page);
    if (kop === 'reclaim') return { op: kop, proc, page, pages };
    if (sub.pin !== undefined && typeof sub.pin !== 'boolean') fail(`must be true or false, got ${show(sub.pin)}`, `${at}.pin`);
    return { op: kop, proc, page, pages, pin: sub.pin !== false };
  }
}
