import type { ViewData } from '../shared/protocol.js';
import { lockMode, taskColour } from './format.js';

interface Props {
  view: ViewData | null;
  pos: number;
  window: number;
  onWindow(w: number): void;
  onPos(p: number): void;
}


/** Locks held per task now, and a lane chart of lock holds around this point. */
export function Locks({ view, pos, window: win, onWindow, onPos }: Props) {
  const lanes = view?.lanes;
  const span = lanes ? Math.max(1, lanes.to - lanes.from) : 1;
  const pct = (p: number) => ((p - (lanes?.from ?? 0)) / span) * 100;
  const tasks = view?.tasks ?? [];
  return (
    <>
      <h2>
        Tasks &amp; locks <span className="muted">{view ? `${view.locks.length} held` : ''}</span>
      </h2>
      <table className="tasks">
        <thead>
          <tr>
            <th>task</th>
            <th>open spans</th>
            <th>locks held</th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((t) => (
            <tr key={t.task} data-testid="task-row" data-task={t.task} className={view?.task === t.task ? 'running' : ''}>
              <td>
                <span className="swatch" style={{ background: taskColour(t.task) }} />
                {t.task}
                {view?.task === t.task ? <span className="tag">running</span> : null}
              </td>
              <td className="mono">{t.spans.length ? t.spans.map((s) => s.name).join(' › ') : <span className="muted">idle</span>}</td>
              <td>
                {t.locks.length === 0 && <span className="muted">none</span>}
                {t.locks.map((l) => (
                  <span key={l.lock} className="chip lock" data-testid="held-lock" data-lock={l.lock} data-task={t.task}>
                    {l.lock} <span className="muted">{lockMode(l.mode, l.kind)}</span>
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="lanehead">
        lock holds, positions {lanes?.from ?? 0}–{lanes?.to ?? 0}
        <button type="button" onClick={() => onWindow(Math.max(16, Math.floor(win / 2)))} title="zoom in">
          +
        </button>
        <button type="button" onClick={() => onWindow(Math.min(1 << 24, win * 2))} title="zoom out">
          −
        </button>
        {lanes?.truncated ? <span className="muted"> (truncated)</span> : null}
      </div>
      <div
        className="lanes"
        data-testid="lock-lanes"
        onClick={(e) => {
          if (!lanes) return;
          const track = (e.currentTarget as HTMLDivElement).querySelector('.lanetrack');
          if (!track) return;
          const r = track.getBoundingClientRect();
          if (e.clientX < r.left) return;
          onPos(Math.round(lanes.from + ((e.clientX - r.left) / r.width) * span));
        }}
      >
        {lanes && lanes.lanes.length === 0 && <div className="muted lanenone">no lock held in this window</div>}
        {lanes?.lanes.map((name) => (
          <div key={name} className="lane">
            <div className="lanelabel" title={name}>
              {name}
            </div>
            <div className="lanetrack">
              {lanes.intervals
                .filter((iv) => iv.lock === name)
                .map((iv, k) => {
                  const a = Math.max(0, pct(iv.start + 1));
                  const b = Math.min(100, pct(iv.end + 1));
                  return (
                    <div
                      key={k}
                      className={`hold${iv.mode === 1 ? ' shared' : ''}`}
                      style={{ left: `${a}%`, width: `max(2px, ${Math.max(0, b - a)}%)`, background: taskColour(iv.task) }}
                      title={`${iv.lock} held by task ${iv.task} (${iv.mode === 1 ? 'read' : 'write'}), seq ${iv.start}–${iv.end}`}
                      data-testid="lane-hold"
                      data-task={iv.task}
                    />
                  );
                })}
            </div>
          </div>
        ))}
        {lanes && (
          <div className="lane axisrow">
            <div className="lanelabel muted">{lanes.from}</div>
            <div className="lanetrack axis">
              <span className="muted">{lanes.to}</span>
            </div>
          </div>
        )}
        {lanes && <div className="lanecursor" style={{ left: `calc(var(--label-w) + (100% - var(--label-w)) * ${pct(pos) / 100})` }} />}
      </div>
    </>
  );
}
