/**
 * runFuzz: `count` generated scenarios (scenario k uses seed scenarioSeed(seed, k)), each
 * run on the simulator and on the kernel (at most `concurrency` oracle processes at a
 * time), then every failing class shrunk and saved as a regression scenario. The
 * summary depends only on the seed and count (and on the two implementations).
 */
import { kernelVersion } from '@mmsim/kernel-oracle';
import type { Scenario } from '@mmsim/scenario';
import { compareOnce, type CompareOptions, type Outcome } from './compare.js';
import { generateScenario, type GenerateOptions } from './generate.js';
import { scenarioSeed } from './prng.js';
import { buildRegression, saveRegression } from './regress.js';
import { shrinkScenario } from './shrink.js';

export type FailureKind = 'mismatch' | 'crash' | 'oracle-error' | 'kernel-flaky';

export interface FuzzFailure {
  /** index of the scenario in the run */
  index: number;
  /** the generator seed of that scenario */
  scenarioSeed: number;
  kind: FailureKind;
  signature: string;
  /** the divergence (formatted), the crash stack or the oracle error */
  message: string;
  scenario: Scenario;
}

export interface SavedRegression {
  signature: string;
  kind: FailureKind;
  /** scenario index it was shrunk from */
  index: number;
  hash: string;
  /** path of the file when written to outDir, else just `<hash>.json` */
  file: string;
  written: boolean;
  steps: { from: number; to: number };
  shrinkTests: number;
  /** the regression scenario (with its expect list) */
  scenario: Scenario;
  /** the divergence of the shrunk scenario */
  message: string;
}

export interface FuzzClass {
  kind: FailureKind;
  signature: string;
  count: number;
  /** scenario indices (first few) */
  indices: number[];
}

export interface FuzzSummary {
  seed: number;
  count: number;
  kernel: string;
  agreements: number;
  mismatches: number;
  simCrashes: number;
  oracleErrors: number;
  /** scenarios whose two kernel runs disagreed with each other (kernel nondeterminism, not counted as mismatches) */
  kernelFlaky: number;
  /** agreements / (scenarios that ran on both sides), in percent */
  agreementPct: number;
  classes: FuzzClass[];
  failures: FuzzFailure[];
  regressions: SavedRegression[];
  elapsedMs: number;
}

export interface FuzzProgress {
  phase: 'run' | 'shrink';
  done: number;
  total: number;
  agreements: number;
  mismatches: number;
  simCrashes: number;
  oracleErrors: number;
  kernelFlaky: number;
}

export interface FuzzOptions {
  seed: number;
  count: number;
  /** write regressions here (e.g. scenarios/regress); without it they are only returned */
  outDir?: string;
  onProgress?: (p: FuzzProgress) => void;
  /** shrink failures into regressions (default true) */
  shrink?: boolean;
  /** shrink at most this many failures per class (default 1) */
  maxShrinksPerClass?: number;
  /** checks per shrink (default 600) */
  maxShrinkTests?: number;
  /** oracle processes in flight (default 2) */
  concurrency?: number;
  /** oracle timeout per scenario (default 20000 ms) */
  timeoutMs?: number;
  generate?: Omit<GenerateOptions, 'simOnly'>;
  /** replace the kernel / the simulator (tests) */
  compare?: Omit<CompareOptions, 'timeoutMs'>;
  /** run only scenarios k with k % count === index (`mmsim fuzz --shard I/N`): shards partition the run */
  shard?: { index: number; count: number };
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const t0 = Date.now();
  const { seed, count } = opts;
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  const cmp: CompareOptions = { recheck: true, ...(opts.compare ?? {}), timeoutMs: opts.timeoutMs };
  const outcomes: (Outcome | undefined)[] = new Array(count);
  const scenarios: Scenario[] = new Array(count);
  const tally = { agreements: 0, mismatches: 0, simCrashes: 0, oracleErrors: 0, kernelFlaky: 0 };
  let done = 0;
  const progress = (phase: FuzzProgress['phase'], d: number, total: number) =>
    opts.onProgress?.({ phase, done: d, total, ...tally });

  const shard = opts.shard ?? { index: 0, count: 1 };
  const mine: number[] = [];
  for (let k = shard.index; k < count; k += shard.count) mine.push(k);
  let next = 0;
  const worker = async () => {
    while (next < mine.length) {
      const k = mine[next++];
      const s = generateScenario(scenarioSeed(seed, k), opts.generate);
      scenarios[k] = s;
      const o = await compareOnce(s, cmp);
      outcomes[k] = o;
      if (o.kind === 'agree') tally.agreements++;
      else if (o.kind === 'mismatch') tally.mismatches++;
      else if (o.kind === 'crash') tally.simCrashes++;
      else if (o.kind === 'kernel-flaky') tally.kernelFlaky++;
      else tally.oracleErrors++;
      progress('run', ++done, mine.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, mine.length)) }, worker));

  const failures: FuzzFailure[] = [];
  const classes = new Map<string, FuzzClass>();
  outcomes.forEach((o, index) => {
    if (!o || o.kind === 'agree') return;
    failures.push({ index, scenarioSeed: scenarioSeed(seed, index), kind: o.kind, signature: o.signature, message: o.message, scenario: scenarios[index] });
    const c = classes.get(o.signature) ?? { kind: o.kind, signature: o.signature, count: 0, indices: [] };
    c.count++;
    if (c.indices.length < 10) c.indices.push(index);
    classes.set(o.signature, c);
  });

  const regressions: SavedRegression[] = [];
  if (opts.shrink !== false) {
    const per = opts.maxShrinksPerClass ?? 1;
    const todo = failures.filter((f) => f.kind === 'mismatch' || f.kind === 'crash').filter((f, _k, all) => all.filter((g) => g.signature === f.signature && g.index < f.index).length < per);
    let sd = 0;
    for (const f of todo) {
      progress('shrink', sd++, todo.length);
      const check = async (c: Scenario) => {
        const o = await compareOnce(c, { ...cmp, recheck: false });
        return o.kind === 'agree' ? null : o.signature;
      };
      const r = await shrinkScenario(f.scenario, f.signature, check, { maxTests: opts.maxShrinkTests });
      const fin = await compareOnce(r.scenario, cmp);
      if (fin.kind !== 'mismatch' && fin.kind !== 'crash') continue; // did not reproduce, or the kernel is not deterministic here
      const firstLine = fin.message.split('\n').slice(0, 3).map((x) => x.trim()).join(' ');
      const desc = `fuzz (seed ${seed}, scenario #${f.index}, generator seed ${f.scenarioSeed}) on Linux ${kernelVersion()}: ${fin.signature}: ${firstLine}`.slice(0, 600);
      const divergence = fin.kind === 'mismatch' ? fin.divergence : null;
      const kernelObs = fin.kernel;
      if (!kernelObs) continue;
      const reg = buildRegression(r.scenario, kernelObs, divergence, desc);
      const saved = opts.outDir ? saveRegression(opts.outDir, reg) : { path: reg.file, written: false };
      regressions.push({
        signature: f.signature,
        kind: f.kind,
        index: f.index,
        hash: reg.hash,
        file: saved.path,
        written: saved.written,
        steps: { from: r.from, to: r.to },
        shrinkTests: r.tests,
        scenario: reg.scenario,
        message: fin.message,
      });
    }
    progress('shrink', todo.length, todo.length);
  }

  const ran = tally.agreements + tally.mismatches + tally.simCrashes;
  return {
    seed,
    count,
    kernel: kernelVersion(),
    ...tally,
    agreementPct: ran ? Math.round((tally.agreements / ran) * 10000) / 100 : 0,
    classes: [...classes.values()].sort((a, b) => a.indices[0] - b.indices[0]),
    failures,
    regressions,
    elapsedMs: Date.now() - t0,
  };
}
