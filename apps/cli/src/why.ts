/**
 * Why, from a log: why two adjacent VMAs did not merge (the model's mergePairs, the
 * answer the debugger's merge panel gives) and why a relocation gave up (the note
 * relocate-anon writes inside relocate_anon when its walk fails: a pinned folio under
 * the fixed variant, a locked one, one in the swap cache...). `mmsim why` prints both;
 * `mmsim run` and `replay` put a relocation's reason into its step's result (`why`).
 */
import { E, newRawEvent, type EventLog, type State } from '@mmsim/core';
import type { Observation, StepResult } from '@mmsim/scenario';

/** Concurrent tasks run as engine tasks TASK_ID_BASE + t (@mmsim/linux's concurrent.ts). */
const TASK_ID_BASE = 100;

/** One relocation that gave up, placed at its step (and, in a concurrent step, its task's step). */
export interface RelocationOutcome {
  seq: number;
  /** the scenario step (null: the log has no step spans) */
  step: number | null;
  /** in a concurrent step: the task and the index of its step */
  task: number | null;
  taskStep: number | null;
  /** fallback: the ordinary move ran instead; EFAULT: MREMAP_MUST_RELOCATE_ANON failed */
  outcome: 'fallback' | 'EFAULT';
  reason: string;
  /** the VMA that was to be moved */
  vma: number;
}

/** relocate-anon's note, or null for any other note */
function relocationNote(text: string): { outcome: 'fallback' | 'EFAULT'; reason: string } | null {
  if (!text.startsWith('{"plugin":"relocate-anon"')) return null;
  try {
    const n = JSON.parse(text) as { outcome?: unknown; reason?: unknown };
    if ((n.outcome === 'fallback' || n.outcome === 'EFAULT') && typeof n.reason === 'string') return { outcome: n.outcome, reason: n.reason };
  } catch {
    /* a note that only looks like one */
  }
  return null;
}

/**
 * Every relocation that gave up in the first `upTo` events. A step is the `step:OP`
 * span (its arg0 is the step's index); in a concurrent step each task's steps are its
 * `task:OP` spans, counted per task.
 */
export function relocationOutcomes(log: EventLog, upTo = log.length): RelocationOutcome[] {
  const out: RelocationOutcome[] = [];
  const cur = log.cursor(0);
  const r = newRawEvent();
  let step: number | null = null;
  let taskSteps = new Map<number, number>();
  while (cur.next(r) && r.seq < upTo) {
    if (r.type === E.SpanOpen) {
      if (r.s.startsWith('step:')) {
        step = r.c;
        taskSteps = new Map();
      } else if (r.s.startsWith('task:') && r.task >= TASK_ID_BASE) taskSteps.set(r.task, (taskSteps.get(r.task) ?? -1) + 1);
      continue;
    }
    if (r.type !== E.Note) continue;
    const n = relocationNote(r.s);
    if (!n) continue;
    const inTask = r.task >= TASK_ID_BASE && taskSteps.has(r.task);
    out.push({
      seq: r.seq,
      step,
      task: inTask ? r.task - TASK_ID_BASE : null,
      taskStep: inTask ? taskSteps.get(r.task)! : null,
      ...n,
      vma: r.a,
    });
  }
  return out;
}

/** The sentence a step's result carries. */
export function relocationWhy(o: RelocationOutcome): string {
  return o.outcome === 'fallback'
    ? `MREMAP_RELOCATE_ANON fell back to the ordinary move: ${o.reason}`
    : `MREMAP_MUST_RELOCATE_ANON failed (EFAULT): ${o.reason}`;
}

// not a field of mmsim-observation/1's StepResult: the CLI adds it to what it prints
const withWhy = (r: StepResult, o: RelocationOutcome): StepResult => ({ ...r, why: relocationWhy(o) }) as unknown as StepResult;

/** The observation with each relocation's reason in its step's (or task step's) result, as `why`. */
export function withRelocationReasons(obs: Observation, outcomes: readonly RelocationOutcome[]): Observation {
  if (!outcomes.length) return obs;
  const steps = obs.steps.map((st) => {
    const mine = outcomes.filter((o) => o.step === st.i);
    if (!mine.length) return st;
    const top = mine.find((o) => o.task === null);
    const tasks = st.tasks?.map((results, t) =>
      results.map((x, j) => {
        const o = mine.find((m) => m.task === t && m.taskStep === j);
        return o ? { ...x, result: withWhy(x.result, o) } : x;
      }),
    );
    return { ...st, ...(top ? { result: withWhy(st.result, top) } : {}), ...(tasks ? { tasks } : {}) };
  });
  return { ...obs, steps };
}

/** What the model's mergeWhy says of two adjacent VMAs (the fields `why` prints). */
export interface MergeAnswer {
  left: number;
  right: number;
  at: number;
  merge: boolean;
  reason: string;
  policy: string;
}

/** The adjacent pairs of `state` (all, or those with VMA `vma`), each with its mm. */
export function mergeAnswers(
  state: State,
  mergePairs: (s: State, max?: number) => MergeAnswer[],
  vma?: number,
): (MergeAnswer & { mm: number })[] {
  return mergePairs(state, Number.MAX_SAFE_INTEGER)
    .filter((m) => vma === undefined || m.left === vma || m.right === vma)
    .map((m) => ({ ...m, mm: state.vmas.get(m.left)?.mm ?? 0 }));
}
