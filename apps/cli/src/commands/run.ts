import type { Command } from 'commander';
import { checkExpectations, stableStringify } from '@mmsim/scenario';
import { arenaOf } from '../addr.js';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { isDir, logPathIn, readScenario } from '../files.js';
import { interruptEvents, watchSignals } from '../interrupt.js';
import { LogFileWriter, warnPartial } from '../logwriter.js';
import { requireFolder } from '../atomic.js';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Subject, combineLatest, map, startWith } from 'rxjs';
import { followProgress, progress, type ProgressValue } from '../progress.js';
import { formatObservation } from '../render.js';
import { addKernelConfigOption, describeKernelConfig, kernelConfigFor, type KernelConfigOptions } from '../host.js';
import type { Scenario } from '@mmsim/scenario';
import type { RunResult } from '@mmsim/runner';
import type { Violation } from '@mmsim/invariants';
import { nonNegInt } from '../options.js';
import { warnViolations } from '../checking.js';
import { addCheckersOption, checkerList, knownCheckers } from '../checkers.js';
import { addSimOptions, resolveSim, RunFailedError, simulateRun, type SimOptions, type SimSetup } from '../sim.js';
import { profileLines, relocateHints, runRelease } from '../profile.js';
import { relocationOutcomes, withRelocationReasons } from '../why.js';

interface RunOptions extends SimOptions, KernelConfigOptions {
  schedule?: string;
  seed?: string;
  json?: boolean;
  log?: string;
  check?: boolean;
  checkers?: string;
  quiet?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('run')
    .description(
      'Run scenarios (mmsim-scenario/1 files) on the simulator: print each observation ' +
        '(steps, VMA layouts per snapshot, expectations), optionally write the binary event log',
    )
    .argument('<file...>', 'scenario files')
    .option('--json', 'print one mmsim-observation/1 per line, in the order of the files')
    .option('--log <path>', 'write the binary event log (with several files: a directory, one <name>.mmlog each)')
    .option('--check', 'run the invariant checkers (@mmsim/invariants), with any a --plugin provides at CHECKER; violations go to stderr grouped by root cause, exit 3')
    .option('-q, --quiet', 'print only failures and the summary line')
    .option('--schedule <S>', 'run concurrent steps under this schedule: "decision:task,..." deviations from the default policy, as `mmsim explore` prints them ("" = default policy)')
    .option('--seed <n>', 'without --schedule: concurrent steps run under a random schedule drawn from this seed (default 0)');
  addSimOptions(cmd);
  addKernelConfigOption(cmd);
  addCheckersOption(cmd);
  examples(cmd, [
    'mmsim run scenarios/golden/merge/mremap_unfaulted_to_faulted.json',
    'mmsim run my.json --kernel-config stock     # Linux 6.18 defaults, not this machine\'s',
    'mmsim run scenarios/golden/merge/*.json --json > observations.ndjson',
    'mmsim run my.json --log my.mmlog --check',
    'mmsim run scenarios/golden/relocate-anon/*.json --log logs/',
    'mmsim run scenarios/golden/relocate-anon/*.json --relocate-variant none   # the stock kernel: EINVAL',
    'mmsim run s.json --relocate-variant bug-skip-swap --check',
    'mmsim run my.json --plugin ./my-merge-policy.ts',
    "mmsim run scenarios/races/relocate-vs-rmap-walk.json --relocate-variant bug-unlocked-new-anon-vma --schedule '3:1' --check",
    'mmsim run scenarios/races/relocate-vs-gup-fast.json --seed 7 --log race.mmlog',
  ]);
  cmd.addHelpText(
    'after',
    `
The log streams to <path>.<pid>.<random>.partial (created exclusively: another run
writing <path> at the same time is refused) as the run goes and is renamed to <path>
when the run finishes, so an older log at <path> survives any failure; <path>'s
folder must exist. When a plugin throws
(exit 4), Ctrl-C or SIGTERM arrives (exit 130 / 143) or the disk is full (exit 74), the
partial log is kept and named: it has no trailer, and any log command reads its
valid prefix with --salvage (a run that fails before its first event, in a checker's
create or a subscriber's attach, keeps none). Violations --check found in the steps
before a failure are printed; the failing step's are not (it was rolled back or, a
concurrent one, unwound). A --plugin's setup runs once.
`,
  );
  cmd.action(async (files: string[], o: RunOptions) => run(ctx, files, o));
}

async function run(ctx: CliContext, files: string[], o: RunOptions): Promise<void> {
  // validate every scenario before running anything
  const scenarios = files.map((f) => ({ file: f, scenario: readScenario(ctx, f) }));
  if (o.schedule !== undefined) {
    // a schedule orders the tasks of concurrent steps: on a scenario without one it would be ignored
    const none = scenarios.find(({ scenario }) => !scenario.steps.some((st) => st.op === 'concurrent'));
    if (none) throw new CliError(`${none.file}: --schedule ${JSON.stringify(o.schedule)}: the scenario has no concurrent step, so there is nothing to schedule`, EXIT.BAD_INPUT);
  }
  let logDir: string | null = null;
  if (o.log !== undefined && (files.length > 1 || isDir(ctx, o.log))) {
    logDir = o.log;
    if (!isDir(ctx, logDir) && /\.mmlog$/.test(logDir)) {
      throw new CliError(`--log ${o.log}: with ${files.length} scenario files --log names a directory (one <name>.mmlog per scenario)`);
    }
    // the folder it names is made, not its parents (a mistyped path is refused)
    if (!isDir(ctx, logDir)) {
      requireFolder(ctx, '--log', logDir);
      mkdirSync(resolve(ctx.cwd, logDir));
    }
  }
  const plugins = await resolveSim(ctx, o);
  const only = o.checkers === undefined ? null : checkerList(o.checkers, knownCheckers(plugins.plugins));
  if (only && !o.check) throw new CliError('--checkers selects what --check reports: add --check', EXIT.BAD_INPUT);
  const config = kernelConfigFor(o);
  if (!o.json && !o.quiet) ctx.warn(describeKernelConfig(o));
  const sched = { schedule: o.schedule, seed: nonNegInt('--seed', o.seed) };
  const bar = progress(ctx, 'run', scenarios.length, 2);
  let failedExpect = 0;
  let violations = 0;
  /** scenarios with a failed expectation, a violation or a stopped concurrent step: not "passed" */
  let failed = 0;
  let k = 0;
  for (const { file, scenario } of scenarios) {
    // one long scenario: a bar of its steps and the events its log holds so far
    const single = scenarios.length === 1 ? new Subject<ProgressValue>() : null;
    if (single) followProgress(ctx, scenario.name, single, 200);
    const target = o.log === undefined ? null : logDir ? logPathIn(logDir, file) : o.log;
    let run: Awaited<ReturnType<typeof runOne>>;
    try {
      run = await runOne(ctx, scenario, plugins, { progress: single ?? undefined, check: !!o.check, log: target, file, config, ...sched });
    } finally {
      single?.complete();
    }
    const res = run.res;
    // what is printed: the observation with each relocation's reason in its step's result
    const obs = withRelocationReasons(res.observation, relocationOutcomes(res.engine.log));
    if (res.schedule && !o.json && !o.quiet) ctx.warn(`${file}: concurrent steps ran under schedule "${res.schedule}"`);
    const violationsBefore = violations;
    if (res.stopped && !o.check) {
      violations++;
      ctx.warn(`${file}: step ${res.stopped.step} (concurrent) stopped: ${res.stopped.reason}: ${res.stopped.message}`);
    }
    if (run.logPath && !o.json && !o.quiet) ctx.warn(`log: ${run.logPath} (${res.engine.log.length} events)`);
    const checked = o.check ? { violations: run.violations } : null;
    const failures = checkExpectations(scenario, res.observation);
    if (failures.length) failedExpect++;
    const about = [...profileLines(res.profile, runRelease(res)), ...relocateHints(scenario, obs, res.profile)];
    if (o.json) ctx.print(stableStringify(obs));
    else if (!o.quiet) {
      if (k > 0) ctx.print();
      ctx.print(`${file}:`);
      for (const line of about) ctx.print(`  ${line}`);
      const arenaBase = arenaOf(res.header)?.base;
      for (const line of formatObservation(obs, { scenario, failures, arenaBase, width: Math.min(100, ctx.columns) - 12 })) ctx.print(line);
    } else if (failures.length) {
      ctx.print(`${file}: ${failures.length} expectation${failures.length > 1 ? 's' : ''} failed`);
      for (const f of failures) ctx.print(`  ${f}`);
      for (const line of about) ctx.print(`  ${line}`);
    }
    if (o.json && failures.length) for (const f of failures) ctx.warn(`${file}: ${f}`);
    if (o.json) for (const line of about) ctx.warn(`${file}: ${line}`);
    if (checked) {
      const vs = only ? checked.violations.filter((v) => only.has(v.checker)) : checked.violations;
      violations += vs.length;
      warnViolations(ctx, file, vs, '', arenaOf(res.header));
    }
    if (failures.length || violations > violationsBefore) failed++;
    bar.update(++k);
  }
  bar.done();
  if (!o.json && (scenarios.length > 1 || o.quiet)) {
    ctx.print(
      `${scenarios.length} scenario${scenarios.length > 1 ? 's' : ''}: ${scenarios.length - failed} passed, ${failedExpect} with failed expectations` +
        (o.check ? `, ${violations} invariant violation${violations === 1 ? '' : 's'}` : ''),
    );
  }
  if (violations) ctx.fail(EXIT.VIOLATIONS);
  if (failedExpect) ctx.fail(EXIT.MISMATCH);
}

/**
 * One scenario, its log streamed to a partial file beside `<log>` and renamed into place on success.
 * On a failure (a plugin threw, SIGINT/SIGTERM, a write error) the partial log is kept
 * and named, the violations found so far are printed, and the failure is rethrown.
 */
async function runOne(
  ctx: CliContext,
  scenario: Scenario,
  plugins: SimSetup,
  o: { progress?: Subject<ProgressValue>; check: boolean; log: string | null; file: string; config?: Record<string, unknown>; schedule?: string; seed?: number },
): Promise<{ res: RunResult; violations: Violation[]; logPath: string | null }> {
  const writer = o.log === null ? null : LogFileWriter.open(ctx, o.log);
  const signals = watchSignals();
  const stop = () => signals.reason() ?? writer?.failure();
  const steps$ = new Subject<[number, number]>();
  try {
    const { res, violations } = await simulateRun(scenario, plugins, {
      onStep: o.progress ? (i, n) => steps$.next([i, n]) : undefined,
      check: o.check,
      config: o.config,
      schedule: o.schedule,
      seed: o.seed,
      onKernel: (k, header) => {
        writer?.attach(k.eng.log, header);
        // the steps, and the events of each chunk as it seals (not each event: millions)
        if (o.progress) {
          const events$ = k.eng.chunks$.pipe(
            map((c) => c.first + c.count),
            startWith(0),
          );
          combineLatest([steps$, events$])
            .pipe(map(([[i, n], ev]): ProgressValue => ({ done: i, total: n, note: `${ev.toLocaleString('en-US')} events` })))
            .subscribe({ next: (v) => o.progress!.next(v) });
        }
        // inside a long step too
        interruptEvents(k.eng, stop);
      },
      interrupt: stop,
    });
    return { res, violations, logPath: writer ? writer.commit() : null };
  } catch (e) {
    const partial = writer?.abort();
    if (e instanceof RunFailedError && e.violations.length) {
      warnViolations(ctx, o.file, e.violations, ' before the failure');
    }
    if (partial && !partial.events) {
      // nothing reached the log (a subscriber's attach or a checker's create threw): no file to salvage
      rmSync(resolve(ctx.cwd, partial.path), { force: true });
      if (o.log) ctx.warn(`${o.file}: no log written (the run failed before its first event); ${o.log} was not replaced`);
    } else if (partial) warnPartial(ctx, o.file, partial, o.log!);
    throw e instanceof RunFailedError ? e.error : e;
  } finally {
    steps$.complete();
    signals.dispose();
  }
}
