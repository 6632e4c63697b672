/**
 * Every optional or late-bound package the CLI uses is loaded here, dynamically, so a
 * missing one gives one clear message instead of a crash at start-up:
 *
 *  - `@mmsim/runner`         the scenario runner on the kernel model (runScenario, observationFromLog)
 *  - `@mmsim/relocate-anon`  MREMAP_RELOCATE_ANON plugin   (the default profile; --relocate-variant)
 *  - `@mmsim/large-folio`    large-folio plugin            (the default profile; --large-folio)
 *  - `@mmsim/invariants`     invariant checkers            (--check)
 *  - `--plugin MODULE`       any module exporting a core Plugin
 *
 * The types below mirror those packages' public APIs structurally, so this file
 * type-checks whether or not they are installed.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MMSIM_VERSION, definePlugin, type Engine, type EngineOptions, type EventLog, type LogHeader, type Plugin } from '@mmsim/core';
import type { KernelBlock, Observation, Scenario } from '@mmsim/scenario';
import { CliError, EXIT } from './context.js';
import { registerPluginHooks } from './plugin-loader.js';

/* ------------------------------------------------------------------ types */

export type PluginSpec = Plugin | [Plugin, unknown];

/** A profile, as @mmsim/runner's KernelProfile. */
export interface ProfileLike {
  relocateAnon: string;
  largeFolio: boolean;
  mthp: number[];
  thp: string;
}

export interface EffectiveProfileLike {
  profile: ProfileLike;
  from: Record<keyof ProfileLike, 'default' | 'scenario' | 'option'>;
  overridden: { field: keyof ProfileLike; scenario: unknown; option: unknown }[];
}

/** The implementations a profile chooses from (@mmsim/runner's ProfileImplementations). */
export interface Implementations {
  relocateAnon?: Plugin<{ variant: string }>;
  largeFolio?: Plugin;
}

export interface LinuxRunOptions {
  plugins?: PluginSpec[];
  /** run under the default profile with these settings over the scenario's kernel block */
  kernelOptions?: KernelBlock;
  implementations?: Implementations;
  config?: Record<string, unknown>;
  engine?: EngineOptions;
  onStep?: (i: number, n: number) => void;
  /** runs with the kernel before the first step (attach checkers) */
  onKernel?: (k: { eng: Engine }) => void;
  /** asked between steps: a value other than undefined stops the run and is thrown */
  interrupt?: () => unknown;
  /** concurrent steps: this schedule ("d:t,..."), else one drawn from `seed` */
  schedule?: string;
  seed?: number;
}

export interface LinuxRunResult {
  observation: Observation;
  engine: Engine;
  header: LogHeader;
  /** a concurrent step deadlocked or failed (newer versions) */
  stopped?: { step: number; reason: string; message: string } | null;
  /** the schedule concurrent steps ran under (newer versions) */
  schedule?: string;
  /** the profile the run had (older models: undefined) */
  profile?: EffectiveProfileLike | null;
}

export interface LinuxModel {
  runScenario(s: Scenario, opts?: LinuxRunOptions): LinuxRunResult | Promise<LinuxRunResult>;
  /** the same run, giving the event loop a turn between steps (signals, interrupt) */
  runScenarioAsync?(s: Scenario, opts?: LinuxRunOptions): Promise<LinuxRunResult>;
  /** the header runScenario's result will carry (to stream the log from the start) */
  logHeaderFor?(s: Scenario, opts?: LinuxRunOptions): LogHeader;
  /** the header tells the arena (config.arenaPages, arenaBase) and the scenario name */
  observationFromLog(log: EventLog, header?: LogHeader): Observation;
}

export interface Violation {
  checker: string;
  seq: number;
  spanPath: string | readonly string[];
  message: string;
  objects?: unknown;
}

export interface InvariantsModule {
  attachCheckers(engine: Engine, opts: { mode: 'report' | 'strict' }): { violations(): Violation[] };
  /** replays a finished log through the checkers (newer versions) */
  checkLog?(log: EventLog, opts?: { mode?: 'report' | 'strict' }): Violation[];
}

/* ---------------------------------------------------------------- loading */

const NOT_FOUND = /ERR_MODULE_NOT_FOUND|Cannot find (module|package)|Failed to (load|resolve)|Does the file exist|not exported/i;

function isNotFound(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  return err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND' || NOT_FOUND.test(String(err?.message ?? ''));
}

/** Hooks for tests: substitute a module for a package name. */
const overrides = new Map<string, Record<string, unknown> | null>();

/** @internal for tests: make `spec` resolve to `mod` (null: pretend it is not installed). */
export function overrideModule(spec: string, mod: Record<string, unknown> | null | undefined): void {
  if (mod === undefined) overrides.delete(spec);
  else overrides.set(spec, mod);
}

/** Import a package; `null` when it is not installed (other errors propagate). */
export async function importOptional(spec: string): Promise<{ mod: Record<string, unknown> } | { missing: string }> {
  if (overrides.has(spec)) {
    const m = overrides.get(spec);
    return m ? { mod: m } : { missing: `${spec} is not installed` };
  }
  try {
    return { mod: (await import(/* @vite-ignore */ spec)) as Record<string, unknown> };
  } catch (e) {
    if (isNotFound(e)) return { missing: (e as Error).message.split('\n')[0] };
    throw e;
  }
}

const cache = new Map<string, Promise<{ mod: Record<string, unknown> } | { missing: string }>>();
function load(spec: string) {
  if (overrides.has(spec)) return importOptional(spec);
  let p = cache.get(spec);
  if (!p) cache.set(spec, (p = importOptional(spec)));
  return p;
}

/** Is the package installed (and loadable)? */
export async function isAvailable(spec: string): Promise<boolean> {
  return 'mod' in (await load(spec));
}

async function required(spec: string, purpose: string): Promise<Record<string, unknown>> {
  const r = await load(spec);
  if ('missing' in r) {
    throw new CliError(`${purpose} needs the package ${spec}, which is not available (${r.missing}); ${installAdvice(spec)}`, EXIT.BAD_INPUT);
  }
  return r.mod;
}

/**
 * How to get a missing @mmsim package: the packages are not on the npm registry yet, so
 * `npm install NAME` would fail; a tarball packed in the monorepo works, as does `npm ci`
 * in the monorepo itself (every workspace package is linked).
 */
export function installAdvice(spec: string): string {
  const tgz = `/tmp/mmsim-tgz/${spec.replace(/^@/, '').replace('/', '-')}-${MMSIM_VERSION}.tgz`;
  return (
    `in the mmsim monorepo, run \`npm ci\` at its root (it links every workspace package); ` +
    `elsewhere, pack it in the monorepo: \`mkdir -p /tmp/mmsim-tgz && npm pack -w ${spec} --pack-destination /tmp/mmsim-tgz\`, ` +
    `then here: \`npm install ${tgz}\``
  );
}

/** The kernel model. */
export async function loadLinux(): Promise<LinuxModel> {
  const mod = await required('@mmsim/runner', 'running scenarios on the simulator');
  if (typeof mod.runScenario !== 'function' || typeof mod.observationFromLog !== 'function') {
    throw new CliError('@mmsim/runner does not export runScenario and observationFromLog (is it too old?)', EXIT.BAD_INPUT);
  }
  return mod as unknown as LinuxModel;
}

function pluginFrom(mod: Record<string, unknown>, what: string): Plugin {
  const cand = (mod.default ?? mod.plugin) as unknown;
  if (cand === undefined) throw new CliError(`${what}: the module has neither a default export nor an export named "plugin"`, EXIT.BAD_INPUT);
  if (typeof cand === 'function') {
    const which = mod.default !== undefined ? 'default export' : 'export "plugin"';
    throw new CliError(
      `${what}: the ${which} is a function${cand.name ? ` (${cand.name})` : ''}, not an mmsim plugin; is it a factory? call it: \`export default ${cand.name || 'factory'}()\`, or export the plugin as "plugin"`,
      EXIT.BAD_INPUT,
    );
  }
  try {
    return definePlugin(cand as Plugin);
  } catch (e) {
    throw new CliError(`${what}: the exported value is not an mmsim plugin: ${(e as Error).message}`, EXIT.BAD_INPUT);
  }
}

/** The default export (or export `plugin`) of an installed package, or undefined when it is not installed. */
async function optionalPlugin(spec: string): Promise<Plugin | undefined> {
  const r = await load(spec);
  return 'mod' in r ? pluginFrom(r.mod, spec) : undefined;
}

/** The profile's implementations that are installed: @mmsim/relocate-anon and @mmsim/large-folio. */
export async function loadImplementations(): Promise<Implementations> {
  const [relocateAnon, largeFolio] = await Promise.all([optionalPlugin('@mmsim/relocate-anon'), optionalPlugin('@mmsim/large-folio')]);
  return { relocateAnon: relocateAnon as Plugin<{ variant: string }> | undefined, largeFolio };
}

/**
 * Is a package (or a module file) there to be loaded, without loading it? Resolved from
 * `cwd`, then from mmsim's own install; test overrides count (null: not installed).
 */
export function moduleInstalled(spec: string, cwd: string): boolean {
  if (overrides.has(spec)) return overrides.get(spec) !== null;
  if (looksLikePath(spec)) return existsSync(resolve(cwd, spec));
  for (const from of [join(cwd, 'noop.js'), import.meta.url]) {
    try {
      createRequire(from).resolve(spec);
      return true;
    } catch (e) {
      // an ESM-only package without a "require" condition still resolves its package.json
      try {
        createRequire(from).resolve(`${spec}/package.json`);
        return true;
      } catch {
        void e;
      }
    }
  }
  return false;
}

export async function loadInvariants(): Promise<InvariantsModule> {
  const mod = await required('@mmsim/invariants', '--check');
  if (typeof mod.attachCheckers !== 'function') throw new CliError('@mmsim/invariants does not export attachCheckers', EXIT.BAD_INPUT);
  return mod as unknown as InvariantsModule;
}

const looksLikePath = (m: string) => m.startsWith('.') || isAbsolute(m) || /\.(m?[jt]s|cjs|cts|mts)$/.test(m);

/**
 * `--plugin MODULE`: a path (relative to cwd) or a package name (resolved from cwd
 * first, then from mmsim's own install). Its default export, or export `plugin`.
 */
export async function loadPluginModule(spec: string, cwd: string): Promise<Plugin> {
  const what = `--plugin ${spec}`;
  let target: string;
  if (looksLikePath(spec)) {
    target = pathToFileURL(resolve(cwd, spec)).href;
    registerPluginHooks();
  } else {
    try {
      target = pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(spec)).href;
    } catch {
      target = spec;
    }
  }
  let mod: Record<string, unknown>;
  if (overrides.has(spec)) {
    const m = overrides.get(spec);
    if (!m) throw new CliError(`${what}: cannot load the module: not installed`, EXIT.BAD_INPUT);
    mod = m;
  } else {
    try {
      mod = (await import(/* @vite-ignore */ target)) as Record<string, unknown>;
    } catch (e) {
      // the whole message: a compile error spans lines (file:line:column, the line, a caret)
      const msg = (e as Error)?.message ?? String(e);
      throw new CliError(`${what}: cannot load the module: ${msg.replace(/\s+$/, '')}`, EXIT.BAD_INPUT);
    }
  }
  return pluginFrom(mod, what);
}
