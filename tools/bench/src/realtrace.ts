/**
 * `realTrace`: the trace replay timed on a real recording, beside the synthetic one.
 * With root, perf, gcc and python3 here, `mmsim record` records a python program that
 * writes one byte a page into 64 MiB bytearrays and drops them (a fault-heavy program
 * with a real interpreter's layout: ~100 file mappings, its heap, its arenas); the trace
 * is replayed exactly as the synthetic one (a fresh process, a warm-up, the best of
 * `reps`). Where it cannot record, the row says why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceJob, TraceReplayResult } from './trace.js';

export type RealTraceResult = (Omit<TraceReplayResult, 'processes'> & { command: string[]; recordMs: number }) | { skipped: string };

/** the program: `faults` page writes (at least one round of up to 64 MiB) */
const PROGRAM = [
  'import sys',
  'n = int(sys.argv[1])',
  'pages = min(n, 16384)',
  'for _ in range(-(-n // pages)):',
  '    b = bytearray(pages * 4096)',
  "    b[::4096] = b'x' * pages",
  '    del b',
].join('\n');

/** why recording cannot run here, or null */
function cannotRecord(): string | null {
  if (process.platform !== 'linux') return 'recording needs Linux';
  if (process.getuid?.() !== 0) return 'recording needs root (perf tracepoints, ptrace, /proc/PID/pagemap)';
  if (spawnSync('perf', ['--version']).status !== 0) return 'perf is not installed (Debian: linux-perf)';
  return null;
}

export async function benchRealTraceReplay(
  faults: number,
  replay: (job: TraceJob) => Promise<Omit<TraceReplayResult, 'traceBytes' | 'processes'>>,
  tmpDir?: string,
  reps = 3,
): Promise<RealTraceResult> {
  const why = cannotRecord();
  if (why) return { skipped: why };
  const py = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (py.status !== 0 || !py.stdout.trim()) return { skipped: 'python3 is not installed' };
  const { record, writeSyntheticTrace } = await import('@mmsim/record');
  const dir = mkdtempSync(join(tmpDir ?? tmpdir(), 'mmsim-bench-realtrace-'));
  try {
    const path = join(dir, 'python.trace');
    const command = [py.stdout.trim(), '-c', PROGRAM, String(faults)];
    const t0 = performance.now();
    let rec;
    try {
      rec = await record(command, path, { stdio: 'ignore' });
    } catch (e) {
      return { skipped: `mmsim record failed: ${(e as Error).message}` };
    }
    const recordMs = Math.round(performance.now() - t0);
    if (rec.exitCode !== 0) return { skipped: `the recorded program exited ${rec.exitCode}` };
    const warmup = join(dir, 'warmup.trace');
    writeSyntheticTrace(warmup, { faults: Math.min(faults, 50_000), seed: 2 });
    const r = await replay({ kind: 'trace', path, records: rec.stats.records, warmup, reps });
    return { ...r, traceBytes: statSync(path).size, command, recordMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
