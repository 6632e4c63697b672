import { useEffect, useState } from 'react';
import type { ChecksStatus, EventRow, LogSummary, StepUnit, ViewData } from '../shared/protocol.js';

interface Props {
  summary: LogSummary;
  /** the syscall at this point, with its arguments, and the last checker findings */
  view: ViewData | null;
  checks: ChecksStatus | null;
  pos: number;
  pinned: number | null;
  last: EventRow | null;
  onPos(p: number): void;
  onStep(dir: 1 | -1, unit: StepUnit): void;
  onPin(): void;
}

const MAX_TICKS = 400;

/** The scrubber, step buttons and keys, jump to seq, violation marks. */
export function Timeline({ summary, view, checks, pos, pinned, last, onPos, onStep, onPin }: Props) {
  const N = summary.events;
  const [seqText, setSeqText] = useState('');

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' && (t as HTMLInputElement).type !== 'range')) return;
      if (t && (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
      const unit: StepUnit = e.ctrlKey || e.metaKey || e.altKey ? 'syscall' : e.shiftKey ? 'span' : 'event';
      if (e.key === 'ArrowLeft') onStep(-1, unit);
      else if (e.key === 'ArrowRight') onStep(1, unit);
      else if (e.key === 'Home') onPos(0);
      else if (e.key === 'End') onPos(N);
      else if (e.key === 'n') onStep(1, 'violation');
      else if (e.key === 'p') onStep(-1, 'violation');
      else if (e.key === 'a') onPin();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [N, onPos, onStep, onPin]);

  const ticks = summary.violations.length > MAX_TICKS ? summary.violations.filter((_, i) => i % Math.ceil(summary.violations.length / MAX_TICKS) === 0) : summary.violations;
  const pct = (p: number) => `${N ? (p / N) * 100 : 0}%`;

  const jump = () => {
    const s = Number(seqText.trim());
    if (seqText.trim() === '' || !Number.isFinite(s)) return;
    onPos(Math.max(0, Math.min(N - 1, Math.floor(s))) + 1);
  };

  return (
    <section className="timeline" data-testid="timeline">
      <div className="scrub">
        <div className="ticks" aria-hidden="true">
          {ticks.map((seq) => (
            <button
              type="button"
              key={seq}
              className="tick"
              style={{ left: pct(seq + 1) }}
              title={summary.violationReasons[seq] ?? `violation at seq ${seq}`}
              data-testid="violation-tick"
              onClick={() => onPos(seq + 1)}
            />
          ))}
          {pinned !== null && <div className="pinmark" style={{ left: pct(pinned) }} title={`pinned A at pos ${pinned}`} />}
        </div>
        <input
          type="range"
          min={0}
          max={N}
          step={1}
          value={pos}
          data-testid="scrubber"
          aria-label="position in the log"
          onChange={(e) => onPos(Number(e.target.value))}
        />
      </div>
      <div className="controls">
        <div className="group">
          <button type="button" onClick={() => onPos(0)} title="start (Home)" data-testid="to-start">
            « start
          </button>
          <button type="button" onClick={() => onStep(-1, 'syscall')} title="previous syscall (Ctrl+←)" data-testid="back-syscall">
            ◀ syscall
          </button>
          <button type="button" onClick={() => onStep(-1, 'span')} title="previous span boundary (Shift+←)" data-testid="back-span">
            ◀ span
          </button>
          <button type="button" onClick={() => onStep(-1, 'event')} title="previous event (←)" data-testid="back-event">
            ◀ event
          </button>
          <button type="button" onClick={() => onStep(1, 'event')} title="next event (→)" data-testid="fwd-event">
            event ▶
          </button>
          <button type="button" onClick={() => onStep(1, 'span')} title="next span boundary (Shift+→)" data-testid="fwd-span">
            span ▶
          </button>
          <button type="button" onClick={() => onStep(1, 'syscall')} title="next syscall (Ctrl+→)" data-testid="fwd-syscall">
            syscall ▶
          </button>
          <button type="button" onClick={() => onPos(N)} title="end (End)" data-testid="to-end">
            end »
          </button>
        </div>
        <div className="group">
          <span className="muted" data-testid="checks-status" data-finished={checks?.finished ? '1' : '0'}>
            {checks
              ? checks.finished
                ? `checkers: ${checks.count} violation${checks.count === 1 ? '' : 's'}`
                : `checkers: ${Math.floor((checks.done / Math.max(1, checks.total)) * 100)}%…`
              : 'checkers: starting…'}
          </span>
          <button type="button" onClick={() => onStep(-1, 'violation')} title="previous violation (p)" data-testid="prev-violation" disabled={!summary.violations.length}>
            ◀ violation
          </button>
          <button type="button" onClick={() => onStep(1, 'violation')} title="next violation (n)" data-testid="next-violation" disabled={!summary.violations.length}>
            violation ▶
          </button>
        </div>
        <form
          className="group"
          onSubmit={(e) => {
            e.preventDefault();
            jump();
          }}
        >
          <label>
            seq{' '}
            <input
              type="number"
              min={0}
              max={Math.max(0, N - 1)}
              value={seqText}
              placeholder="jump to seq"
              data-testid="jump-seq"
              onChange={(e) => setSeqText(e.target.value)}
            />
          </label>
          <button type="submit" data-testid="jump-go">
            Go
          </button>
        </form>
        <div className="group">
          <button type="button" onClick={onPin} data-testid="pin" className={pinned !== null ? 'active' : ''} title="pin this point as A (a)">
            {pinned === null ? 'Pin A here' : `Unpin A (${pinned})`}
          </button>
        </div>
        <div className="where">
          pos <b data-testid="position">{pos}</b> / <span data-testid="position-max">{N}</span>
          {last ? (
            <span className="last" data-testid="current-event">
              {' '}
              · after seq {last.seq} <b>{last.type}</b> <span className="muted">task {last.task}</span> <span className="fields">{last.fields}</span>
            </span>
          ) : pos === 0 ? (
            <span className="last muted"> · empty state (no event applied)</span>
          ) : null}
        </div>
      </div>
      <div className="syscall" data-testid="current-syscall">
        {view?.syscall ? (
          <>
            in <b>{view.syscall.name}</b> <span className="muted">(task {view.syscall.task}, span {view.syscall.span}, from seq {view.syscall.seq})</span>{' '}
            <span className="mono args" data-testid="syscall-args">
              {view.syscall.args || 'no recorded arguments'}
            </span>
          </>
        ) : (
          <span className="muted">between syscalls</span>
        )}
        {view && view.findings.length > 0 && view.findings[0].seq === pos - 1 && (
          <span className="bad" data-testid="finding-here">
            {' '}
            ✖ [{view.findings[0].checker}] {view.findings[0].message}
          </span>
        )}
      </div>
    </section>
  );
}
