/**
 * Running scenarios on the simulator with the plugins the options ask for, and
 * checking a finished log with the invariant checkers.
 */
import { PluginConflictError, PluginError, definePlugin, describeThrown, isInstance, type Engine, type LogHeader, type Plugin, type PluginHost } from '@mmsim/core';
import { attachCheckers, type CheckerHandle, type Violation } from '@mmsim/invariants';
import { largeFolioPlugin } from '@mmsim/large-folio';
import { relocateAnonPlugin } from '@mmsim/relocate-anon';
import {
  ProfileError,
  ScheduleError,
  logHeaderFor,
  runScenarioAsync,
  taskResultViolations,
  type ProfileImplementations,
  type RunOptions,
  type RunResult,
} from '@mmsim/runner';
import type { KernelBlock, Scenario } from '@mmsim/scenario';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT, type CliContext } from './context.js';
import { interruption } from './interrupt.js';
import { loadPluginModule, type PluginSpec } from './integrations.js';
import { addProfileOptions, kernelOptionsFrom, type ProfileCliOptions } from './profile.js';

export interface SimOptions extends ProfileCliOptions {
  plugin?: string[];
}

/** Everything a command needs to run scenarios: the options' kernel block, the implementations, the user's plugins. */
export interface SimSetup {
  kernelOptions: KernelBlock;
  implementations: Partial<ProfileImplementations>;
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
  const implementations = { relocateAnon: relocateAnonPlugin, largeFolio: largeFolioPlugin };
  const modules = new Map<string, string>([
    [relocateAnonPlugin.name, '@mmsim/relocate-anon'],
    [largeFolioPlugin.name, '@mmsim/large-folio'],
  ]);
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
export function runOptionsOf(sim: SimSetup): Pick<RunOptions, 'plugins' | 'kernelOptions' | 'implementations'> {
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
): Promise<RunResult> {
  return (await simulateRun(scenario, plugins, { onStep, onKernel, config, ...sched })).res;
}

export interface SimulateHooks {
  onStep?: (i: number, n: number) => void;
  /** with the engine before the first step, and the header its log will carry */
  onKernel?: (k: { eng: Engine }, header: LogHeader) => void;
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
export function concurrencyViolations(scenario: Scenario, res: RunResult): Violation[] {
  const out: Violation[] = [];
  const end = res.engine.log.length - 1;
  if (res.stopped) out.push({ checker: res.stopped.reason, seq: end, spanPath: [], message: res.stopped.message, objects: {} });
  for (const v of taskResultViolations(res.observation.steps, scenario)) out.push({ checker: v.checker, seq: end, spanPath: [], message: v.message, objects: {} });
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
): Promise<{ res: RunResult; violations: Violation[] }> {
  let handle: CheckerHandle | null = null;
  let eng: Engine | null = null;
  // the seq at which the step now running began: what a failing step leaves is not checked
  let stepStart = Infinity;
  const onStep = (i: number, n: number) => {
    stepStart = eng?.log.length ?? 0;
    hooks.onStep?.(i, n);
  };
  const opts: RunOptions = { ...runOptionsOf(plugins), onStep, interrupt: hooks.interrupt, config: hooks.config, schedule: hooks.schedule, seed: hooks.seed };
  opts.onKernel = (k) => {
    eng = k.eng;
    if (hooks.check) handle = attachCheckers(k.eng, { mode: 'report' });
    hooks.onKernel?.(k, withModules(logHeaderFor(scenario, opts), plugins));
  };
  let res: RunResult;
  try {
    res = await runScenarioAsync(scenario, opts);
    res = { ...res, header: withModules(res.header, plugins) };
  } catch (e) {
    if (e instanceof ScheduleError) throw new CliError(`scenario ${scenario.name}: ${scheduleMessage(e.message, hooks.schedule)}`, EXIT.BAD_INPUT);
    const h = handle as CheckerHandle | null;
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
  const h = handle as CheckerHandle | null;
  return { res, violations: h ? [...h.violations(), ...concurrencyViolations(scenario, res)] : [] };
}

/** A plugin's failure names the plugin and the point (EXIT.PLUGIN); a signal or I/O error stays itself; anything else is a model bug (exit 70). */
export function simulatorFailure(scenario: Scenario, e: unknown): CliError {
  if (isInstance(e, CliError)) return e;
  // a signal or a write error stays itself even when it surfaced inside a plugin's call
  const own = interruption(e);
  if (own) return own;
  if (!isInstance(e, Error)) return new CliError(`the simulator failed on scenario ${scenario.name}: it threw ${describeThrown(e)}`, EXIT.INTERNAL);
  if (e instanceof ProfileError) return new CliError(`scenario ${scenario.name}: ${e.message}`, EXIT.BAD_INPUT);
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
 * A ScheduleError's message as the option it came from: the model says `schedule "S": ...`
 * or `schedule: ...`; the user typed `--schedule S`.
 */
export function scheduleMessage(message: string, schedule: string | undefined): string {
  const what = message.replace(/^schedule(?: "(?:[^"\\]|\\.)*")?: /, '');
  return schedule === undefined ? message : `--schedule ${JSON.stringify(schedule)}: ${what}`;
}
