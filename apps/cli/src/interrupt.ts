/**
 * Ctrl-C and `kill` during a run: the first SIGINT or SIGTERM asks the run to stop at
 * the next step (the run gives the event loop a turn every 50 ms, so the handler does
 * run); the partial log is kept and the exit code is 128 + the signal number. A second
 * signal ends the process at once, as without mmsim's handler.
 */
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

/** Watch SIGINT and SIGTERM until dispose(). */
export function watchSignals(): SignalWatch {
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
