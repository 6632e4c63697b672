/**
 * Running scenarios on the simulator with the plugins the options ask for, and
 * checking a finished log with the invariant checkers.
 */
import { Engine, E, PluginConflictError, PluginError, type EventLog, type LogHeader, newRawEvent } from '@mmsim/core';
import type { Scenario } from '@mmsim/scenario';
import type { Command } from 'commander';
import { CliError, EXIT, type CliContext } from './context.js';
import {
  RELOCATE_VARIANTS,
  largeFolioPlugin,
  loadInvariants,
  loadLinux,
  loadPluginModule,
  relocateAnonPlugin,
  type LinuxRunOptions,
  type LinuxRunResult,
  type PluginSpec,
  type RelocateVariant,
  type Violation,
} from './integrations.js';

export interface SimOptions {
  plugin?: string[];
  relocateVariant?: RelocateVariant;
  largeFolio?: 'on' | 'off';
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Add --plugin, --relocate-variant and --large-folio to a command. */
export function addSimOptions(cmd: Command): Command {
  return cmd
    .option('--plugin <module>', 'load a plugin: a path (relative to cwd) or package whose default export (or export "plugin") is an mmsim Plugin; repeatable', collect)
    .option('--relocate-variant <variant>', `enable MREMAP_RELOCATE_ANON via @mmsim/relocate-anon (${RELOCATE_VARIANTS.join(' | ')})`)
    .option('--large-folio <on|off>', 'large folios via @mmsim/large-folio (default: on when the package is installed)');
}

/** Validate the option values and load every plugin (once per command). */
export async function resolvePlugins(ctx: CliContext, o: SimOptions): Promise<PluginSpec[]> {
  if (o.relocateVariant !== undefined && !(RELOCATE_VARIANTS as readonly string[]).includes(o.relocateVariant)) {
    throw new CliError(`--relocate-variant must be one of ${RELOCATE_VARIANTS.join(', ')}, got "${o.relocateVariant}"`, EXIT.BAD_INPUT);
  }
  if (o.largeFolio !== undefined && o.largeFolio !== 'on' && o.largeFolio !== 'off') {
    throw new CliError(`--large-folio must be "on" or "off", got "${String(o.largeFolio)}"`, EXIT.BAD_INPUT);
  }
  const plugins: PluginSpec[] = [];
  const lf = await largeFolioPlugin(o.largeFolio);
  if (lf) plugins.push(lf);
  if (o.relocateVariant) plugins.push(await relocateAnonPlugin(o.relocateVariant));
  for (const m of o.plugin ?? []) plugins.push(await loadPluginModule(m, ctx.cwd));
  return plugins;
}

/** Names (and options) of what ran, for headers and messages. */
export function pluginNames(plugins: readonly PluginSpec[]): string[] {
  return plugins.map((p) => (Array.isArray(p) ? `${p[0].name}${p[1] !== undefined ? ' ' + JSON.stringify(p[1]) : ''}` : p.name));
}

/** Run one scenario on the simulator. */
export async function simulate(
  scenario: Scenario,
  plugins: PluginSpec[],
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
  plugins: PluginSpec[],
  hooks: SimulateHooks = {},
): Promise<{ res: LinuxRunResult; violations: Violation[] }> {
  const linux = await loadLinux();
  const inv = hooks.check ? await loadInvariants() : null;
  let handle: { violations(): Violation[] } | null = null;
  const opts: LinuxRunOptions = { plugins, onStep: hooks.onStep, interrupt: hooks.interrupt, config: hooks.config, schedule: hooks.schedule, seed: hooks.seed };
  opts.onKernel = (k) => {
    if (inv) handle = inv.attachCheckers(k.eng, { mode: 'report' });
    hooks.onKernel?.(k, linux.logHeaderFor ? linux.logHeaderFor(scenario, opts) : null);
  };
  let res: LinuxRunResult;
  try {
    res = linux.runScenarioAsync ? await linux.runScenarioAsync(scenario, opts) : await linux.runScenario(scenario, opts);
  } catch (e) {
    if (e instanceof Error && e.name === 'ScheduleError') throw new CliError(`scenario ${scenario.name}: ${e.message}`, EXIT.BAD_INPUT);
    const h = handle as { violations(): Violation[] } | null;
    let found: Violation[] = [];
    try {
      found = h ? h.violations() : [];
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
function simulatorFailure(scenario: Scenario, e: unknown): CliError {
  if (e instanceof CliError) return e;
  for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    if (c instanceof CliError) return c;
    if (c instanceof PluginError || c instanceof PluginConflictError) {
      const outer = (e as Error).message;
      return new CliError(`scenario ${scenario.name}: ${outer.includes(c.message) ? outer : `${outer} (${c.message})`}`, c instanceof PluginError ? EXIT.PLUGIN : EXIT.BAD_INPUT);
    }
  }
  const err = e as Error;
  return new CliError(`the simulator failed on scenario ${scenario.name}: ${err?.message ?? String(e)}${err?.stack ? `\n${err.stack.split('\n').slice(1, 6).join('\n')}` : ''}`, EXIT.INTERNAL);
}

/**
 * Run a scenario with the invariant checkers attached to the engine as it runs
 * (through RunOptions.onKernel); if the model never called onKernel, the finished log
 * is replayed through the checkers instead.
 */
export async function simulateChecked(
  scenario: Scenario,
  plugins: PluginSpec[],
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
  const cur = log.cursor(0);
  const r = newRawEvent();
  while (cur.next(r)) {
    if (r.type === E.TaskSwitch) eng.setTask(r.a);
    eng.emit(r.type, r.a, r.b, r.c, r.d, r.e, r.f, r.s);
    if (r.type === E.SpanClose && !(eng.s.spans[eng.currentTask]?.length)) eng.commit();
  }
  eng.close();
  return checkers.violations();
}

export function formatViolation(v: Violation): string {
  const path = Array.isArray(v.spanPath) ? v.spanPath.join(' > ') : String(v.spanPath ?? '');
  const objs = v.objects === undefined ? '' : ` ${JSON.stringify(v.objects)}`;
  return `  [${v.checker}] seq ${v.seq}${path ? ` in ${path}` : ''}: ${v.message}${objs}`;
}
