import { memo } from 'react';
import type { MmView, VmaDiffEntry, VmaLite, ViewData } from '../shared/protocol.js';
import { addressScale, hexAddr, rootColour, vmFlags } from './format.js';

const MAX_TABLE_ROWS = 48;

const KIND_LABEL: Record<VmaDiffEntry['kind'], string> = {
  added: 'new',
  removed: 'gone',
  resized: 'resized',
  moved: 'moved',
  changed: 'changed',
};

function Bar({ v, x0, x1, diff, ghost }: { v: VmaLite; x0: number; x1: number; diff?: VmaDiffEntry; ghost?: boolean }) {
  const w = Math.max(0.4, (x1 - x0) * 100);
  const cls = `vma${ghost ? ' ghost' : ''}${diff ? ` d-${diff.kind}` : ''}`;
  const title = `vma #${v.id} [${hexAddr(v.start)}, ${hexAddr(v.end)}) ${v.end - v.start} pages, pgoff ${v.pgoff}, ${vmFlags(v.flags)}, anon_vma ${v.anonVma || '—'} (root ${v.root || '—'}), chain [${v.chain.join(', ')}]${diff ? ` — ${diff.kind}${diff.notes.length ? ': ' + diff.notes.join('; ') : ''}` : ''}`;
  return (
    <div
      className={cls}
      data-testid={ghost ? 'vma-ghost' : 'vma-bar'}
      data-vma={v.id}
      data-diff={diff?.kind ?? ''}
      style={{ left: `${x0 * 100}%`, width: `${w}%`, background: ghost ? undefined : rootColour(v.root, 0.85), borderColor: rootColour(v.root) }}
      title={title}
    >
      <span className="vlabel">
        #{v.id} pgoff {v.pgoff}
        {diff ? ` · ${KIND_LABEL[diff.kind]}` : ''}
      </span>
    </div>
  );
}

function MmTrack({ mm, diffs }: { mm: MmView; diffs: Map<number, VmaDiffEntry> }) {
  const ghosts = [...diffs.values()].filter((d) => d.kind === 'removed' && d.before && d.before.mm === mm.id).map((d) => d.before!);
  const scale = addressScale([...mm.vmas, ...ghosts]);
  const lo = mm.vmas.length ? Math.min(...mm.vmas.map((v) => v.start)) : 0;
  const hi = mm.vmas.length ? Math.max(...mm.vmas.map((v) => v.end)) : 0;
  return (
    <div className="mm" data-testid="mm-track" data-mm={mm.id}>
      <div className="mmhead">
        <b>mm {mm.id}</b>
        {mm.parent ? <span className="muted"> (forked from mm {mm.parent})</span> : null}
        <span className="muted">
          {' '}
          · {mm.vmaTotal} VMAs · {mm.ptTables} PTE tables
          {mm.vmas.length ? ` · ${hexAddr(lo)} – ${hexAddr(hi)}` : ''}
        </span>
        {mm.vmaTotal > mm.vmas.length && <span className="warnt"> (first {mm.vmas.length} shown)</span>}
      </div>
      <div className={`track${ghosts.length ? ' two' : ''}`}>
        {scale.breaks.map((b, i) => (
          <div key={`b${i}`} className="gapbreak" style={{ left: `${b * 100}%` }} title="address gap (compressed)" />
        ))}
        {mm.vmas.map((v) => (
          <Bar key={v.id} v={v} x0={scale.x(v.start)} x1={scale.x(v.end)} diff={diffs.get(v.id)} />
        ))}
        {ghosts.map((v) => (
          <Bar key={`g${v.id}`} v={v} x0={scale.x(v.start)} x1={scale.x(v.end)} diff={diffs.get(v.id)} ghost />
        ))}
      </div>
      <table className="vmatable">
        <thead>
          <tr>
            <th>vma</th>
            <th>range</th>
            <th>pages</th>
            <th>pgoff</th>
            <th>flags</th>
            <th>anon_vma</th>
            <th>root</th>
            <th>chain (AVCs)</th>
            <th>since A</th>
          </tr>
        </thead>
        <tbody>
          {mm.vmas.slice(0, MAX_TABLE_ROWS).map((v) => {
            const d = diffs.get(v.id);
            return (
              <tr key={v.id} data-testid="vma-row" data-vma={v.id} className={d ? `d-${d.kind}` : ''}>
                <td>
                  <span className="swatch" style={{ background: rootColour(v.root) }} />#{v.id}
                </td>
                <td className="mono">
                  {hexAddr(v.start)}–{hexAddr(v.end)}
                </td>
                <td>{v.end - v.start}</td>
                <td>{v.pgoff}</td>
                <td className="mono">{vmFlags(v.flags)}</td>
                <td>{v.anonVma || '—'}</td>
                <td>{v.root || '—'}</td>
                <td>[{v.chain.join(', ')}]</td>
                <td>{d ? `${d.kind}${d.notes.length ? ': ' + d.notes.join('; ') : ''}` : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {mm.vmas.length > MAX_TABLE_ROWS && <div className="muted">… {mm.vmas.length - MAX_TABLE_ROWS} more VMAs (hover the bars)</div>}
    </div>
  );
}

/** VMAs per mm as bars (address scale with long gaps compressed), coloured by anon_vma root. */
export const AddressSpace = memo(function AddressSpace({ view, pinned }: { view: ViewData | null; pinned: number | null }) {
  const diffs = new Map<number, VmaDiffEntry>();
  for (const e of view?.vmaDiff?.entries ?? []) diffs.set(e.id, e);
  return (
    <>
      <h2>
        Address space <span className="muted">VMAs per mm, coloured by anon_vma root</span>
      </h2>
      {pinned !== null && view?.vmaDiff && (
        <div className="diffline" data-testid="vma-diff">
          since A (pos {view.vmaDiff.pinned}):{' '}
          {view.vmaDiff.entries.length === 0
            ? 'no VMA changed'
            : view.vmaDiff.entries.map((e) => (
                <span key={e.id} className={`chip d-${e.kind}`} data-testid="vma-diff-entry">
                  #{e.id} {e.kind}
                  {e.notes.length ? ` (${e.notes[0]})` : ''}
                </span>
              ))}
        </div>
      )}
      {!view && <div className="muted">…</div>}
      {view && view.mms.length === 0 && <div className="muted">no mm yet</div>}
      {view?.mms.map((mm) => <MmTrack key={mm.id} mm={mm} diffs={diffs} />)}
    </>
  );
});
