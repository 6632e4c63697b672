/**
 * The checkers a schedule runs under: every built-in of @mmsim/invariants, plus the
 * extra ones given (third-party checker plugins join here), reported as
 * {checker, message}. `only` keeps the named checkers (the explorer's --checkers).
 */
import type { Command } from 'commander';
import type { Engine } from '@mmsim/core';
import { ALL_CHECKERS, attachCheckers, checkersFromPlugins } from '@mmsim/invariants';
import { CliError, EXIT } from './context.js';
import type { PluginSpec } from './integrations.js';

export interface Finding {
  checker: string;
  message: string;
}

export interface AttachedCheckers {
  violations(): Finding[];
  /** forget the violations so far (between the explorer's schedules) */
  clear(): void;
  detach(): void;
}

/** A checker attached to an engine for one run. */
export type CheckerFactory = (eng: Engine) => AttachedCheckers;

export function attachScheduleCheckers(eng: Engine, extra: readonly CheckerFactory[] = []): AttachedCheckers {
  const builtIn = attachCheckers(eng, { mode: 'report' });
  const others = extra.map((f) => f(eng));
  return {
    violations: () => [...builtIn.violations().map((v) => ({ checker: v.checker, message: v.message })), ...others.flatMap((o) => o.violations())],
    clear() {
      builtIn.clear();
      for (const o of others) o.clear();
    },
    detach() {
      builtIn.detach();
      for (const o of others) o.detach();
    },
  };
}

/**
 * A `--checkers` list (comma-separated) as a set of names, every one known; an unknown
 * one (a typo would check nothing and report "no violations") is bad input, exit 2.
 */
export function checkerList(text: string, known: readonly string[]): Set<string> {
  const names = text.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = names.filter((n) => !known.includes(n));
  if (!names.length || bad.length) {
    const what = bad.length ? `unknown checker${bad.length > 1 ? 's' : ''} ${bad.map((b) => `"${b}"`).join(', ')}` : 'no checker named';
    throw new CliError(`--checkers: ${what} (known: ${known.join(', ')})`, EXIT.BAD_INPUT);
  }
  return new Set(names);
}

const CHECKERS_HELP = 'report only these checkers (comma-separated: rmap, rmap-race, locking, structure, lifetime, rmap-walk, deadlock, error, or one a --plugin provides); default all';

/** The `--checkers <list>` option of run and check (explore has its own wording). */
export function addCheckersOption(cmd: Command): Command {
  return cmd.option('--checkers <list>', CHECKERS_HELP);
}

/**
 * The checker names `run --check` and `check` can report: the invariants' built-ins, the
 * concurrent step's own (rmap-walk, deadlock, error) and those the plugins provide.
 */
export function knownCheckers(plugins: readonly PluginSpec[]): string[] {
  const extra = plugins.length ? checkersFromPlugins(plugins).map((x) => x.checker.name) : [];
  return [...new Set([...ALL_CHECKERS, 'rmap-walk', 'deadlock', 'error', ...extra])];
}
