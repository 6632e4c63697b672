import type { Command } from 'commander';
import { TimeTravel, type MmEvent } from '@mmsim/core';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { addr, arenaOf, arenaPage, lockNameAt, type Arena } from '../addr.js';
import { hex } from '../decode.js';
import { readLog } from '../files.js';
import { nonNegInt } from '../options.js';
import { table } from '../render.js';
import { stateView, type PteView, type StateView } from '../snapshot.js';

interface InspectOptions {
  at?: string;
  json?: boolean;
  salvage?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('inspect')
    .description(
      'Show the machine state after the first SEQ events of a log: VMAs per mm, page tables, folios, ' +
        'anon_vmas, held locks and open spans',
    )
    .argument('<log>', 'an .mmlog file')
    .option('--at <seq>', 'position: the state after this many events (0 = empty, default = the end)')
    .option('--json', 'the state as one JSON object')
    .option('--salvage', 'read a damaged log up to the last valid chunk');
  examples(cmd, ['mmsim inspect my.mmlog --at 120', 'mmsim inspect my.mmlog --json | jq ".state.mms[0].vmas"', 'mmsim inspect my.mmlog            # the final state']);
  cmd.action((file: string, o: InspectOptions) => inspect(ctx, file, o));
}

function inspect(ctx: CliContext, file: string, o: InspectOptions): void {
  const { log, header } = readLog(ctx, file, { salvage: o.salvage });
  const at = nonNegInt('--at', o.at) ?? log.length;
  if (at > log.length) throw new CliError(`--at ${at}: the log has ${log.length} events (positions 0..${log.length})`, EXIT.BAD_INPUT);
  const tt = new TimeTravel(log);
  const view = stateView(tt.stateAt(at));
  const prev = at > 0 ? log.get(at - 1) : null;
  const next = at < log.length ? log.get(at) : null;
  if (o.json) {
    ctx.print(JSON.stringify({ at, events: log.length, last: prev, next, state: view }));
    return;
  }
  for (const line of formatState(view, at, log.length, prev, next, arenaOf(header))) ctx.print(line);
}

const evLine = (e: MmEvent) => `#${e.seq} ${e.type} (task ${e.task}${e.span ? `, span ${e.span}` : ''})`;

/** `0x10000028000`, and ` (page 40)` in the scenario's arena */
const pageCol = (vpn: number, arena: Arena | undefined) => {
  const p = arenaPage(vpn, arena);
  return p === null ? '-' : String(p);
};

export function formatState(v: StateView, at: number, total: number, prev: MmEvent | null, next: MmEvent | null, arena?: Arena): string[] {
  const out: string[] = [];
  out.push(`state after ${at} of ${total} events`);
  if (prev) out.push(`  last applied: ${evLine(prev)}`);
  if (next) out.push(`  next:         ${evLine(next)}`);
  const c = v.counts;
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  out.push(`  counts: ${n(c.mms, 'mm')}, ${n(c.vmas, 'VMA')}, ${n(c.anonVmas, 'anon_vma')}, ${n(c.avcs, 'AVC')}, ${n(c.folios, 'folio')}${c.errors ? `, ${n(c.errors, 'error')}` : ''}`);
  for (const mm of v.mms) {
    out.push('', `mm ${mm.id}${mm.parent ? ` (forked from mm ${mm.parent})` : ''}: ${mm.vmas.length} VMA${mm.vmas.length === 1 ? '' : 's'}, ${mm.ptTables} PTE table${mm.ptTables === 1 ? '' : 's'}`);
    if (mm.vmas.length) {
      out.push('  VMAs:');
      out.push(
        ...table(
          [
            ['vma', 'start', 'end', ...(arena ? ['arena pages'] : []), 'pages', 'pgoff (page)', 'perms', 'anon_vma', 'chain', 'flags'],
            ...mm.vmas.map((x) => [
              `#${x.id}`,
              addr(x.start),
              addr(x.end),
              ...(arena ? [arenaPage(x.start, arena) !== null && arenaPage(x.end, arena) !== null ? `[${arenaPage(x.start, arena)}, ${arenaPage(x.end, arena)})` : '-'] : []),
              String(x.pages),
              hex(x.pgoff),
              x.perms,
              x.anonVma ? `av${x.anonVma}` : '-',
              x.chain.length ? x.chain.map((a) => `av${a}`).join(',') : '-',
              x.flagNames.filter((n) => !['READ', 'WRITE', 'EXEC', 'SHARED'].includes(n)).join(' ') + (x.file ? ` shmem${x.file}` : ''),
            ]),
          ],
          { indent: 4, header: true },
        ),
      );
    }
    out.push(`  page table: ${mm.ptes.length ? '' : '(no present or swap entries)'}`.trimEnd());
    out.push(...table(pteRuns(mm.ptes, arena), { indent: 4 }));
  }
  if (v.folios.length) {
    out.push('', `folios (${v.folios.length}):`);
    out.push(
      ...table(
        [
          ['pfn', 'order', 'index (page)', 'mapping', 'mapcount', 'refcount', 'pincount', 'PAE', 'flags'],
          ...v.folios.map((f) => [
            String(f.pfn),
            String(f.order),
            hex(f.index),
            f.mapping,
            String(f.mapcount),
            String(f.refcount),
            String(f.pincount),
            f.pae.length === 1 ? (f.pae[0] ? 'yes' : 'no') : `${f.pae.filter(Boolean).length}/${f.pae.length}`,
            f.flags.join(' '),
          ]),
        ],
        { indent: 2, header: true },
      ),
    );
  }
  if (v.anonVmas.length) {
    out.push('', `anon_vmas (${v.anonVmas.length}):`);
    out.push(
      ...table(
        [
          ['anon_vma', 'root', 'parent', 'refcount', 'num_children', 'num_active_vmas', 'vmas'],
          ...v.anonVmas.map((a) => [
            `av${a.id}`,
            `av${a.root}`,
            a.parent ? `av${a.parent}` : '-',
            String(a.refcount),
            String(a.numChildren),
            String(a.numActiveVmas),
            a.vmas.map((x) => `#${x}`).join(',') || '-',
          ]),
        ],
        { indent: 2, header: true },
      ),
    );
  }
  out.push('', v.locks.length ? 'locks held:' : 'locks held: none');
  for (const l of v.locks) out.push(`  ${lockNameAt(l.name)}  ${l.mode} (${l.kind}) by task ${l.holders.join(', ')}`);
  out.push(v.spans.length ? 'open spans:' : 'open spans: none');
  for (const t of v.spans) out.push(`  task ${t.task}: ${t.spans.map((s) => `${s.name}#${s.id}`).join(' > ')}`);
  if (v.swap.length) out.push(`swap slots in use: ${v.swap.map((x) => `${x.slot}(${x.users})`).join(' ')}`);
  return out;
}

/** Group consecutive PTEs (vpn and pfn both +1, same flags) into one row. */
function pteRuns(ptes: PteView[], arena: Arena | undefined): string[][] {
  const rows: string[][] = [];
  let k = 0;
  while (k < ptes.length) {
    const p = ptes[k];
    let n = 1;
    while (
      k + n < ptes.length &&
      !p.huge &&
      !ptes[k + n].huge &&
      ptes[k + n].vpn === p.vpn + n &&
      ptes[k + n].flags === p.flags &&
      (p.pfn === null ? ptes[k + n].pfn === null : ptes[k + n].pfn === p.pfn + n)
    )
      n++;
    const vpn = n > 1 ? `${addr(p.vpn)}..${addr(p.vpn + n - 1)}` : addr(p.vpn);
    const page = arena ? [n > 1 && arenaPage(p.vpn, arena) !== null ? `page ${pageCol(p.vpn, arena)}..${pageCol(p.vpn + n - 1, arena)}` : arenaPage(p.vpn, arena) !== null ? `page ${pageCol(p.vpn, arena)}` : ''] : [];
    const target =
      p.pfn === null
        ? `swap slot ${p.swapSlot}${n > 1 ? '..' : ''}`
        : p.huge
          ? `pfn ${p.pfn} (PMD, 512 pages)`
          : n > 1
            ? `pfn ${p.pfn}..${p.pfn + n - 1}`
            : `pfn ${p.pfn}`;
    rows.push([vpn, ...page, `(${p.huge ? 512 : n})`, '->', target, p.flagNames.join(' ')]);
    k += n;
  }
  return rows;
}
