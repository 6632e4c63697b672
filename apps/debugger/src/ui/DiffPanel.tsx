import { memo } from 'react';
import type { DiffSummary } from '../shared/protocol.js';
import { hexAddr } from './format.js';

/** Ids (a sample of at most 40 shown) of a set of `total` objects: "… (+k)" counts the real rest. */
function Ids({ ids, label, total = ids.length }: { ids: number[]; label: string; total?: number }) {
  if (!total) return null;
  const shown = ids.slice(0, 40);
  return (
    <span className="ids" data-testid={`ids-${label}`} data-total={total}>
      {label}: {shown.join(', ')}
      {total > shown.length ? ` … (+${(total - shown.length).toLocaleString('en-US')})` : ''}
    </span>
  );
}

function Row({ name, d }: { name: string; d: { added: number[]; removed: number[]; changed: number[] } }) {
  return (
    <tr data-testid={`diff-${name}`}>
      <th>{name}</th>
      <td className="add">+{d.added.length}</td>
      <td className="rem">−{d.removed.length}</td>
      <td className="chg">~{d.changed.length}</td>
      <td>
        <Ids ids={d.added} label="added" /> <Ids ids={d.removed} label="removed" /> <Ids ids={d.changed} label="changed" />
      </td>
    </tr>
  );
}

/** diffStates between the pinned point A and the current point B. */
export const DiffPanel = memo(function DiffPanel({ diff, pinned, pos, onPin }: { diff: DiffSummary | null; pinned: number | null; pos: number; onPin(): void }) {
  return (
    <>
      <h2>
        Diff A → B{' '}
        <span className="muted">{pinned === null ? 'pin a point A (button or key a), then move to B' : `A = pos ${pinned}, B = pos ${pos}`}</span>
      </h2>
      {pinned === null && (
        <button type="button" onClick={onPin}>
          Pin A at pos {pos}
        </button>
      )}
      {pinned !== null && !diff && <div className="muted">computing…</div>}
      {diff && (
        <table className="diff" data-testid="diff-summary" data-a={diff.a} data-b={diff.b}>
          <tbody>
            <Row name="vmas" d={diff.vmas} />
            <Row name="anon_vmas" d={diff.anonVmas} />
            <tr data-testid="diff-folios">
              <th>folios</th>
              <td className="add">+{diff.folios.added}</td>
              <td className="rem">−{diff.folios.removed}</td>
              <td className="chg">~{diff.folios.changed}</td>
              <td>
                <Ids ids={diff.folios.sample.added} total={diff.folios.added} label="added" />{' '}
                <Ids ids={diff.folios.sample.removed} total={diff.folios.removed} label="removed" />{' '}
                <Ids ids={diff.folios.sample.changed} total={diff.folios.changed} label="changed" />
              </td>
            </tr>
            <tr data-testid="diff-ptes">
              <th>PTEs</th>
              <td colSpan={3} className="chg">
                ~{diff.ptes.count}
              </td>
              <td className="ids">
                {diff.ptes.sample
                  .slice(0, 24)
                  .map(([mm, vpn]) => `mm${mm}:${hexAddr(vpn)}`)
                  .join(', ')}
                {diff.ptes.count > 24 ? ` … (+${(diff.ptes.count - 24).toLocaleString('en-US')})` : ''}
              </td>
            </tr>
            <tr data-testid="diff-mms">
              <th>mms</th>
              <td className="add">+{diff.mms.added.length}</td>
              <td className="rem">−{diff.mms.removed.length}</td>
              <td />
              <td className="muted">computed in {diff.ms.toFixed(1)} ms</td>
            </tr>
          </tbody>
        </table>
      )}
    </>
  );
});
