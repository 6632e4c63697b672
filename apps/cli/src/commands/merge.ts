import type { Command } from 'commander';
import { mergeResults, type ExploreResult } from '@mmsim/runner';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { checkShards, validateExploreResult } from '../explore-result.js';
import { readRegularFile } from '../files.js';
import { formatExplore } from './explore.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('merge')
    .description(
      'Combine the --json results of `mmsim explore --shard I/N` runs into one: schedules summed, violations and ' +
        'final states united; complete when every shard is there and complete. Exit 3 if any violation',
    )
    .argument('<result...>', 'mmsim-explore/1 JSON files, one per shard')
    .option('--json', 'print the merged result as one mmsim-explore/1 JSON object');
  examples(cmd, [
    'mmsim merge shard-0.json shard-1.json shard-2.json',
    'mmsim merge results/*.json --json > merged.json',
  ]);
  cmd.action(async (files: string[], o: { json?: boolean }) => {
    const parts = files.map((f) => {
      const text = readRegularFile(ctx, f, 'explore result').toString('utf8');
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        throw new CliError(`${f}: not JSON: ${(e as Error).message}`, EXIT.BAD_INPUT);
      }
      return { file: f, result: validateExploreResult(v, f) };
    });
    checkShards(parts);
    let merged: ExploreResult;
    try {
      merged = mergeResults(parts.map((p) => p.result));
    } catch (e) {
      throw new CliError(`cannot merge: ${(e as Error).message}`, EXIT.BAD_INPUT);
    }
    // the shards' identity (checked equal) goes on: the merged result says what it is of
    const { scenarioHash, options } = parts[0].result;
    if (scenarioHash !== undefined) merged = { ...merged, scenarioHash, options } as ExploreResult;
    if (o.json) ctx.print(JSON.stringify(merged));
    // explore recorded the scenario's real path and its options; an older result has neither
    else for (const line of formatExplore(merged, merged.reproduce ?? { file: merged.scenario + '.json', options: [] })) ctx.print(line);
    if (merged.violations.length) ctx.fail(EXIT.VIOLATIONS);
  });
}
