import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { OracleUnavailableError, kernelVersion, runOnKernel } from '@mmsim/kernel-oracle';
import { parseScenario } from '@mmsim/scenario';
import type { FuzzSummary } from '@mmsim/fuzz';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { progress } from '../progress.js';
import { intOption, parseShard } from '../options.js';
import { importOptional } from '../integrations.js';
import { workspaceOnly } from '../workspace-only.js';
import { watchSignals } from '../interrupt.js';

type FuzzModule = typeof import('@mmsim/fuzz');

interface FuzzCliOptions {
  seed: string;
  count: string;
  out?: string;
  shrink: boolean;
  json?: boolean;
  perClass: string;
  concurrency: string;
  shard?: string;
}

const int = (name: string, v: string, min: number): number => intOption(`--${name}`, v, { min });

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('fuzz')
    .description(
      'Differential fuzzing: generate seeded random scenarios, run each on the simulator and on the running Linux ' +
        'kernel (needs root), shrink every kind of divergence to a minimal scenario and save it as a regression ' +
        'test whose expectations come from the kernel; exit 1 if any scenario disagrees or crashes the simulator',
    )
    .option('--seed <n>', 'seed of the run (same seed, same scenarios)', '1')
    .option('--count <n>', 'number of scenarios', '300')
    .option('--out <dir>', 'directory for shrunk regression scenarios (default: mmsim-fuzz-seed-<seed> in the OS temp folder, named at the start; in the mmsim repo pass --out scenarios/regress to keep them as tests)')
    .option('--no-shrink', 'do not shrink failures or save regressions')
    .option('--per-class <n>', 'shrink at most this many failures per kind of divergence', '1')
    .option('--concurrency <n>', 'kernel oracle processes in flight', '2')
    .option('--shard <I/N>', 'run only scenarios k with k % N == I: N machines (or a Kubernetes Indexed Job) split one campaign')
    .option('--json', 'print the summary as one JSON object');
  examples(cmd, [
    'sudo mmsim fuzz',
    'sudo mmsim fuzz --seed 7 --count 2000',
    'sudo mmsim fuzz --seed 42 --count 100 --no-shrink --json',
    'sudo mmsim fuzz --out /tmp/regress && mmsim run /tmp/regress/*.json',
    'sudo mmsim fuzz --seed 7 --count 3000 --shard 1/3 --json   # one of three machines',
  ]);
  cmd.action(async (o: FuzzCliOptions) => {
    const seed = int('seed', o.seed, 0);
    const count = int('count', o.count, 1);
    const per = int('per-class', o.perClass, 1);
    const concurrency = int('concurrency', o.concurrency, 1);
    const shard = parseShard(o.shard);
    // @mmsim/fuzz is a workspace tool, not a dependency of the published CLI: said first
    const loaded = await importOptional('@mmsim/fuzz');
    if ('missing' in loaded) throw workspaceOnly('fuzz', loaded.missing);
    // a default that cannot litter whatever folder this runs in, and is always named
    const outDir = o.out === undefined ? join(tmpdir(), `mmsim-fuzz-seed-${seed}`) : isAbsolute(o.out) ? o.out : resolve(ctx.cwd, o.out);
    if (o.shrink) ctx.warn(`mmsim fuzz: shrunk regressions go to ${outDir}${o.out === undefined ? ' (--out DIR to choose)' : ''}`);
    // fail early (exit 2) when the kernel oracle cannot run here
    try {
      await runOnKernel(parseScenario({ format: 'mmsim-scenario/1', name: 'probe', arena: { pages: 1 }, steps: [] }));
    } catch (e) {
      if (e instanceof OracleUnavailableError) throw new CliError(`cannot run on the kernel (${e.reason}): ${e.message}`, EXIT.BAD_INPUT);
      throw new CliError(`the kernel oracle failed: ${(e as Error).message}`, EXIT.BAD_INPUT);
    }
    if (!o.json) ctx.warn(`kernel: Linux ${kernelVersion()}; seed ${seed}, ${count} scenarios`);
    const runBar = progress(ctx, 'fuzz', count, 2);
    let shrinkBar: ReturnType<typeof progress> | null = null;
    const { runFuzz } = loaded.mod as unknown as FuzzModule;
    // a signal stops the campaign at the next scenario (the regressions written so far stay)
    const signals = watchSignals();
    let told = false;
    const stopAtSignal = () => {
      const stop = signals.reason();
      if (!stop) return;
      // each scenario still in flight reports once more: one message
      if (!told) ctx.warn(`mmsim fuzz: stopped by ${stop.signal}${o.shrink ? `; the regressions written so far are in ${outDir}` : ''}`);
      told = true;
      throw stop;
    };
    let summary: FuzzSummary;
    try {
      summary = await runFuzz({
        seed,
        count,
        outDir: o.shrink ? outDir : undefined,
        shrink: o.shrink,
        maxShrinksPerClass: per,
        concurrency,
        shard,
        onProgress: (p) => {
          stopAtSignal();
          if (p.phase === 'run') runBar.update(p.done, p.total);
          else {
            if (!shrinkBar) {
              runBar.done();
              shrinkBar = progress(ctx, 'shrink', p.total, 1);
            }
            shrinkBar.update(p.done, p.total);
          }
        },
      });
    } finally {
      signals.dispose();
    }
    runBar.done();
    (shrinkBar as ReturnType<typeof progress> | null)?.done();
    if (o.json) ctx.print(JSON.stringify(jsonSummary(summary)));
    else for (const line of formatSummary(summary, ctx.cwd)) ctx.print(line);
    if (summary.mismatches || summary.simCrashes) ctx.fail(EXIT.MISMATCH);
  });
}

function jsonSummary(s: FuzzSummary) {
  return {
    seed: s.seed,
    count: s.count,
    kernel: s.kernel,
    agreements: s.agreements,
    mismatches: s.mismatches,
    simCrashes: s.simCrashes,
    oracleErrors: s.oracleErrors,
    kernelFlaky: s.kernelFlaky,
    agreementPct: s.agreementPct,
    elapsedMs: s.elapsedMs,
    classes: s.classes,
    failures: s.failures.map((f) => ({ index: f.index, scenarioSeed: f.scenarioSeed, kind: f.kind, signature: f.signature })),
    regressions: s.regressions.map((r) => ({ file: r.file, written: r.written, signature: r.signature, kind: r.kind, index: r.index, steps: r.steps })),
  };
}

export function formatSummary(s: FuzzSummary, cwd: string): string[] {
  const ran = s.agreements + s.mismatches + s.simCrashes;
  const out = [
    `fuzz: seed ${s.seed}, ${s.count} scenarios on Linux ${s.kernel} in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `  agree ${s.agreements}/${ran} (${s.agreementPct}%), mismatches ${s.mismatches}, simulator crashes ${s.simCrashes}, oracle errors ${s.oracleErrors}, kernel nondeterministic ${s.kernelFlaky}`,
  ];
  if (s.classes.length) {
    out.push('', 'kinds of divergence:');
    for (const c of s.classes) out.push(`  ${String(c.count).padStart(4)}  ${c.kind.padEnd(12)} ${c.signature}  (#${c.indices.slice(0, 5).join(', #')}${c.count > 5 ? ', ...' : ''})`);
  }
  if (s.regressions.length) {
    out.push('', 'regressions (shrunk; expectations from the kernel):');
    for (const r of s.regressions) {
      const f = isAbsolute(r.file) ? relative(cwd, r.file) || r.file : r.file;
      out.push(`  ${f}  ${r.written ? 'new ' : 'kept'}  ${r.steps.from} -> ${r.steps.to} steps  ${r.signature}`);
    }
  }
  return out;
}
