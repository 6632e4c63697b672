/**
 * The running kernel's mm configuration, as the simulator's KernelConfig: what a
 * simulated run must be told so that its observations can equal this machine's.
 *
 *   /proc/cmdline                                      pvm_no_zero_page=1 → faultZeroPage: false
 *   /sys/kernel/mm/transparent_hugepage/enabled        thp
 *   /sys/kernel/mm/transparent_hugepage/use_zero_page  useZeroPage
 *   /proc/sys/vm/max_map_count                         maxMapCount
 *   /proc/sys/vm/overcommit_memory                     overcommit
 *
 * `pvm_no_zero_page=1` is a vendor boot parameter of these machines' 6.18 kernel (not in
 * mainline): read faults on private anonymous memory allocate a folio instead of mapping
 * the shared zero page (4 KiB and PMD level), which also gives the VMA its anon_vma and
 * so changes what merges. Measured, not read: a read fault gives an exclusive anon page,
 * a read fault in a MADV_HUGEPAGE range a THP, and a split THP still maps its zero-filled
 * subpages to the zero page (packages/kernel-oracle/src/host.test.ts).
 *
 * Anything that cannot be read is left out, so the model's defaults (stock 6.18: zero
 * page on, THP madvise) apply.
 */
import { readFileSync } from 'node:fs';

export interface HostKernelConfig {
  thp?: 'always' | 'madvise' | 'never';
  useZeroPage?: boolean;
  faultZeroPage?: boolean;
  maxMapCount?: number;
  overcommit?: 0 | 1 | 2;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The bracketed choice of a sysfs "a [b] c" file. */
function choice(text: string | undefined): string | undefined {
  return text ? /\[(\w+)\]/.exec(text)?.[1] : undefined;
}

/** Parse the files above (exported for tests: the readers are given, not the machine). */
export function parseHostKernelConfig(files: {
  cmdline?: string;
  thpEnabled?: string;
  useZeroPage?: string;
  maxMapCount?: string;
  overcommit?: string;
}): HostKernelConfig {
  const c: HostKernelConfig = {};
  if (files.cmdline !== undefined) c.faultZeroPage = !/(^|\s)pvm_no_zero_page=(1|y|Y|on)(\s|$)/.test(files.cmdline);
  const thp = choice(files.thpEnabled);
  if (thp === 'always' || thp === 'madvise' || thp === 'never') c.thp = thp;
  if (files.useZeroPage === '0' || files.useZeroPage === '1') c.useZeroPage = files.useZeroPage === '1';
  if (files.maxMapCount && /^\d+$/.test(files.maxMapCount)) c.maxMapCount = Number(files.maxMapCount);
  if (files.overcommit === '0' || files.overcommit === '1' || files.overcommit === '2') c.overcommit = Number(files.overcommit) as 0 | 1 | 2;
  return c;
}

let cached: HostKernelConfig | undefined;

/** This machine's kernel configuration (empty off Linux). Read once per process. */
export function hostKernelConfig(): HostKernelConfig {
  if (cached) return cached;
  if (process.platform !== 'linux') return (cached = {});
  cached = parseHostKernelConfig({
    cmdline: read('/proc/cmdline'),
    thpEnabled: read('/sys/kernel/mm/transparent_hugepage/enabled'),
    useZeroPage: read('/sys/kernel/mm/transparent_hugepage/use_zero_page'),
    maxMapCount: read('/proc/sys/vm/max_map_count'),
    overcommit: read('/proc/sys/vm/overcommit_memory'),
  });
  return cached;
}

/** One line for humans: what differs from stock 6.18 defaults. */
export function describeHostKernelConfig(c: HostKernelConfig = hostKernelConfig()): string {
  const parts = [`thp ${c.thp ?? '?'}`, `zero page on read faults ${c.faultZeroPage === false ? 'off (pvm_no_zero_page=1)' : 'on'}`];
  if (c.useZeroPage === false) parts.push('huge zero page off');
  return parts.join(', ');
}
