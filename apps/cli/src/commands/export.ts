import type { Command } from 'commander';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { requireFolder } from '../atomic.js';
import { readLog, writeText } from '../files.js';
import { perfettoJson, toPerfetto } from '../perfetto.js';
import { progress } from '../progress.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('export')
    .description(
      'Export a log for other tools. --perfetto writes a Chrome trace (Trace Event Format JSON) for ui.perfetto.dev: ' +
        'span slices per task, lock holds, counters of VMAs, anon_vmas, AVCs and folios (1 us = 1 event)',
    )
    .argument('<log>', 'an .mmlog file')
    .option('--perfetto <out.json>', 'write a Chrome/Perfetto trace JSON file')
    .option('--salvage', 'read a damaged log up to the last valid chunk');
  examples(cmd, ['mmsim export my.mmlog --perfetto my.trace.json   # then open it in https://ui.perfetto.dev', 'mmsim export mmsim-demo.mmlog --perfetto demo.json']);
  cmd.action((file: string, o: { perfetto?: string; salvage?: boolean }) => {
    if (!o.perfetto) throw new CliError('export: say what to write, e.g. --perfetto out.json', EXIT.BAD_INPUT);
    // a missing folder is refused before the log is read and converted
    requireFolder(ctx, '--perfetto', o.perfetto);
    const { log, header } = readLog(ctx, file, { salvage: o.salvage });
    const bar = progress(ctx, 'export', log.length, 200_000);
    const trace = toPerfetto(log, { source: file, mmsimVersion: header.mmsimVersion, config: header.config }, (s) => bar.update(s));
    bar.done();
    const path = writeText(ctx, o.perfetto, perfettoJson(trace), '--perfetto');
    ctx.print(`wrote ${path}: ${trace.traceEvents.length} trace events from ${log.length} log events (open it in https://ui.perfetto.dev)`);
  });
}
