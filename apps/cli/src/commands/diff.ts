import type { Command } from 'commander';
import { checkExpectations, diffObservations, formatDivergence, simulatorOnlyStep, type Observation } from '@mmsim/scenario';
import { OracleUnavailableError, describeHostKernelConfig, hostKernelConfig, kernelVersion, machineKernel, notComparableReason, runOnKernel } from '@mmsim/kernel-oracle';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { readScenario } from '../files.js';
import { progress } from '../progress.js';
import { formatProc } from '../render.js';
import { profileLines, releaseNotComparable, relocateHints, runRelease, runReverts, usesRelocateFlags } from '../profile.js';
import { addSimOptions, resolveSim, simulate, type SimOptions } from '../sim.js';

/** The VMA layouts of one snapshot (default: the last) on both sides, as bars. */
function bothLayouts(sim: Observation, kernel: Observation, label?: string): string[] {
  const pick = (o: Observation) => (label === undefined ? o.snapshots[o.snapshots.length - 1] : o.snapshots.find((x) => x.label === label));
  const out: string[] = [];
  for (const [side, o] of [['simulator', sim], [`kernel ${kernelVersion()}`, kernel]] as const) {
    const snap = pick(o);
    out.push(`${side}, snapshot ${JSON.stringify(snap?.label ?? label ?? 'final')}:`);
    if (!snap || !snap.procs.length) out.push('  (no live processes)');
    else for (const p of snap.procs) out.push(...formatProc(p, '  '));
  }
  return out;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('diff')
    .description(
      'Differential test: run each scenario on the simulator and on the running Linux kernel and print the first ' +
        'divergence (both VMA layouts side by side) and the expectations the simulator fails; scenarios with ' +
        'simulator-only ops are skipped, and those whose profile this kernel lacks (MREMAP_RELOCATE_ANON, another ' +
        'THP setting) are "not comparable"',
    )
    .argument('<file...>', 'scenario files');
  addSimOptions(cmd);
  examples(cmd, [
    'sudo mmsim diff scenarios/golden/merge/*.json',
    'sudo mmsim diff scenarios/golden/relocate-anon/*.json --relocate-variant none   # stock kernel vs stock kernel',
    'mmsim diff my.json --large-folio off',
  ]);
  cmd.action(async (files: string[], o: SimOptions) => {
    const scenarios = files.map((f) => ({ file: f, scenario: readScenario(ctx, f) }));
    const sim = await resolveSim(ctx, o);
    const machine = machineKernel();
    // the simulator is configured as this machine's kernel, or the two could not agree
    ctx.warn(`kernel: Linux ${kernelVersion()} (${describeHostKernelConfig()})`);
    const bar = progress(ctx, 'diff', scenarios.length, 2);
    let same = 0;
    let differ = 0;
    let skipped = 0;
    let notComparable = 0;
    let failedExpect = 0;
    let k = 0;
    for (const { file, scenario } of scenarios) {
      bar.update(k++);
      const only = simulatorOnlyStep(scenario);
      if (only) {
        ctx.print(`${file}: skipped (step ${only.step}: ${only.why}, which only the simulator runs)`);
        skipped++;
        continue;
      }
      const res = await simulate(scenario, sim, undefined, undefined, { ...hostKernelConfig() });
      // what run reports too: diff never passes a scenario whose expectations fail
      const failures = checkExpectations(scenario, res.observation);
      const expectLines = [
        ...failures.map((f) => `  expectation failed (simulator): ${f}`),
        ...(failures.length ? relocateHints(scenario, res.observation, res.profile).map((h) => `  ${h}`) : []),
      ];
      if (failures.length) failedExpect++;
      const why =
        (res.profile ? notComparableReason(usesRelocateFlags(scenario), res.profile.profile, machine) : null) ??
        releaseNotComparable(runRelease(res), kernelVersion(), runReverts(res));
      if (why) {
        ctx.print(`${file}: not comparable: ${why}`);
        for (const line of profileLines(res.profile, runRelease(res))) ctx.print(`  ${line}`);
        for (const line of expectLines) ctx.print(line);
        notComparable++;
        continue;
      }
      let kernel;
      try {
        kernel = await runOnKernel(scenario);
      } catch (e) {
        if (e instanceof OracleUnavailableError) {
          if (e.reason === 'simulator-only') {
            ctx.print(`${file}: skipped (${e.message})`);
            skipped++;
            continue;
          }
          throw new CliError(`cannot run scenarios on the kernel (${e.reason}): ${e.message}`, EXIT.BAD_INPUT);
        }
        throw new CliError(`${file}: the kernel oracle failed: ${(e as Error).message}`, EXIT.BAD_INPUT);
      }
      const d = diffObservations(res.observation, kernel);
      if (!d) {
        ctx.print(`${file}: same${failures.length ? `, but ${failures.length} expectation${failures.length > 1 ? 's' : ''} failed` : ''}`);
        same++;
      } else {
        differ++;
        ctx.print(`${file}: DIFFERS`);
        for (const line of formatDivergence(d, 'simulator', `kernel ${kernelVersion()}`).split('\n')) ctx.print(`  ${line}`);
        // the table above is only there for a snapshot divergence in one process: show
        // both layouts of the snapshot (the final one for a step divergence) as bars
        if (d.where === 'step' || d.proc === null) for (const line of bothLayouts(res.observation, kernel, d.where === 'step' ? undefined : d.label)) ctx.print(`  ${line}`);
      }
      for (const line of profileLines(res.profile, runRelease(res))) ctx.print(`  ${line}`);
      for (const line of expectLines) ctx.print(line);
    }
    bar.done();
    ctx.print(
      `${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'}: ${same} same, ${differ} differ, ${notComparable} not comparable, ${skipped} skipped; ` +
        `${failedExpect} with failed expectations`,
    );
    if (differ || failedExpect) ctx.fail(EXIT.MISMATCH);
  });
}
