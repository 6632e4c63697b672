import type { Command } from 'commander';
import { diffObservations, formatDivergence, isOracleSafe, SIMULATOR_ONLY_OPS, type Observation } from '@mmsim/scenario';
import { OracleUnavailableError, describeHostKernelConfig, hostKernelConfig, kernelVersion, runOnKernel } from '@mmsim/kernel-oracle';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { readScenario } from '../files.js';
import { progress } from '../progress.js';
import { formatProc } from '../render.js';
import { addSimOptions, resolvePlugins, simulate, type SimOptions } from '../sim.js';

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
        'divergence (both VMA layouts side by side); scenarios with simulator-only ops are skipped',
    )
    .argument('<file...>', 'scenario files');
  addSimOptions(cmd);
  examples(cmd, ['sudo mmsim diff scenarios/golden/merge/*.json', 'mmsim diff my.json --large-folio off']);
  cmd.action(async (files: string[], o: SimOptions) => {
    const scenarios = files.map((f) => ({ file: f, scenario: readScenario(ctx, f) }));
    const plugins = await resolvePlugins(ctx, o);
    // the simulator is configured as this machine's kernel, or the two could not agree
    ctx.warn(`kernel: Linux ${kernelVersion()} (${describeHostKernelConfig()})`);
    const bar = progress(ctx, 'diff', scenarios.length, 2);
    let same = 0;
    let differ = 0;
    let skipped = 0;
    let k = 0;
    for (const { file, scenario } of scenarios) {
      bar.update(k++);
      if (!isOracleSafe(scenario)) {
        const ops = [...new Set(scenario.steps.map((s) => s.op).filter((op) => (SIMULATOR_ONLY_OPS as readonly string[]).includes(op)))];
        ctx.print(`${file}: skipped (simulator-only ops: ${ops.join(', ')})`);
        skipped++;
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
      const sim = (await simulate(scenario, plugins, undefined, undefined, { ...hostKernelConfig() })).observation;
      const d = diffObservations(sim, kernel);
      if (!d) {
        ctx.print(`${file}: same`);
        same++;
      } else {
        differ++;
        ctx.print(`${file}: DIFFERS`);
        for (const line of formatDivergence(d, 'simulator', `kernel ${kernelVersion()}`).split('\n')) ctx.print(`  ${line}`);
        // the table above is only there for a snapshot divergence in one process: show
        // both layouts of the snapshot (the final one for a step divergence) as bars
        if (d.where === 'step' || d.proc === null) for (const line of bothLayouts(sim, kernel, d.where === 'step' ? undefined : d.label)) ctx.print(`  ${line}`);
      }
    }
    bar.done();
    ctx.print(`${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'}: ${same} same, ${differ} differ, ${skipped} skipped`);
    if (differ) ctx.fail(EXIT.MISMATCH);
  });
}
