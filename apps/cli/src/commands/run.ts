import type { Command } from 'commander';
import { checkExpectations, stableStringify } from '@mmsim/scenario';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { isDir, logPathIn, readScenario, writeLog } from '../files.js';
import { progress } from '../progress.js';
import { formatObservation } from '../render.js';
import { addKernelConfigOption, describeKernelConfig, kernelConfigFor, type KernelConfigOptions } from '../host.js';
import { profileLines, relocateHints } from '../profile.js';
import { addSimOptions, formatViolation, resolveSim, simulate, simulateChecked, type SimOptions } from '../sim.js';

interface RunOptions extends SimOptions, KernelConfigOptions {
  json?: boolean;
  log?: string;
  check?: boolean;
  quiet?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('run')
    .description(
      'Run scenarios (mmsim-scenario/1 files) on the simulator: print each observation ' +
        '(steps, VMA layouts per snapshot, expectations), optionally write the binary event log',
    )
    .argument('<file...>', 'scenario files')
    .option('--json', 'print one mmsim-observation/1 per line, in the order of the files')
    .option('--log <path>', 'write the binary event log (with several files: a directory, one <name>.mmlog each)')
    .option('--check', 'run the invariant checkers (@mmsim/invariants); violations go to stderr, exit 3')
    .option('-q, --quiet', 'print only failures and the summary line');
  addSimOptions(cmd);
  addKernelConfigOption(cmd);
  examples(cmd, [
    'mmsim run scenarios/golden/merge/mremap_unfaulted_to_faulted.json',
    'mmsim run my.json --kernel-config stock     # Linux 6.18 defaults, not this machine\'s',
    'mmsim run scenarios/golden/merge/*.json --json > observations.ndjson',
    'mmsim run my.json --log my.mmlog --check',
    'mmsim run scenarios/golden/relocate-anon/*.json --log logs/',
    'mmsim run scenarios/golden/relocate-anon/*.json --relocate-variant none   # the stock kernel: EINVAL',
    'mmsim run s.json --relocate-variant bug-skip-swap --check',
    'mmsim run my.json --plugin ./my-merge-policy.ts',
  ]);
  cmd.action(async (files: string[], o: RunOptions) => run(ctx, files, o));
}

async function run(ctx: CliContext, files: string[], o: RunOptions): Promise<void> {
  // validate every scenario before running anything
  const scenarios = files.map((f) => ({ file: f, scenario: readScenario(ctx, f) }));
  let logDir: string | null = null;
  if (o.log !== undefined && (files.length > 1 || isDir(ctx, o.log))) {
    logDir = o.log;
    if (!isDir(ctx, logDir) && /\.mmlog$/.test(logDir)) {
      throw new CliError(`--log ${o.log}: with ${files.length} scenario files --log names a directory (one <name>.mmlog per scenario)`);
    }
  }
  const plugins = await resolveSim(ctx, o);
  const config = kernelConfigFor(o);
  if (!o.json && !o.quiet) ctx.warn(describeKernelConfig(o));
  const bar = progress(ctx, 'run', scenarios.length, 2);
  let failedExpect = 0;
  let violations = 0;
  let k = 0;
  for (const { file, scenario } of scenarios) {
    const single = scenarios.length === 1 ? progress(ctx, scenario.name, scenario.steps.length, 200) : null;
    const onStep = single ? (i: number, n: number) => single.update(i, n) : undefined;
    const checked = o.check ? await simulateChecked(scenario, plugins, onStep, config) : null;
    const res = checked ? checked.res : await simulate(scenario, plugins, onStep, undefined, config);
    single?.done();
    const obs = res.observation;
    if (o.log !== undefined) {
      const path = writeLog(ctx, logDir ? logPathIn(logDir, file) : o.log, res.engine.log, res.header);
      if (!o.json && !o.quiet) ctx.warn(`log: ${path} (${res.engine.log.length} events)`);
    }
    const failures = checkExpectations(scenario, obs);
    if (failures.length) failedExpect++;
    const about = [...profileLines(res.profile), ...relocateHints(scenario, obs, res.profile)];
    if (o.json) ctx.print(stableStringify(obs));
    else if (!o.quiet) {
      if (k > 0) ctx.print();
      ctx.print(`${file}:`);
      for (const line of about) ctx.print(`  ${line}`);
      for (const line of formatObservation(obs, { scenario, failures, width: Math.min(100, ctx.columns) - 12 })) ctx.print(line);
    } else if (failures.length) {
      ctx.print(`${file}: ${failures.length} expectation${failures.length > 1 ? 's' : ''} failed`);
      for (const f of failures) ctx.print(`  ${f}`);
      for (const line of about) ctx.print(`  ${line}`);
    }
    if (o.json && failures.length) for (const f of failures) ctx.warn(`${file}: ${f}`);
    if (o.json) for (const line of about) ctx.warn(`${file}: ${line}`);
    if (checked) {
      const vs = checked.violations;
      if (vs.length) {
        violations += vs.length;
        ctx.warn(`${file}: ${vs.length} invariant violation${vs.length > 1 ? 's' : ''}:`);
        for (const v of vs) ctx.warn(formatViolation(v));
      }
    }
    bar.update(++k);
  }
  bar.done();
  if (!o.json && (scenarios.length > 1 || o.quiet)) {
    ctx.print(
      `${scenarios.length} scenario${scenarios.length > 1 ? 's' : ''}: ${scenarios.length - failedExpect} passed, ${failedExpect} with failed expectations` +
        (o.check ? `, ${violations} invariant violation${violations === 1 ? '' : 's'}` : ''),
    );
  }
  if (violations) ctx.fail(EXIT.VIOLATIONS);
  if (failedExpect) ctx.fail(EXIT.MISMATCH);
}
