import type { Command } from 'commander';
import { TimeTravel, type Counts, type EventLog, type State } from '@mmsim/core';
import type { Observation, ProcSnapshot, Scenario } from '@mmsim/scenario';
import { examples, type CliContext } from '../context.js';
import { DEMO_MAINLINE, DEMO_PAGES, DEMO_RELOCATE } from '../demo.js';
import { writeLog } from '../files.js';
import { requireFolder } from '../atomic.js';
import type { RunResult } from '@mmsim/runner';
import { describeResult, describeStep, formatProc, table } from '../render.js';
import { resolveSim, simulate, type SimSetup } from '../sim.js';

const DEFAULT_LOG = 'mmsim-demo.mmlog';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('demo')
    .description(
      'Tell the MREMAP_RELOCATE_ANON story on built-in scenarios: a VMA moved away with mremap and back stays ' +
        'fragmented (VMA count, anon_vmas, AVCs), and with MREMAP_RELOCATE_ANON it merges again; writes a log for the debugger',
    )
    .option('--log <path>', `where to write the event log of the mainline run (default ${DEFAULT_LOG} in the current directory)`);
  examples(cmd, ['mmsim demo', 'mmsim demo --log /tmp/demo.mmlog && mmsim inspect /tmp/demo.mmlog', 'mmsim demo && mmsim export mmsim-demo.mmlog --perfetto demo.json']);
  cmd.action(async (o: { log?: string }) => demo(ctx, o.log ?? DEFAULT_LOG));
}

interface Told {
  res: RunResult;
  /** counts right after each snapshot step, by label */
  counts: Map<string, Counts>;
  final: State;
}

/** State counts right after each snapshot note (the model logs one per snapshot step). */
function snapshotCounts(log: EventLog): { counts: Map<string, Counts>; final: State } {
  const tt = new TimeTravel(log);
  const counts = new Map<string, Counts>();
  for (const ev of log.events()) {
    if (ev.type !== 'note' || !ev.text.startsWith('{"snapshot"')) continue;
    try {
      const label = (JSON.parse(ev.text) as { snapshot: string }).snapshot;
      counts.set(label, tt.stateAt(ev.seq + 1).counts);
    } catch {
      /* not a snapshot note */
    }
  }
  const final = tt.stateAt(log.length);
  return { counts, final };
}

async function tell(s: Scenario, sim: SimSetup): Promise<Told> {
  const res = await simulate(s, sim);
  return { res, ...snapshotCounts(res.engine.log) };
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
const meta = (c: Counts | undefined) =>
  c ? `${plural(c.vmas, 'VMA')}, ${plural(c.anonVmas, 'anon_vma')}, ${plural(c.avcs, 'AVC')}, ${plural(c.folios, 'folio')}` : '(counts unavailable)';

function proc0(o: Observation, label: string): ProcSnapshot | undefined {
  return o.snapshots.find((x) => x.label === label)?.procs.find((p) => p.proc === 0);
}

/** "VMA A: anon_vma av1, vm_pgoff = page 0" lines from the final state, VMAs matched to the observation by order. */
function whyLines(t: Told, label: string): string[] {
  const p = proc0(t.res.observation, label);
  const s = t.final;
  const mmIds = Object.keys(s.mms).map(Number).sort((a, b) => a - b);
  if (!p || !mmIds.length) return [];
  const vmas = s.mms[mmIds[0]].vmas.ids().map((id) => s.vmas.get(id)!);
  if (vmas.length !== p.vmas.length) return [];
  const base = vmas[0].start - p.vmas[0].start;
  return vmas.map((v, k) => {
    const letter = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[k % 26];
    const av = v.anonVma ? `anon_vma av${v.anonVma}` : 'no anon_vma (never faulted)';
    return `VMA ${letter} [${v.start - base}, ${v.end - base}): ${av}, vm_pgoff = page ${v.pgoff - base}`;
  });
}

async function demo(ctx: CliContext, logPath: string): Promise<void> {
  // a missing folder is refused before the runs, not after
  requireFolder(ctx, '--log', logPath);
  const p = ctx.print;
  const width = Math.min(100, ctx.columns) - 16;
  // the mainline run is the stock kernel; the second one the default profile's series
  const stock = await resolveSim(ctx, { relocateVariant: 'none' });
  const series = await resolveSim(ctx, {});
  const main = await tell(DEMO_MAINLINE, stock);
  const steps = DEMO_MAINLINE.steps;
  const res = (i: number) => main.res.observation.steps.find((x) => x.i === i);
  const show = (label: string, indent = '     ') => {
    const proc = proc0(main.res.observation, label);
    if (proc) for (const line of formatProc(proc, indent, width)) p(line);
    p(`${indent}kernel metadata: ${meta(main.counts.get(label))}`);
  };
  const stepLine = (i: number) => `     $ ${describeStep(steps[i])}  ->  ${res(i) ? describeResult(res(i)!.result) : '?'}`;

  p('mmsim demo: a VMA moved away with mremap() and back does not merge again');
  p('='.repeat(72));
  p('Linux 6.18, anonymous memory. mremap() moves page tables, not pages: a faulted');
  p("VMA keeps its anon_vma and its vm_pgoff (the page offset where it was faulted),");
  p("and the folios keep their index. Two VMAs merge only when both agree, so a VMA");
  p('faulted elsewhere stays a separate VMA even when put back where it came from.');
  p();
  p(`1. Map ${DEMO_PAGES} pages, read-write, private anonymous`);
  p(stepLine(0));
  show('mapped');
  p();
  p('2. Move the upper half away, then write to every page of both halves');
  for (const i of [2, 3, 4]) p(stepLine(i));
  show('moved away and faulted');
  p();
  p('3. Move the upper half back to where it came from');
  p(stepLine(6));
  show('moved back');
  const back = proc0(main.res.observation, 'moved back');
  const nBack = back?.vmas.length ?? 0;
  const why = whyLines(main, 'moved back');
  if (why.length) {
    p('     why:');
    for (const w of why) p(`       ${w}`);
  }
  p();
  p(
    nBack > 1
      ? `   => one ${DEMO_PAGES}-page mapping is now ${nBack} VMAs (fragmentation), with ${meta(main.counts.get('moved back'))}.`
      : `   => the mapping is ${plural(nBack, 'VMA')} again, with ${meta(main.counts.get('moved back'))}.`,
  );
  p('      Every extra VMA, anon_vma and anon_vma_chain is unreclaimable kernel memory, and a');
  p('      later mremap() of the whole range fails: a move may span only one VMA.');

  p();
  p('4. The same with MREMAP_RELOCATE_ANON on the move back');
  const reloc = await tell(DEMO_RELOCATE, series);
  const r6 = reloc.res.observation.steps.find((x) => x.i === 6);
  p(`     $ ${describeStep(DEMO_RELOCATE.steps[6])}  ->  ${r6 ? describeResult(r6.result) : '?'}`);
  const proc = proc0(reloc.res.observation, 'moved back');
  if (proc) for (const line of formatProc(proc, '     ', width)) p(line);
  p(`     kernel metadata: ${meta(reloc.counts.get('moved back'))}`);
  const rw = whyLines(reloc, 'moved back');
  if (rw.length) {
    p('     now:');
    for (const w of rw) p(`       ${w}`);
  }
  const n = proc?.vmas.length ?? 0;
  p();
  p(
    n === 1
      ? '   => the folios were given the index and anon_vma of the place they moved to, so the halves merge: one VMA again.'
      : `   => ${plural(n, 'VMA')} (the relocation did not merge the halves).`,
  );
  p();
  p('Summary (after the move back)');
  const a = main.counts.get('moved back');
  const b = reloc.counts.get('moved back');
  const rows: string[][] = [['', 'mainline 6.18', 'RELOCATE_ANON']];
  const row = (label: string, x: number | undefined, y: number | undefined) =>
    rows.push([label, x === undefined ? '?' : String(x), y === undefined ? '?' : String(y)]);
  // the mapping is the mm's only VMA range: one row unless other VMAs exist
  const inMapping = proc0(reloc.res.observation, 'moved back')?.vmas.length;
  if (a?.vmas === nBack && b?.vmas === inMapping) row('VMAs', a?.vmas, b?.vmas);
  else {
    row('VMAs in the mapping', nBack, inMapping);
    row('VMAs in the mm', a?.vmas, b?.vmas);
  }
  row('anon_vmas', a?.anonVmas, b?.anonVmas);
  row('anon_vma_chains (AVCs)', a?.avcs, b?.avcs);
  row('folios', a?.folios, b?.folios);
  for (const line of table(rows, { header: true, indent: 2 })) p(line);

  p();
  const log = main.res.engine.log;
  const path = writeLog(ctx, logPath, log, main.res.header);
  p(`Event log of the mainline run: ${path} (${log.length} events)`);
  const rpath = writeLog(ctx, logPath.replace(/(\.mmlog)?$/, '-relocate-anon.mmlog'), reloc.res.engine.log, reloc.res.header);
  p(`                 and with RELOCATE_ANON: ${rpath} (${reloc.res.engine.log.length} events)`);
  p('Step through it:');
  p(`  npx mmsim events ${logPath} --type vma_insert,vma_adjust,vma_remove,vma_merge,anon_vma_create`);
  p(`  npx mmsim inspect ${logPath} --at <seq>`);
  p(`  npx mmsim serve ${logPath}                         (the debugger in the browser)`);
  p(`  npx mmsim export ${logPath} --perfetto demo.trace.json   (open in https://ui.perfetto.dev)`);
}
