/**
 * Runs a simulator session in a fresh Node process (through tsx, the packages are
 * source-first): its heap, GC and resident memory are the session's alone.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SimJob, SimResult } from './sim.js';
import type { SplitJob, SplitResult } from './splits.js';
import type { ExploreBench, ExploreJob } from './explore.js';
import type { TraceJob, TraceReplayResult } from './trace.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WORKER = join(HERE, 'worker.ts');

/** file: URL of tsx's loader (what `node --import tsx` loads), found from this package. */
export function tsxLoader(): string {
  const req = createRequire(import.meta.url);
  return pathToFileURL(join(dirname(req.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
}

export interface ChildOptions {
  /** extra node flags (e.g. --cpu-prof) */
  nodeArgs?: string[];
  /** V8 old-space limit in MiB (default 8192: a 10M-event session keeps ~1-2 GiB) */
  maxOldSpaceMiB?: number;
  onProgress?: (phase: string, done: number, total: number) => void;
  /** stderr lines that are not progress */
  onStderr?: (line: string) => void;
}

export function runSimChild(job: SimJob, opts: ChildOptions = {}): Promise<SimResult> {
  return runWorker<SimResult>(job, `simulator session (${job.mib} MiB)`, opts);
}

/** The splitGrowth measurement (splits.ts) in a fresh Node process. */
export function runSplitChild(job: SplitJob, opts: ChildOptions = {}): Promise<SplitResult> {
  return runWorker<SplitResult>(job, 'splitGrowth session', opts);
}

/** The exploreSchedulesPerSec measurement (explore.ts) in a fresh Node process. */
export function runExploreChild(job: ExploreJob, opts: ChildOptions = {}): Promise<ExploreBench> {
  return runWorker<ExploreBench>(job, 'explore session', opts);
}

/** The trace replay (trace.ts) in a fresh Node process: its peak RSS is the replay's alone. */
export function runTraceChild(job: TraceJob, opts: ChildOptions = {}): Promise<Omit<TraceReplayResult, 'traceBytes' | 'processes'>> {
  return runWorker(job, 'trace replay session', opts);
}

function runWorker<T>(job: SimJob | SplitJob | ExploreJob | TraceJob, what: string, opts: ChildOptions): Promise<T> {
  const args = [
    '--expose-gc',
    `--max-old-space-size=${opts.maxOldSpaceMiB ?? 8192}`,
    ...(opts.nodeArgs ?? []),
    '--import',
    tsxLoader(),
    WORKER,
    JSON.stringify(job),
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    let errBuf = '';
    const errLines: string[] = [];
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stdout.on('data', (s: string) => (out += s));
    p.stderr.on('data', (s: string) => {
      errBuf += s;
      let nl: number;
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        const line = errBuf.slice(0, nl);
        errBuf = errBuf.slice(nl + 1);
        if (line.startsWith('@@progress ')) {
          const o = JSON.parse(line.slice(11)) as { phase: string; done: number; total: number };
          opts.onProgress?.(o.phase, o.done, o.total);
        } else {
          errLines.push(line);
          opts.onStderr?.(line);
        }
      }
    });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${what} failed (${signal ?? `exit ${code}`}):\n${errLines.slice(-30).join('\n')}${errBuf}`));
        return;
      }
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as T);
      } catch (e) {
        reject(new Error(`${what} printed no result: ${(e as Error).message}\n${out.slice(-2000)}`));
      }
    });
  });
}
