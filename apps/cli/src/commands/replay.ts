import type { Command } from 'commander';
import { relocationOutcomes, withRelocationReasons } from '../why.js';
import { stableStringify, type Scenario } from '@mmsim/scenario';
import { arenaOf } from '../addr.js';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { readLog, unverifiedHeader } from '../files.js';
import { observationFromLog } from '@mmsim/runner';
import { formatObservation } from '../render.js';
import { headerLines } from '../profile.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('replay')
    .description('Rebuild the observation of a run from its event log alone (what `run --json` printed, recomputed from the events)')
    .argument('<log>', 'an .mmlog file written by `mmsim run --log` or `mmsim demo`')
    .option('--json', 'print the mmsim-observation/1 on one line')
    .option('--salvage', 'read a damaged log up to the last valid chunk');
  examples(cmd, ['mmsim replay my.mmlog', 'mmsim replay my.mmlog --json | diff - <(mmsim run my.json --json)', 'mmsim replay cut.mmlog --salvage']);
  cmd.action(async (file: string, o: { json?: boolean; salvage?: boolean }) => {
    const { log, header, version } = readLog(ctx, file, { salvage: o.salvage });
    let obs;
    try {
      // `replay --json` equals `run --json`: a relocation's reason is in its step's result
      obs = withRelocationReasons(observationFromLog(log, header), relocationOutcomes(log));
    } catch (e) {
      throw new CliError(`${file}: cannot rebuild the observation from the log: ${(e as Error).message}${unverifiedHeader(version)}`, EXIT.BAD_INPUT);
    }
    if (o.json) {
      ctx.print(stableStringify(obs));
      return;
    }
    ctx.print(`${file}: ${log.length} events, written by mmsim ${header.mmsimVersion}`);
    for (const line of headerLines(header)) ctx.print(`  ${line}`);
    // a log written by runScenario carries the scenario (its steps with their arguments)
    const spec = (header.config as { scenarioSpec?: { steps?: unknown } } | undefined)?.scenarioSpec;
    const steps = spec?.steps;
    const scenario = Array.isArray(steps) ? ({ name: obs.scenario, steps } as unknown as Scenario) : undefined;
    for (const line of formatObservation(obs, { scenario, arenaBase: arenaOf(header)?.base, width: Math.min(100, ctx.columns) - 12 })) ctx.print(line);
  });
}
