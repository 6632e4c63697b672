import type { Command } from 'commander';
import { EVENT_SCHEMA, E, newRawEvent, toEvent, type MmEvent } from '@mmsim/core';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { readLog } from '../files.js';
import { nonNegInt } from '../options.js';
import { progress } from '../progress.js';

interface EventsOptions {
  from?: string;
  to?: string;
  type?: string;
  json?: boolean;
  salvage?: boolean;
}

const KNOWN = EVENT_SCHEMA.map((e) => e.name as string);
const HEX_FIELDS = new Set(['flags', 'set', 'clear']);
const ENVELOPE = new Set(['seq', 'task', 'span', 'type']);

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('events')
    .description(
      'List the events of a log: NDJSON with --json (seq, task, span, type and the fields of the type), ' +
        'else an aligned table with the enclosing span named',
    )
    .argument('<log>', 'an .mmlog file')
    .option('--from <seq>', 'first event to show (inclusive, default 0)')
    .option('--to <seq>', 'stop before this event (exclusive, default the end)')
    .option('--type <types>', 'only these event types, comma separated (e.g. vma_insert,pte_set)')
    .option('--json', 'one JSON object per line')
    .option('--salvage', 'read a damaged log up to the last valid chunk')
    .addHelpText('after', `\nEvent types:\n${EVENT_SCHEMA.map((e) => `  ${e.name.padEnd(20)} ${e.doc}`).join('\n')}\n`);
  examples(cmd, [
    'mmsim events my.mmlog',
    'mmsim events my.mmlog --type vma_insert,vma_remove,vma_adjust',
    'mmsim events my.mmlog --from 100 --to 200 --json | jq .type',
  ]);
  cmd.action((file: string, o: EventsOptions) => events(ctx, file, o));
}

function events(ctx: CliContext, file: string, o: EventsOptions): void {
  let types: Set<number> | null = null;
  if (o.type !== undefined) {
    const names = o.type.split(',').map((t) => t.trim()).filter(Boolean);
    const bad = names.filter((n) => !KNOWN.includes(n));
    if (bad.length || !names.length) {
      throw new CliError(`--type: unknown event type${bad.length > 1 ? 's' : ''} ${bad.map((b) => `"${b}"`).join(', ') || '(empty)'}; known types: ${KNOWN.join(', ')}`, EXIT.BAD_INPUT);
    }
    types = new Set(names.map((n) => KNOWN.indexOf(n)));
  }
  const { log } = readLog(ctx, file, { salvage: o.salvage });
  const from = nonNegInt('--from', o.from) ?? 0;
  const to = Math.min(nonNegInt('--to', o.to) ?? log.length, log.length);
  if (from > log.length) throw new CliError(`--from ${from}: the log has ${log.length} events`, EXIT.BAD_INPUT);

  const bar = progress(ctx, 'events', to, 200_000);
  // span names come from span_open events, possibly before --from
  const spanName = new Map<number, string>();
  const cur = log.cursor(0);
  const r = newRawEvent();
  const wSeq = Math.max(3, String(Math.max(0, to - 1)).length);
  const wType = Math.max(...KNOWN.map((k) => k.length));
  const line = (seq: string, task: string, span: string, type: string, f: string) =>
    `${seq.padStart(wSeq)}  ${task.padStart(4)}  ${span.padEnd(26)}  ${type.padEnd(wType)}  ${f}`.trimEnd();
  if (!o.json) ctx.print(line('seq', 'task', 'span', 'type', 'fields'));
  while (cur.next(r)) {
    if (r.seq >= to) break;
    if (r.type === E.SpanOpen) spanName.set(r.a, r.s);
    if ((r.seq & 0xffff) === 0) bar.update(r.seq);
    if (r.seq < from || (types && !types.has(r.type))) continue;
    const ev = toEvent(r);
    if (o.json) ctx.print(JSON.stringify(ev));
    else ctx.print(line(String(ev.seq), String(ev.task), ev.span ? `${ev.span}:${spanName.get(ev.span) ?? '?'}` : '-', ev.type, fields(ev)));
  }
  bar.done();
}

function fields(ev: MmEvent): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(ev)) {
    if (ENVELOPE.has(k)) continue;
    if (typeof v === 'string') parts.push(`${k}=${JSON.stringify(v)}`);
    else if (HEX_FIELDS.has(k)) parts.push(`${k}=0x${(v as number).toString(16)}`);
    else parts.push(`${k}=${v}`);
  }
  return parts.join(' ');
}
