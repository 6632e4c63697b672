import type { Command } from 'commander';
import { E, EVENT_SCHEMA, type Counts } from '@mmsim/core';
import { examples, type CliContext } from '../context.js';
import { readLog } from '../files.js';
import { progress } from '../progress.js';
import { table } from '../render.js';
import { walkLog } from '../walk.js';

const COUNTERS: [keyof Counts, string][] = [
  ['mms', 'mms'],
  ['vmas', 'VMAs'],
  ['anonVmas', 'anon_vmas'],
  ['avcs', 'AVCs'],
  ['folios', 'folios'],
  ['errors', 'errors'],
];

export interface LogStats {
  events: number;
  bytes: number;
  tasks: number;
  counts: Record<string, { end: number; max: number; maxAt: number }>;
  byType: Record<string, number>;
  syscalls: Record<string, number>;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('stats')
    .description('Count what a log holds: VMAs, anon_vmas, AVCs, folios at the end and at their maximum, events by type, syscalls by name')
    .argument('<log>', 'an .mmlog file')
    .option('--json', 'the counts as one JSON object')
    .option('--salvage', 'read a damaged log up to the last valid chunk');
  examples(cmd, ['mmsim stats my.mmlog', 'mmsim stats my.mmlog --json | jq .counts.vmas']);
  cmd.action((file: string, o: { json?: boolean; salvage?: boolean }) => {
    const { log } = readLog(ctx, file, { salvage: o.salvage });
    const bar = progress(ctx, 'stats', log.length, 200_000);
    const st = computeStats(log, (seq) => bar.update(seq));
    bar.done();
    if (o.json) {
      ctx.print(JSON.stringify(st));
      return;
    }
    ctx.print(`${file}: ${st.events} events, ${st.bytes} bytes encoded, ${st.tasks} task${st.tasks === 1 ? '' : 's'}`);
    ctx.print();
    ctx.print(
      table(
        [['', 'end', 'max', 'max at seq'], ...COUNTERS.map(([, label]) => [label, String(st.counts[label].end), String(st.counts[label].max), String(st.counts[label].maxAt)])],
        { header: true, indent: 2 },
      ).join('\n'),
    );
    ctx.print();
    const types = Object.entries(st.byType).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    ctx.print(table([['event type', 'count'], ...types.map(([t, n]) => [t, String(n)])], { header: true, indent: 2 }).join('\n'));
    const sc = Object.entries(st.syscalls).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    if (sc.length) {
      ctx.print();
      ctx.print(table([['top-level span', 'count'], ...sc.map(([t, n]) => [t, String(n)])], { header: true, indent: 2 }).join('\n'));
    }
  });
}

export function computeStats(log: import('@mmsim/core').EventLog, onProgress?: (seq: number) => void): LogStats {
  const byType = new Array<number>(EVENT_SCHEMA.length).fill(0);
  const counts: LogStats['counts'] = {};
  for (const [, label] of COUNTERS) counts[label] = { end: 0, max: 0, maxAt: 0 };
  const syscalls: Record<string, number> = {};
  const tasks = new Set<number>();
  walkLog(
    log,
    (r, c) => {
      byType[r.type]++;
      tasks.add(r.task);
      if (r.type === E.SpanOpen && r.b === 0) syscalls[r.s] = (syscalls[r.s] ?? 0) + 1;
      for (const [key, label] of COUNTERS) {
        const x = counts[label];
        const v = c[key];
        x.end = v;
        if (v > x.max) {
          x.max = v;
          x.maxAt = r.seq;
        }
      }
    },
    { onProgress },
  );
  const bt: Record<string, number> = {};
  EVENT_SCHEMA.forEach((e, k) => {
    if (byType[k]) bt[e.name] = byType[k];
  });
  return { events: log.length, bytes: log.byteLength, tasks: Math.max(tasks.size, log.length ? 1 : 0), counts, byType: bt, syscalls };
}
