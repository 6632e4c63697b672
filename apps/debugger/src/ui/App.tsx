import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Subject, distinctUntilChanged, filter, from, tap, throttle } from 'rxjs';
import { DebuggerClient, WorkerRequestError, liveStatus$ } from '../client.js';
import type { ChecksStatus, DiffSummary, HistoryResult, HistoryTarget, LiveStatus, LogSummary, Request, StepUnit, ViewData } from '../shared/protocol.js';
import { AddressSpace } from './AddressSpace.js';
import { ComparePanel } from './ComparePanel.js';
import { CountsChart } from './CountsChart.js';
import { DiffPanel } from './DiffPanel.js';
import { EventsList } from './EventsList.js';
import { Forest } from './Forest.js';
import { HistoryPanel } from './HistoryPanel.js';
import { Locks } from './Locks.js';
import { PageTables } from './PageTables.js';
import { Timeline } from './Timeline.js';
import { firstViolationPos, seekWaitNote } from './format.js';

type ViewReq = Extract<Request, { kind: 'view' }>;

/** events rows a view brings for the events list (centred on the current one): more than it shows */
const EVENTS_AROUND = 48;
/** the checkers pause this long at most for a seek (resumed once its view is painted) */
const SEEK_YIELD_MS = 250;
/**
 * the checkers' worker holds them this long at most once it has indexed the log: the
 * page resumes them when the first view is drawn (the session's replay and the first
 * render would share the two cores with them)
 */
const CHECKS_HOLD_MS = 5000;
type DiffReq = Extract<Request, { kind: 'diff' }>;

interface LoadState {
  phase: 'idle' | 'loading' | 'ready' | 'error';
  name: string;
  error?: { name: string; message: string };
  /** what to retry with salvage */
  retry?: Extract<Request, { kind: 'load' | 'loadBytes' }>;
}

function newWorkerClient(name = 'mmsim-debugger'): DebuggerClient {
  const w = new Worker(new URL('../worker.ts', import.meta.url), { type: 'module', name });
  return new DebuggerClient(w as unknown as ConstructorParameters<typeof DebuggerClient>[0]);
}

/**
 * Checker violations the server offers (/api/violations), merged into the timeline's marks:
 * the session's summary with them, or null when the server has none to give.
 */
async function withViolations(client: DebuggerClient): Promise<LogSummary | null> {
  try {
    const r = await fetch('api/violations', { cache: 'no-store' });
    if (!r.ok) return null;
    const body = (await r.json()) as { violations?: unknown; reasons?: unknown };
    const violations = Array.isArray(body.violations) ? body.violations.filter((x): x is number => Number.isInteger(x)) : [];
    const reasons: Record<number, string> = {};
    if (body.reasons && typeof body.reasons === 'object') {
      for (const [k, v] of Object.entries(body.reasons as Record<string, unknown>)) if (Number.isInteger(+k)) reasons[+k] = String(v);
    }
    if (violations.length === 0 && Object.keys(reasons).length === 0) return null;
    return await client.request({ kind: 'violations', source: { violations, reasons } });
  } catch {
    return null;
  }
}

/** What the server says of its log (/api/meta). */
export interface ServerMeta {
  name?: unknown;
  salvage?: unknown;
  compare?: unknown;
  /** a run writes the log now (`mmsim serve --live`): follow /api/live */
  live?: unknown;
}

/** GET api/meta (rejects when there is none: a page not served by `mmsim serve`). */
export async function fetchMeta(): Promise<ServerMeta> {
  const r = await fetch('api/meta', { cache: 'no-store' });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return (await r.json()) as ServerMeta;
}

/** `meta`: the server's answer, asked for before the first render (main.tsx) so that the log's fetch starts sooner. */
export function App(props: { meta?: Promise<ServerMeta> } = {}) {
  const client = useMemo(() => newWorkerClient(), []);
  /** the checkers run in a worker of their own: seeks never wait behind a checker slice */
  const checkClient = useMemo(() => newWorkerClient('mmsim-debugger-checks'), []);
  const loadGen = useRef(0);
  const [load, setLoad] = useState<LoadState>({ phase: 'idle', name: '' });
  const [summary, setSummary] = useState<LogSummary | null>(null);
  const [pos, setPosState] = useState(0);
  const [pinned, setPinned] = useState<number | null>(null);
  const [view, setView] = useState<ViewData | null>(null);
  const [diff, setDiff] = useState<DiffSummary | null>(null);
  const [laneWindow, setLaneWindow] = useState(240);
  const [progress, setProgress] = useState('');
  const [keyframes, setKeyframes] = useState<{ built: number; total: number } | null>(null);
  const [dragging, setDragging] = useState(false);
  const [checks, setChecks] = useState<ChecksStatus | null>(null);
  const [selectedVma, setSelectedVma] = useState<number | null>(null);
  const [history, setHistory] = useState<HistoryResult | null>(null);
  const [historyLoading, setHistoryLoading] = useState('');
  /** the server's second log, shown side by side (serve --compare) */
  const [compare, setCompare] = useState<string | null>(null);
  const otherClient = useMemo(() => (compare ? newWorkerClient() : null), [compare]);
  useEffect(() => () => otherClient?.dispose(), [otherClient]);
  const viewReq$ = useMemo(() => new Subject<ViewReq>(), []);
  const diffReq$ = useMemo(() => new Subject<DiffReq>(), []);
  const posRef = useRef(0);
  const N = summary?.events ?? 0;
  /** the events of the summary shown (a live refresh keeps the cursor where it was unless it was at the end) */
  const shownN = useRef(0);
  shownN.current = N;
  /** the run a live page follows (null: a log that is not growing) */
  const [live, setLive] = useState<LiveStatus | null>(null);
  /** the checkers' worker is running them: a seek asks it to pause (two cores, one for the page) */
  const checking = useRef(false);
  checking.current = load.phase === 'ready' && !checks?.finished;
  const yieldChecks = useCallback(
    (ms: number) => {
      if (checking.current) checkClient.request({ kind: 'yield', ms }).catch(() => undefined);
    },
    [checkClient],
  );

  // views and diffs: latest only, throttled, answered by the worker
  useEffect(() => {
    const a = client.latest(viewReq$, 30).subscribe((v) => {
      setView(v);
      // the checkers resume once the view is drawn (after the frame that paints it)
      requestAnimationFrame(() => setTimeout(() => yieldChecks(0), 0));
    });
    const b = client.latest(diffReq$, 120).subscribe((d) => setDiff(d));
    const c = client.progress$.subscribe(setProgress);
    const d = client.checks$.subscribe(({ status, summary: sum }) => {
      setChecks(status);
      if (sum) setSummary(sum);
    });
    const e = checkClient.checks$.subscribe(({ status }) => setChecks(status));
    const f = client.keyframes$.subscribe(setKeyframes);
    return () => {
      f.unsubscribe();
      a.unsubscribe();
      b.unsubscribe();
      c.unsubscribe();
      d.unsubscribe();
      e.unsubscribe();
    };
  }, [client, checkClient, viewReq$, diffReq$, yieldChecks]);

  /** The checkers over the loaded log, in their worker; their findings then join the session's marks. */
  const runCheckers = useCallback(
    async (req: Extract<Request, { kind: 'check' }>, gen: number, transfer: Transferable[], shown: Promise<boolean>) => {
      try {
        const r = await checkClient.request(req, transfer);
        // the findings' summary must land after the load's (a small log checks faster than it loads)
        if (!(await shown) || gen !== loadGen.current) return;
        const sum = await client.request({ kind: 'findings', findings: r.findings, count: r.count });
        if (gen !== loadGen.current) return;
        setSummary(sum);
        setChecks({ done: r.events, total: r.events, finished: true, count: r.count });
      } catch (e) {
        if (gen === loadGen.current) setProgress(`checkers failed: ${(e as Error).message}`);
      }
    },
    [client, checkClient],
  );


  /** where the load put the cursor, until the first violation is shown there (firstViolationPos) */
  const openedAt = useRef<number | null>(null);
  useEffect(() => {
    if (!summary) return;
    const to = firstViolationPos(summary.violations, posRef.current, openedAt.current);
    if (posRef.current !== openedAt.current) openedAt.current = null;
    if (to === null) return;
    openedAt.current = null;
    posRef.current = to;
    setPosState(to);
  }, [summary]);

  const setPos = useCallback(
    (p: number) => {
      const q = Math.max(0, Math.min(N, Math.round(p)));
      posRef.current = q;
      setPosState(q);
    },
    [N],
  );

  useEffect(() => {
    if (load.phase !== 'ready') return;
    yieldChecks(SEEK_YIELD_MS);
    viewReq$.next({ kind: 'view', pos, pinned, laneWindow, around: EVENTS_AROUND });
    if (pinned !== null) diffReq$.next({ kind: 'diff', a: pinned, b: pos });
    else setDiff(null);
  }, [pos, pinned, laneWindow, load.phase, viewReq$, diffReq$, yieldChecks]);

  const startLoad = useCallback(
    async (req: Extract<Request, { kind: 'load' | 'loadBytes' }>, name: string, transfer?: Transferable[], copy?: ArrayBuffer, refresh = false) => {
      const gen = ++loadGen.current;
      // a live refresh (more of the run's log arrived) keeps the page as it is until the longer log is in
      if (!refresh) {
        setLoad({ phase: 'loading', name });
        setSummary(null);
        setView(null);
        setPinned(null);
        setHistory(null);
        setSelectedVma(null);
      }
      setChecks(null);
      setKeyframes(null);
      try {
        // the checkers' worker indexes the log first and sends the index straight to the
        // session's worker (a channel between the two), which replays the keyframes meanwhile
        const ch = new MessageChannel();
        let markShown: (ok: boolean) => void = () => {};
        const shown = new Promise<boolean>((r) => (markShown = r));
        const loading = client.request({ ...req, checks: false, indexPort: ch.port1 } as Extract<Request, { kind: 'load' }>, [...(transfer ?? []), ch.port1]);
        const holdMs = CHECKS_HOLD_MS;
        if (req.kind === 'load') void runCheckers({ kind: 'check', url: req.url, salvage: req.salvage, name, indexPort: ch.port2, holdMs }, gen, [ch.port2], shown);
        else if (copy) void runCheckers({ kind: 'check', bytes: copy, salvage: req.salvage, name, indexPort: ch.port2, holdMs }, gen, [copy, ch.port2], shown);
        else ch.port2.postMessage({ index: null });
        const sum = (await loading.catch((e: unknown) => {
          markShown(false);
          throw e;
        })) as LogSummary;
        if (gen !== loadGen.current) return markShown(false);
        // a live page follows the run while the cursor is at the end; one seeked back stays there
        const at = refresh && posRef.current < shownN.current ? Math.min(posRef.current, sum.events) : sum.events;
        setSummary(sum);
        markShown(true);
        setLoad({ phase: 'ready', name });
        posRef.current = at;
        setPosState(at);
        openedAt.current = refresh ? null : sum.events;
        setChecks((c) => c ?? { done: 0, total: sum.events, finished: false, count: 0 });
        // the server's violations join the marks once they are here (the page does not wait)
        if (req.kind === 'load') {
          const withV = await withViolations(client);
          if (withV && gen === loadGen.current) setSummary(withV);
        }
      } catch (e) {
        const err = e instanceof WorkerRequestError ? { name: e.errorName, message: e.message } : { name: 'Error', message: String((e as Error).message ?? e) };
        const retry = req.kind === 'load' ? { ...req, salvage: true } : null;
        setLoad({ phase: 'error', name, error: err, retry: err.name === 'LogFileError' && retry ? retry : undefined });
      }
    },
    [client, runCheckers],
  );

  // the server's log, at start
  useEffect(() => {
    let cancelled = false;
    let liveSub: { unsubscribe(): void } | null = null;
    (async () => {
      let name = 'log.mmlog';
      let salvage = false;
      let isLive = false;
      try {
        const meta = await (props.meta ?? fetchMeta());
        name = String(meta.name ?? name);
        salvage = meta.salvage === true;
        isLive = meta.live === true;
        if (typeof meta.compare === 'string' && !cancelled) setCompare(meta.compare);
      } catch {
        if (!cancelled) setLoad({ phase: 'idle', name: '' });
        return;
      }
      if (cancelled) return;
      const req = { kind: 'load', url: new URL('log.mmlog', location.href).href, name, salvage } as const;
      if (!isLive) return void (await startLoad(req, name));
      // live: (re)load whenever more whole chunks arrived; one load at a time, the latest
      // status after it (throttle's trailing edge), so the last chunk is never missed
      setLoad({ phase: 'loading', name });
      let loaded = false;
      liveSub = liveStatus$(new URL('api/live', location.href).href)
        .pipe(
          tap((st) => setLive(st)),
          distinctUntilChanged((a, b) => a.events === b.events && a.done === b.done && a.restarts === b.restarts),
          filter((st) => st.events > 0),
          throttle(
            () => {
              const first = !loaded;
              loaded = true;
              return from(startLoad(req, name, undefined, undefined, !first));
            },
            { leading: true, trailing: true },
          ),
        )
        .subscribe({ error: (e: unknown) => setLive((l) => (l ? { ...l, error: (e as Error).message } : l)) });
    })();
    return () => {
      cancelled = true;
      liveSub?.unsubscribe();
    };
  }, [startLoad, props.meta]);

  const openFile = useCallback(
    async (f: File) => {
      const buf = await f.arrayBuffer();
      // the session's worker takes the buffer; the checkers' worker its copy
      const copy = buf.slice(0);
      await startLoad({ kind: 'loadBytes', bytes: buf, name: f.name }, f.name, [buf], copy);
    },
    [startLoad],
  );

  const step = useCallback(
    async (dir: 1 | -1, unit: StepUnit) => {
      if (!summary) return;
      const from = posRef.current;
      if (unit === 'event') return setPos(from + dir);
      const to = await client.request({ kind: 'step', pos: from, dir, unit });
      if (posRef.current === from) setPos(to);
    },
    [client, summary, setPos],
  );

  const togglePin = useCallback(() => setPinned((p) => (p === null ? posRef.current : null)), []);
  const closeHistory = useCallback(() => {
    setHistory(null);
    setHistoryLoading('');
  }, []);
  /**
   * The point the panels show: the view's. While a seek's view is on its way only the
   * timeline moves; the panels re-render once, when the view of the new point is here.
   */
  const shown = view?.pos ?? pos;
  const seekWait = seekWaitNote(pos, view?.pos ?? null, keyframes);

  const askHistory = useCallback(
    (target: HistoryTarget) => {
      setHistory(null);
      setHistoryLoading(`scanning the log for the writers of ${JSON.stringify(target)}…`);
      client
        .request({ kind: 'history', target, pos: posRef.current })
        .then((h) => {
          setHistory(h);
          setHistoryLoading('');
        })
        .catch((e: unknown) => setHistoryLoading(`history failed: ${(e as Error).message}`));
    },
    [client],
  );

  return (
    <div
      className={`app${dragging ? ' dragging' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        const f = e.dataTransfer.files[0];
        if (f) void openFile(f);
      }}
    >
      <header className="top">
        <h1>
          mmsim <span>time-travel debugger</span>
        </h1>
        <div className="logname" data-testid="log-name">
          {load.name || 'no log'}
        </div>
        {summary && (
          <div className="stats">
            <span data-testid="event-count">{summary.events.toLocaleString('en-US')}</span> events ·{' '}
            <span data-testid="syscall-count">{summary.syscalls.toLocaleString('en-US')}</span> syscalls · {summary.spans.toLocaleString('en-US')} spans ·{' '}
            {summary.tasks.length} tasks · <span className={summary.violations.length ? 'bad' : ''}>{summary.violations.length} violations</span>
            {summary.violations.length > 0 && (
              <>
                {' '}
                <button type="button" className="link bad" data-testid="first-violation" title="the first violation: where the log went wrong" onClick={() => setPos(summary.violations[0] + 1)}>
                  first at seq {summary.violations[0].toLocaleString('en-US')} ▶
                </button>
              </>
            )}
            <span className="muted" data-testid="indexed" data-indexed-by={summary.timing.indexedBy}>
              {' '}
              · indexed in {Math.round(summary.timing.total)} ms{summary.timing.indexedBy === 'other worker' ? ' (in parallel by the checkers\' worker)' : ''}
            </span>
            {keyframes && keyframes.built < keyframes.total && (
              <span className="muted" data-testid="keyframes-progress" title="the final state is shown first; a seek past the keyframes built so far waits while they are built up to it">
                {' '}
                · keyframes {Math.floor((100 * keyframes.built) / Math.max(1, keyframes.total))}%
              </span>
            )}
            {seekWait && (
              <span className="muted" data-testid="seek-wait">
                {' '}
                · {seekWait}
              </span>
            )}
          </div>
        )}
        <label className="button file">
          Open log…
          <input
            type="file"
            accept=".mmlog,application/octet-stream"
            data-testid="file-input"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void openFile(f);
              e.target.value = '';
            }}
          />
        </label>
      </header>

      {live && (
        <div className={`banner live${live.done ? '' : ' running'}`} role="status" data-testid="live" data-live-events={live.events} data-live-done={String(live.done)}>
          <strong>{live.done ? 'run ended' : '● live'}</strong>
          {live.label ? ` · ${live.label}` : ''} ·{' '}
          {live.done
            ? live.complete
              ? `finished: ${live.events.toLocaleString('en-US')} events`
              : `stopped without its trailer${live.exitCode !== undefined ? ` (exit ${live.exitCode})` : ''}: the ${live.events.toLocaleString('en-US')} events of its whole chunks`
            : live.events === 0
              ? 'waiting for the run\'s first chunk'
              : `${live.events.toLocaleString('en-US')} events arrived in ${live.chunks} chunks; the page follows while the cursor is at the end`}
          {summary && summary.events < live.events ? ` (showing ${summary.events.toLocaleString('en-US')}, loading the rest)` : ''}
          {summary && !live.done && pos < N && (
            <>
              {' '}
              <button type="button" data-testid="live-follow" onClick={() => setPos(N)}>
                follow ▶
              </button>
            </>
          )}
          {live.error && <span className="bad"> · {live.error}</span>}
        </div>
      )}
      {load.phase === 'loading' && !(live && live.events === 0) && (
        <div className="banner" data-testid="loading">
          Loading {load.name}… {progress}
        </div>
      )}
      {load.phase === 'error' && load.error && (
        <div className="banner error" role="alert" data-testid="load-error">
          <strong>Could not load {load.name}:</strong> <span data-testid="load-error-message">{load.error.message}</span>
          {load.retry && (
            <button type="button" onClick={() => void startLoad(load.retry!, `${load.name} (salvaged)`)}>
              Keep the valid prefix (salvage)
            </button>
          )}
        </div>
      )}
      {load.phase === 'idle' && (
        <div className="banner" data-testid="drop-hint">
          Drop an .mmlog file here, or use “Open log…”. (<code>mmsim serve LOG</code> opens one directly.)
        </div>
      )}
      {summary && summary.events === 0 && (
        <div className="banner error" role="alert" data-testid="empty-log">
          <strong>{load.name} holds no events</strong>
          {summary.damage ? ` — salvaged to 0 events: the damage starts at byte ${summary.damage.offset} (${summary.damage.message}), before the first event` : ''}. Nothing to debug.
        </div>
      )}
      {summary?.damage && (
        <div className="banner warn" role="status">
          Damaged log: kept {summary.damage.eventsKept} events; dropped the tail at byte {summary.damage.offset}: {summary.damage.message}
        </div>
      )}

      {summary && (
        <>
          <Timeline
            summary={summary}
            view={view?.pos === pos ? view : null}
            checks={checks}
            pos={pos}
            pinned={pinned}
            last={view?.pos === pos ? view.last : null}
            onPos={setPos}
            onStep={step}
            onPin={togglePin}
          />
          <main className="grid" data-testid="views" data-view-pos={view?.pos ?? -1} data-pinned={pinned ?? ""}>
            <HistoryPanel history={history} loading={historyLoading} pos={shown} onPos={setPos} onClose={closeHistory} />
            {compare && otherClient && <ComparePanel client={client} other={otherClient} name={compare} pos={pos} summary={summary} here={view} />}
            <section className="panel wide" data-testid="panel-address-space">
              <AddressSpace view={view} pinned={pinned} selected={selectedVma} onSelect={setSelectedVma} onHistory={askHistory} arenaBase={summary.arenaBase} />
            </section>
            <section className="panel wide" data-testid="panel-pages">
              <PageTables view={view} onHistory={askHistory} arenaBase={summary.arenaBase} />
            </section>
            <section className="panel" data-testid="panel-forest">
              <Forest view={view} onHistory={askHistory} />
            </section>
            <section className="panel wide" data-testid="panel-locks">
              <Locks view={view} window={laneWindow} onWindow={setLaneWindow} onPos={setPos} onHistory={askHistory} names={summary.taskNames} />
            </section>
            <section className="panel" data-testid="panel-counts">
              <CountsChart summary={summary} pos={pos} onPos={setPos} />
            </section>
            <section className="panel wide" data-testid="panel-events">
              <EventsList client={client} summary={summary} view={view} onPos={setPos} />
            </section>
            <section className="panel wide" data-testid="panel-diff">
              <DiffPanel diff={pinned === null ? null : diff} pinned={pinned} pos={shown} onPin={togglePin} />
            </section>
          </main>
        </>
      )}
      <footer className="foot muted">
        {view ? `view of pos ${view.pos} computed in ${view.ms.toFixed(1)} ms` : ''}
        {view && view.pos !== pos ? ' · updating…' : ''}
      </footer>
    </div>
  );
}
