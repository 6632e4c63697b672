import type { Command } from 'commander';
import { ARENA_BASE } from '@mmsim/linux';
import { ALL_CHECKERS } from '@mmsim/invariants';
import { EXPLORER_CHECKERS, Explorer, ScheduleError, checkReduction, runScenario, samePorResults, type ExploreResult, type Strategy } from '@mmsim/runner';
import { addressesIn, type Arena } from '../addr.js';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { attachScheduleCheckers, checkerList } from '../checkers.js';
import { addKernelConfigOption, kernelConfigFor, type KernelConfigOptions } from '../host.js';
import { readScenario, writeLog, writeText } from '../files.js';
import { watchSignals } from '../interrupt.js';
import { EXPLORE_OUT, OutDir } from '../outdir.js';
import { WriteError, whyNotWritten } from '../atomic.js';
import type { Scenario } from '@mmsim/scenario';
import { nonNegInt, parseShard } from '../options.js';
import { progress } from '../progress.js';
import { reproductionOf, runCommand, type Reproduction } from '../reproduce.js';
import { addSimOptions, pluginNames, resolveSim, runOptionsOf, simulatorFailure, withModules, type SimOptions } from '../sim.js';
import { exploreIdentity } from '../explore-result.js';

interface ExploreCliOptions extends SimOptions, KernelConfigOptions {
  strategy: string;
  bound: string;
  budget?: string;
  seed: string;
  shard?: string;
  json?: boolean;
  out?: string;
  checkers?: string;
  por: boolean;
  cache: boolean;
  checkPor?: boolean;
}

const STRATEGIES = ['dfs', 'pct', 'random'];

/** The largest --bound (documented in --help). */
export const MAX_BOUND = 1000;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('explore')
    .description(
      'Explore the interleavings of a scenario\'s concurrent steps: every schedule up to a preemption bound (dfs, ' +
        'with partial-order reduction), or a budget of pct / random ones; each runs under every checker, a ' +
        'deadlock and an rmap walk that misses a mapping count as violations. Each violation comes with a short ' +
        'schedule that `mmsim run FILE --schedule S --check` reproduces (exit 3). Exit 0 clean, 3 violations, 2 bad input',
    )
    .argument('<file>', 'a scenario (mmsim-scenario/1) with at least one concurrent step')
    .option('--strategy <s>', `dfs (every schedule up to --bound preemptions) | pct (probabilistic, depth bound+1) | random (uniform baseline)`, 'dfs')
    .option('--bound <k>', `dfs: most preemptions per schedule; pct: priority change points (0-${MAX_BOUND})`, '2')
    .option('--budget <n>', 'most schedules to run (pct and random: default 1000; dfs: unlimited)')
    .option('--seed <n>', 'seed of pct and random', '0')
    .option('--shard <I/N>', 'explore only shard I of N (deterministic partition); combine the --json results with `mmsim merge`')
    .option('--checkers <list>', 'report only these checkers (comma-separated: rmap, rmap-race, locking, structure, lifetime, rmap-walk, deadlock, error); default all')
    .option('--no-por', 'dfs: no partial-order reduction (every bounded schedule runs; to check the reduction)')
    .option('--no-cache', 'dfs: no cache of visited points (a run reaching a state explored before goes on)')
    .option('--check-por', 'dfs: explore twice, with the reductions (as --no-por/--no-cache leave them) and with none, and compare final states and violations (exit 1 if they differ)')
    .option('--out <dir>', 'write one log per violation (<dir>/violation-<n>.mmlog, one track per task in `mmsim serve`) and explore.json; <dir> is written whole (a new, empty or earlier --out folder, which it replaces); on Ctrl-C, what was found so far')
    .option('--json', 'print the result as one mmsim-explore/1 JSON object');
  addSimOptions(cmd);
  addKernelConfigOption(cmd);
  examples(cmd, [
    'mmsim explore scenarios/races/relocate-vs-rmap-walk.json --relocate-variant fixed',
    'mmsim explore scenarios/races/relocate-vs-rmap-walk.json --relocate-variant bug-unlocked-new-anon-vma --checkers rmap-walk',
    'mmsim explore scenarios/races/relocate-vs-gup-fast.json --relocate-variant fixed --out /tmp/gup',
    'mmsim explore race.json --strategy pct --budget 5000 --seed 3 --json',
    'mmsim explore race.json --shard 0/3 --json > s0.json   # ... 1/3, 2/3, then: mmsim merge s*.json',
  ]);
  cmd.action(async (file: string, o: ExploreCliOptions) => explore(ctx, file, o));
}

async function explore(ctx: CliContext, file: string, o: ExploreCliOptions): Promise<void> {
  if (!STRATEGIES.includes(o.strategy)) throw new CliError(`--strategy must be one of ${STRATEGIES.join(', ')}, got "${o.strategy}"`, EXIT.BAD_INPUT);
  // a preemption bound past a few dozen explores nothing more (no scenario has that many
  // decisions) and sizes the dfs queues and pct's change points
  const bound = nonNegInt('--bound', o.bound, MAX_BOUND)!;
  const seed = nonNegInt('--seed', o.seed)!;
  const budget = nonNegInt('--budget', o.budget);
  if (budget === 0) throw new CliError('--budget must be at least 1', EXIT.BAD_INPUT);
  const shard = parseShard(o.shard);
  // the invariants' checkers and the explorer's own: a misspelt name is bad input, not "no violations"
  const only = o.checkers === undefined ? null : checkerList(o.checkers, [...ALL_CHECKERS, ...EXPLORER_CHECKERS]);
  const scenario = readScenario(ctx, file);
  // a folder that cannot be replaced is refused before the work
  const out = o.out === undefined ? null : new OutDir(ctx, o.out, EXPLORE_OUT);
  try {
    await exploreInto(ctx, file, scenario, o, { bound, seed, budget, shard, only }, out);
  } finally {
    out?.discard();
  }
}

async function exploreInto(
  ctx: CliContext,
  file: string,
  scenario: Scenario,
  o: ExploreCliOptions,
  p: { bound: number; seed: number; budget?: number; shard?: { index: number; count: number }; only: Set<string> | null },
  out: OutDir | null,
): Promise<void> {
  const { budget } = p;
  const sim = await resolveSim(ctx, o);
  const plugins = runOptionsOf(sim);
  // the kernel configuration `mmsim run` uses too: a schedule reproduces there
  const config = kernelConfigFor(o);
  if (o.checkPor) {
    const only = p.only;
    return checkPor(ctx, scenario, { bound: p.bound, run: { ...plugins, config }, checkers: (eng) => attachScheduleCheckers(eng), report: only ? (c) => only.has(c) : undefined }, o);
  }
  const bar = progress(ctx, 'explore', budget ?? 1, 1);
  const signals = watchSignals();
  try {
    const res0 = runExplorer(scenario, file, o, { ...p, plugins, config, bar, interrupted: () => signals.reason() !== undefined });
    // what `mmsim merge` checks the shards of one exploration share
    const identity = exploreIdentity(scenario, { kernel: sim.kernelOptions ?? null, plugins: pluginNames(sim.plugins), config, budget: budget ?? null, por: o.por, checkers: o.checkers ?? null });
    // the real path and every option that shaped the run, for `mmsim merge` to print
    const reproduce = reproductionOf(ctx.cwd, file, o);
    const res: ExploreResult = { ...res0, ...identity, reproduce };
    if (out) {
      try {
        res.violations.forEach((v, n) => {
          const r = runScenario(scenario, { ...plugins, config, schedule: v.schedule });
          writeLog(ctx, out.file(`violation-${n + 1}.mmlog`), r.engine.log, withModules(r.header, sim), '--out');
        });
        writeText(ctx, out.file('explore.json'), JSON.stringify(res, null, 2) + '\n', '--out');
      } catch (e) {
        // named by the folder the user gave, not the temporary one (removed: DIR stays as it was)
        if (e instanceof WriteError) throw new CliError(`--out ${o.out}: cannot write the ${res.violations.length} violation logs and explore.json: ${whyNotWritten(e.cause)}; ${o.out} is unchanged`, EXIT.IO);
        throw e;
      }
      out.commit();
    }
    if (o.json) ctx.print(JSON.stringify(res));
    else for (const line of formatExplore(res, { ...reproduce, file }, { base: ARENA_BASE, pages: scenario.arena.pages })) ctx.print(line);
    // the explorer stopped at a signal: what it found is printed and written, then the signal's exit
    const stopped = signals.reason();
    if (stopped) {
      const logs = out ? `; ${res.violations.length} violation log${res.violations.length === 1 ? '' : 's'} written to ${o.out}` : '';
      ctx.warn(`${file}: stopped after ${res.schedules} schedule${res.schedules === 1 ? '' : 's'}: the result is not complete${logs}`);
      throw stopped;
    }
    if (res.violations.length) ctx.fail(EXIT.VIOLATIONS);
  } finally {
    signals.dispose();
  }
}

/** Explore as the options say (the explorer asks `interrupted` before every schedule). */
function runExplorer(
  scenario: Scenario,
  file: string,
  o: ExploreCliOptions,
  p: Parameters<typeof exploreInto>[4] & { plugins: ReturnType<typeof runOptionsOf>; config: ReturnType<typeof kernelConfigFor>; bar: ReturnType<typeof progress>; interrupted: () => boolean },
): ExploreResult {
  const { bound, seed, budget, shard, only, plugins, config, bar } = p;
  let ex: Explorer;
  try {
    ex = new Explorer(scenario, {
      strategy: o.strategy as Strategy,
      bound,
      budget,
      seed,
      shard,
      run: { ...plugins, config },
      checkers: (eng) => attachScheduleCheckers(eng),
      por: o.por,
      cache: o.cache,
      report: only ? (c) => only.has(c) : undefined,
      onProgress: (done, total) => bar.update(done, total),
      // between schedules: the result so far is printed and written
      interrupt: p.interrupted,
    });
  } catch (e) {
    if (e instanceof ScheduleError) throw new CliError(`${file}: ${e.message}`, EXIT.BAD_INPUT);
    throw simulatorFailure(scenario, e);
  }
  let res: ExploreResult;
  try {
    res = ex.explore();
  } catch (e) {
    // a plugin that throws under some schedule: exit 4 as in `mmsim run`, the plugin named
    throw simulatorFailure(scenario, e);
  }
  bar.done();
  return res;
}

/** --check-por: the reduced exploration against the full one, the differences listed. */
function checkPor(ctx: CliContext, scenario: Scenario, opts: Parameters<typeof checkReduction>[1], o: ExploreCliOptions): void {
  if (o.strategy !== 'dfs') throw new CliError('--check-por compares dfs explorations: drop --strategy', EXIT.BAD_INPUT);
  const c = checkReduction(scenario, opts, { por: o.por, cache: o.cache });
  const r = c.reduced;
  ctx.print(`${scenario.name}: bound ${r.bound}: reduced ${r.schedules} schedule(s)${cutShort(r)}, ${r.elapsedMs} ms; full ${c.all.schedules} schedule(s), ${c.all.elapsedMs} ms`);
  const diffs: [string, string[]][] = [
    ['final state(s) the reduction lost', c.missingStates],
    ['final state(s) only the reduction reached', c.extraStates],
    ['violation(s) the reduction lost', c.missingViolations],
    ['violation(s) only the reduction found', c.extraViolations],
  ];
  if (samePorResults(c)) {
    ctx.print(`  the same ${c.all.distinctFinalStates} final state(s) and ${c.all.violations.length} violation(s)`);
    return;
  }
  for (const [what, xs] of diffs) {
    if (!xs.length) continue;
    ctx.print(`  ${xs.length} ${what}:`);
    for (const x of xs) ctx.print(`    ${x.length > 200 ? x.slice(0, 200) + '...' : x}`);
  }
  ctx.fail(EXIT.MISMATCH);
}

/** Runs the reductions cut short: " (+N pruned by partial-order reduction, +M at visited states)", or nothing. */
function cutShort(r: ExploreResult): string {
  const parts = [r.pruned ? `+${r.pruned} pruned by partial-order reduction` : '', r.cached ? `+${r.cached} cut at visited states` : ''].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** The human summary: what was explored, then each violation with its reproducer. */
export function formatExplore(r: ExploreResult, how: Reproduction, arena?: Arena): string[] {
  const out = [
    `${r.scenario}: ${r.strategy}${r.strategy === 'dfs' ? ` bound ${r.bound}` : ` seed ${r.seed}`}: ${r.schedules} schedule${r.schedules === 1 ? '' : 's'}` +
      `${cutShort(r)}, ${r.complete ? 'complete' : 'not exhaustive'}, ` +
      `${r.distinctFinalStates} distinct final state${r.distinctFinalStates === 1 ? '' : 's'}, ${r.schedulesPerSec} schedules/s`,
  ];
  if (!r.violations.length) {
    out.push('  no violations');
    return out;
  }
  out.push(`  ${r.violations.length} violation${r.violations.length === 1 ? '' : 's'} (first after ${r.firstViolationAfter} schedule${r.firstViolationAfter === 1 ? '' : 's'}):`);
  for (const v of r.violations) {
    out.push(`  [${v.checker}] ${addressesIn(v.message, arena)}${(v.count ?? 1) > 1 ? ` (in ${v.count} schedules)` : ''}`);
    out.push(`      schedule "${v.schedule}" (${v.preemptions} preemption${v.preemptions === 1 ? '' : 's'}): ${runCommand(how, v.schedule)}`);
  }
  return out;
}
