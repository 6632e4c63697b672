import { Fragment, memo } from 'react';
import type { HistoryTarget, LockInterval, ViewData } from '../shared/protocol.js';
import { lockMode, taskColour } from './format.js';
import { Val } from './Val.js';

interface Props {
  /** the view drawn (its pos is the cursor's) */
  view: ViewData | null;
  window: number;
  onWindow(w: number): void;
  onPos(p: number): void;
  onHistory(t: HistoryTarget): void;
  /** what each task runs (LogSummary.taskNames) */
  names: Record<number, string>;
}

/** The window's positions -> percent of the track. */
function scaleOf(from: number, to: number) {
  const span = Math.max(1, to - from);
  return (p: number) => ((p - from) / span) * 100;
}

/**
 * One track per task: its spans in the window, nested by depth (a row per depth). Bars are
 * keyed by their slot, not their span: a seek rewrites a few attributes of the same
 * elements instead of replacing them all.
 */
function TaskTracks({ view, onPos, names }: { view: ViewData; onPos(p: number): void; names: Record<number, string> }) {
  const t = view.tracks;
  const pct = scaleOf(t.from, t.to);
  return (
    <div className="tracks" data-testid="task-tracks">
      {t.tasks.map((task) => {
        const bars = t.bars.filter((b) => b.task === task);
        const depth = bars.reduce((d, b) => Math.max(d, b.depth + 1), 1);
        return (
          <div key={task} className="lane tasktrack" data-testid="task-track" data-task={task}>
            <div className="lanelabel">
              <span className="swatch" style={{ background: taskColour(task) }} />
              <TaskName task={task} names={names} />
            </div>
            <div className="lanetrack" style={{ height: `${Math.min(8, depth) * 13 + 2}px` }}>
              {bars.map((b, k) => {
                const a = Math.max(0, pct(b.start));
                const e = Math.min(100, pct(b.end + 1));
                return (
                  <div
                    key={k}
                    className={`spanbar${b.result && b.result < 0 ? ' failed' : ''}`}
                    style={{ left: `${a}%`, width: `max(2px, ${Math.max(0, e - a)}%)`, top: `${Math.min(7, b.depth) * 13}px`, borderColor: taskColour(task) }}
                    title={`${b.name} (span ${b.id}, task ${task}) seq ${b.start}–${b.end}${b.result ? ` → ${b.result}` : ''}`}
                    data-testid="span-bar"
                    data-span={b.id}
                    data-depth={b.depth}
                    onClick={(ev) => {
                      ev.stopPropagation();
                      onPos(b.start + 1);
                    }}
                  >
                    {b.name}
                  </div>
                );
              })}
            </div>
          </div>
        );
      })}
    </div>
  );
}

/**
 * Locks held per task now, task tracks, and a lane chart of lock holds around this point.
 * Memoised: it draws the view only, so a seek renders it once, when its view is here.
 */
/** "task 100" and, where the log says what it runs, its ops: "mremap" */
function TaskName({ task, names, bare = false }: { task: number; names: Record<number, string>; bare?: boolean }) {
  const name = names[task];
  return (
    <>
      {bare ? task : `task ${task}`}
      {name ? (
        <span className="taskname" data-testid="task-name">
          {' '}
          {name}
        </span>
      ) : null}
    </>
  );
}

export const Locks = memo(function Locks({ view, window: win, onWindow, onPos, onHistory, names }: Props) {
  const pos = view?.pos ?? 0;
  const lanes = view?.lanes;
  const pct = scaleOf(lanes?.from ?? 0, lanes?.to ?? 1);
  const span = lanes ? Math.max(1, lanes.to - lanes.from) : 1;
  const tasks = view?.tasks ?? [];
  const byLane = new Map<string, LockInterval[]>();
  for (const iv of lanes?.intervals ?? []) {
    const l = byLane.get(iv.lane) ?? [];
    l.push(iv);
    byLane.set(iv.lane, l);
  }
  let lastCls = '';
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
                <TaskName task={t.task} names={names} bare />
                {view?.task === t.task ? <span className="tag">running</span> : null}
              </td>
              <td className="mono">
                {t.spans.length ? (
                  t.spans.map((s, i) => (
                    <Fragment key={s.id}>
                      {i ? ' › ' : ''}
                      {s.name}
                      {s.args ? <span className="args" data-testid="span-args"> {s.args}</span> : null}
                    </Fragment>
                  ))
                ) : (
                  <span className="muted">idle</span>
                )}
              </td>
              <td>
                {t.locks.length === 0 && <span className="muted">none</span>}
                {t.locks.map((l) => (
                  <span key={l.lock} className="chip lock" data-testid="held-lock" data-lock={l.lock} data-task={t.task}>
                    <Val onClick={() => onHistory({ kind: 'lock', name: l.lock })} title={`every acquire and release of ${l.lock}`} testid="val-lock">
                      {l.lock}
                    </Val>{' '}
                    <span className="muted">{lockMode(l.mode, l.kind)}</span>
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="lanehead">
        spans and lock holds, positions {lanes?.from ?? 0}–{lanes?.to ?? 0}
        <button type="button" onClick={() => onWindow(Math.max(16, Math.floor(win / 2)))} title="zoom in" data-testid="lanes-zoom-in">
          +
        </button>
        <button type="button" onClick={() => onWindow(Math.min(1 << 24, win * 2))} title="zoom out" data-testid="lanes-zoom-out">
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
        {view && <TaskTracks view={view} onPos={onPos} names={names} />}
        {lanes && lanes.lanes.length === 0 && <div className="muted lanenone">no lock held in this window</div>}
        {lanes?.lanes.map((lane) => {
          const head = lane.cls !== lastCls;
          lastCls = lane.cls;
          const n = lanes.lanes.filter((l) => l.cls === lane.cls).length;
          return (
            <Fragment key={lane.key}>
              {head && (
                <div className="lanecls" data-testid="lock-class" data-cls={lane.cls}>
                  {lane.cls} <span className="muted">({n} lane{n === 1 ? '' : 's'})</span>
                </div>
              )}
              <div className="lane" data-testid="lock-lane" data-lane={lane.key}>
                <div className="lanelabel" title={lane.key}>
                  {lane.key}
                  {lane.count > 1 ? <span className="muted" data-testid="lane-count"> ×{lane.count}</span> : null}
                </div>
                <div className="lanetrack">
                  {(byLane.get(lane.key) ?? []).map((iv, k) => {
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
            </Fragment>
          );
        })}
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
});
