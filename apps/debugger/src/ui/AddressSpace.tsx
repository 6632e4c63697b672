import { memo } from 'react';
import type { HistoryTarget, MergeWhy, MmView, VmaDiffEntry, VmaLite, ViewData } from '../shared/protocol.js';
import { addrWithPage, addressScale, hexAddr, rootColour, vmFlags } from './format.js';
import { Val } from './Val.js';

const MAX_TABLE_ROWS = 48;

const KIND_LABEL: Record<VmaDiffEntry['kind'], string> = {
  added: 'new',
  removed: 'gone',
  resized: 'resized',
  moved: 'moved',
  changed: 'changed',
};

interface Sel {
  selected: number | null;
  onSelect(id: number | null): void;
  onHistory(t: HistoryTarget): void;
  arenaBase: number;
}

function Bar({ v, x0, x1, diff, ghost, sel }: { v: VmaLite; x0: number; x1: number; diff?: VmaDiffEntry; ghost?: boolean; sel: Sel }) {
  const w = Math.max(0.4, (x1 - x0) * 100);
  const cls = `vma${ghost ? ' ghost' : ''}${diff ? ` d-${diff.kind}` : ''}`;
  const title = `vma #${v.id} [${hexAddr(v.start)}, ${hexAddr(v.end)}) ${v.end - v.start} pages, pgoff ${v.pgoff}, ${vmFlags(v.flags)}, anon_vma ${v.anonVma || '—'} (root ${v.root || '—'}), chain [${v.chain.join(', ')}]${diff ? ` — ${diff.kind}${diff.notes.length ? ': ' + diff.notes.join('; ') : ''}` : ''}`;
  return (
    <div
      className={`${cls}${sel.selected === v.id && !ghost ? ' selected' : ''}`}
      onClick={ghost ? undefined : () => sel.onSelect(sel.selected === v.id ? null : v.id)}
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

function MergeMark({ m, x }: { m: MergeWhy; x: number }) {
  return (
    <div
      className={`mergemark${m.merge ? ' could' : ''}`}
      style={{ left: `${x * 100}%` }}
      data-testid="merge-mark"
      data-left={m.left}
      data-right={m.right}
      data-merge={m.merge ? '1' : '0'}
      title={`#${m.left} | #${m.right} at ${hexAddr(m.at)}: ${m.merge ? 'would merge' : 'not mergeable'} (${m.policy}): ${m.reason}`}
    >
      {m.merge ? '=' : '≠'}
    </div>
  );
}

function MmTrack({ mm, diffs, merges, sel }: { mm: MmView; diffs: Map<number, VmaDiffEntry>; merges: MergeWhy[]; sel: Sel }) {
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
          <Bar key={v.id} v={v} x0={scale.x(v.start)} x1={scale.x(v.end)} diff={diffs.get(v.id)} sel={sel} />
        ))}
        {ghosts.map((v) => (
          <Bar key={`g${v.id}`} v={v} x0={scale.x(v.start)} x1={scale.x(v.end)} diff={diffs.get(v.id)} ghost sel={sel} />
        ))}
        {merges.map((m) => (
          <MergeMark key={`m${m.left}-${m.right}`} m={m} x={scale.x(m.at)} />
        ))}
      </div>
      {merges.length > 0 && (
        <div className="merges" data-testid="merge-list">
          {merges.map((m) => (
            <div key={`${m.left}-${m.right}`} className={`mergewhy${m.merge ? ' could' : ''}`} data-testid="merge-why" data-left={m.left} data-right={m.right}>
              <b>
                #{m.left} | #{m.right}
              </b>{' '}
              <span className="mono">{hexAddr(m.at)}</span>: {m.merge ? 'mergeable' : 'not merged'} — {m.reason} <span className="muted">({m.policy})</span>
            </div>
          ))}
        </div>
      )}
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
              <tr
                key={v.id}
                data-testid="vma-row"
                data-vma={v.id}
                className={`${d ? `d-${d.kind}` : ''}${sel.selected === v.id ? ' selected' : ''}`}
                onClick={() => sel.onSelect(v.id)}
              >
                <td>
                  <span className="swatch" style={{ background: rootColour(v.root) }} />#{v.id}
                </td>
                <td className="mono nowrap">
                  <Val onClick={() => sel.onHistory({ kind: 'vma-range', id: v.id })} title="every write of this VMA's range and pgoff" testid="val-range">
                    {hexAddr(v.start)}–{hexAddr(v.end)}
                  </Val>
                  {sel.arenaBase && v.start >= sel.arenaBase ? (
                    <span className="muted">
                      {' '}
                      p{v.start - sel.arenaBase}–{v.end - sel.arenaBase}
                    </span>
                  ) : null}
                </td>
                <td>{v.end - v.start}</td>
                <td>
                  <Val onClick={() => sel.onHistory({ kind: 'vma-range', id: v.id })} title="every write of this VMA's pgoff" testid="val-pgoff">
                    {v.pgoff}
                  </Val>
                </td>
                <td className="mono">{vmFlags(v.flags)}</td>
                <td>
                  <Val onClick={() => sel.onHistory({ kind: 'vma-anon', id: v.id })} title="every write of this VMA's anon_vma and chain" testid="val-anonvma">
                    {v.anonVma || '—'}
                  </Val>
                </td>
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

/** The selected VMA: its fields, its pages now, and its history. */
function VmaDetail({ v, view, sel }: { v: VmaLite; view: ViewData; sel: Sel }) {
  const pages = view.pages.find((p) => p.vma === v.id);
  const merges = view.merges.filter((m) => m.left === v.id || m.right === v.id);
  return (
    <div className="vmadetail" data-testid="vma-detail" data-vma={v.id}>
      <div>
        <b>vma #{v.id}</b> <span className="muted">mm {v.mm}</span> · <span className="mono">[{addrWithPage(v.start, sel.arenaBase)}, {addrWithPage(v.end, sel.arenaBase)})</span> · {v.end - v.start} pages · pgoff{' '}
        {v.pgoff} · flags <span className="mono">{vmFlags(v.flags)} 0x{v.flags.toString(16)}</span> · anon_vma {v.anonVma || '—'} (root {v.root || '—'}) · chain [
        {v.chain.join(', ')}]{v.file ? ` · shmem ${v.file}` : ''}
      </div>
      <div>
        pages now: {pages ? `${pages.present} present, ${pages.swapped} swapped, ${pages.stale} stale` : 'none mapped'}
        {merges.map((m) => (
          <span key={`${m.left}-${m.right}`} className="muted">
            {' '}
            · with #{m.left === v.id ? m.right : m.left}: {m.merge ? 'mergeable' : m.reason}
          </span>
        ))}
      </div>
      <div className="group">
        <button type="button" data-testid="vma-history" onClick={() => sel.onHistory({ kind: 'vma', id: v.id })}>
          history of vma #{v.id}
        </button>
        {v.anonVma ? (
          <button type="button" onClick={() => sel.onHistory({ kind: 'anon-vma', id: v.anonVma })}>
            history of anon_vma {v.anonVma}
          </button>
        ) : null}
        <button type="button" onClick={() => sel.onSelect(null)}>
          close
        </button>
      </div>
    </div>
  );
}

/** VMAs per mm as bars (address scale with long gaps compressed), coloured by anon_vma root. */
export const AddressSpace = memo(function AddressSpace({
  view,
  pinned,
  selected,
  onSelect,
  onHistory,
  arenaBase,
}: { view: ViewData | null; pinned: number | null } & Sel) {
  const diffs = new Map<number, VmaDiffEntry>();
  for (const e of view?.vmaDiff?.entries ?? []) diffs.set(e.id, e);
  const sel: Sel = { selected, onSelect, onHistory, arenaBase };
  const selVma = selected === null ? undefined : view?.mms.flatMap((m) => m.vmas).find((v) => v.id === selected);
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
      {view && selVma && <VmaDetail v={selVma} view={view} sel={sel} />}
      {view && selected !== null && !selVma && <div className="muted" data-testid="vma-detail-gone">vma #{selected} does not exist at this point</div>}
      {view?.mms.map((mm) => (
        <MmTrack key={mm.id} mm={mm} diffs={diffs} merges={view.merges.filter((m) => mm.vmas.some((v) => v.id === m.left))} sel={sel} />
      ))}
    </>
  );
});
