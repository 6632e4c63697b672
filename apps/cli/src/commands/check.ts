import type { Command } from 'commander';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { checkLogWith, formatOne, loadCheckerPlugins, warnViolations } from '../checking.js';
import { addCheckersOption, checkerList, knownCheckers } from '../checkers.js';
import { readLog } from '../files.js';
import { loadInvariants, type Violation } from '../integrations.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

async function checkLogFile(ctx: CliContext, file: string, o: { salvage?: boolean; plugin?: string[]; checkers?: string }): Promise<{ violations: Violation[]; events: number }> {
  const inv = await loadInvariants();
  if (typeof (inv as unknown as { checkLog?: unknown }).checkLog !== 'function') throw new CliError('@mmsim/invariants does not export checkLog', EXIT.BAD_INPUT);
  const plugins = await loadCheckerPlugins(ctx, o.plugin);
  // before the log is read: a misspelt name is bad input whatever the log holds
  const only = o.checkers === undefined ? null : checkerList(o.checkers, await knownCheckers(inv, plugins));
  const { log } = readLog(ctx, file, { salvage: o.salvage });
  const all = await checkLogWith(log, plugins);
  return { violations: only ? all.filter((v) => only.has(v.checker)) : all, events: log.length };
}

const PLUGIN_HELP = 'also run the checkers a plugin provides at CHECKER (@mmsim/invariants): a path or package, repeatable';

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
    const { violations, events } = await checkLogFile(ctx, file, o);
    if (o.json) for (const v of violations) ctx.print(JSON.stringify(v));
    else {
      await warnViolations(ctx, file, violations);
      ctx.print(`${file}: ${events} events checked, ${violations.length} violation${violations.length === 1 ? '' : 's'}`);
    }
    if (violations.length) ctx.fail(EXIT.VIOLATIONS);
  });

  const bis = program
    .command('bisect')
    .description('Find the first event at which an invariant checker fails, and show the events and spans leading to it')
    .argument('<log>', 'an .mmlog file')
    .requiredOption('--check', 'bisect on the invariant checkers (the only criterion so far)')
    .option('--context <n>', 'events to show before the failing one', '8')
    .option('--json', 'print {seq, violation} as JSON')
    .option('--plugin <module>', PLUGIN_HELP, collect)
    .option('--salvage', 'use the valid prefix of a damaged log');
  examples(bis, ['mmsim bisect v1.mmlog --check', 'mmsim bisect v1.mmlog --check --context 20', 'mmsim bisect run.mmlog --check --plugin ./vma-limit.ts']);
  bis.action(async (file: string, o: { context: string; json?: boolean; salvage?: boolean; plugin?: string[] }) => {
    const { violations, events } = await checkLogFile(ctx, file, o);
    if (!violations.length) {
      ctx.print(o.json ? JSON.stringify({ seq: null, events }) : `${file}: no checker fails in ${events} events`);
      return;
    }
    const first = violations.reduce((a, b) => (b.seq < a.seq ? b : a));
    if (o.json) ctx.print(JSON.stringify({ seq: first.seq, violation: first }));
    else {
      const { log } = readLog(ctx, file, { salvage: o.salvage, quiet: true });
      const n = Math.max(0, Number(o.context) || 0);
      ctx.print(`first failing event: seq ${first.seq}`);
      ctx.print(await formatOne(first));
      ctx.print(`events ${Math.max(0, first.seq - n)}..${first.seq}:`);
      for (const ev of log.events(Math.max(0, first.seq - n), first.seq + 1)) {
        const { seq, task, span, type, ...rest } = ev as unknown as Record<string, unknown>;
        ctx.print(`  ${String(seq).padStart(8)}  t${task} s${span}  ${String(type).padEnd(18)} ${JSON.stringify(rest)}`);
      }
      ctx.print(`state there: npx mmsim inspect ${file} --at ${first.seq + 1}`);
    }
    ctx.fail(EXIT.VIOLATIONS);
  });
}
