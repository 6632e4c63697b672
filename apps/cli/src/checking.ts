/**
 * Invariant checking for `mmsim check`, `mmsim bisect` and `run --check`: the built-in
 * checkers and those plugins provide at @mmsim/invariants' CHECKER (`--plugin`), and
 * violations printed grouped by root cause (one line per group, with a count).
 */
import type { EventLog, LogHeader, Plugin } from '@mmsim/core';
import { checkLog, checkersFromPlugins, formatViolationGroup, groupViolations, type Violation } from '@mmsim/invariants';
import { addressesIn, type Arena } from './addr.js';
import { CliError, EXIT, type CliContext } from './context.js';
import { loadPluginModule, type PluginSpec } from './integrations.js';

/** Load `--plugin` modules for their checkers (any other extension points they provide are unused). */
export async function loadCheckerPlugins(ctx: CliContext, specs: readonly string[] = []): Promise<PluginSpec[]> {
  const out: PluginSpec[] = [];
  for (const s of specs) out.push(await loadPluginModule(s, ctx.cwd));
  return out;
}

const nameOf = (p: PluginSpec) => (Array.isArray(p) ? p[0].name : p.name);

/**
 * The plugins a log's run used, loaded again for their checkers: every plugin its header
 * names with the module it came from (a package, or a file's absolute path), with the
 * options it ran with; `given` (--plugin) wins over a plugin of the same name. The
 * model's own plugins, recorded without a module, have no checkers. One that cannot be
 * loaded is named and the check refused (exit 2): checking without it would pass a log
 * its run failed.
 */
export async function loadHeaderPlugins(ctx: CliContext, file: string, header: LogHeader, given: readonly PluginSpec[] = []): Promise<PluginSpec[]> {
  const recs = (header.config as { plugins?: unknown }).plugins;
  if (!Array.isArray(recs)) return [];
  const taken = new Set(given.map(nameOf));
  const out: PluginSpec[] = [];
  for (const raw of recs as unknown[]) {
    const r = raw as { name?: unknown; module?: unknown; options?: unknown } | null;
    if (typeof r?.name !== 'string' || typeof r.module !== 'string' || taken.has(r.name)) continue;
    let p: PluginSpec;
    try {
      p = await loadPluginModule(r.module, ctx.cwd);
    } catch (e) {
      const why = e instanceof CliError ? e.message.replace(/^--plugin \S+: /, '') : String(e);
      throw new CliError(`${file}: the log's run used plugin ${r.name} from ${r.module}, which cannot be loaded to run its checkers: ${why}`, EXIT.BAD_INPUT);
    }
    out.push(r.options === null || r.options === undefined ? p : [p as Plugin, r.options]);
  }
  return out;
}

/** Replay a log through the built-in checkers and those the plugins provide. */
export function checkLogWith(log: EventLog, plugins: PluginSpec[] = []): Violation[] {
  return checkLog(log, { mode: 'report', extra: plugins.length ? checkersFromPlugins(plugins) : [] });
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/**
 * `N invariant violations (K distinct):` and one line per group (@mmsim/invariants'
 * groupViolations: a root cause's repeats are one line with a count and the first seq).
 */
export function warnViolations(ctx: CliContext, what: string, vs: readonly Violation[], when = '', arena?: Arena): void {
  if (!vs.length) return;
  const groups = groupViolations(vs);
  ctx.warn(`${what}: ${plural(vs.length, 'invariant violation')}${when}${groups.length < vs.length ? ` (${groups.length} distinct)` : ''}:`);
  for (const g of groups) ctx.warn(addressesIn(`  ${formatViolationGroup(g)}`, arena));
}

/** One violation, as a group of one. */
export function formatOne(v: Violation, arena?: Arena): string {
  return addressesIn(`  ${formatViolationGroup({ checker: v.checker, first: v, count: 1, lastSeq: v.seq, pattern: v.message })}`, arena);
}
