import type { Command } from 'commander';
import type { EventLog } from '@mmsim/core';
import { arenaOf, type Arena } from '../addr.js';
import { eventFields } from '../event-fields.js';
import { intOption } from '../options.js';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { checkLogWith, formatOne, loadCheckerPlugins, loadHeaderPlugins, warnViolations } from '../checking.js';
import { addCheckersOption, checkerList, knownCheckers } from '../checkers.js';
import { readLog } from '../files.js';
import type { Violation } from '@mmsim/invariants';

const collect = (v: string, prev: string[] = []) => [...prev, v];

async function checkLogFile(
  ctx: CliContext,
  file: string,
  o: { salvage?: boolean; plugin?: string[]; checkers?: string },
): Promise<{ violations: Violation[]; events: number; log: EventLog; arena: Arena | undefined }> {
  const given = await loadCheckerPlugins(ctx, o.plugin);
  // a misspelt name is bad input whatever the log holds: checked before the log is read,
  // against the checkers known without it (one of a plugin the log names is checked after)
  let misspelt: unknown = null;
  if (o.checkers !== undefined) {
    try {
      checkerList(o.checkers, knownCheckers(given));
    } catch (e) {
      misspelt = e;
    }
  }
  let read;
  try {
    read = readLog(ctx, file, { salvage: o.salvage });
  } catch (e) {
    throw misspelt ?? e;
  }
  const { log, header } = read;
  // the checkers the run had (run --plugin X --check) check its log again without --plugin
  const plugins = [...(await loadHeaderPlugins(ctx, file, header, given)), ...given];
  const only = o.checkers === undefined ? null : checkerList(o.checkers, knownCheckers(plugins));
  const all = checkLogWith(log, plugins);
  return { violations: only ? all.filter((v) => only.has(v.checker)) : all, events: log.length, log, arena: arenaOf(header) };
}

const PLUGIN_HELP = "also run the checkers a plugin provides at CHECKER (@mmsim/invariants): a path or package, repeatable (the plugins the log's run used are loaded again from its header without it)";

/** `mmsim check LOG`: replay a log through the invariant checkers. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('check')
    .description('Replay a log through the invariant checkers (rmap, racing rmap walker, locking, structure); exit 3 on any violation')
    .argument('<log>', 'an .mmlog file')
    .option('--json', 'one violation per line as JSON on stdout (every one, ungrouped)')
    .option('--plugin <module>', PLUGIN_HELP, collect)
    .option('--salvage', 'check the valid prefix of a damaged log');
  addCheckersOption(cmd);
  examples(cmd, [
    'mmsim run s.json --relocate-variant patch-v1 --log v1.mmlog && mmsim check v1.mmlog',
    'mmsim check run.mmlog --plugin ./vma-limit.ts',
    'mmsim check run.mmlog --json | head',
  ]);
  cmd.action(async (file: string, o: { json?: boolean; salvage?: boolean; plugin?: string[]; checkers?: string }) => {
    const { violations, events, arena } = await checkLogFile(ctx, file, o);
    if (o.json) for (const v of violations) ctx.print(JSON.stringify(v));
    else {
      warnViolations(ctx, file, violations, '', arena);
      ctx.print(`${file}: ${events} events checked, ${violations.length} violation${violations.length === 1 ? '' : 's'}`);
    }
    if (violations.length) ctx.fail(EXIT.VIOLATIONS);
  });

  const bis = program
    .command('bisect')
    .description('Find the first event at which an invariant checker fails, and show the events and spans leading to it')
    .argument('<log>', 'an .mmlog file')
    .option('--check', 'bisect on the invariant checkers (the default, and the only criterion so far)')
    .option('--context <n>', 'events to show before the failing one', '8')
    .option('--json', 'print {seq, violation} as JSON')
    .option('--plugin <module>', PLUGIN_HELP, collect)
    .option('--salvage', 'use the valid prefix of a damaged log');
  examples(bis, ['mmsim bisect v1.mmlog', 'mmsim bisect v1.mmlog --context 20', 'mmsim bisect run.mmlog --plugin ./vma-limit.ts']);
  bis.action(async (file: string, o: { context: string; json?: boolean; salvage?: boolean; plugin?: string[] }) => {
    const n = intOption('--context', o.context, { max: 1_000_000 });
    const { violations, events, log, arena } = await checkLogFile(ctx, file, o);
    if (!violations.length) {
      ctx.print(o.json ? JSON.stringify({ seq: null, events }) : `${file}: no checker fails in ${events} events`);
      return;
    }
    const first = violations.reduce((a, b) => (b.seq < a.seq ? b : a));
    if (o.json) ctx.print(JSON.stringify({ seq: first.seq, violation: first }));
    else {
      ctx.print(`first failing event: seq ${first.seq}`);
      ctx.print(formatOne(first, arena));
      ctx.print(`events ${Math.max(0, first.seq - n)}..${first.seq}:`);
      // decoded as `mmsim events` prints them: addresses in hex with the arena page
      for (const ev of log.events(Math.max(0, first.seq - n), first.seq + 1)) {
        ctx.print(`  ${String(ev.seq).padStart(8)}  t${ev.task} s${ev.span}  ${ev.type.padEnd(18)} ${eventFields(ev, arena)}`.trimEnd());
      }
      ctx.print(`state there: npx mmsim inspect ${file} --at ${first.seq + 1}`);
    }
    ctx.fail(EXIT.VIOLATIONS);
  });
}
