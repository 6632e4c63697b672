import { memo, useCallback, useLayoutEffect, useRef, useState, type UIEvent } from 'react';
import type { HistoryTarget, PteRow, ViewData } from '../shared/protocol.js';
import { hexAddr, mappingStr, pteFlagStr } from './format.js';
import { Val } from './Val.js';

/** VMA groups rendered at most (the DOM stays small while scrubbing) */
const MAX_GROUPS = 24;
/**
 * Rows are drawn down to half a scroll-box height below what is in view (more as it
 * scrolls), the rest is one spacer of about their height: a seek re-lays out the rows one
 * can see, not the 64 per VMA the worker sent (layout and paint were most of a seek's time;
 * drawing three screens of rows, the page tables alone were two thirds of a seek's layout).
 */
const AHEAD_SCREENS = 0.5;
/** characters of the problems column in one line (28em of 12px monospace, less what wrapping wastes) */
const PROBLEM_CHARS_PER_LINE = 40;
/** a line of the problems column, px (12px at line-height 1.4) */
const LINE_PX = 16.8;

/**
 * Lines a row takes: a stale page's problems and covering locks wrap in their column (a
 * mid-relocation row is 3-4 lines), so rows are not counted by a one-line height.
 */
function rowLines(r: PteRow): number {
  if (!r.problems.length && !r.flagged) return 1;
  const chars = (r.flagged ? r.flagged.length + 4 : 0) + r.problems.join('; ').length + 24 + r.covered.join(', ').length;
  return Math.max(1, Math.ceil(chars / PROBLEM_CHARS_PER_LINE));
}

/** Present pages per VMA with their folio; stale ones (index or mapping wrong) flagged. */
export const PageTables = memo(function PageTables({ view, onHistory, arenaBase }: { view: ViewData | null; onHistory(t: HistoryTarget): void; arenaBase: number }) {
  const [onlyStale, setOnlyStale] = useState(false);
  const all = (view?.pages ?? []).filter((p) => p.present + p.swapped > 0 && (!onlyStale || p.stale > 0));
  const pages = all.slice(0, MAX_GROUPS);
  const totalStale = (view?.pages ?? []).reduce((n, p) => n + p.stale, 0);
  const flagged = (view?.pages ?? []).reduce((n, p) => n + p.rows.filter((r) => r.flagged).length, 0);
  const box = useRef<HTMLDivElement>(null);
  /** measured heights of a one-line row and of a group's head (with its table header) */
  const size = useRef({ row: 20, head: 46, measured: false });
  const rowPx = (r: PteRow) => size.current.row + (rowLines(r) - 1) * LINE_PX;
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
    const first = view?.pages.find((p) => p.vma === Number(row.dataset.vma))?.rows[0];
    size.current.row = row.offsetHeight - (first ? rowLines(first) - 1 : 0) * LINE_PX;
    // the group's head and table header above its first row, and its bottom margin
    size.current.head = row.getBoundingClientRect().top - group.getBoundingClientRect().top + 8;
    size.current.measured = true;
  });
  // how many rows of each group to draw, and the height of what is not drawn
  let acc = 0;
  let below = 0;
  /** per group: rows drawn (-1: none, the group is below), and the height of the rows not drawn */
  const undrawnPx: number[] = [];
  const drawn = pages.map((p) => {
    if (acc > limit) {
      let h = size.current.head;
      for (const r of p.rows) h += rowPx(r);
      below += h;
      acc += h;
      undrawnPx.push(0);
      return -1;
    }
    acc += size.current.head;
    let n = 0;
    let rest = 0;
    for (const r of p.rows) {
      if (acc <= limit) n++;
      else rest += rowPx(r);
      acc += rowPx(r);
    }
    undrawnPx.push(rest);
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
                {p.rows.slice(0, drawn[gi]).map((r, ri) => (
                  // keyed by slot: a seek rewrites the rows' cells, it does not replace the rows
                  <tr
                    key={ri}
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
                  <tr className="pt-spacer" aria-hidden="true" style={{ height: undrawnPx[gi] }}>
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
