/**
 * `traceReplayFaultsPerSec`, `traceReplayPeakRssMiB`: `mmsim trace` on a long
 * recording. The parent writes a synthetic mmsim-trace/1 of N faults (@mmsim/record
 * writeSyntheticTrace: workers mapping, faulting, mremapping, protecting, dropping and
 * unmapping regions, a fork child now and then); a fresh process replays it with
 * replayTrace, the function `mmsim trace` runs, under the stock policy and without
 * --log: first a short trace (a warm-up: the JIT compiles the fault path), then the
 * long one `reps` times. Faults per second of process CPU time (and of the wall clock)
 * of the best replay, the first (cold) one beside it, and the peak resident memory of
 * that process (getrusage's ru_maxrss, plus RSS sampled as the records go by: what the
 * replay keeps must not grow with the trace).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { round } from './stats.js';

export interface TraceJob {
  kind: 'trace';
  /** the trace to replay (written by the parent) */
  path: string;
  /** its record count (for progress) */
  records: number;
  /** a short trace replayed once first, not measured (default: none) */
  warmup?: string;
  /** replays of `path` (default 3): the best counts */
  reps?: number;
}

export interface TraceReplayResult {
  faults: number;
  records: number;
  events: number;
  agree: boolean;
  cpuMs: number;
  wallMs: number;
  /** faults ÷ CPU seconds of the best replay (cpuMs, wallMs: that replay's) */
  faultsPerSec: number;
  faultsPerSecWall: number;
  /** replays measured, and the first one's rate (after the warm-up only) */
  reps: number;
  firstFaultsPerSec: number;
  /** ru_maxrss of the replaying process, MiB */
  peakRssMiB: number;
  /** RSS sampled every 65,536 records: the first sample past a quarter of the trace and the last (MiB) */
  rssQuarterMiB: number;
  rssEndMiB: number;
  /** bytes and processes of the trace */
  traceBytes: number;
  processes: number;
}

type ChildResult = Omit<TraceReplayResult, 'traceBytes' | 'processes'>;

/** One replay as `mmsim trace FILE` runs it, timed. */
async function replayOnce(path: string, records: number, progress: (phase: string, done: number, total: number) => void): Promise<ChildResult> {
  const { replayTrace } = await import('@mmsim/record');
  const samples: number[] = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { report } = await replayTrace(path, {
    policy: 'stock',
    onProgress: (n) => {
      samples.push(process.memoryUsage.rss());
      progress('replay', n, records);
    },
  });
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  const mib = (b: number) => round(b / 2 ** 20, 1);
  const faultsPerSec = Math.round(report.faults / (cpuMs / 1000));
  return {
    faults: report.faults,
    records: report.records,
    events: report.events,
    agree: report.agree,
    cpuMs: round(cpuMs),
    wallMs: round(wallMs),
    faultsPerSec,
    faultsPerSecWall: Math.round(report.faults / (wallMs / 1000)),
    reps: 1,
    firstFaultsPerSec: faultsPerSec,
    peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
    rssQuarterMiB: mib(samples[Math.floor(samples.length / 4)] ?? 0),
    rssEndMiB: mib(samples[samples.length - 1] ?? 0),
  };
}

/** In the child: the warm-up, then `reps` replays of the trace; the best one (by CPU time) with the first one's rate. */
export async function runTraceReplay(job: TraceJob, progress: (phase: string, done: number, total: number) => void = () => {}): Promise<ChildResult> {
  if (job.warmup) await replayOnce(job.warmup, 0, () => {});
  const reps = job.reps ?? 3;
  let best: ChildResult | null = null;
  let first = 0;
  for (let i = 0; i < reps; i++) {
    const r = await replayOnce(job.path, job.records, progress);
    if (!r.agree) return r;
    if (i === 0) first = r.faultsPerSec;
    if (!best || r.cpuMs < best.cpuMs) best = r;
  }
  return { ...best!, reps, firstFaultsPerSec: first, peakRssMiB: round(process.resourceUsage().maxRSS / 1024, 1) };
}

/**
 * In the parent: write the synthetic trace (and a short warm-up one) into a temporary
 * directory, replay them in a fresh process (`replay` runs the child), remove them.
 */
export async function benchTraceReplay(
  faults: number,
  replay: (job: TraceJob) => Promise<ChildResult>,
  tmpDir?: string,
  reps = 3,
): Promise<TraceReplayResult> {
  const { writeSyntheticTrace } = await import('@mmsim/record');
  const dir = mkdtempSync(join(tmpDir ?? tmpdir(), 'mmsim-bench-trace-'));
  try {
    const path = join(dir, 'synthetic.trace');
    const w = writeSyntheticTrace(path, { faults });
    const warmup = join(dir, 'warmup.trace');
    writeSyntheticTrace(warmup, { faults: Math.min(faults, 50_000), seed: 2 });
    const r = await replay({ kind: 'trace', path, records: w.records, warmup, reps });
    return { ...r, traceBytes: w.bytes, processes: w.processes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
