/**
 * `--kernel-config host|stock`: which kernel configuration the simulator runs with.
 *
 * - `host` (the default): this machine's (hostKernelConfig from @mmsim/kernel-oracle:
 *   THP mode, use_zero_page, whether read faults map the zero page, max_map_count), so
 *   that `mmsim run` gives what `mmsim oracle` gives on the same machine.
 * - `stock`: the model's documented Linux 6.18 defaults (THP madvise, zero page on),
 *   the same on every machine.
 */
import type { Command } from 'commander';
import { describeHostKernelConfig, hostKernelConfig, type HostKernelConfig } from '@mmsim/kernel-oracle';
import { CliError, EXIT } from './context.js';

export type KernelConfigChoice = 'host' | 'stock';

export interface KernelConfigOptions {
  kernelConfig?: string;
}

export function addKernelConfigOption(cmd: Command): Command {
  return cmd.option(
    '--kernel-config <host|stock>',
    "the simulated kernel's configuration: host = this machine's (THP mode, zero page on read faults: off where booted with pvm_no_zero_page=1), stock = Linux 6.18 defaults",
    'host',
  );
}

/** The KernelConfig overrides the option asks for. */
export function kernelConfigFor(o: KernelConfigOptions): Record<string, unknown> & HostKernelConfig {
  const c = o.kernelConfig ?? 'host';
  if (c !== 'host' && c !== 'stock') throw new CliError(`--kernel-config must be "host" or "stock", got "${c}"`, EXIT.BAD_INPUT);
  return c === 'host' ? { ...hostKernelConfig() } : {};
}

/** One line for the human output: what the simulated kernel was configured as. */
export function describeKernelConfig(o: KernelConfigOptions): string {
  return (o.kernelConfig ?? 'host') === 'host' ? `kernel config: this machine's (${describeHostKernelConfig()})` : 'kernel config: stock Linux 6.18';
}
