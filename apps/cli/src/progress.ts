/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (never into
 * stdout, never into --json output). Redraws at most every 1% and clears itself.
 */
import type { CliContext } from './context.js';

export interface Progress {
  update(done: number, total?: number): void;
  done(): void;
}

const NOOP: Progress = { update() {}, done() {} };

export function progress(ctx: CliContext, label: string, total: number, minTotal = 1): Progress {
  if (!ctx.progress || total < minTotal) return NOOP;
  let last = -1;
  let tot = total;
  const width = 30;
  const draw = (done: number) => {
    const frac = tot > 0 ? Math.min(1, done / tot) : 1;
    const pct = Math.floor(frac * 100);
    if (pct === last) return;
    last = pct;
    const fill = Math.round(frac * width);
    ctx.err(`\r${label} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${String(pct).padStart(3)}% ${done}/${tot}`);
  };
  return {
    update(done, t) {
      if (t !== undefined) tot = t;
      draw(done);
    },
    done() {
      if (last >= 0) ctx.err('\r\x1b[2K');
    },
  };
}
