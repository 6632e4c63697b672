import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ExploreResult } from '@mmsim/linux';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { loadLinux } from '../integrations.js';
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
      let text: string;
      try {
        text = readFileSync(resolve(ctx.cwd, f), 'utf8');
      } catch (e) {
        throw new CliError(`${f}: ${(e as Error).message}`, EXIT.BAD_INPUT);
      }
      try {
        return JSON.parse(text) as ExploreResult;
      } catch (e) {
        throw new CliError(`${f}: not JSON: ${(e as Error).message}`, EXIT.BAD_INPUT);
      }
    });
    const linux = (await loadLinux()) as unknown as typeof import('@mmsim/linux');
    let merged: ExploreResult;
    try {
      merged = linux.mergeResults(parts);
    } catch (e) {
      throw new CliError(`cannot merge: ${(e as Error).message}`, EXIT.BAD_INPUT);
    }
    if (o.json) ctx.print(JSON.stringify(merged));
    // explore recorded the scenario's real path and its options; an older result has neither
    else for (const line of formatExplore(merged, merged.reproduce ?? { file: merged.scenario + '.json', options: [] })) ctx.print(line);
    if (merged.violations.length) ctx.fail(EXIT.VIOLATIONS);
  });
}
