import type { Command } from 'commander';
import { E, EVENT_SCHEMA, type Counts, type EventLog } from '@mmsim/core';
import { examples, type CliContext } from '../context.js';
import { streamLogFile } from '../logstream.js';
import { table } from '../render.js';
import { LogWalker } from '../walk.js';

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
    // read as a stream, each chunk walked and let go of: memory does not grow with the log
    const tally = new StatsTally();
    const { log, bytes } = streamLogFile(ctx, file, { salvage: o.salvage, progress: 'stats' }, (l) => tally.walk(l));
    const st = tally.finish(log.length, bytes);
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

/** The counts of a log walked once, in order, as it is read (LogWalker). */
export class StatsTally {
  private readonly byType = new Array<number>(EVENT_SCHEMA.length).fill(0);
  private readonly counts: LogStats['counts'] = {};
  private readonly syscalls: Record<string, number> = {};
  private readonly tasks = new Set<number>();
  private readonly walker: LogWalker;

  constructor(onProgress?: (seq: number) => void) {
    for (const [, label] of COUNTERS) this.counts[label] = { end: 0, max: 0, maxAt: 0 };
    const { byType, counts, syscalls, tasks } = this;
    this.walker = new LogWalker(
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
  }

  /** Count the events `log` holds past those counted (the same log every time). */
  walk(log: EventLog): void {
    this.walker.feed(log);
  }

  /** The stats of the `events` events counted, which take `bytes` encoded. */
  finish(events: number, bytes: number): LogStats {
    this.walker.finish();
    const bt: Record<string, number> = {};
    EVENT_SCHEMA.forEach((e, k) => {
      if (this.byType[k]) bt[e.name] = this.byType[k];
    });
    return { events, bytes, tasks: Math.max(this.tasks.size, events ? 1 : 0), counts: this.counts, byType: bt, syscalls: this.syscalls };
  }
}

/** The stats of a whole log in memory. */
export function computeStats(log: EventLog, onProgress?: (seq: number) => void): LogStats {
  const t = new StatsTally(onProgress);
  t.walk(log);
  return t.finish(log.length, log.byteLength);
}
