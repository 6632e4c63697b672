/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (never into
 * stdout, never into --json output). Redraws at most every 1% (or when its note changes,
 * at most every NOTE_MS) and clears itself. `followProgress` draws one from an RxJS
 * stream of progress (a run's steps joined with its engine's chunks$).
 */
import type { Observable, Subscription } from 'rxjs';
import type { CliContext } from './context.js';

export interface Progress {
  /** `note`: what follows the counts (e.g. "40,960 events") */
  update(done: number, total?: number, note?: string): void;
  done(): void;
}

/** One value of a progress stream. */
export interface ProgressValue {
  done: number;
  total: number;
  note?: string;
}

const NOTE_MS = 100;

const NOOP: Progress = { update() {}, done() {} };

export function progress(ctx: CliContext, label: string, total: number, minTotal = 1): Progress {
  if (!ctx.progress || total < minTotal) return NOOP;
  let last = -1;
  let tot = total;
  let shownNote = '';
  let noteAt = 0;
  const width = 30;
  const draw = (done: number, note = shownNote) => {
    const frac = tot > 0 ? Math.min(1, done / tot) : 1;
    const pct = Math.floor(frac * 100);
    if (pct === last && (note === shownNote || Date.now() - noteAt < NOTE_MS)) return;
    last = pct;
    if (note !== shownNote) noteAt = Date.now();
    shownNote = note;
    const fill = Math.round(frac * width);
    // \x1b[K: a shorter note leaves nothing of the longer one
    ctx.err(`\r${label} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${String(pct).padStart(3)}% ${done}/${tot}${note ? ` · ${note}` : ''}${note ? '\x1b[K' : ''}`);
  };
  return {
    update(done, t, note) {
      if (t !== undefined) tot = t;
      draw(done, note);
    },
    done() {
      if (last >= 0) ctx.err('\r\x1b[2K');
    },
  };
}

/** A bar following `progress$`: drawn on each value, cleared when the stream ends. */
export function followProgress(ctx: CliContext, label: string, progress$: Observable<ProgressValue>, minTotal = 1): Subscription {
  let bar: Progress | null = null;
  const clear = () => bar?.done();
  return progress$.subscribe({
    next: (v) => {
      bar ??= progress(ctx, label, v.total, minTotal);
      bar.update(v.done, v.total, v.note);
    },
    complete: clear,
    error: clear,
  });
}
