/**
 * Run an mmsim-scenario/1 on the model and observe it as the spec says. Every step is a
 * top-level span `step:<op>` (arg0 = step index, arg1 = proc) that ends with a `note`
 * event holding the step's observation entry as JSON; a snapshot is a note
 * `{"snapshot": label, "procs": [[proc, mm], ...]}`; the step's first event is a note
 * `{"call": step}` with the step as the scenario gives it. The log alone thus rebuilds the
 * observation (observationFromLog).
 */
import { E, Engine, MMSIM_VERSION, TimeTravel, newRawEvent, type EngineMark, type EngineOptions, type EventLog, type KGen, type LogHeader, type Plugin } from '@mmsim/core';
import {
  OBSERVATION_FORMAT,
  type KernelBlock,
  type Observation,
  type ProcSnapshot,
  type Scenario,
  type SnapshotObservation,
  type Step,
  type StepObservation,
  type StepResult,
} from '@mmsim/scenario';
import { ARENA_BASE, Kernel, type KernelConfig } from '@mmsim/linux';
import { observeProcs } from './observe.js';
import { parseSchedule, replayDriver, runConcurrentStep, seededDriver, type ScheduleDriver } from './concurrent.js';
import { Procs, StepFailedError, runStep } from './step.js';
import {
  DEFAULT_PROFILE,
  effectiveProfile,
  profileConfig,
  profilePlugins,
  type EffectiveProfile,
  type KernelProfile,
  type PluginSpec,
  type ProfileImplementations,
} from './profile.js';
import type { VmaMetadata } from '@mmsim/scenario';

export interface RunOptions {
  /**
   * Plugins. Under a profile (below) they come after the profile's and take over the
   * single points they provide; without one they are all the run has.
   */
  plugins?: (Plugin<unknown> | [Plugin<unknown>, unknown])[];
  /**
   * Run under a kernel profile: this one (DEFAULT_PROFILE: 6.18.y + the series), then the
   * scenario's kernel block, then `kernelOptions`. A scenario with a kernel block always
   * runs under a profile (DEFAULT_PROFILE when none is given); one without, and without
   * these options, runs on `plugins` and `config` alone.
   */
  profile?: Readonly<KernelProfile>;
  /** settings that override the scenario's kernel block (a command line's options) */
  kernelOptions?: KernelBlock;
  /** the plugins a profile chooses from (relocate-anon, large-folio, a merge policy) */
  implementations?: Partial<ProfileImplementations>;
  /** KernelConfig fields; they win over the profile's default thp and mthp, not over a kernel block's or kernelOptions' */
  config?: Partial<KernelConfig>;
  engine?: EngineOptions;
  /** called before each step (progress bars) */
  onStep?: (i: number, n: number) => void;
  /** runs with the kernel before the first step (attach checkers, subscribers) */
  onKernel?: (k: Kernel) => void;
  /**
   * Asked between steps: a value other than undefined stops the run there and is
   * thrown (a signal arrived, the log's disk is full). The log then holds every step so far.
   */
  interrupt?: () => unknown;
  /** concurrent steps run under this schedule (see parseSchedule) */
  schedule?: string;
  /** without `schedule`: concurrent steps run under a schedule drawn from this seed (default 0) */
  seed?: number;
}

export interface RunResult {
  observation: Observation;
  engine: Engine;
  kernel: Kernel;
  header: LogHeader;
  /** a concurrent step deadlocked (all its tasks blocked) or failed: the run stopped there */
  stopped: RunStop | null;
  /** the schedule its concurrent steps ran under ("" when none, or the default policy) */
  schedule: string;
  /** the profile the run had (null: plugins and config only) */
  profile: EffectiveProfile | null;
}

/** Why a run stopped at a concurrent step. */
export interface RunStop {
  step: number;
  reason: 'deadlock' | 'error';
  message: string;
}

/** What a run is made of once its profile is resolved. */
export interface ResolvedRun {
  profile: EffectiveProfile | null;
  plugins: PluginSpec[];
  config: Partial<KernelConfig>;
}

/** Resolve the profile of a run: its plugins (in registration order) and its config. */
export function resolveRun(s: Scenario, opts: RunOptions = {}): ResolvedRun {
  const usesProfile = opts.profile !== undefined || opts.kernelOptions !== undefined || s.kernel !== undefined;
  if (!usesProfile) return { profile: null, plugins: [...(opts.plugins ?? [])], config: { ...(opts.config ?? {}) } };
  const profile = effectiveProfile(s, opts.kernelOptions ?? {}, opts.profile ?? DEFAULT_PROFILE);
  // `config` (e.g. this machine's settings) replaces the profile's defaults, but not what
  // the scenario's kernel block or an option chose: those decide
  const p = profile.profile;
  const chosen: Partial<KernelConfig> = {};
  if (profile.from.thp !== 'default') chosen.thp = p.thp;
  if (profile.from.mthp !== 'default') chosen.mthpOrders = [...p.mthp];
  // the release the scenario or an option names is code, not a setting: it beats the machine's too
  const release = opts.kernelOptions?.release ?? s.kernel?.release;
  if (release !== undefined) chosen.release = release;
  const revert = opts.kernelOptions?.revert ?? s.kernel?.revert;
  if (revert !== undefined && revert.length) chosen.revert = revert;
  const config: Partial<KernelConfig> = { ...profileConfig(p), ...(opts.config ?? {}), ...chosen };
  // the recorded profile is what ran
  if (config.thp !== undefined) p.thp = config.thp;
  if (config.mthpOrders !== undefined) p.mthp = [...config.mthpOrders];
  return { profile, plugins: profilePlugins(p, opts.implementations, opts.plugins ?? []), config };
}

/** What a log header says of one plugin. */
export interface PluginRecord {
  name: string;
  version: string | null;
  options: unknown;
}

/** name, version and options of every plugin, in registration order */
export function pluginRecords(plugins: readonly PluginSpec[]): PluginRecord[] {
  return plugins.map((p) => {
    const [plugin, options] = Array.isArray(p) ? p : [p, undefined];
    return { name: plugin.name, version: plugin.version ?? null, options: options ?? null };
  });
}

/**
 * The header a run's log carries: the run described whole, so that a log needs no
 * options to be read: the scenario's name and arena (observationFromLog), the effective
 * profile and where each setting came from, the KernelConfig, every plugin with its
 * version and options, and the scenario itself.
 */
export function logHeaderFor(s: Scenario, opts: RunOptions = {}, resolved: ResolvedRun = resolveRun(s, opts)): LogHeader {
  return {
    mmsimVersion: MMSIM_VERSION,
    config: {
      scenario: s.name,
      arenaPages: s.arena.pages,
      arenaBase: ARENA_BASE,
      profile: resolved.profile?.profile ?? null,
      profileFrom: resolved.profile?.from ?? null,
      kernel: resolved.config,
      plugins: pluginRecords(resolved.plugins),
      // the scenario itself (steps with their arguments): `mmsim replay` describes them from the log alone
      scenarioSpec: s,
      ...(opts.schedule !== undefined ? { schedule: opts.schedule } : {}),
    },
    seed: opts.seed ?? opts.engine?.seed ?? 0,
  };
}

/** The step's result, as stepSyscallBody leaves it for runScenario. */
interface StepOut {
  result: StepResult | undefined;
}

/**
 * body of the `step:<op>` syscall of runScenario (a top-level generator: an inline generator
 * closure costs ~1 µs to create): the step, then its observation note.
 */
function* stepSyscallBody(k: Kernel, eng: Engine, s: Scenario, procs: Procs, step: Step, i: number, out: StepOut): KGen<number> {
  // the call as made, flags by name: the log alone tells what was asked (the debugger shows it)
  eng.emit(E.Note, i, 0, 0, 0, 0, 0, JSON.stringify({ call: step }));
  out.result = yield* runStep(k, s, procs, step);
  const entry: StepObservation = { i, op: step.op, result: out.result };
  eng.emit(E.Note, i, 0, 0, 0, 0, 0, JSON.stringify(entry));
  return 0;
}

/** Run a validated scenario. */
export function runScenario(s: Scenario, opts: RunOptions = {}): RunResult {
  const run = scenarioSteps(s, opts);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
  }
}

/**
 * Run a validated scenario, giving the event loop a turn every `yieldEveryMs` (default
 * 50 ms) between steps: signal handlers and I/O callbacks run, and `opts.interrupt` can
 * stop a long run. The same events as runScenario.
 */
export async function runScenarioAsync(s: Scenario, opts: RunOptions & { yieldEveryMs?: number } = {}): Promise<RunResult> {
  const every = opts.yieldEveryMs ?? 50;
  const run = scenarioSteps(s, opts);
  let last = Date.now();
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
    if (Date.now() - last >= every) {
      await new Promise<void>((res) => setImmediate(res));
      last = Date.now();
    }
  }
}

/** The run as a generator that yields before every step (runScenario drives it at once). */
function* scenarioSteps(s: Scenario, opts: RunOptions): Generator<void, RunResult> {
  const run = new ScenarioRun(s, opts);
  while (run.next < s.steps.length && !run.stopped && !run.aborted) {
    yield;
    const stop = opts.interrupt?.();
    if (stop !== undefined) throw stop;
    run.runUntil(run.next + 1);
  }
  return run.finish();
}

/** Where a ScenarioRun stands, to come back to (the explorer restarts schedules here). */
export interface ScenarioMark {
  readonly engine: EngineMark;
  readonly next: number;
  readonly live: readonly [number, number][];
  readonly nextProc: number;
  readonly steps: number;
  readonly snapshots: number;
}

/**
 * A scenario being run step by step: runScenario runs it whole; the explorer runs it up
 * to the first concurrent step, marks, and runs the rest once per schedule.
 */
export { StepFailedError };

export class ScenarioRun {
  readonly k: Kernel;
  readonly eng: Engine;
  readonly procs = new Procs();
  readonly steps: StepObservation[] = [];
  readonly snapshots: SnapshotObservation[] = [];
  /** the next step to run */
  next = 0;
  /** set when a concurrent step deadlocked or its kernel code failed: the run stops there */
  stopped: RunStop | null = null;
  /** the driver gave up on the schedule (the explorer's redundant runs) */
  aborted = false;
  /** picks the task at each scheduling point of concurrent steps (default: seeded, RunOptions.seed) */
  driver: ScheduleDriver;
  /** the profile, plugins and config the run has */
  readonly resolved: ResolvedRun;

  constructor(
    readonly s: Scenario,
    readonly opts: RunOptions = {},
  ) {
    this.resolved = resolveRun(s, opts);
    this.k = new Kernel({ ...(opts.engine ?? {}), config: this.resolved.config, plugins: this.resolved.plugins });
    this.eng = this.k.eng;
    this.driver = opts.schedule !== undefined ? replayDriver(parseSchedule(opts.schedule)) : seededDriver(opts.seed ?? 0);
    opts.onKernel?.(this.k);
    const mm0 = this.eng.ids.mm++;
    this.eng.emit(E.MmCreate, mm0, 0);
    this.procs.live.set(this.procs.nextProc++, mm0);
    this.eng.commit();
  }

  private snap(label: string): void {
    const eng = this.eng;
    const note = JSON.stringify({ snapshot: label, procs: this.procs.sorted() });
    eng.emit(E.Note, 0, 0, 0, 0, 0, 0, note);
    eng.commit();
    this.snapshots.push({ label, procs: observeProcs(eng.state, this.procs.sorted(), ARENA_BASE, this.s.arena.pages, this.s.observe) });
  }

  /** Run steps [next, end); a deadlock stops the run. */
  runUntil(end: number): void {
    const { s, eng, k, procs, opts } = this;
    for (; this.next < end && !this.stopped && !this.aborted; this.next++) {
      const i = this.next;
      const step = s.steps[i];
      opts.onStep?.(i, s.steps.length);
      eng.setTask(step.proc);
      if (step.op === 'snapshot') {
        this.snap(step.label);
        continue;
      }
      if (step.op === 'concurrent') {
        const r = runConcurrentStep(k, s, procs, step, i, this.driver);
        if ('aborted' in r) this.aborted = true;
        else if ('stopped' in r) {
          this.stopped = { step: i, reason: r.stopped, message: r.message };
          this.steps.push({ i, op: step.op, result: { ok: false, errno: r.stopped === 'deadlock' ? 'EDEADLK' : 'EINTERNAL' }, tasks: r.tasks });
        } else this.steps.push(r.entry);
        continue;
      }
      const out: StepOut = { result: undefined };
      const r = eng.syscall(`step:${step.op}`, () => stepSyscallBody(k, eng, s, procs, step, i, out), i, step.proc);
      if (!r.ok) {
        // the step was rolled back (a plugin failed): record it as an error the user can see
        const msg = r.error instanceof Error ? r.error.message : String(r.error);
        throw new StepFailedError(i, step.op, msg, r.error);
      }
      this.steps.push({ i, op: step.op, result: out.result! });
    }
  }

  mark(): ScenarioMark {
    return {
      engine: this.eng.mark(),
      next: this.next,
      live: this.procs.sorted(),
      nextProc: this.procs.nextProc,
      steps: this.steps.length,
      snapshots: this.snapshots.length,
    };
  }

  restore(m: ScenarioMark): void {
    this.eng.restore(m.engine);
    this.next = m.next;
    this.procs.live.clear();
    for (const [p, mm] of m.live) this.procs.live.set(p, mm);
    this.procs.nextProc = m.nextProc;
    this.steps.length = m.steps;
    this.snapshots.length = m.snapshots;
    this.stopped = null;
    this.aborted = false;
  }

  /** The final snapshot, the engine closed, the result. */
  finish(): RunResult {
    const { s, eng } = this;
    eng.setTask(0);
    this.snap('final');
    eng.close();
    return {
      observation: { format: OBSERVATION_FORMAT, scenario: s.name, steps: this.steps, snapshots: this.snapshots },
      engine: eng,
      kernel: this.k,
      header: logHeaderFor(s, this.opts, this.resolved),
      stopped: this.stopped,
      schedule: this.driver.schedule(),
      profile: this.resolved.profile,
    };
  }

  /** The final layout as the final snapshot would observe it, without writing it (explorer). */
  finalProcs(): ProcSnapshot[] {
    this.eng.commit();
    return observeProcs(this.eng.state, this.procs.sorted(), ARENA_BASE, this.s.arena.pages, this.s.observe) as ProcSnapshot[];
  }
}


/** The observation rebuilt from a log alone: step notes, and snapshots replayed. */
export function observationFromLog(log: EventLog, header?: LogHeader): Observation {
  const cfg = (header?.config ?? {}) as { scenario?: string; arenaPages?: number; arenaBase?: number; scenarioSpec?: { observe?: VmaMetadata[] } };
  const steps: StepObservation[] = [];
  const snapAt: { seq: number; label: string; procs: [number, number][] }[] = [];
  const cur = log.cursor(0);
  const r = newRawEvent();
  const arenaPages = cfg.arenaPages ?? 0;
  while (cur.next(r)) {
    if (r.type !== E.Note || !r.s.startsWith('{')) continue;
    const o = JSON.parse(r.s) as { snapshot?: string; procs?: [number, number][]; i?: number; op?: string; result?: StepResult };
    if (o.snapshot !== undefined) snapAt.push({ seq: r.seq + 1, label: o.snapshot, procs: o.procs ?? [] });
    else if (o.i !== undefined) steps.push(o as StepObservation);
  }
  if (!arenaPages) throw new Error('log header does not say the arena size (config.arenaPages)');
  const tt = new TimeTravel(log);
  const snapshots: SnapshotObservation[] = snapAt.map((x) => ({
    label: x.label,
    procs: observeProcs(tt.stateAt(x.seq), x.procs, cfg.arenaBase ?? ARENA_BASE, arenaPages, cfg.scenarioSpec?.observe) as ProcSnapshot[],
  }));
  return { format: OBSERVATION_FORMAT, scenario: cfg.scenario ?? '', steps, snapshots };
}
