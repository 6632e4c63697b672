import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { DebuggerClient } from '../client.js';
import type { EventRow, LogSummary, SearchQuery, SearchResult, ViewData } from '../shared/protocol.js';
import { taskColour } from './format.js';

const ROW = 20;
const PAGE = 200;
/** browsers cap element heights (~33M px in Chrome): past this, the scrollbar is scaled */
const MAX_SCROLL_PX = 4_000_000;
const MAX_PAGES = 300;

interface Props {
  client: DebuggerClient;
  summary: LogSummary;
  /** the view drawn: its pos is the current point, its `around` rows the ones around it */
  view: ViewData | null;
  onPos(p: number): void;
}

function EventHead() {
  return (
    <div className="ehead">
      <span className="c-seq">seq</span>
      <span className="c-task">task</span>
      <span className="c-span">span</span>
      <span className="c-type">type</span>
      <span className="c-fields">fields</span>
    </div>
  );
}

/** an event's task, span, type and decoded fields */
function EventCells({ r }: { r: EventRow }) {
  return (
    <>
      <span className="c-task">
        <span className="swatch" style={{ background: taskColour(r.task) }} />
        {r.task}
      </span>
      <span className="c-span" title={r.span ? `span ${r.span} ${r.spanName}` : ''}>
        {r.span ? `${r.span} ${r.spanName}` : ''}
      </span>
      <span className="c-type">{r.type}</span>
      <span className="c-fields">{r.fields}</span>
    </>
  );
}

/**
 * The events list, virtualised: only the visible rows exist in the DOM. Following the
 * current event, it draws the rows the view brought (`around`); scrolled elsewhere, rows
 * are fetched from the worker a page at a time. A scrollbar longer than the browser allows
 * is scaled, so a log of any length scrolls end to end. A seek renders it once, with its
 * view: the scroll position that follows the current event is worked out in that render
 * and written to the box before paint, never read back.
 */
export const EventsList = memo(function EventsList({ client, summary, view, onPos }: Props) {
  const N = summary.events;
  const pos = view?.pos ?? N;
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  /** the scroll offset the box has (written by us or read in its scroll event) */
  const boxTop = useRef(0);
  const [viewH, setViewH] = useState(360);
  const [follow, setFollow] = useState(true);
  const [, setVersion] = useState(0);
  const pages = useRef(new Map<number, EventRow[]>());
  const inflight = useRef(new Set<number>());
  const violations = useMemo(() => new Set(summary.violations), [summary]);
  const around = view?.around ?? null;
  const rowAt = (i: number): EventRow | undefined =>
    around && i >= around.from && i < around.from + around.rows.length ? around.rows[i - around.from] : pages.current.get(Math.floor(i / PAGE))?.[i % PAGE];

  useEffect(() => {
    pages.current.clear();
    inflight.current.clear();
    setVersion((v) => v + 1);
  }, [summary]);

  const fullH = N * ROW;
  const scrollH = Math.min(fullH, MAX_SCROLL_PX);
  const visible = Math.ceil(viewH / ROW) + 1;
  const maxFirst = Math.max(0, N - visible + 1);
  const denom = Math.max(1, scrollH - viewH);
  const firstOf = (top: number) => Math.floor(Math.min(maxFirst, (top / denom) * maxFirst));

  // follow the current event (seq pos-1) when it leaves the visible rows: the new offset is
  // state set while rendering (React re-runs this component at once, before any child)
  const [followed, setFollowed] = useState({ pos: -1, follow });
  if (followed.pos !== pos || followed.follow !== follow) {
    setFollowed({ pos, follow });
    const f = firstOf(scrollTop);
    const cur = pos - 1;
    if (follow && (cur < f + 1 || cur > Math.min(N, f + visible + 1) - 3)) {
      const target = Math.max(0, Math.min(maxFirst, Math.max(0, cur) - Math.floor(visible / 2)));
      setScrollTop(maxFirst ? Math.round((target / maxFirst) * denom) : 0);
    }
  }
  // write the offset to the box before paint; reading it back would force a layout
  useLayoutEffect(() => {
    const el = box.current;
    if (!el || boxTop.current === scrollTop) return;
    el.scrollTop = scrollTop;
    boxTop.current = scrollTop;
  }, [scrollTop]);

  const firstF = Math.min(maxFirst, (scrollTop / denom) * maxFirst);
  const first = Math.floor(firstF);
  const last = Math.min(N, first + visible + 1);

  const need = useCallback(
    (page: number) => {
      if (pages.current.has(page) || inflight.current.has(page) || page * PAGE >= N) return;
      inflight.current.add(page);
      client
        .request({ kind: 'events', from: page * PAGE, count: PAGE })
        .then((rows) => {
          inflight.current.delete(page);
          if (pages.current.size > MAX_PAGES) {
            for (const k of pages.current.keys()) if (Math.abs(k - page) > MAX_PAGES / 4) pages.current.delete(k);
          }
          pages.current.set(page, rows);
          setVersion((v) => v + 1);
        })
        .catch(() => inflight.current.delete(page));
    },
    [client, N],
  );

  // the pages of the rows in view the view did not bring
  useEffect(() => {
    for (let i = first; i < last; i++) if (!rowAt(i)) need(Math.floor(i / PAGE));
  });

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight));
    ro.observe(el);
    setViewH(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // filter / search: matching events from the current point on (or before it)
  const [fType, setFType] = useState('');
  const [fText, setFText] = useState('');
  const [fTask, setFTask] = useState('');
  const [dir, setDir] = useState<1 | -1>(1);
  const [found, setFound] = useState<SearchResult | null>(null);
  const [searchErr, setSearchErr] = useState('');
  const filtering = fType !== '' || fText.trim() !== '' || fTask.trim() !== '';
  const [anchor, setAnchor] = useState(pos);
  useEffect(() => {
    if (!filtering) {
      setFound(null);
      return;
    }
    const q: SearchQuery = { type: fType || undefined, text: fText.trim() || undefined, task: fTask.trim() === '' ? undefined : Number(fTask) };
    let live = true;
    const t = setTimeout(() => {
      client
        .request({ kind: 'search', query: q, pos: anchor, dir })
        .then((r) => live && (setFound(r), setSearchErr('')))
        .catch((e: unknown) => live && setSearchErr(String((e as Error).message ?? e)));
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [client, filtering, fType, fText, fTask, anchor, dir, summary]);

  const rows: ReactNode[] = [];
  const offset = (firstF - first) * ROW;
  for (let i = first; i < last; i++) {
    const r = rowAt(i);
    const top = scrollTop + (i - first) * ROW - offset;
    const cls = `erow${i === pos - 1 ? ' current' : ''}${i >= pos ? ' future' : ''}${violations.has(i) ? ' violation' : ''}`;
    // keyed by slot: a seek rewrites the rows' text, it does not replace them
    rows.push(
      <div key={i - first} className={cls} style={{ top }} data-testid="event-row" data-seq={i} onClick={() => onPos(i + 1)}>
        <span className="c-seq">{i}</span>
        {r ? (
          <EventCells r={r} />
        ) : (
          <span className="muted">…</span>
        )}
      </div>,
    );
  }

  const filterBar = (
    <div className="filterbar" data-testid="events-filter">
      <select value={fType} onChange={(e) => setFType(e.target.value)} data-testid="filter-type" aria-label="event type">
        <option value="">any type</option>
        {summary.eventTypes.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      <input
        type="search"
        value={fText}
        placeholder="search: vma=3  0x10000000  pfn=1024  mmap_lock:1  relocate_anon …"
        onChange={(e) => setFText(e.target.value)}
        data-testid="filter-text"
        aria-label="search the events"
      />
      <input type="number" min={0} value={fTask} placeholder="task" onChange={(e) => setFTask(e.target.value)} data-testid="filter-task" aria-label="task" />
      {filtering && (
        <>
          <button type="button" data-testid="filter-before" onClick={() => (setAnchor(pos), setDir(-1))} title="matches before the current point, nearest first">
            ◀ before here
          </button>
          <button type="button" data-testid="filter-after" onClick={() => (setAnchor(pos), setDir(1))} title="matches from the current point on">
            from here ▶
          </button>
          <button type="button" onClick={() => (setFType(''), setFText(''), setFTask(''))}>
            clear
          </button>
        </>
      )}
    </div>
  );

  if (filtering) {
    return (
      <>
        <h2>
          Events{' '}
          <span className="muted" data-testid="filter-status">
            {searchErr
              ? searchErr
              : found
                ? `${found.rows.length}${found.rows.length >= 200 ? '+' : ''} matching ${dir > 0 ? 'from' : 'before'} pos ${anchor} · ${found.scanned.toLocaleString('en-US')} events scanned in ${Math.round(found.ms)} ms`
                : 'searching…'}
          </span>
        </h2>
        {filterBar}
        <EventHead />
        <div className="elist results" data-testid="filter-results">
          {(found?.rows ?? []).map((r) => (
            <div key={r.seq} className={`erow static${r.seq === pos - 1 ? ' current' : ''}${r.seq >= pos ? ' future' : ''}`} data-testid="filter-row" data-seq={r.seq} onClick={() => onPos(r.seq + 1)}>
              <span className="c-seq">{r.seq}</span>
              <EventCells r={r} />
            </div>
          ))}
        </div>
      </>
    );
  }

  return (
    <>
      <h2>
        Events <span className="muted">around the current point · click a row to go after it</span>
        <label className="opt">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} data-testid="follow" /> follow
        </label>
      </h2>
      {filterBar}
      <EventHead />
      <div
        ref={box}
        className="elist"
        data-testid="events-list"
        onScroll={(e) => {
          const top = (e.currentTarget as HTMLDivElement).scrollTop;
          boxTop.current = top;
          setScrollTop(top);
        }}
      >
        <div style={{ height: scrollH, position: 'relative', overflow: 'hidden' }}>{rows}</div>
      </div>
    </>
  );
});
