/**
 * The floors of the house, lowest first (docs/architecture.md draws them). A package
 * imports only packages on floors below its own, or on its own where the floor says
 * `sideways`; tests may import any package their project declares. The name of a floor is
 * its projects' Nx tag `scope:<name>`; the value beside each package its `type:<type>`.
 */
import type { Floor } from './rules.js';

export const FLOORS: readonly Floor[] = [
  { name: 'core', sideways: false, packages: { '@mmsim/core': 'engine' } },
  // the model and the scenario format know only core, and nothing of each other
  { name: 'model', sideways: false, packages: { '@mmsim/linux': 'model', '@mmsim/scenario': 'format' } },
  // what runs scenarios: on the model, or on the real kernel
  { name: 'runner', sideways: false, packages: { '@mmsim/runner': 'runner', '@mmsim/kernel-oracle': 'oracle' } },
  // plugins build on the model's points and on each other's contracts
  // (large-folio and auto-relocate on relocate-anon's)
  {
    name: 'plugin',
    sideways: true,
    packages: { '@mmsim/relocate-anon': 'plugin', '@mmsim/large-folio': 'plugin', '@mmsim/auto-relocate': 'plugin', '@mmsim/invariants': 'checker' },
  },
  // what a user runs; the CLI embeds the others (record, serve, fuzz, bench)
  {
    name: 'app',
    sideways: true,
    packages: { '@mmsim/record': 'app-lib', '@mmsim/fuzz': 'app-lib', '@mmsim/bench': 'app-lib', '@mmsim/debugger': 'app', '@mmsim/cli': 'app' },
  },
  // the workspace's own checks and generators
  { name: 'workspace', sideways: true, packages: { '@mmsim/pack-test': 'test', '@mmsim/graph': 'test', '@mmsim/tools': 'tool' } },
];

/**
 * Packages whose modules may import each other in a circle: the model's files are the
 * kernel's mm/*.c, which call each other (pgtable.c and huge_memory.c split and zap each
 * other's entries). Everywhere else a module cycle is a load-order trap and an error.
 */
export const MODULE_CYCLES_ALLOWED: ReadonlySet<string> = new Set(['@mmsim/linux']);
