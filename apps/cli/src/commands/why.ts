import type { Command } from 'commander';
import { TimeTravel, type State } from '@mmsim/core';
import { arenaOf, rangeAt, type Arena } from '../addr.js';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { readLog } from '../files.js';
import { mergePairs } from '@mmsim/linux';
import { nonNegInt } from '../options.js';
import { mergeAnswers, relocationOutcomes, relocationWhy, type MergeAnswer, type RelocationOutcome } from '../why.js';

interface WhyOptions {
  at?: string;
  vma?: string;
  json?: boolean;
  salvage?: boolean;
}

/** `mmsim why LOG`: why adjacent VMAs did not merge, why relocations gave up. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('why')
    .description(
      'Say why two adjacent VMAs did not merge (the merge rule that fails, as the debugger\'s merge panel does) ' +
        'and why an MREMAP_RELOCATE_ANON relocation fell back (a pinned folio, a locked one, ...)',
    )
    .argument('<log>', 'an .mmlog file')
    .option('--at <seq>', 'the state after this many events (default: the end); relocations up to there')
    .option('--vma <id>', 'only the pairs this VMA is part of')
    .option('--json', 'one JSON object: {at, events, merges, relocations}')
    .option('--salvage', 'read a damaged log up to the last valid chunk');
  examples(cmd, ['mmsim run s.json --log s.mmlog && mmsim why s.mmlog', 'mmsim why s.mmlog --at 120 --vma 3', 'mmsim why s.mmlog --json | jq .merges']);
  cmd.action(async (file: string, o: WhyOptions) => why(ctx, file, o));
}

async function why(ctx: CliContext, file: string, o: WhyOptions): Promise<void> {
  const { log, header } = readLog(ctx, file, { salvage: o.salvage });
  const at = nonNegInt('--at', o.at) ?? log.length;
  if (at > log.length) throw new CliError(`--at ${at}: the log has ${log.length} events (positions 0..${log.length})`, EXIT.BAD_INPUT);
  const vma = nonNegInt('--vma', o.vma);
  const state = new TimeTravel(log).stateAt(at);
  if (vma !== undefined && !state.vmas.get(vma)) {
    const ids = Object.values(state.mms).flatMap((mm) => [...mm.vmas.ids()]);
    throw new CliError(`--vma ${vma}: there is no VMA ${vma} after ${at} events (VMAs there: ${ids.length ? ids.join(', ') : 'none'})`, EXIT.BAD_INPUT);
  }
  const merges = mergeAnswers(state, mergePairs, vma);
  const relocations = relocationOutcomes(log, at);
  if (o.json) {
    ctx.print(JSON.stringify({ at, events: log.length, merges, relocations }));
    return;
  }
  // a log runScenario wrote carries the scenario: name each step by its op
  const steps = (header.config as { scenarioSpec?: { steps?: { op?: unknown }[] } }).scenarioSpec?.steps;
  const ops = Array.isArray(steps) ? steps.map((st) => String(st?.op ?? '?')) : [];
  for (const line of formatWhy({ file, at, total: log.length, merges, relocations, state, arena: arenaOf(header), vma, ops })) ctx.print(line);
}

const vmaAt = (state: State, id: number, arena: Arena | undefined) => {
  const v = state.vmas.get(id);
  return v ? `VMA ${id} ${rangeAt(v.start, v.end, arena)}` : `VMA ${id}`;
};

interface WhyReport {
  file: string;
  at: number;
  total: number;
  merges: readonly (MergeAnswer & { mm: number })[];
  relocations: readonly RelocationOutcome[];
  state: State;
  arena: Arena | undefined;
  vma?: number;
  /** each scenario step's op, when the header has the scenario */
  ops: readonly string[];
}

export function formatWhy({ file, at, total, merges, relocations, state, arena, vma, ops }: WhyReport): string[] {
  const out = [`${file}: the state after ${at} of ${total} events${at === total ? ' (the end)' : ''}`];
  if (!merges.length) {
    out.push(vma === undefined ? '  no two VMAs are adjacent: nothing could merge' : `  VMA ${vma} has no adjacent VMA (gaps on both sides): nothing to merge with`);
  } else {
    out.push(`  adjacent VMAs (merge policy ${merges[0].policy}):`);
    for (const m of merges) {
      out.push(`    mm ${m.mm}: ${vmaAt(state, m.left, arena)} | ${vmaAt(state, m.right, arena)}`);
      out.push(`      ${m.merge ? 'would merge' : 'not merged'}: ${m.reason}`);
    }
  }
  if (!relocations.length) out.push(`  no MREMAP_RELOCATE_ANON relocation gave up${at < total ? ' up to there' : ''}`);
  else {
    out.push('  relocations that gave up:');
    for (const r of relocations) {
      const op = r.step !== null && ops[r.step] ? ` (${ops[r.step]})` : '';
      const where = r.step === null ? '' : `, step ${r.step}${op}${r.task !== null ? `, task ${r.task}'s step ${r.taskStep}` : ''}`;
      out.push(`    seq ${r.seq}${where}, VMA ${r.vma}: ${relocationWhy(r)}`);
    }
  }
  return out;
}
