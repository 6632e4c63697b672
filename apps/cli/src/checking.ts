/**
 * Invariant checking for `mmsim check`, `mmsim bisect` and `run --check`: the built-in
 * checkers and those plugins provide at @mmsim/invariants' CHECKER (`--plugin`), and
 * violations printed grouped by root cause (one line per group, with a count).
 */
import type { EventLog } from '@mmsim/core';
import { addressesIn, type Arena } from './addr.js';
import type { CliContext } from './context.js';
import { loadInvariants, loadPluginModule, type PluginSpec, type Violation } from './integrations.js';
import { formatViolation } from './sim.js';

interface Group {
  first: Violation;
  count: number;
  lastSeq: number;
}

interface InvariantsApi {
  checkLog(log: EventLog, opts?: { mode?: 'report' | 'strict'; extra?: unknown[] }): Violation[];
  checkersFromPlugins?(plugins: PluginSpec[]): unknown[];
  /* older versions have neither: one line per violation */
  groupViolations?(vs: readonly Violation[]): Group[];
  formatViolationGroup?(g: Group): string;
}

/** Load `--plugin` modules for their checkers (any other extension points they provide are unused). */
export async function loadCheckerPlugins(ctx: CliContext, specs: readonly string[] = []): Promise<PluginSpec[]> {
  const out: PluginSpec[] = [];
  for (const s of specs) out.push(await loadPluginModule(s, ctx.cwd));
  return out;
}

/** Replay a log through the built-in checkers and those the plugins provide. */
export async function checkLogWith(log: EventLog, plugins: PluginSpec[] = []): Promise<Violation[]> {
  const inv = (await loadInvariants()) as unknown as InvariantsApi;
  const extra = plugins.length && inv.checkersFromPlugins ? inv.checkersFromPlugins(plugins) : [];
  return inv.checkLog(log, { mode: 'report', extra });
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/**
 * `N invariant violations (K distinct):` and one line per group (@mmsim/invariants'
 * groupViolations: a root cause's repeats are one line with a count and the first seq).
 */
export async function warnViolations(ctx: CliContext, what: string, vs: readonly Violation[], when = '', arena?: Arena): Promise<void> {
  if (!vs.length) return;
  const inv = (await loadInvariants()) as unknown as InvariantsApi;
  if (!inv.groupViolations || !inv.formatViolationGroup) {
    ctx.warn(`${what}: ${plural(vs.length, 'invariant violation')}${when}:`);
    for (const v of vs) ctx.warn(addressesIn(formatViolation(v), arena));
    return;
  }
  const groups = inv.groupViolations(vs);
  ctx.warn(`${what}: ${plural(vs.length, 'invariant violation')}${when}${groups.length < vs.length ? ` (${groups.length} distinct)` : ''}:`);
  for (const g of groups) ctx.warn(addressesIn(`  ${inv.formatViolationGroup(g)}`, arena));
}

/** One violation, as a group of one. */
export async function formatOne(v: Violation, arena?: Arena): Promise<string> {
  const inv = (await loadInvariants()) as unknown as InvariantsApi;
  return addressesIn(inv.formatViolationGroup ? `  ${inv.formatViolationGroup({ first: v, count: 1, lastSeq: v.seq })}` : formatViolation(v), arena);
}
