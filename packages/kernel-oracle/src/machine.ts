/**
 * What of a kernel profile this machine's kernel has: the THP mode and the mTHP orders
 * from sysfs, and no MREMAP_RELOCATE_ANON (no released kernel has it). A scenario run
 * under a profile this kernel lacks is not comparable with the kernel's observation.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const THP_DIR = '/sys/kernel/mm/transparent_hugepage';

/** The bracketed choice of a sysfs selector such as "always [madvise] never". */
function selected(file: string): string | null {
  try {
    return /\[(\w+)\]/.exec(readFileSync(file, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

export interface MachineKernel {
  /** transparent_hugepage/enabled (null when unreadable) */
  thp: string | null;
  /** orders below the PMD order whose hugepages-<size>kB/enabled is "always" or "inherit" */
  mthp: number[];
  /** MREMAP_RELOCATE_ANON is not in any released kernel */
  relocateAnon: false;
}

/** Read the machine's THP settings (cheap: a few sysfs files). */
export function machineKernel(dir = THP_DIR): MachineKernel {
  const mthp: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    /* no THP support */
  }
  for (const e of entries) {
    const m = /^hugepages-(\d+)kB$/.exec(e);
    if (!m) continue;
    const order = Math.log2(Number(m[1]) / 4);
    if (!Number.isInteger(order) || order < 1 || order > 8) continue;
    const sel = selected(join(dir, e, 'enabled'));
    if (sel === 'always' || sel === 'inherit') mthp.push(order);
  }
  return { thp: selected(join(dir, 'enabled')), mthp: mthp.sort((a, b) => a - b), relocateAnon: false };
}

/** The settings of a profile that decide comparability (a KernelProfile's fields). */
export interface ProfileSettings {
  relocateAnon: string;
  mthp: readonly number[];
  thp: string;
}

/**
 * Why a scenario under `profile` cannot be compared with this machine's kernel, or null
 * when it can. RELOCATE flags only matter when the profile has them (under "none" both
 * answer EINVAL); THP and mTHP settings must match what the kernel runs.
 */
export function notComparableReason(usesRelocateFlags: boolean, profile: ProfileSettings, machine: MachineKernel = machineKernel()): string | null {
  if (usesRelocateFlags && profile.relocateAnon !== 'none') return "this machine's kernel lacks MREMAP_RELOCATE_ANON";
  if (machine.thp !== null && profile.thp !== machine.thp) return `this machine's kernel runs THP "${machine.thp}", the profile "${profile.thp}"`;
  if (profile.mthp.join(',') !== machine.mthp.join(','))
    return `this machine's kernel enables mTHP orders [${machine.mthp.join(',')}], the profile [${profile.mthp.join(',')}]`;
  return null;
}
