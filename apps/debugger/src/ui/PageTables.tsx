import { memo, useState } from 'react';
import type { ViewData } from '../shared/protocol.js';
import { hexAddr, mappingStr, pteFlagStr } from './format.js';

/** VMA groups rendered at most (the DOM stays small while scrubbing) */
const MAX_GROUPS = 24;

/** Present pages per VMA with their folio; stale ones (index or mapping wrong) flagged. */
export const PageTables = memo(function PageTables({ view }: { view: ViewData | null }) {
  const [onlyStale, setOnlyStale] = useState(false);
  const all = (view?.pages ?? []).filter((p) => p.present + p.swapped > 0 && (!onlyStale || p.stale > 0));
  const pages = all.slice(0, MAX_GROUPS);
  const totalStale = (view?.pages ?? []).reduce((n, p) => n + p.stale, 0);
  return (
    <>
      <h2>
        Page tables &amp; folios{' '}
        <span className={totalStale ? 'bad' : 'muted'} data-testid="stale-total">
          {totalStale} stale
        </span>
        <label className="opt">
          <input type="checkbox" checked={onlyStale} onChange={(e) => setOnlyStale(e.target.checked)} /> only VMAs with stale pages
        </label>
      </h2>
      <div className="scrollbox">
        {view && pages.length === 0 && <div className="muted">no mapped pages</div>}
        {pages.map((p) => (
          <div key={p.vma} className="ptgroup" data-testid="pt-vma" data-vma={p.vma}>
            <div className="ptgroup-head">
              vma <b>#{p.vma}</b> <span className="muted">mm {p.mm}</span> [{hexAddr(p.start)}, {hexAddr(p.end)}) · {p.present} present
              {p.swapped ? ` · ${p.swapped} swapped` : ''}
              {p.stale ? <span className="bad"> · {p.stale} stale</span> : null}
              {p.truncated ? <span className="muted"> · first {p.rows.length} rows</span> : null}
            </div>
            <table className="pt">
              <thead>
                <tr>
                  <th>address</th>
                  <th>vpn</th>
                  <th>pfn</th>
                  <th>pte</th>
                  <th>folio</th>
                  <th>index</th>
                  <th>expected</th>
                  <th>mapping</th>
                  <th title="page mapcount">maps</th>
                  <th>problems</th>
                </tr>
              </thead>
              <tbody>
                {p.rows.map((r) => (
                  <tr
                    key={r.vpn}
                    className={r.problems.length ? 'stale' : ''}
                    data-testid="pte-row"
                    data-vma={p.vma}
                    data-vpn={r.vpn}
                    data-pfn={r.pfn}
                    data-stale={r.problems.length ? '1' : '0'}
                  >
                    <td className="mono">{hexAddr(r.vpn)}</td>
                    <td>{r.vpn}</td>
                    <td data-testid="pte-pfn">{r.swapSlot ? `swap ${r.swapSlot}` : r.pfn}</td>
                    <td>{pteFlagStr(r.flags, r.swapSlot > 0) + (r.huge ? ' PMD' : '')}</td>
                    <td>{r.folio ? `${r.folio}${r.order ? ` (order ${r.order})` : ''}` : '—'}</td>
                    <td>{r.folio ? r.pageIndex : '—'}</td>
                    <td>{r.expectedIndex}</td>
                    <td>{mappingStr(r.mappingKind, r.mapping)}</td>
                    <td>{r.folio ? r.mapcount : ''}</td>
                    <td className="problems">{r.problems.length ? `⚠ ${r.problems.join('; ')}` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
        {all.length > pages.length && <div className="muted">… {all.length - pages.length} more VMAs with pages (tick “only VMAs with stale pages” to narrow)</div>}
      </div>
    </>
  );
});
