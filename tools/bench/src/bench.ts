/**
 * `mmsim bench`: the simulator against the real kernel doing the same work, in one
 * run on one machine. See README.md for what each key means.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ensureHelper, runKernel, type KernelMeasurement, type Timing } from './helper.js';
import { runExploreChild, runSimChild, runSplitChild, runTraceChild } from './child.js';
import { benchRealTraceReplay, type RealTraceResult } from './realtrace.js';
import { benchTraceReplay, type TraceReplayResult } from './trace.js';
import type { SplitResult } from './splits.js';
import { PAGES_PER_MIB, type LogResult, type SimResult } from './sim.js';
import { round } from './stats.js';
import type { ExploreBench } from './explore.js';
import { sweepSvg, type SweepPoint } from './svg.js';

export type Clock = 'cpu' | 'wall';

export interface BenchOptions {
  /** quick: 64-256 MiB, a 1M-event log (under a minute); full: 64-1024 MiB, 10M events */
  quick?: boolean;
  /** region sizes in MiB; the largest is the headline size (default by mode) */
  sizes?: number[];
  /** events the measured log grows to (default 1M quick, 10M full) */
  events?: number;
  /** random seeks (default 100 quick, 500 full) */
  seeks?: number;
  /** prefix replayed by the naive reducer (default 20k quick, 200k full) */
  naivePrefix?: number;
  /** kernel runs per measurement, best kept (default 5) */
  reps?: number;
  /** clock the ratios use (default cpu: process user+system time, robust on a shared machine) */
  clock?: Clock;
  /** attach the invariant checkers (default true) */
  checkers?: boolean;
  /** MiB of each of the two warm-up sessions before a simulator session's timed phases (default 32; 0: cold) */
  warmupMiB?: number;
  seed?: number;
  /** C helper cache (default tools/bench/build) */
  helperDir?: string;
  /** directory for the temporary log file (default the OS temp dir) */
  tmpDir?: string;
  /** VMA counts splitGrowth compares, smallest and largest (default 1024 and 32768) */
  splitVmas?: number[];
  /** faults in the synthetic trace traceReplayFaultsPerSec replays (default 1M; quick 200k) */
  traceFaults?: number;
}

export interface BenchHooks {
  /** a phase starts (label), advances (done/total), ends (summary) */
  phase?(label: string): void;
  /** a named part of the current phase (does not end it) */
  sub?(label: string): void;
  progress?(done: number, total: number): void;
  done?(summary: string): void;
}

export interface Target {
  op: '<=' | '>=' | 'report';
  value?: number;
  pass?: boolean;
}

export interface SweepRow {
  mib: number;
  pages: number;
  sim: { faultIn: Timing; relocate: Timing; faultEvents: number; relocateEvents: number };
  kernel: { faultIn: Timing; mremap: Timing };
  faultInRatio: number;
  relocateRatio: number;
}

export interface BenchResult {
  format: 'mmsim-bench/1';
  mode: 'quick' | 'full' | 'custom';
  clock: Clock;
  sizeMiB: number;
  faultInRatio: number;
  relocateRatio: number;
  seekP50Ms: number;
  seekP99Ms: number;
  bytesPerEvent: number;
  replayEventsPerSec: number;
  peakRssMiB: number;
  memBytesPerEvent: number;
  naiveReplaySlowdown: number;
  /** the explorer on the seed's race (relocate 8 pages vs one rmap walk): schedules per CPU second */
  exploreSchedulesPerSec: number;
  explore: ExploreBench;
  /** time per one-page mprotect split at the largest VMA count ÷ at the smallest (splits.ts) */
  splitGrowth: number;
  /** `mmsim trace` (replayTrace, stock, no --log) of a synthetic trace of `trace.faults` faults: faults per CPU second */
  traceReplayFaultsPerSec: number;
  /** peak RSS of the process replaying it (ru_maxrss) */
  traceReplayPeakRssMiB: number;
  trace: TraceReplayResult;
  /** the same replay of a real recording (realtrace.ts): faults per CPU second, null where it cannot record (realTrace.skipped says why) */
  realTraceReplayFaultsPerSec: number | null;
  realTrace: RealTraceResult;
  targets: Record<string, Target>;
  sim: {
    checkers: string;
    violations: number;
    faultInMs: number;
    relocateMs: number;
    faultEvents: number;
    relocateEvents: number;
    relocated: boolean;
  };
  kernel: { faultInMs: number; mremapMs: number; reps: number };
  /** the same two ratios on the other clock */
  otherClock: { clock: Clock; faultInRatio: number; relocateRatio: number };
  log: LogResult;
  /** the splitGrowth measurement: µs per split at each VMA count */
  splits: SplitResult;
  sweep: SweepRow[];
  machine: { cpus: number; model: string; kernel: string; node: string; memMiB: number };
  notes: string[];
}

export const QUICK_SIZES = [64, 128, 256];
export const FULL_SIZES = [64, 128, 256, 512, 1024];

export const TARGETS: Record<string, Target> = {
  faultInRatio: { op: '<=', value: 2 },
  relocateRatio: { op: '<=', value: 30 },
  seekP50Ms: { op: 'report' },
  seekP99Ms: { op: '<=', value: 50 },
  bytesPerEvent: { op: '<=', value: 16 },
  replayEventsPerSec: { op: '>=', value: 5_000_000 },
  peakRssMiB: { op: 'report' },
  memBytesPerEvent: { op: 'report' },
  naiveReplaySlowdown: { op: 'report' },
  exploreSchedulesPerSec: { op: '>=', value: 2000 },
  splitGrowth: { op: '<=', value: 2 },
  traceReplayFaultsPerSec: { op: '>=', value: 200_000 },
  traceReplayPeakRssMiB: { op: 'report' },
  realTraceReplayFaultsPerSec: { op: 'report' },
};

export const HEADLINE_KEYS = Object.keys(TARGETS) as (keyof typeof TARGETS)[];

const pick = (t: Timing, c: Clock) => (c === 'cpu' ? t.cpuMs : t.wallMs);
const tm = (x: { wallMs: number; cpuMs: number }): Timing => ({ wallMs: round(x.wallMs), cpuMs: round(x.cpuMs) });

export async function runBench(opts: BenchOptions = {}, hooks: BenchHooks = {}): Promise<BenchResult> {
  const quick = opts.quick ?? false;
  const sizes = [...new Set(opts.sizes ?? (quick ? QUICK_SIZES : FULL_SIZES))].sort((a, b) => a - b);
  if (!sizes.length || sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`sizes must be positive integers (MiB), got ${sizes.join(',')}`);
  const clock = opts.clock ?? 'cpu';
  const other: Clock = clock === 'cpu' ? 'wall' : 'cpu';
  const reps = opts.reps ?? 5;
  const head = sizes[sizes.length - 1];
  const logJob = {
    targetEvents: opts.events ?? (quick ? 1_000_000 : 10_000_000),
    seeks: opts.seeks ?? (quick ? 100 : 500),
    naivePrefix: opts.naivePrefix ?? (quick ? 20_000 : 200_000),
    seed: opts.seed ?? 1,
    dir: opts.tmpDir,
  };
  const step = <T>(label: string, fn: () => T, summary: (v: T) => string): T => {
    hooks.phase?.(label);
    const v = fn();
    hooks.done?.(summary(v));
    return v;
  };

  const bin = step('build C helper', () => ensureHelper({ buildDir: opts.helperDir }), (b) => b);
  const kernel = new Map<number, { fault: KernelMeasurement; mremap: KernelMeasurement }>();
  for (const mib of sizes) {
    const fault = step(`kernel fault-in ${mib} MiB`, () => runKernel('fault', mib, reps, bin), (m) => fmtTiming(m.best, clock));
    const mremap = step(`kernel mremap ${mib} MiB`, () => runKernel('mremap', mib, reps, bin), (m) => fmtTiming(m.best, clock));
    kernel.set(mib, { fault, mremap });
  }

  const sims = new Map<number, SimResult>();
  for (const mib of sizes) {
    const label = `simulator ${mib} MiB`;
    hooks.phase?.(label + (mib === head ? ` + ${fmtCount(logJob.targetEvents)}-event log` : ''));
    let phase = '';
    const res = await runSimChild(
      { mib, checkers: opts.checkers ?? true, warmupMiB: opts.warmupMiB, log: mib === head ? logJob : undefined },
      {
        maxOldSpaceMiB: 12288,
        onProgress: (p, done, total) => {
          if (p !== phase) {
            phase = p;
            hooks.sub?.(p);
          }
          hooks.progress?.(done, total);
        },
      },
    );
    sims.set(mib, res);
    hooks.done?.(`fault-in ${fmtTiming(res.fault, clock)}, relocate ${fmtTiming(res.relocate, clock)}${res.log ? `, log of ${fmtCount(res.log.events)} events` : ''}`);
  }

  const splitVmas = [...new Set(opts.splitVmas ?? [1024, 32768])].sort((a, b) => a - b);
  if (splitVmas.length < 2 || splitVmas.some((n) => !Number.isInteger(n) || n < 4)) throw new Error(`splitVmas must be two or more VMA counts of at least 4, got ${splitVmas.join(',')}`);
  hooks.phase?.(`splitGrowth: one-page mprotect splits at ${splitVmas.map(fmtCount).join(' and ')} VMAs`);
  let splitPhase = '';
  const splits = await runSplitChild(
    { kind: 'splits', at: splitVmas, window: Math.min(1024, splitVmas[0]), checkers: opts.checkers ?? true },
    {
      maxOldSpaceMiB: 4096,
      onProgress: (p, done, total) => {
        if (p !== splitPhase) {
          splitPhase = p;
          hooks.sub?.(p);
        }
        hooks.progress?.(done, total);
      },
    },
  );
  hooks.done?.(splits.points.map((p) => `${fmtCount(p.vmas)} VMAs ${p.usPerSplit[clock]} µs`).join(', ') + ` a split (${clock})`);

  const sweep: SweepRow[] = sizes.map((mib) => {
    const s = sims.get(mib)!;
    const k = kernel.get(mib)!;
    return {
      mib,
      pages: mib * PAGES_PER_MIB,
      sim: { faultIn: tm(s.fault), relocate: tm(s.relocate), faultEvents: s.fault.events, relocateEvents: s.relocate.events },
      kernel: { faultIn: tm(k.fault.best), mremap: tm(k.mremap.best) },
      faultInRatio: round(pick(s.fault, clock) / pick(k.fault.best, clock), 2),
      relocateRatio: round(pick(s.relocate, clock) / pick(k.mremap.best, clock), 1),
    };
  });
  const traceFaults = opts.traceFaults ?? (quick ? 200_000 : 1_000_000);
  if (!Number.isInteger(traceFaults) || traceFaults < 1) throw new Error(`traceFaults must be a positive integer, got ${traceFaults}`);
  const traceReps = quick ? 2 : 3;
  hooks.phase?.(`mmsim trace: replay a synthetic trace of ${fmtCount(traceFaults)} faults (best of ${traceReps}, own process)`);
  const trace = await benchTraceReplay(
    traceFaults,
    (job) => runTraceChild(job, { maxOldSpaceMiB: 4096, onProgress: (_p, done, total) => hooks.progress?.(done, total) }),
    opts.tmpDir,
    traceReps,
  );
  if (!trace.agree) throw new Error('the synthetic trace did not replay in agreement (a bug in the generator or in the replay)');
  hooks.done?.(`${fmtCount(trace.faults)} faults, ${fmtCount(trace.events)} events in ${fmtMs(trace.cpuMs)} CPU: ${fmtCount(trace.faultsPerSec)} faults/s (first replay ${fmtCount(trace.firstFaultsPerSec)}/s), peak RSS ${trace.peakRssMiB} MiB`);
  hooks.phase?.(`mmsim trace: record a python program of ${fmtCount(traceFaults)} page writes and replay it (best of ${traceReps}, own process)`);
  const realTrace = await benchRealTraceReplay(
    traceFaults,
    (job) => runTraceChild(job, { maxOldSpaceMiB: 4096, onProgress: (_p, done, total) => hooks.progress?.(done, total) }),
    opts.tmpDir,
    traceReps,
  );
  if ('agree' in realTrace && !realTrace.agree) throw new Error('the recorded python program did not replay in agreement');
  hooks.done?.('skipped' in realTrace ? `skipped: ${realTrace.skipped}` : `${fmtCount(realTrace.faults)} faults, ${fmtCount(realTrace.events)} events in ${fmtMs(realTrace.cpuMs)} CPU: ${fmtCount(realTrace.faultsPerSec)} faults/s`);
  hooks.phase?.('explore the seed\'s race (dfs, bound 2, every checker; best of 3, own process)');
  const ex = await runExploreChild({ kind: 'explore', reps: 3 }, { maxOldSpaceMiB: 1024 });
  hooks.done?.(`${ex.schedules} schedules in ${ex.cpuMs} ms CPU: ${ex.schedulesPerSec}/s`);
  const hs = sims.get(head)!;
  const hk = kernel.get(head)!;
  const log = hs.log!;
  const r: BenchResult = {
    format: 'mmsim-bench/1',
    mode: opts.sizes || opts.events ? 'custom' : quick ? 'quick' : 'full',
    clock,
    sizeMiB: head,
    faultInRatio: round(pick(hs.fault, clock) / pick(hk.fault.best, clock), 2),
    relocateRatio: round(pick(hs.relocate, clock) / pick(hk.mremap.best, clock), 1),
    seekP50Ms: log.timeTravel.p50Ms,
    seekP99Ms: log.timeTravel.p99Ms,
    bytesPerEvent: log.file.bytesPerEvent,
    replayEventsPerSec: log.replay.eventsPerSec,
    peakRssMiB: log.rss.peakMiB,
    memBytesPerEvent: log.memBytesPerEvent,
    naiveReplaySlowdown: log.naive.slowdown,
    exploreSchedulesPerSec: ex.schedulesPerSec,
    explore: ex,
    splitGrowth: clock === 'cpu' ? splits.splitGrowth : splits.splitGrowthWall,
    traceReplayFaultsPerSec: clock === 'cpu' ? trace.faultsPerSec : trace.faultsPerSecWall,
    traceReplayPeakRssMiB: trace.peakRssMiB,
    trace,
    realTraceReplayFaultsPerSec: 'skipped' in realTrace ? null : clock === 'cpu' ? realTrace.faultsPerSec : realTrace.faultsPerSecWall,
    realTrace,
    targets: {},
    sim: {
      checkers: hs.checkers,
      violations: hs.violations,
      faultInMs: round(pick(hs.fault, clock)),
      relocateMs: round(pick(hs.relocate, clock)),
      faultEvents: hs.fault.events,
      relocateEvents: hs.relocate.events,
      relocated: hs.relocate.relocated,
    },
    kernel: { faultInMs: round(pick(hk.fault.best, clock)), mremapMs: round(pick(hk.mremap.best, clock), 4), reps },
    otherClock: {
      clock: other,
      faultInRatio: round(pick(hs.fault, other) / pick(hk.fault.best, other), 2),
      relocateRatio: round(pick(hs.relocate, other) / pick(hk.mremap.best, other), 1),
    },
    log,
    splits,
    sweep,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model.trim() ?? 'unknown',
      kernel: release(),
      node: process.version,
      memMiB: Math.round(totalmem() / 2 ** 20),
    },
    notes: [
      `ratios are simulator ÷ kernel on ${clock === 'cpu' ? 'process CPU time (user + system; for Node all threads, GC and JIT included)' : 'wall-clock time'}; otherClock has them on ${other === 'cpu' ? 'CPU' : 'wall-clock'} time`,
      `kernel: best of ${reps} runs of the C helper; simulator: one run per size in a fresh process, ${(opts.warmupMiB ?? 32) > 0 ? `after two ${opts.warmupMiB ?? 32} MiB warm-up sessions in that process` : 'cold (no warm-up)'}, every event recorded, checkers ${hs.checkers}`,
      `relocate: simulator mremap(MAYMOVE|FIXED|MREMAP_RELOCATE_ANON, variant fixed) vs kernel mremap(MAYMOVE|FIXED), both to a destination one page past a 2 MiB boundary`,
      `log keys are measured on the ${head} MiB session grown to ${fmtCount(log.events)} events; seeks are TimeTravel.stateAt at ${log.timeTravel.seeks} seeded random positions (keyframes every 16384 events)`,
      `naiveReplaySlowdown: core apply(state, event) (one immer produce per event) on the first ${fmtCount(log.naive.prefixEvents)} events ÷ the batched replay of the same prefix; the naive whole-log time is extrapolated linearly (${fmtMs(log.naive.extrapolatedFullReplayMs)})`,
      `memBytesPerEvent: (RSS after recording, after a GC) - (RSS before the warm-up and the first event), ÷ events; peakRssMiB: RSS sampled every 65536 events while recording`,
      `exploreSchedulesPerSec: mmsim explore (dfs, bound 2, no partial-order reduction: the whole bounded space, ${fmtCount(ex.schedules)} schedules, every checker) on the seed's race (MREMAP_RELOCATE_ANON of 8 pages, variant fixed, against one rmap walk), schedules ÷ process CPU time; best of ${ex.reps} explorations after a warm-up one, in a fresh process`,
      `traceReplayFaultsPerSec: replayTrace (what \`mmsim trace FILE\` runs; stock policy, no --log) of a synthetic mmsim-trace/1 (${fmtCount(trace.records)} records, ${fmtCount(trace.faults)} faults, ${trace.processes} processes) in a fresh process, faults ÷ ${clock === 'cpu' ? 'CPU' : 'wall-clock'} seconds, the best of ${trace.reps} replays after a 50k-fault warm-up (the first: ${fmtCount(trace.firstFaultsPerSec)}/s); traceReplayPeakRssMiB: that process's ru_maxrss (RSS at a quarter of the trace ${trace.rssQuarterMiB} MiB, at the end ${trace.rssEndMiB} MiB)`,
      'skipped' in realTrace
        ? `realTraceReplayFaultsPerSec: not measured: ${realTrace.skipped}`
        : `realTraceReplayFaultsPerSec: the same replay of a real recording, \`mmsim record\` of a python program writing a byte a page into 64 MiB bytearrays (${fmtCount(realTrace.records)} records, ${fmtCount(realTrace.faults)} faults, recorded in ${fmtMs(realTrace.recordMs)}): best of ${realTrace.reps} (the first: ${fmtCount(realTrace.firstFaultsPerSec)}/s)`,
      `splitGrowth: µs per one-page mprotect that splits a VMA in three, at ${splitVmas.map(fmtCount).join(' and ')} VMAs in the mm (best of ${3} windows of ${Math.min(1024, splitVmas[0])} splits, checkers ${splits.checkers}) — largest ÷ smallest`,
    ],
  };
  for (const key of HEADLINE_KEYS) {
    const t = TARGETS[key];
    const v = (r as unknown as Record<string, number>)[key];
    r.targets[key] = t.op === 'report' ? { op: 'report' } : { op: t.op, value: t.value, pass: t.op === '<=' ? v <= t.value! : v >= t.value! };
  }
  return r;
}

/* ------------------------------------ output ------------------------------------ */

export function fmtMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

export function fmtCount(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function fmtTiming(t: Timing, clock: Clock): string {
  return `${fmtMs(pick(t, clock))} ${clock}`;
}

function fmtValue(key: string, v: number | null): string {
  if (v === null) return 'not measured (see notes)';
  if (key === 'replayEventsPerSec' || key === 'exploreSchedulesPerSec' || key === 'traceReplayFaultsPerSec' || key === 'realTraceReplayFaultsPerSec') return `${fmtCount(v)}/s`;
  if (key.endsWith('Ms')) return `${v} ms`;
  if (key.endsWith('MiB')) return `${v} MiB`;
  if (key.endsWith('Ratio') || key.endsWith('Slowdown') || key.endsWith('Growth')) return `${v}×`;
  return String(v);
}

function pad(rows: string[][]): string[] {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd());
}

/** The human report: headline keys against targets, then the sweep. */
export function formatReport(r: BenchResult): string[] {
  const out: string[] = [];
  out.push(`mmsim bench (${r.mode}, ${r.sizeMiB} MiB, ratios on ${r.clock} time) — ${r.machine.cpus} × ${r.machine.model}, Linux ${r.machine.kernel}, Node ${r.machine.node}`);
  out.push('');
  const rows = [['key', 'value', 'target', '']];
  for (const key of HEADLINE_KEYS) {
    const t = r.targets[key];
    const v = (r as unknown as Record<string, number | null>)[key];
    rows.push([key, fmtValue(key, v), t.op === 'report' ? 'report' : `${t.op === '<=' ? '≤' : '≥'} ${key === 'replayEventsPerSec' || key === 'traceReplayFaultsPerSec' ? fmtCount(t.value!) : t.value}`, t.pass === undefined ? '' : t.pass ? 'ok' : 'MISS']);
  }
  out.push(...pad(rows).map((l) => '  ' + l));
  out.push('');
  out.push(`  simulator: fault-in ${fmtMs(r.sim.faultInMs)} (${fmtCount(r.sim.faultEvents)} events), relocate ${fmtMs(r.sim.relocateMs)} (${fmtCount(r.sim.relocateEvents)} events), checkers ${r.sim.checkers}, ${r.sim.violations} violations`);
  out.push(`  kernel:    fault-in ${fmtMs(r.kernel.faultInMs)}, mremap ${fmtMs(r.kernel.mremapMs)} (best of ${r.kernel.reps})`);
  out.push(`  on ${r.otherClock.clock} time: faultInRatio ${r.otherClock.faultInRatio}×, relocateRatio ${r.otherClock.relocateRatio}×`);
  out.push(
    `  log: ${fmtCount(r.log.events)} events, ${r.log.file.bytes} bytes on disk; replay ${fmtMs(r.log.replay.wallMs)}; TimeTravel build ${fmtMs(r.log.timeTravel.buildMs)}, seek p90 ${r.log.timeTravel.p90Ms} ms, max ${r.log.timeTravel.maxMs} ms`,
  );
  out.push(`  naive reducer: ${fmtCount(r.log.naive.prefixEvents)}-event prefix in ${fmtMs(r.log.naive.naiveMs)} vs ${fmtMs(r.log.naive.batchedMs)} batched (whole log extrapolated: ${fmtMs(r.log.naive.extrapolatedFullReplayMs)})`);
  out.push(`  trace replay: ${fmtCount(r.trace.faults)} faults (${fmtCount(r.trace.events)} events) in ${fmtMs(r.trace.cpuMs)} CPU, ${fmtMs(r.trace.wallMs)} wall (best of ${r.trace.reps}; the first ${fmtCount(r.trace.firstFaultsPerSec)} faults/s); RSS ${r.trace.rssQuarterMiB} MiB at a quarter, ${r.trace.rssEndMiB} MiB at the end`);
  out.push(`  VMA splits: ${r.splits.points.map((p) => `${fmtMs(p.usPerSplit[r.clock] / 1000)} a split at ${fmtCount(p.vmas)} VMAs`).join(', ')} (${r.clock} time)`);
  out.push('');
  out.push(`  size sweep (${r.clock} time):`);
  const sw = [['MiB', 'sim fault-in', 'kernel fault-in', 'ratio', 'sim relocate', 'kernel mremap', 'ratio']];
  for (const s of r.sweep) {
    sw.push([
      String(s.mib),
      fmtMs(pick(s.sim.faultIn, r.clock)),
      fmtMs(pick(s.kernel.faultIn, r.clock)),
      `${s.faultInRatio}×`,
      fmtMs(pick(s.sim.relocate, r.clock)),
      fmtMs(pick(s.kernel.mremap, r.clock)),
      `${s.relocateRatio}×`,
    ]);
  }
  out.push(...pad(sw).map((l) => '    ' + l));
  return out;
}

export function sweepPoints(r: BenchResult): SweepPoint[] {
  return r.sweep.map((s) => ({
    mib: s.mib,
    simFaultMs: pick(s.sim.faultIn, r.clock),
    kernelFaultMs: pick(s.kernel.faultIn, r.clock),
    simRelocateMs: pick(s.sim.relocate, r.clock),
    kernelMremapMs: pick(s.kernel.mremap, r.clock),
  }));
}

/**
 * Write the results: `out` is a directory (bench.json, sweep.json, sweep.svg in it) or,
 * when it ends in .json, the results file (the sweep files go beside it). Returns the paths.
 */
export function writeOutputs(r: BenchResult, out: string, cwd = process.cwd()): { json: string; sweep: string; svg: string } {
  const p = resolve(cwd, out);
  let json: string;
  let sweep: string;
  let svg: string;
  if (p.endsWith('.json')) {
    json = p;
    sweep = p.replace(/\.json$/, '.sweep.json');
    svg = p.replace(/\.json$/, '.sweep.svg');
  } else {
    json = join(p, 'bench.json');
    sweep = join(p, 'sweep.json');
    svg = join(p, 'sweep.svg');
  }
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(sweep, JSON.stringify({ format: 'mmsim-bench-sweep/1', clock: r.clock, machine: r.machine, sweep: r.sweep }, null, 2) + '\n');
  writeFileSync(svg, sweepSvg(sweepPoints(r), `${r.clock === 'cpu' ? 'CPU' : 'wall-clock'} time; ${r.machine.cpus} × ${r.machine.model}; Linux ${r.machine.kernel}`));
  return { json, sweep, svg };
}

/**
 * Progress on stderr: on a terminal a live line with a bar per phase; otherwise one
 * line per finished phase. `write` gets raw text (no newline added).
 */
export function stderrReporter(write: (s: string) => void, tty: boolean, prefix = 'bench'): BenchHooks & { finish(): void } {
  let label = '';
  let sub = '';
  let last = -1;
  const t0 = () => performance.now();
  let start = t0();
  const clear = () => tty && write('\r\x1b[2K');
  return {
    phase(l) {
      label = l;
      sub = '';
      last = -1;
      start = t0();
      if (tty) {
        clear();
        write(`${prefix}: ${label} ...`);
      }
    },
    sub(l) {
      sub = l;
      last = -1;
      clear();
      write(`${prefix}: ${label}: ${sub} ...${tty ? '' : '\n'}`);
    },
    progress(done, total) {
      if (!tty || total <= 0) return;
      const pct = Math.floor((100 * Math.min(done, total)) / total);
      if (pct === last) return;
      last = pct;
      const fill = Math.round((pct / 100) * 24);
      clear();
      write(`${prefix}: ${label}${sub ? `: ${sub}` : ''} [${'#'.repeat(fill)}${' '.repeat(24 - fill)}] ${String(pct).padStart(3)}%`);
    },
    done(summary) {
      clear();
      write(`${prefix}: ${label}: ${summary} (${fmtMs(t0() - start)})\n`);
    },
    finish() {
      clear();
    },
  };
}
