import { memo } from 'react';
import type { HistoryResult } from '../shared/protocol.js';
import { taskColour } from './format.js';

interface Props {
  history: HistoryResult | null;
  loading: string;
  pos: number;
  onPos(p: number): void;
  onClose(): void;
}

/**
 * Provenance of one value: every event that wrote it, with task and span; the last
 * writer before the current point is marked, and a click goes to just after a writer.
 */
export const HistoryPanel = memo(function HistoryPanel({ history: h, loading, pos, onPos, onClose }: Props) {
  if (!h && !loading) return null;
  let last = -1;
  if (h) for (const r of h.rows) if (r.seq < pos) last = r.seq;
  return (
    <section className="panel wide history" data-testid="panel-history" data-target={h ? JSON.stringify(h.target) : ''}>
      <h2>
        Provenance{' '}
        <span data-testid="history-label">{h ? h.label : loading}</span>
        {h && (
          <span className="muted" data-testid="history-total">
            {h.total} writer{h.total === 1 ? '' : 's'} in the log{h.total > h.rows.length ? ` (first ${h.rows.length} listed)` : ''} · scanned in {Math.round(h.ms)} ms
          </span>
        )}
        {h && last >= 0 && (
          <button type="button" data-testid="history-jump-last" onClick={() => onPos(last + 1)} title="go to just after the last writer before this point">
            ⤺ last writer before here (seq {last})
          </button>
        )}
        <button type="button" className="close" onClick={onClose} data-testid="history-close" title="close">
          ✕
        </button>
      </h2>
      {h && h.rows.length === 0 && <div className="muted">no event in the log writes it</div>}
      {h && h.rows.length > 0 && (
        <div className="scrollbox short">
          <table className="hist">
            <thead>
              <tr>
                <th>seq</th>
                <th>task</th>
                <th>span</th>
                <th>event</th>
                <th>fields</th>
              </tr>
            </thead>
            <tbody>
              {h.rows.map((r) => (
                <tr
                  key={r.seq}
                  data-testid="history-row"
                  data-seq={r.seq}
                  className={`${r.seq === last ? 'current' : ''}${r.seq >= pos ? ' future' : ''}`}
                  onClick={() => onPos(r.seq + 1)}
                  title="go to just after this write"
                >
                  <td className="mono">{r.seq}</td>
                  <td>
                    <span className="swatch" style={{ background: taskColour(r.task) }} />
                    {r.task}
                  </td>
                  <td className="mono">{r.span ? `${r.span} ${r.spanName}` : ''}</td>
                  <td className="mono">{r.type}</td>
                  <td className="mono fields">{r.fields}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
});
