/**
 * How to run an exploration's schedule again: the scenario's real path and every
 * option that shaped the run (the kernel profile, the plugins, the kernel
 * configuration), as `mmsim run` takes them. `explore` records it in its result, so
 * `mmsim merge` prints the same command wherever it runs.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KernelConfigOptions } from './host.js';
import type { SimOptions } from './sim.js';

export interface Reproduction {
  /** the scenario file, absolute */
  file: string;
  /** `mmsim run` options, in order, each option followed by its value */
  options: string[];
}

/** The reproduction of an exploration of `file` (relative to cwd) run with options `o`. */
export function reproductionOf(cwd: string, file: string, o: SimOptions & KernelConfigOptions): Reproduction {
  const abs = resolve(cwd, file);
  let real = abs;
  try {
    real = realpathSync(abs);
  } catch {
    // read already: a file gone since keeps the path it was read from
  }
  const options: string[] = [];
  const add = (flag: string, v: string | undefined) => {
    if (v !== undefined) options.push(flag, v);
  };
  add('--relocate-variant', o.relocateVariant);
  add('--large-folio', o.largeFolio);
  add('--thp', o.thp);
  add('--mthp', o.mthp);
  add('--kernel-config', o.kernelConfig);
  // a plugin path is resolved as the CLI resolves it; a package name stays as it is
  for (const p of o.plugin ?? []) add('--plugin', /^[./]/.test(p) ? resolve(cwd, p) : p);
  return { file: real, options };
}

/** One shell word (single-quoted when it needs to be). */
function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** The `mmsim run` command line that shows `schedule` (quoted even when empty, as explore always printed it). */
export function runCommand(r: Reproduction, schedule: string): string {
  return `${['mmsim', 'run', r.file, ...r.options].map(shellWord).join(' ')} --schedule '${schedule}' --check`;
}
