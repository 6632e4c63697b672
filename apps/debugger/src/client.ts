/**
 * The page side of the worker protocol, in RxJS: requests are promises keyed by id,
 * scrubbing is a stream of positions of which only the latest is asked for.
 */
import { BehaviorSubject, EMPTY, Observable, Subject, asyncScheduler, from, throttleTime } from 'rxjs';
import { catchError, switchMap } from 'rxjs/operators';
import type { ChecksStatus, LiveStatus, LogSummary, Request, RequestEnvelope, ResponseEnvelope, ResultMap } from './shared/protocol.js';

/** What the client needs of a Worker (a real one, or an in-process pair in tests). */
export interface PortLike {
  postMessage(msg: RequestEnvelope, transfer?: Transferable[]): void;
  onmessage: ((ev: { data: ResponseEnvelope }) => void) | null;
  terminate?(): void;
}

export class SupersededError extends Error {
  constructor() {
    super('superseded by a newer request');
    this.name = 'SupersededError';
  }
}

export class WorkerRequestError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = errorName;
  }
}

export class DebuggerClient {
  private nextId = 1;
  private pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  /** progress notices while a log loads */
  readonly progress$ = new BehaviorSubject<string>('');
  /** the worker's checker run: progress, and the summary with the findings at the end */
  readonly checks$ = new Subject<{ status: ChecksStatus; summary?: LogSummary }>();
  /** how far the worker's keyframes go (built of total events), after the load shows the final state */
  readonly keyframes$ = new BehaviorSubject<{ built: number; total: number } | null>(null);
  /** requests in flight (for a busy indicator) */
  readonly busy$ = new BehaviorSubject<number>(0);

  constructor(private readonly port: PortLike) {
    port.onmessage = (ev) => this.receive(ev.data);
  }

  private receive(m: ResponseEnvelope): void {
    if ('progress' in m) {
      this.progress$.next(m.progress);
      return;
    }
    if ('keyframes' in m) {
      this.keyframes$.next(m.keyframes);
      return;
    }
    if ('checks' in m) {
      this.checks$.next({ status: m.checks, summary: m.summary });
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.busy$.next(this.pending.size);
    if (m.ok) p.resolve(m.result);
    else if ('superseded' in m) p.reject(new SupersededError());
    else p.reject(new WorkerRequestError(m.error.name, m.error.message));
  }

  request<K extends Request['kind']>(req: Extract<Request, { kind: K }>, transfer?: Transferable[]): Promise<ResultMap[K]> {
    const id = this.nextId++;
    return new Promise<ResultMap[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.busy$.next(this.pending.size);
      this.port.postMessage({ id, req }, transfer ?? []);
    });
  }

  /**
   * Map a stream of requests to their answers, latest only: requests are throttled
   * (leading and trailing edge, so the final position is always asked for) and an
   * answer that arrives after a newer request was made is dropped.
   */
  latest<K extends Request['kind']>(reqs$: Observable<Extract<Request, { kind: K }>>, throttleMs = 30): Observable<ResultMap[K]> {
    return reqs$.pipe(
      throttleTime(throttleMs, asyncScheduler, { leading: true, trailing: true }),
      switchMap((req) =>
        from(this.request<K>(req)).pipe(
          catchError((e: unknown) => {
            if (e instanceof SupersededError) return EMPTY;
            this.errors$.next(e instanceof Error ? e : new Error(String(e)));
            return EMPTY;
          }),
        ),
      ),
    );
  }

  /** errors of `latest` streams */
  readonly errors$ = new Subject<Error>();

  dispose(): void {
    this.port.terminate?.();
    for (const p of this.pending.values()) p.reject(new Error('debugger worker closed'));
    this.pending.clear();
  }
}

/**
 * A live log's status (`mmsim serve --live`): the server-sent events of `url`, one per
 * change of what arrived. Once the run is done the EventSource is closed (it would
 * reconnect forever) and nothing more comes; the stream does not complete, so that a
 * throttle downstream still runs its trailing load. Errors when the server goes away.
 */
export function liveStatus$(url: string, open: (url: string) => EventSource = (u) => new EventSource(u)): Observable<LiveStatus> {
  return new Observable<LiveStatus>((sub) => {
    const es = open(url);
    es.onmessage = (ev: MessageEvent<string>) => {
      const st = JSON.parse(ev.data) as LiveStatus;
      sub.next(st);
      if (st.done) es.close();
    };
    es.onerror = () => {
      // CLOSED: the server is gone; CONNECTING: a blip, EventSource retries by itself
      if (es.readyState === EventSource.CLOSED) sub.error(new Error('the live log\'s server went away'));
    };
    return () => es.close();
  });
}
