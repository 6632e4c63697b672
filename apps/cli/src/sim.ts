/**
 * Running scenarios on the simulator with the plugins the options ask for, and
 * checking a finished log with the invariant checkers.
 */
import { Engine, LogReplayer, PluginConflictError, PluginError, definePlugin, describeThrown, isInstance, type EventLog, type LogHeader, type Plugin, type PluginHost } from '@mmsim/core';
import type { KernelBlock, Scenario } from '@mmsim/scenario';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT, type CliContext } from './context.js';
import { interruption } from './interrupt.js';
import {
  loadImplementations,
  loadInvariants,
  loadLinux,
  loadPluginModule,
  type Implementations,
  type LinuxRunOptions,
  type LinuxRunResult,
  type PluginSpec,
  type Violation,
} from './integrations.js';
import { addProfileOptions, kernelOptionsFrom, type ProfileCliOptions } from './profile.js';

export interface SimOptions extends ProfileCliOptions {
  plugin?: string[];
}

/** Everything a command needs to run scenarios: the options' kernel block, the implementations, the user's plugins. */
export interface SimSetup {
  kernelOptions: KernelBlock;
  implementations: Implementations;
  /** --plugin modules, in order */
  plugins: PluginSpec[];
  /** plugin name -> the module it was loaded from (an absolute path or a package name), for the log header */
  modules: Map<string, string>;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Add --plugin and the profile options (--relocate-variant, --large-folio, --thp, --mthp) to a command. */
export function addSimOptions(cmd: Command): Command {
  cmd.option(
    '--plugin <module>',
    'load a plugin: a path (relative to cwd) or package whose default export (or export "plugin") is an mmsim Plugin; repeatable; one that provides the merge policy or the large-folio handler replaces the profile\'s',
    collect,
  );
  return addProfileOptions(cmd);
}

/** Validate the option values and load the implementations and plugins (once per command). */
export async function resolveSim(ctx: CliContext, o: SimOptions): Promise<SimSetup> {
  const kernelOptions = kernelOptionsFrom(o);
  const implementations = await loadImplementations();
  const modules = new Map<string, string>();
  if (implementations.relocateAnon) modules.set(implementations.relocateAnon.name, '@mmsim/relocate-anon');
  if (implementations.largeFolio) modules.set(implementations.largeFolio.name, '@mmsim/large-folio');
  const plugins: PluginSpec[] = [];
  for (const m of o.plugin ?? []) {
    const p = setupOnce(await loadPluginModule(m, ctx.cwd));
    plugins.push(p);
    const name = Array.isArray(p) ? p[0].name : p.name;
    modules.set(name, /^[./]/.test(m) || /\.(m?[jt]s|cjs|cts|mts)$/.test(m) ? resolve(ctx.cwd, m) : m);
  }
  return { kernelOptions, implementations, plugins, modules };
}

/**
 * The plugin with its setup() run once, now: what it provides is recorded and handed to
 * every registry that registers it later. The model asks a plugin's setup which points
 * it takes before registering it (profilePlugins) and builds the log header apart from
 * the run, so without this a setup ran up to three times per scenario and a throw in the
 * first, dry, call was swallowed. A throw is its PluginError (exit 4), before anything runs.
 */
export function setupOnce<O>(plugin: Plugin<O>): Plugin<O> {
  const provided: Parameters<PluginHost['provide']>[] = [];
  try {
    plugin.setup({ provide: (...a) => void provided.push(a) });
  } catch (e) {
    throw new PluginError(plugin.name, 'setup', e);
  }
  return definePlugin<O>({
    name: plugin.name,
    ...(plugin.version !== undefined ? { version: plugin.version } : {}),
    setup(host) {
      for (const [point, impl, opts] of provided) host.provide(point, impl, opts);
    },
  });
}

/** The runScenario options a SimSetup stands for. */
export function runOptionsOf(sim: SimSetup): Pick<LinuxRunOptions, 'plugins' | 'kernelOptions' | 'implementations'> {
  return { plugins: sim.plugins, kernelOptions: sim.kernelOptions, implementations: sim.implementations };
}

/** The header with the module every plugin came from (what `readLog` checks is installed). */
export function withModules(header: LogHeader, sim: SimSetup): LogHeader {
  const plugins = header.config.plugins;
  if (!Array.isArray(plugins)) return header;
  const recs = plugins.map((p: { name?: string }) => {
    const m = typeof p?.name === 'string' ? sim.modules.get(p.name) : undefined;
    return m ? { ...p, module: m } : p;
  });
  return { ...header, config: { ...header.config, plugins: recs } };
}

/** Names (and options) of what ran, for headers and messages. */
export function pluginNames(plugins: readonly PluginSpec[]): string[] {
  return plugins.map((p) => (Array.isArray(p) ? `${p[0].name}${p[1] !== undefined ? ' ' + JSON.stringify(p[1]) : ''}` : p.name));
}

/** Run one scenario on the simulator. */
export async function simulate(
  scenario: Scenario,
  plugins: SimSetup,
  onStep?: (i: number, n: number) => void,
  onKernel?: (k: { eng: Engine }) => void,
  config?: Record<string, unknown>,
  sched: ScheduleOptions = {},
): Promise<LinuxRunResult> {
  return (await simulateRun(scenario, plugins, { onStep, onKernel, config, ...sched })).res;
}

export interface SimulateHooks {
  onStep?: (i: number, n: number) => void;
  /** with the engine before the first step, and the header its log will carry (null: the model cannot say) */
  onKernel?: (k: { eng: Engine }, header: LogHeader | null) => void;
  /** asked between steps: an error stops the run (a signal, a full disk) and is thrown as is */
  interrupt?: () => Error | undefined;
  /** attach the invariant checkers (--check) */
  check?: boolean;
  /** the kernel configuration (run --kernel-config) */
  config?: Record<string, unknown>;
  /** concurrent steps: the schedule, or the seed of a random one (run --schedule / --seed) */
  schedule?: string;
  seed?: number;
}

/** How concurrent steps are scheduled (`mmsim run --schedule / --seed`). */
export interface ScheduleOptions {
  schedule?: string;
  seed?: number;
}

/**
 * What only racing tasks show, as violations: a deadlock or a model error that stopped
 * a concurrent step, and an rmap walk that missed a mapping (what the explorer checks too).
 */
export async function concurrencyViolations(scenario: Scenario, res: LinuxRunResult): Promise<Violation[]> {
  const linux = (await loadLinux()) as unknown as { taskResultViolations?: (steps: unknown, s: Scenario) => { checker: string; message: string }[] };
  const out: Violation[] = [];
  const end = res.engine.log.length - 1;
  if (res.stopped) out.push({ checker: res.stopped.reason, seq: end, spanPath: [], message: res.stopped.message });
  for (const v of linux.taskResultViolations?.(res.observation.steps, scenario) ?? []) out.push({ checker: v.checker, seq: end, spanPath: [], message: v.message });
  return out;
}

/**
 * A run that failed (a plugin threw, a signal, an I/O error): the error to report, and
 * the violations the checkers had found up to there (still printed).
 */
export class RunFailedError extends CliError {
  override name = 'RunFailedError';
  constructor(
    readonly error: CliError,
    readonly violations: Violation[],
  ) {
    super(error.message, error.exitCode);
  }
}

/** Run one scenario: checkers attached when asked, the event loop given turns (signals), failures classified. */
export async function simulateRun(
  scenario: Scenario,
  plugins: SimSetup,
  hooks: SimulateHooks = {},
): Promise<{ res: LinuxRunResult; violations: Violation[] }> {
  const linux = await loadLinux();
  const inv = hooks.check ? await loadInvariants() : null;
  let handle: { violations(): Violation[] } | null = null;
  let eng: Engine | null = null;
  // the seq at which the step now running began (a model that does not say: the log's end):
  // what a failing step leaves is not checked
  let stepStart = Infinity;
  const onStep = (i: number, n: number) => {
    stepStart = eng?.log.length ?? 0;
    hooks.onStep?.(i, n);
  };
  const opts: LinuxRunOptions = { ...runOptionsOf(plugins), onStep, interrupt: hooks.interrupt, config: hooks.config, schedule: hooks.schedule, seed: hooks.seed };
  opts.onKernel = (k) => {
    eng = k.eng;
    if (inv) handle = inv.attachCheckers(k.eng, { mode: 'report' });
    hooks.onKernel?.(k, linux.logHeaderFor ? withModules(linux.logHeaderFor(scenario, opts), plugins) : null);
  };
  let res: LinuxRunResult;
  try {
    res = linux.runScenarioAsync ? await linux.runScenarioAsync(scenario, opts) : await linux.runScenario(scenario, opts);
    res = { ...res, header: withModules(res.header, plugins) };
  } catch (e) {
    if (e instanceof Error && e.name === 'ScheduleError') throw new CliError(`scenario ${scenario.name}: ${scheduleMessage(e.message, hooks.schedule)}`, EXIT.BAD_INPUT);
    const h = handle as { violations(): Violation[] } | null;
    let found: Violation[] = [];
    try {
      // only what the steps before the failing one did: the failing step was rolled back
      // (its seqs are gone from the log) or, a concurrent one, unwound with its locks held
      const end = Math.min(stepStart, (eng as Engine | null)?.log.length ?? Infinity);
      found = h ? h.violations().filter((v) => v.seq < end) : [];
    } catch {
      // the checkers' state is mid-step; the failure is what matters
    }
    throw new RunFailedError(simulatorFailure(scenario, e), found);
  }
  const h = handle as { violations(): Violation[] } | null;
  const found = h ? h.violations() : inv ? await checkLog(res.engine.log) : [];
  return { res, violations: inv ? [...found, ...(await concurrencyViolations(scenario, res))] : found };
}

/** A plugin's failure names the plugin and the point (EXIT.PLUGIN); a signal or I/O error stays itself; anything else is a model bug (exit 70). */
export function simulatorFailure(scenario: Scenario, e: unknown): CliError {
  if (isInstance(e, CliError)) return e;
  // a signal or a write error stays itself even when it surfaced inside a plugin's call
  const own = interruption(e);
  if (own) return own;
  if (!isInstance(e, Error)) return new CliError(`the simulator failed on scenario ${scenario.name}: it threw ${describeThrown(e)}`, EXIT.INTERNAL);
  if (e.name === 'ProfileError') return new CliError(`scenario ${scenario.name}: ${(e as Error).message}`, EXIT.BAD_INPUT);
  for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    if (c instanceof PluginError || c instanceof PluginConflictError) {
      const outer = (e as Error).message;
      return new CliError(`scenario ${scenario.name}: ${outer.includes(c.message) ? outer : `${outer} (${c.message})`}`, c instanceof PluginError ? EXIT.PLUGIN : EXIT.BAD_INPUT);
    }
  }
  const stack = isInstance(e, Error) && typeof e.stack === 'string' ? `\n${e.stack.split('\n').slice(1, 6).join('\n')}` : '';
  return new CliError(`the simulator failed on scenario ${scenario.name}: ${describeThrown(e)}${stack}`, EXIT.INTERNAL);
}

/**
 * Run a scenario with the invariant checkers attached to the engine as it runs
 * (through RunOptions.onKernel); if the model never called onKernel, the finished log
 * is replayed through the checkers instead.
 */
export async function simulateChecked(
  scenario: Scenario,
  plugins: SimSetup,
  onStep?: (i: number, n: number) => void,
  config?: Record<string, unknown>,
  sched: ScheduleOptions = {},
): Promise<{ res: LinuxRunResult; violations: Violation[] }> {
  return simulateRun(scenario, plugins, { onStep, check: true, config, ...sched });
}

/**
 * Run the invariant checkers over a finished log: a fresh engine re-applies every
 * event with the checkers attached (in report mode), so violations carry the seq of
 * the event where they occur in the original log.
 */
export async function checkLog(log: EventLog): Promise<Violation[]> {
  const inv = await loadInvariants();
  if (typeof inv.checkLog === 'function') return inv.checkLog(log, { mode: 'report' });
  const eng = new Engine();
  const checkers = inv.attachCheckers(eng, { mode: 'report' });
  LogReplayer.reemit(log, eng);
  eng.close();
  return checkers.violations();
}

export function formatViolation(v: Violation): string {
  const path = Array.isArray(v.spanPath) ? v.spanPath.join(' > ') : String(v.spanPath ?? '');
  const objs = v.objects === undefined ? '' : ` ${JSON.stringify(v.objects)}`;
  return `  [${v.checker}] seq ${v.seq}${path ? ` in ${path}` : ''}: ${v.message}${objs}`;
}

/**
 * A ScheduleError's message as the option it came from: the model says `schedule "S": ...`
 * or `schedule: ...`; the user typed `--schedule S`.
 */
export function scheduleMessage(message: string, schedule: string | undefined): string {
  const what = message.replace(/^schedule(?: "(?:[^"\\]|\\.)*")?: /, '');
  return schedule === undefined ? message : `--schedule ${JSON.stringify(schedule)}: ${what}`;
}
