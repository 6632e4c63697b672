import { useEffect, useMemo, useState } from 'react';
import { Subject } from 'rxjs';
import type { DebuggerClient } from '../client.js';
import type { LogSummary, Request, SyscallList, ViewData } from '../shared/protocol.js';
import { AddressSpace } from './AddressSpace.js';

interface Props {
  /** the main log's client and its syscalls */
  client: DebuggerClient;
  /** a second worker, for the compared log */
  other: DebuggerClient;
  name: string;
  pos: number;
  summary: LogSummary;
  /** the main log's view at pos */
  here: ViewData | null;
}

/** index of the last syscall opened before pos (-1: none) */
function syscallAt(l: SyscallList, pos: number): number {
  let lo = 0;
  let hi = l.open.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (l.open[mid] < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * The main log beside another one (stock vs MREMAP_RELOCATE_ANON of one scenario) at
 * matching syscalls: the k-th syscall of one matches the k-th of the other. Inside syscall k
 * of A, B is shown as far into its syscall k; past its end, as far past the end of B's.
 */
export function ComparePanel({ client, other, name, pos, summary, here }: Props) {
  const [mine, setMine] = useState<SyscallList | null>(null);
  const [theirs, setTheirs] = useState<SyscallList | null>(null);
  const [otherSum, setOtherSum] = useState<LogSummary | null>(null);
  const [view, setView] = useState<ViewData | null>(null);
  const [err, setErr] = useState('');
  const req$ = useMemo(() => new Subject<Extract<Request, { kind: 'view' }>>(), []);

  useEffect(() => {
    void client.request({ kind: 'syscalls' }).then(setMine);
  }, [client, summary]);
  useEffect(() => {
    const url = new URL('compare.mmlog', location.href).href;
    other
      .request({ kind: 'load', url, name })
      .then(async (s) => {
        setOtherSum(s);
        setTheirs(await other.request({ kind: 'syscalls' }));
      })
      .catch((e: unknown) => setErr((e as Error).message));
    const sub = other.latest(req$, 30).subscribe(setView);
    return () => sub.unsubscribe();
  }, [other, name, req$]);

  const k = mine ? syscallAt(mine, pos) : -1;
  let bpos = 0;
  if (mine && theirs && k >= 0 && k < theirs.open.length) {
    const inside = pos <= mine.close[k];
    const nextB = k + 1 < theirs.open.length ? theirs.open[k + 1] : (otherSum?.events ?? theirs.close[k] + 1);
    // as far into B's syscall k, or as far past its end (never into B's next one)
    bpos = inside ? Math.min(theirs.close[k], theirs.open[k] + (pos - mine.open[k])) : Math.min(nextB, theirs.close[k] + 1 + (pos - mine.close[k] - 1));
  } else if (theirs && k >= theirs.open.length) bpos = otherSum?.events ?? 0;
  useEffect(() => {
    if (otherSum) req$.next({ kind: 'view', pos: bpos, pinned: null });
  }, [bpos, otherSum, req$]);

  return (
    <section className="panel wide compare" data-testid="panel-compare" data-other-pos={view?.pos ?? -1} data-syscall={k}>
      <h2>
        Compare with <span className="logname">{name}</span>
        <span className="muted" data-testid="compare-status">
          {err
            ? `could not load: ${err}`
            : otherSum
              ? `${otherSum.events.toLocaleString('en-US')} events · syscall ${k + 1} of ${mine?.open.length ?? '?'} here ↔ ${theirs?.open.length ?? '?'} there · at pos ${bpos}`
              : 'loading…'}
        </span>
      </h2>
      {mine && theirs && k >= 0 && (
        <div className="cmpcall" data-testid="compare-syscalls">
          <div>
            <b>here</b> {mine.names[k]} <span className="mono args">{mine.args[k]}</span>
          </div>
          <div>
            <b>there</b> {theirs.names[k] ?? '—'} <span className="mono args">{theirs.args[k] ?? ''}</span>
          </div>
        </div>
      )}
      <div className="cmpgrid">
        <div className="cmpside" data-testid="compare-here">
          <AddressSpace view={here} pinned={null} selected={null} onSelect={() => undefined} onHistory={() => undefined} arenaBase={summary.arenaBase} />
        </div>
        <div className="cmpside" data-testid="compare-other">
          <AddressSpace view={view} pinned={null} selected={null} onSelect={() => undefined} onHistory={() => undefined} arenaBase={otherSum?.arenaBase ?? 0} />
        </div>
      </div>
    </section>
  );
}
