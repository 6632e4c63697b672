/**
 * The worker's message loop, separate from the Worker global so that node tests drive
 * it directly. Requests run one at a time, in order; of the queued "latest only"
 * requests (views while scrubbing) only the newest of each kind runs, the others are
 * answered `superseded`.
 */
import {
  LATEST_ONLY,
  type Request,
  type RequestEnvelope,
  type ResponseEnvelope,
} from './protocol.js';
import { CheckJob } from './checks.js';
import { DebugSession, describeError } from './session.js';

/** events the checkers look at between two requests, at most, and for at most this long */
const CHECK_SLICE = 20_000;
const CHECK_SLICE_MS = 8;

export type Post = (msg: ResponseEnvelope) => void;

export interface Handler {
  onMessage(env: RequestEnvelope): void;
  /** resolves once the queue is empty (tests) */
  idle(): Promise<void>;
  readonly session: DebugSession | null;
}

export function createHandler(post: Post, fetchBytes: (url: string) => Promise<Uint8Array> = defaultFetch): Handler {
  let session: DebugSession | null = null;
  /** the checkers' run over the loaded log, advanced whenever no request waits */
  let checks: CheckJob | null = null;
  let checkFor: DebugSession | null = null;
  let lastChecksPost = 0;
  const queue: RequestEnvelope[] = [];
  let running = false;
  let idleWaiters: (() => void)[] = [];

  async function run(req: Request): Promise<unknown> {
    switch (req.kind) {
      case 'load':
      case 'loadBytes': {
        session = null;
        post({ id: -1, progress: 'fetching' });
        const bytes = req.kind === 'load' ? await fetchBytes(req.url) : new Uint8Array(req.bytes);
        post({ id: -1, progress: `decoding ${bytes.length} bytes` });
        session = DebugSession.fromBytes(bytes, { salvage: req.salvage, file: req.name });
        checks = new CheckJob(session.tt.log);
        checkFor = session;
        return session.summary();
      }
      default:
        break;
    }
    if (!session) throw new Error('no log loaded');
    switch (req.kind) {
      case 'view':
        return session.view(req.pos, req.pinned, req.laneWindow);
      case 'events':
        return session.events(req.from, req.count);
      case 'step':
        return session.step(req.pos, req.dir, req.unit);
      case 'diff':
        return session.diff(req.a, req.b);
      case 'violations':
        return session.setViolations(req.source);
      case 'history':
        return session.history(req.target, req.pos);
      case 'search':
        return session.search(req.query, req.pos, req.dir);
      case 'syscalls':
        return session.syscalls();
    }
  }

  /** One slice of the checkers; posts their progress, and the findings once done. */
  function checkSlice(): void {
    if (!checks || !checkFor || checkFor !== session) return;
    const total = checkFor.length;
    const finished = checks.step(CHECK_SLICE, CHECK_SLICE_MS);
    if (finished) {
      const summary = checkFor.setFindings(checks.findings(), checks.count());
      post({ id: -1, checks: { done: total, total, finished: true, count: checks.count() }, summary });
      checks = null;
    } else if (performance.now() - lastChecksPost > 250) {
      // progress a few times a second, not once a slice: each one re-renders the page
      lastChecksPost = performance.now();
      post({ id: -1, checks: { done: checks.done, total, finished: false, count: checks.count() } });
    }
  }

  async function drain(): Promise<void> {
    running = true;
    try {
      for (;;) {
        if (queue.length) {
          const batch = queue.splice(0);
          const newest = new Map<string, number>();
          for (const e of batch) if (LATEST_ONLY.has(e.req.kind)) newest.set(e.req.kind, e.id);
          for (const e of batch) {
            if (LATEST_ONLY.has(e.req.kind) && (newest.get(e.req.kind) !== e.id || queue.some((q) => q.req.kind === e.req.kind))) {
              post({ id: e.id, ok: false, superseded: true });
              continue;
            }
            try {
              post({ id: e.id, ok: true, result: await run(e.req) });
            } catch (err) {
              post({ id: e.id, ok: false, error: describeError(err) });
            }
            // let messages that arrived meanwhile join the queue before the next one runs
            await tick();
          }
        } else if (checks) {
          // nothing waits: the checkers advance by one slice
          checkSlice();
          await tick();
        } else break;
      }
    } finally {
      running = false;
      const w = idleWaiters;
      idleWaiters = [];
      for (const f of w) f();
    }
  }

  return {
    onMessage(env) {
      queue.push(env);
      if (!running) {
        running = true;
        setTimeout(() => void drain(), 0);
      }
    },
    idle() {
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise((r) => idleWaiters.push(r));
    },
    get session() {
      return session;
    },
  };
}

function tick(): Promise<void> {
  return new Promise<void>((r) => setTimeout(r, 0));
}

async function defaultFetch(url: string): Promise<Uint8Array> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}
