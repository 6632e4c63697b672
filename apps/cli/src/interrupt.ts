/**
 * Ctrl-C and `kill` during a run. The first SIGINT or SIGTERM asks the run to stop; the
 * partial log is kept and the exit code is 128 + the signal number. A second signal
 * ends the process at once.
 *
 * A long step is one synchronous stretch of JavaScript: a signal handler on the thread
 * that runs it would only run when the step ends. So the commands that run steps (run,
 * trace, explore) run in a worker thread (worker.ts) while the main thread keeps its event loop free: it takes
 * the signals, sets a shared flag the worker reads (an Atomics load, no allocation), and
 * exits at once on a second one. The engine looks at the flag every few thousand events
 * (interruptEvents), between steps and between schedules too.
 */
import { isInstance } from '@mmsim/core';
import { workerData } from 'node:worker_threads';
import { CliError, EXIT } from './context.js';

export class InterruptedError extends CliError {
  override name = 'InterruptedError';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`, signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);
  }
}

export interface SignalWatch {
  /** the signal that arrived, as the error that stops the run */
  reason(): InterruptedError | undefined;
  dispose(): void;
}

/** Signal numbers as the shared flag holds them (0: none yet). */
export const SIGNO = { SIGINT: 2, SIGTERM: 15 } as const;

/** The flag the main thread sets when this command runs in mmsim's worker (worker.ts), else undefined. */
const shared: Int32Array | undefined = (workerData as { mmsim?: { signal?: Int32Array } } | null)?.mmsim?.signal;

/** The signal the shared flag says arrived (first one wins). */
function flagged(flag: Int32Array): InterruptedError | undefined {
  const n = Atomics.load(flag, 0);
  return n === 0 ? undefined : new InterruptedError(n === SIGNO.SIGTERM ? 'SIGTERM' : 'SIGINT');
}

/** Watch SIGINT and SIGTERM until dispose(): through the main thread's flag in the worker, else with handlers of our own. */
export function watchSignals(): SignalWatch {
  if (shared) {
    const flag = shared;
    return { reason: () => flagged(flag), dispose: () => {} };
  }
  let got: InterruptedError | undefined;
  const handlers = new Map<NodeJS.Signals, () => void>();
  const dispose = () => {
    for (const [sig, h] of handlers) process.off(sig, h);
    handlers.clear();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const h = () => {
      got ??= new InterruptedError(sig);
      // the next one is not ours: the default action ends the process
      dispose();
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
  return { reason: () => got, dispose };
}

/** Events between two looks at the flag: a look is one Atomics load, and 4096 events take a few ms. */
export const CHECK_EVERY = 4096;

/**
 * Stop a run from inside a step: every CHECK_EVERY events the engine emits, `stop()` is
 * asked and what it returns is thrown (the step is rolled back, as for a failing
 * plugin, and the run ends with that error). Returns the detach function.
 */
export function interruptEvents(eng: { onRaw(fn: () => void): () => void }, stop: () => Error | undefined): () => void {
  let n = 0;
  return eng.onRaw(() => {
    if (++n < CHECK_EVERY) return;
    n = 0;
    const e = stop();
    if (e) throw e;
  });
}

/** The InterruptedError (or other CLI error: a full disk) behind `e`, wrapped as it may be in a step's or a plugin's error. */
export function interruption(e: unknown): CliError | undefined {
  // what a plugin threw may be a Proxy whose traps throw: look without trusting it
  try {
    for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) if (isInstance(c, CliError)) return c;
  } catch {
    // a `cause` getter that throws: not one of ours
  }
  return undefined;
}
