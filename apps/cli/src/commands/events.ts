import type { Command } from 'commander';
import { EVENT_SCHEMA, E, newRawEvent, toEvent } from '@mmsim/core';
import { PAGE_SIZE, arenaOf, type Arena } from '../addr.js';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { eventFields, matches, type EventFilter } from '../event-fields.js';
import { readLog } from '../files.js';
import { nonNegInt } from '../options.js';
import { progress } from '../progress.js';

interface EventsOptions {
  from?: string;
  to?: string;
  type?: string;
  json?: boolean;
  salvage?: boolean;
  vma?: string;
  page?: string;
  addr?: string;
  pfn?: string;
  lock?: string;
  span?: string;
  task?: string;
}

const KNOWN = EVENT_SCHEMA.map((e) => e.name as string);

/** The filter options, checked (an address: hex `0x...` or decimal bytes). */
function filterOf(o: EventsOptions, arena: Arena | undefined): EventFilter {
  const f: EventFilter = { vma: nonNegInt('--vma', o.vma), pfn: nonNegInt('--pfn', o.pfn), span: nonNegInt('--span', o.span), task: nonNegInt('--task', o.task), lock: o.lock };
  if (o.page !== undefined && o.addr !== undefined) throw new CliError('--page and --addr: give one of them', EXIT.BAD_INPUT);
  if (o.page !== undefined) {
    if (!arena) throw new CliError('--page: this log has no scenario arena (its header names none); use --addr', EXIT.BAD_INPUT);
    f.vpn = arena.base + nonNegInt('--page', o.page)!;
  }
  if (o.addr !== undefined) {
    const a = o.addr.trim();
    const n = /^0x[0-9a-f]+$/i.test(a) ? parseInt(a, 16) : /^\d+$/.test(a) ? Number(a) : NaN;
    if (!Number.isSafeInteger(n)) throw new CliError(`--addr: expected a byte address (0x7f0000000000 or decimal), got "${o.addr}"`, EXIT.BAD_INPUT);
    f.vpn = Math.floor(n / PAGE_SIZE);
  }
  return f;
}

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
    .option('--vma <id>', 'only events about this VMA (insert, adjust, split, merge, flags, anon_vma, AVCs, its vma_lock)')
    .option('--page <n>', 'only events about this arena page (PTEs, faults, VMAs covering it, its page table and PTL)')
    .option('--addr <address>', 'as --page, by virtual byte address (0x10000028000)')
    .option('--pfn <n>', 'only events about this frame (folio events, PTEs/PMDs mapping it, its folio lock)')
    .option('--lock <name>', 'only lock events of this lock (mmap_lock:1, ptl:1:0x10000000000) or class prefix (anon_vma)')
    .option('--span <id>', 'only events inside this span (and the spans it opens)')
    .option('--task <n>', 'only events of this task')
    .option('--json', 'one JSON object per line (raw field values: vpns, codes)')
    .option('--salvage', 'read a damaged log up to the last valid chunk')
    .addHelpText('after', `\nEvent types:\n${EVENT_SCHEMA.map((e) => `  ${e.name.padEnd(20)} ${e.doc}`).join('\n')}\n`);
  examples(cmd, [
    'mmsim events my.mmlog',
    'mmsim events my.mmlog --type vma_insert,vma_remove,vma_adjust',
    'mmsim events my.mmlog --from 100 --to 200 --json | jq .type',
    'mmsim events my.mmlog --page 40          # what touched arena page 40',
    'mmsim events my.mmlog --lock mmap_lock:1 --task 1',
    'mmsim events my.mmlog --span 17          # one syscall and everything it called',
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
  const { log, header } = readLog(ctx, file, { salvage: o.salvage });
  const arena = arenaOf(header);
  const filter = filterOf(o, arena);
  const filtering = Object.values(filter).some((v) => v !== undefined);
  const spanParents = new Map<number, number>();
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
    if (r.type === E.SpanOpen) {
      spanName.set(r.a, r.s);
      spanParents.set(r.a, r.b);
    }
    if ((r.seq & 0xffff) === 0) bar.update(r.seq);
    if (r.seq < from || (types && !types.has(r.type))) continue;
    if (filtering && !matches(r, filter, spanParents)) continue;
    const ev = toEvent(r);
    if (o.json) ctx.print(JSON.stringify(ev));
    else ctx.print(line(String(ev.seq), String(ev.task), ev.span ? `${ev.span}:${spanName.get(ev.span) ?? '?'}` : '-', ev.type, eventFields(ev, arena)));
  }
  bar.done();
}
