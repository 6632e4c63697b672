import type { Command } from 'commander';
import { checkExpectations, stableStringify } from '@mmsim/scenario';
import { OracleUnavailableError, kernelVersion, machineKernel, notComparableReason, runOnKernel } from '@mmsim/kernel-oracle';
import { DEFAULT_KERNEL_SETTINGS, releaseNotComparable, usesRelocateFlags } from '../profile.js';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { readScenario } from '../files.js';
import { progress } from '../progress.js';
import { formatObservation } from '../render.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('oracle')
    .description('Run scenarios on the running Linux kernel (needs root for frame numbers) and print the observations')
    .argument('<file...>', 'scenario files (simulator-only ops are refused)')
    .option('--json', 'one mmsim-observation/1 per line');
  examples(cmd, ['sudo mmsim oracle scenarios/golden/merge/mremap_unfaulted_to_faulted.json', 'sudo mmsim oracle scenarios/golden/merge/*.json --json > kernel.ndjson']);
  cmd.action(async (files: string[], o: { json?: boolean }) => {
    const scenarios = files.map((f) => ({ file: f, scenario: readScenario(ctx, f) }));
    if (!o.json) ctx.warn(`kernel: Linux ${kernelVersion()}`);
    const bar = progress(ctx, 'oracle', scenarios.length, 2);
    const machine = machineKernel();
    let k = 0;
    for (const { file, scenario } of scenarios) {
      let obs;
      try {
        obs = await runOnKernel(scenario);
      } catch (e) {
        if (e instanceof OracleUnavailableError) throw new CliError(`${file}: cannot run on the kernel (${e.reason}): ${e.message}`, EXIT.BAD_INPUT);
        throw new CliError(`${file}: the kernel oracle failed: ${(e as Error).message}`, EXIT.BAD_INPUT);
      }
      bar.update(++k);
      // the scenario's profile (the default one under its kernel block): its expectations
      // say what that kernel does, which this one may not be
      const why =
        notComparableReason(usesRelocateFlags(scenario), { ...DEFAULT_KERNEL_SETTINGS, ...scenario.kernel }, machine) ??
        releaseNotComparable(scenario.kernel?.release, kernelVersion(), scenario.kernel?.revert);
      if (o.json) {
        ctx.print(stableStringify(obs));
        if (why) ctx.warn(`${file}: not comparable: ${why} (expectations not checked)`);
      } else {
        if (k > 1) ctx.print();
        ctx.print(`${file}:`);
        if (why) ctx.print(`  not comparable: ${why}; the expectations are not checked`);
        const failures = why ? [] : checkExpectations(scenario, obs);
        for (const line of formatObservation(obs, { scenario, failures, width: Math.min(100, ctx.columns) - 12 })) ctx.print(line);
      }
    }
    bar.done();
  });
}
