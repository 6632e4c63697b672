/**
 * `traceReplayFaultsPerSec`, `traceReplayPeakRssMiB`: `mmsim trace` on a long
 * recording. The parent writes a synthetic mmsim-trace/1 of N faults (@mmsim/record
 * writeSyntheticTrace: workers mapping, faulting, mremapping, protecting, dropping and
 * unmapping regions, a fork child now and then); a fresh process replays it with
 * replayTrace, the function `mmsim trace` runs, under the stock policy and without
 * --log. Faults per second of process CPU time (and of the wall clock), and the peak
 * resident memory of that process (getrusage's ru_maxrss, plus RSS sampled as the
 * records go by: what the replay keeps must not grow with the trace).
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
}

export interface TraceReplayResult {
  faults: number;
  records: number;
  events: number;
  agree: boolean;
  cpuMs: number;
  wallMs: number;
  /** faults ÷ CPU seconds of the replay */
  faultsPerSec: number;
  faultsPerSecWall: number;
  /** ru_maxrss of the replaying process, MiB */
  peakRssMiB: number;
  /** RSS sampled every 65,536 records: the first sample past a quarter of the trace and the last (MiB) */
  rssQuarterMiB: number;
  rssEndMiB: number;
  /** bytes and processes of the trace */
  traceBytes: number;
  processes: number;
}

/** In the child: replay the trace as `mmsim trace FILE` does, timed. */
export async function runTraceReplay(job: TraceJob, progress: (phase: string, done: number, total: number) => void = () => {}): Promise<Omit<TraceReplayResult, 'traceBytes' | 'processes'>> {
  const { replayTrace } = await import('@mmsim/record');
  const samples: number[] = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { report } = await replayTrace(job.path, {
    policy: 'stock',
    onProgress: (n) => {
      samples.push(process.memoryUsage.rss());
      progress('replay', n, job.records);
    },
  });
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  const mib = (b: number) => round(b / 2 ** 20, 1);
  return {
    faults: report.faults,
    records: report.records,
    events: report.events,
    agree: report.agree,
    cpuMs: round(cpuMs),
    wallMs: round(wallMs),
    faultsPerSec: Math.round(report.faults / (cpuMs / 1000)),
    faultsPerSecWall: Math.round(report.faults / (wallMs / 1000)),
    peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
    rssQuarterMiB: mib(samples[Math.floor(samples.length / 4)] ?? 0),
    rssEndMiB: mib(samples[samples.length - 1] ?? 0),
  };
}

/**
 * In the parent: write the synthetic trace into a temporary directory, replay it in a
 * fresh process (`replay` runs the child), remove the trace.
 */
export async function benchTraceReplay(
  faults: number,
  replay: (job: TraceJob) => Promise<Omit<TraceReplayResult, 'traceBytes' | 'processes'>>,
  tmpDir?: string,
): Promise<TraceReplayResult> {
  const { writeSyntheticTrace } = await import('@mmsim/record');
  const dir = mkdtempSync(join(tmpDir ?? tmpdir(), 'mmsim-bench-trace-'));
  try {
    const path = join(dir, 'synthetic.trace');
    const w = writeSyntheticTrace(path, { faults });
    const r = await replay({ kind: 'trace', path, records: w.records });
    return { ...r, traceBytes: w.bytes, processes: w.processes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
