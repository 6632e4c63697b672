import { memo, useCallback, useLayoutEffect, useRef, useState, type UIEvent } from 'react';
import type { HistoryTarget, ViewData } from '../shared/protocol.js';
import { hexAddr, mappingStr, pteFlagStr } from './format.js';
import { Val } from './Val.js';

/** VMA groups rendered at most (the DOM stays small while scrubbing) */
const MAX_GROUPS = 24;
/**
 * Rows are drawn down to this many scroll-box heights below the top of what is in view,
 * the rest is one spacer of about their height: a seek re-lays out the rows one can see,
 * not the 64 per VMA the worker sent (layout and paint were most of a seek's time).
 */
const AHEAD_SCREENS = 2;

/** Present pages per VMA with their folio; stale ones (index or mapping wrong) flagged. */
export const PageTables = memo(function PageTables({ view, onHistory, arenaBase }: { view: ViewData | null; onHistory(t: HistoryTarget): void; arenaBase: number }) {
  const [onlyStale, setOnlyStale] = useState(false);
  const all = (view?.pages ?? []).filter((p) => p.present + p.swapped > 0 && (!onlyStale || p.stale > 0));
  const pages = all.slice(0, MAX_GROUPS);
  const totalStale = (view?.pages ?? []).reduce((n, p) => n + p.stale, 0);
  const flagged = (view?.pages ?? []).reduce((n, p) => n + p.rows.filter((r) => r.flagged).length, 0);
  const box = useRef<HTMLDivElement>(null);
  /** measured heights of a row and of a group's head (with its table header) */
  const size = useRef({ row: 20, head: 46, measured: false });
  const [limit, setLimit] = useState(340 * (AHEAD_SCREENS + 1));
  const onScroll = useCallback((e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    const want = el.scrollTop + el.clientHeight * (AHEAD_SCREENS + 1);
    setLimit((l) => (want > l ? want + el.clientHeight : l));
  }, []);
  useLayoutEffect(() => {
    // once: reading a layout in every render would force one synchronously per seek
    if (size.current.measured) return;
    const el = box.current;
    const row = el?.querySelector<HTMLElement>('[data-testid=pte-row]');
    const group = row?.closest<HTMLElement>('.ptgroup');
    if (!row || !group || row.offsetHeight === 0) return;
    size.current.row = row.offsetHeight;
    // the group's head and table header above its first row, and its bottom margin
    size.current.head = row.getBoundingClientRect().top - group.getBoundingClientRect().top + 8;
    size.current.measured = true;
  });
  // how many rows of each group to draw, and the height of what is not drawn
  let acc = 0;
  let below = 0;
  const drawn = pages.map((p) => {
    const room = limit - acc - size.current.head;
    const n = acc > limit ? -1 : Math.max(0, Math.min(p.rows.length, Math.ceil(room / size.current.row)));
    acc += size.current.head + p.rows.length * size.current.row;
    if (n < 0) below += size.current.head + p.rows.length * size.current.row;
    return n;
  });
  return (
    <>
      <h2>
        Page tables &amp; folios{' '}
        <span className={totalStale ? 'warnt' : 'muted'} data-testid="stale-total" title="index or mapping not what linear_page_index / the VMA's chain says: a relocation's intermediate state while its locks are held">
          {totalStale} stale
        </span>
        {flagged > 0 && (
          <span className="bad" data-testid="flagged-total">
            {flagged} flagged by a checker
          </span>
        )}
        <label className="opt">
          <input type="checkbox" checked={onlyStale} onChange={(e) => setOnlyStale(e.target.checked)} /> only VMAs with stale pages
        </label>
      </h2>
      <div className="scrollbox" ref={box} onScroll={onScroll}>
        {view && pages.length === 0 && <div className="muted">no mapped pages</div>}
        {pages.map((p, gi) => drawn[gi] < 0 ? null : (
          <div key={p.vma} className="ptgroup" data-testid="pt-vma" data-vma={p.vma}>
            <div className="ptgroup-head">
              vma <b>#{p.vma}</b> <span className="muted">mm {p.mm}</span> [{hexAddr(p.start)}, {hexAddr(p.end)}) · {p.present} present
              {p.swapped ? ` · ${p.swapped} swapped` : ''}
              {p.stale ? <span className="warnt"> · {p.stale} stale</span> : null}
              {p.truncated ? <span className="muted"> · first {p.rows.length} rows</span> : null}
            </div>
            <table className="pt">
              <thead>
                <tr>
                  <th>address</th>
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
                {p.rows.slice(0, drawn[gi]).map((r) => (
                  <tr
                    key={r.vpn}
                    className={r.flagged ? 'flagged' : r.problems.length ? 'stale' : ''}
                    data-testid="pte-row"
                    data-vma={p.vma}
                    data-vpn={r.vpn}
                    data-pfn={r.pfn}
                    data-stale={r.problems.length ? '1' : '0'}
                    data-flagged={r.flagged ? '1' : '0'}
                  >
                    <td className="mono nowrap">
                      {hexAddr(r.vpn)}
                      {arenaBase && r.vpn >= arenaBase ? <span className="muted"> p{r.vpn - arenaBase}</span> : null}
                    </td>
                    <td data-testid="pte-pfn">
                      <Val onClick={() => onHistory({ kind: 'pte', mm: p.mm, vpn: r.vpn })} title="every write of this PTE" testid="val-pte">
                        {r.swapSlot ? `swap ${r.swapSlot}` : r.pfn}
                      </Val>
                    </td>
                    <td>{pteFlagStr(r.flags, r.swapSlot > 0) + (r.huge ? ' PMD' : '')}</td>
                    <td>
                      {r.folio ? (
                        <Val onClick={() => onHistory({ kind: 'folio', pfn: r.folio })} title="every event of this folio" testid="val-folio">
                          {`${r.folio}${r.order ? ` (order ${r.order})` : ''}`}
                        </Val>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>
                      {r.folio ? (
                        <Val onClick={() => onHistory({ kind: 'folio-index', pfn: r.folio })} title="every write of folio->index" testid="val-index">
                          {r.pageIndex}
                        </Val>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>{r.expectedIndex}</td>
                    <td>
                      {r.folio ? (
                        <Val onClick={() => onHistory({ kind: 'folio-mapping', pfn: r.folio })} title="every write of folio->mapping" testid="val-mapping">
                          {mappingStr(r.mappingKind, r.mapping)}
                        </Val>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>{r.folio ? r.mapcount : ''}</td>
                    <td className="problems">
                      {r.flagged ? <span className="bad" data-testid="pte-flagged">✖ {r.flagged}; </span> : null}
                      {r.problems.length ? (
                        <span data-testid="pte-problem">
                          {r.problems.join('; ')}
                          {r.covered.length ? (
                            <span className="cover" data-testid="pte-covered">
                              {' '}
                              — transient, covered by {r.covered.join(', ')}
                            </span>
                          ) : (
                            <span className="warnt"> — no covering lock held</span>
                          )}
                        </span>
                      ) : (
                        ''
                      )}
                    </td>
                  </tr>
                ))}
                {drawn[gi] < p.rows.length && (
                  <tr className="pt-spacer" aria-hidden="true" style={{ height: (p.rows.length - drawn[gi]) * size.current.row }}>
                    <td colSpan={9} />
                  </tr>
                )}
              </tbody>
            </table>
          </div>
        ))}
        {below > 0 && <div className="pt-spacer" aria-hidden="true" style={{ height: below }} />}
        {all.length > pages.length && <div className="muted">… {all.length - pages.length} more VMAs with pages (tick “only VMAs with stale pages” to narrow)</div>}
      </div>
    </>
  );
});
