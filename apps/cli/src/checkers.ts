/**
 * The checkers a schedule runs under: every built-in of @mmsim/invariants, plus the
 * extra ones given (third-party checker plugins join here), reported as
 * {checker, message}. `only` keeps the named checkers (the explorer's --checkers).
 */
import type { Command } from 'commander';
import type { Engine } from '@mmsim/core';
import { CliError, EXIT } from './context.js';
import type { InvariantsModule } from './integrations.js';

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

export function attachScheduleCheckers(inv: InvariantsModule, eng: Engine, extra: readonly CheckerFactory[] = []): AttachedCheckers {
  const builtIn = inv.attachCheckers(eng, { mode: 'report' }) as { violations(): { checker: string; message: string }[]; clear?(): void; detach?(): void };
  if (typeof builtIn.clear !== 'function') throw new Error('this @mmsim/invariants cannot clear its violations between schedules (too old for mmsim explore)');
  const others = extra.map((f) => f(eng));
  return {
    violations: () => [...builtIn.violations().map((v) => ({ checker: v.checker, message: v.message })), ...others.flatMap((o) => o.violations())],
    clear() {
      builtIn.clear!();
      for (const o of others) o.clear();
    },
    detach() {
      builtIn.detach?.();
      for (const o of others) o.detach();
    },
  };
}

/** The built-in checker names of an @mmsim/invariants (older versions: the four it always had). */
export function builtInCheckers(inv: InvariantsModule): readonly string[] {
  const all = (inv as unknown as { ALL_CHECKERS?: readonly string[] }).ALL_CHECKERS;
  return Array.isArray(all) ? all : ['rmap', 'rmap-race', 'locking', 'structure', 'lifetime'];
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
export async function knownCheckers(inv: InvariantsModule, plugins: readonly unknown[]): Promise<string[]> {
  const api = inv as unknown as { checkersFromPlugins?(p: readonly unknown[]): { checker: { name: string } }[] };
  const extra = plugins.length && api.checkersFromPlugins ? api.checkersFromPlugins(plugins).map((x) => x.checker.name) : [];
  return [...new Set([...builtInCheckers(inv), 'rmap-walk', 'deadlock', 'error', ...extra])];
}
