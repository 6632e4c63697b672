/**
 * The commands whose steps run long (run, trace, explore) in a worker thread, the
 * main thread left free for the signals (see interrupt.ts): the first SIGINT or SIGTERM
 * sets the shared flag the worker's run polls; a second one exits at once with 128 + its
 * number, whatever the worker is doing. The worker writes to this process's stdout and
 * stderr and hands back its exit code.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { EXIT } from './context.js';
import { SIGNO } from './interrupt.js';

// fuzz awaits the kernel oracle between short simulator runs: its own thread's loop
// turns often enough for a handler (commands/fuzz.ts)
const LONG = new Set(['run', 'trace', 'explore']);

interface WorkerInput {
  argv: string[];
  signal: Int32Array;
  progress: boolean;
  columns?: number;
}

/** Should `argv` run in a worker? (`MMSIM_NO_WORKER=1` runs everything on the main thread.) */
export function wantsWorker(argv: readonly string[]): boolean {
  return isMainThread && LONG.has(argv[0]) && process.env.MMSIM_NO_WORKER !== '1';
}

/** This thread is mmsim's worker: the command it was started with, else null. */
export function workerInput(): WorkerInput | null {
  return isMainThread ? null : ((workerData as { mmsim?: WorkerInput } | null)?.mmsim ?? null);
}

/** Hand the exit code back to the main thread. */
export function reportExit(code: number): void {
  parentPort!.postMessage({ mmsimExit: code });
}

/**
 * Run `argv` in a worker started from `entry` (the bin script: it loads the same code,
 * TypeScript sources through tsx or dist/), relaying signals. Resolves to the exit code.
 */
export function runInWorker(entry: URL, argv: readonly string[]): Promise<number> {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const input: WorkerInput = { argv: [...argv], signal, progress: !!process.stderr.isTTY, columns: process.stdout.isTTY ? process.stdout.columns : undefined };
  const worker = new Worker(entry, { workerData: { mmsim: input }, argv: [...argv] });
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    // a second signal: the user means it, end now (the worker's partial log stays on disk)
    if (Atomics.compareExchange(signal, 0, 0, SIGNO[sig]) !== 0) process.exit(128 + SIGNO[sig]);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let code: number | undefined;
  worker.on('message', (m: { mmsimExit?: number }) => {
    if (typeof m?.mmsimExit === 'number') code = m.mmsimExit;
  });
  return new Promise((done) => {
    worker.on('error', (e) => {
      process.stderr.write(`mmsim: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      code = EXIT.INTERNAL;
    });
    worker.on('exit', () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      done(code ?? EXIT.INTERNAL);
    });
  });
}
