/**
 * Running scenarios on the simulator with the plugins the options ask for, and
 * checking a finished log with the invariant checkers.
 */
import { Engine, E, PluginConflictError, PluginError, type EventLog, type LogHeader, newRawEvent } from '@mmsim/core';
import type { KernelBlock, Scenario } from '@mmsim/scenario';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT, type CliContext } from './context.js';
import {
  loadImplementations,
  loadInvariants,
  loadLinux,
  loadPluginModule,
  type Implementations,
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
    const p = await loadPluginModule(m, ctx.cwd);
    plugins.push(p);
    modules.set(p.name, /^[./]/.test(m) || /\.(m?[jt]s|cjs|cts|mts)$/.test(m) ? resolve(ctx.cwd, m) : m);
  }
  return { kernelOptions, implementations, plugins, modules };
}

/** The header with the module every plugin came from (what `readLog` checks is installed). */
function withModules(header: LogHeader, sim: SimSetup): LogHeader {
  const plugins = header.config.plugins;
  if (!Array.isArray(plugins)) return header;
  const recs = plugins.map((p: { name?: string }) => {
    const m = typeof p?.name === 'string' ? sim.modules.get(p.name) : undefined;
    return m ? { ...p, module: m } : p;
  });
  return { ...header, config: { ...header.config, plugins: recs } };
}

/** Run one scenario on the simulator, under the default profile, the scenario's kernel block and the options. */
export async function simulate(
  scenario: Scenario,
  sim: SimSetup,
  onStep?: (i: number, n: number) => void,
  onKernel?: (k: { eng: Engine }) => void,
  config?: Record<string, unknown>,
): Promise<LinuxRunResult> {
  const linux = await loadLinux();
  try {
    const res = await linux.runScenario(scenario, {
      kernelOptions: sim.kernelOptions,
      implementations: sim.implementations,
      plugins: sim.plugins,
      onStep,
      onKernel,
      config,
    });
    return { ...res, header: withModules(res.header, sim) };
  } catch (e) {
    throw simulatorFailure(scenario, e);
  }
}

/** A plugin's failure is the user's input (exit 2, plugin named); anything else a model bug (exit 70). */
function simulatorFailure(scenario: Scenario, e: unknown): Error {
  if (e instanceof CliError) return e;
  if ((e as Error)?.name === 'ProfileError') return new CliError(`scenario ${scenario.name}: ${(e as Error).message}`, EXIT.BAD_INPUT);
  for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    if (c instanceof PluginError || c instanceof PluginConflictError) {
      return new CliError(`scenario ${scenario.name}: ${(e as Error).message === c.message ? c.message : `${(e as Error).message} (${c.message})`}`, EXIT.BAD_INPUT);
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
  plugins: SimSetup,
  onStep?: (i: number, n: number) => void,
  config?: Record<string, unknown>,
): Promise<{ res: LinuxRunResult; violations: Violation[] }> {
  const inv = await loadInvariants();
  let handle: { violations(): Violation[] } | null = null;
  const res = await simulate(
    scenario,
    plugins,
    onStep,
    (k) => {
      handle = inv.attachCheckers(k.eng, { mode: 'report' });
    },
    config,
  );
  const h = handle as { violations(): Violation[] } | null;
  return { res, violations: h ? h.violations() : await checkLog(res.engine.log) };
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
