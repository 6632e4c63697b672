import { memo } from 'react';
import type { AvNode, HistoryTarget, ViewData } from '../shared/protocol.js';
import { rootColour } from './format.js';
import { Val } from './Val.js';

type OnHistory = (t: HistoryTarget) => void;

function Node({ n, kids, onHistory }: { n: AvNode; kids: Map<number, AvNode[]>; onHistory: OnHistory }) {
  const children = kids.get(n.id) ?? [];
  return (
    <li>
      <div className={`avnode${n.id === n.root ? ' root' : ''}`} data-testid="av-node" data-av={n.id} data-root={n.root}>
        <span className="swatch" style={{ background: rootColour(n.root) }} />
        <Val onClick={() => onHistory({ kind: 'anon-vma', id: n.id })} title={`every event of anon_vma ${n.id}`} testid="val-av">
          <b>anon_vma {n.id}</b>
        </Val>
        {n.id === n.root ? <span className="tag">root</span> : <span className="muted"> parent {n.parent} · root {n.root}</span>}
        <span className="kv">
          refcount <b>{n.refcount}</b>
        </span>
        <span className="kv">
          num_children <b>{n.numChildren}</b>
        </span>
        <span className="kv">
          num_active_vmas <b>{n.numActiveVmas}</b>
        </span>
        <span className="kv" data-testid="av-vmas">
          AVCs: {n.vmas.length ? n.vmas.map((v) => `vma ${v}`).join(', ') : 'none'}
        </span>
      </div>
      {children.length > 0 && (
        <ul>
          {children.map((c) => (
            <Node key={c.id} n={c} kids={kids} onHistory={onHistory} />
          ))}
        </ul>
      )}
    </li>
  );
}

const MAX_NODES = 150;

/** The anon_vma forest: trees by parent, one colour per root. */
export const Forest = memo(function Forest({ view, onHistory }: { view: ViewData | null; onHistory: OnHistory }) {
  // the DOM stays small while scrubbing: the first MAX_NODES in tree order
  const nodes = (view?.anonVmas ?? []).slice(0, MAX_NODES);
  const ids = new Set(nodes.map((n) => n.id));
  const kids = new Map<number, AvNode[]>();
  const roots: AvNode[] = [];
  for (const n of nodes) {
    if (n.parent && n.parent !== n.id && ids.has(n.parent)) {
      const l = kids.get(n.parent) ?? [];
      l.push(n);
      kids.set(n.parent, l);
    } else roots.push(n);
  }
  return (
    <>
      <h2>
        anon_vma forest{' '}
        <span className="muted" data-testid="av-count">
          {view ? `${view.anonVmaTotal} anon_vmas · ${view.counts.avcs} AVCs${view.anonVmaTotal > nodes.length ? ` · first ${nodes.length} shown` : ` · ${roots.length} trees`}` : ''}
        </span>
      </h2>
      <div className="scrollbox">
        {view && nodes.length === 0 && <div className="muted">no anon_vma</div>}
        <ul className="forest">
          {roots.map((r) => (
            <Node key={r.id} n={r} kids={kids} onHistory={onHistory} />
          ))}
        </ul>
        {view && view.anonVmaTotal > nodes.length && <div className="muted">… {view.anonVmaTotal - nodes.length} more anon_vmas</div>}
      </div>
    </>
  );
});
