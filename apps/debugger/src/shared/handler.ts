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
import { decodeLogFile, type EventLog } from '@mmsim/core';
import { indexLog, type LogIndex } from './log-index.js';
import { packIndex, unpackIndex, type WireIndex } from './index-wire.js';
import { fetchLog, type FetchedLog, type ReadOptions } from './fetch-log.js';
import { CheckJob } from './checks.js';
import { DebugSession, describeError } from './session.js';

/** events the checkers look at between two requests, at most, and for at most this long */
const CHECK_SLICE = 20_000;
const CHECK_SLICE_MS = 8;
/** how long one idle slice builds keyframes (at least one interval of 16384 events) */
const KEYFRAME_SLICE_MS = 12;
/** events between two progress checks of a whole-log run (runChecks), and its ms between two looks at its messages */
const CHECK_RUN = 50_000;
const CHECK_RUN_MS = 16;
/** the longest a `yield` pauses the checkers (a page that never says resume does not stop them) */
const MAX_YIELD_MS = 500;
/** the longest a `check`'s holdMs holds them before their first slice */
const MAX_HOLD_MS = 10_000;

/**
 * Both workers read the log with its chunks' decode checks deferred: each decodes the
 * whole log at once anyway (the final-state replay, the index), and that decode checks
 * the chunks, with the LogFileError a full read would give. Half the decode of a load.
 */
const VERIFY = 'checksums' as const;

export type Post = (msg: ResponseEnvelope) => void;

export interface Handler {
  onMessage(env: RequestEnvelope): void;
  /** resolves once the queue is empty (tests) */
  idle(): Promise<void>;
  readonly session: DebugSession | null;
}

/**
 * `fetchBytes`: how a `load`/`check` url is read (tests give files); without it, fetch()
 * with the log decoded as it downloads (fetchLog).
 */
export function createHandler(post: Post, fetchBytes?: (url: string) => Promise<Uint8Array>): Handler {
  /** a url's log, decoded: while it downloads, or (given bytes) at once */
  const openUrl = async (url: string, opts: ReadOptions): Promise<FetchedLog> => {
    if (!fetchBytes) return fetchLog(url, opts);
    const bytes = await fetchBytes(url);
    const t0 = performance.now();
    return { result: decodeLogFile(bytes, opts), decodeMs: performance.now() - t0, bytes: bytes.length };
  };
  let session: DebugSession | null = null;
  /** the checkers' run over the loaded log, advanced whenever no request waits */
  let checks: CheckJob | null = null;
  let checkFor: DebugSession | null = null;
  let lastChecksPost = 0;
  const queue: RequestEnvelope[] = [];
  let running = false;
  /** a whole-log checker run (`check`) waits until then: the page is seeking */
  let pausedUntil = 0;
  let idleWaiters: (() => void)[] = [];

  async function run(req: Request): Promise<unknown> {
    switch (req.kind) {
      case 'load':
      case 'loadBytes': {
        session = null;
        checks = null;
        // the final-state replay decodes every chunk anyway: it checks them (ReadLogOptions.verify)
        const opts = { salvage: req.salvage, file: req.name, verify: VERIFY };
        // listen before the replay: the other worker's index may come meanwhile
        const index = req.indexPort ? receiveIndex(req.indexPort) : null;
        let log: FetchedLog;
        if (req.kind === 'load') {
          post({ id: -1, progress: 'fetching and decoding' });
          log = await openUrl(req.url, opts);
        } else {
          post({ id: -1, progress: `decoding ${req.bytes.byteLength} bytes` });
          const t0 = performance.now();
          log = { result: decodeLogFile(new Uint8Array(req.bytes), opts), decodeMs: performance.now() - t0, bytes: req.bytes.byteLength };
        }
        post({ id: -1, progress: `replaying ${log.result.log.length} events` });
        session = index ? await DebugSession.withIndex(log.result, log.decodeMs, index) : new DebugSession(log.result, log.decodeMs);
        if (req.checks !== false) checks = new CheckJob(session.tt.log);
        checkFor = session;
        return session.summary();
      }
      case 'check':
        return runChecks(req, post, openUrl, () => pausedUntil, (ms) => (pausedUntil = performance.now() + ms));
      default:
        break;
    }
    if (!session) throw new Error('no log loaded');
    switch (req.kind) {
      case 'view':
        return session.view(req.pos, req.pinned, req.laneWindow, req.around);
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
      case 'findings':
        return session.setFindings(req.findings, req.count);
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

  /** when the keyframes' progress was last posted */
  let keyframesPosted = 0;

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
        } else if (session && session.keyframesPending) {
          // nothing waits: the keyframes first (seeks need them), a slice at a time
          const done = session.buildKeyframes(KEYFRAME_SLICE_MS);
          if (done || performance.now() - keyframesPosted > 250) {
            keyframesPosted = performance.now();
            post({ id: -1, keyframes: { built: session.keyframesBuilt, total: session.length } });
          }
          await nextTask();
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
      if (env.req.kind === 'yield') {
        // a pause never shortens one under way (the hold before the first slice); 0 ends it
        const ms = Math.max(0, Math.min(MAX_YIELD_MS, env.req.ms));
        pausedUntil = ms === 0 ? 0 : Math.max(pausedUntil, performance.now() + ms);
        post({ id: env.id, ok: true, result: null });
        return;
      }
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

/**
 * The checkers over a whole log in one go, for a worker of their own (the page's second
 * worker): with no session to answer, nothing waits for slices, and the session's worker
 * answers seeks on the other core meanwhile. Progress a few times a second.
 */
async function runChecks(
  req: Extract<Request, { kind: 'check' }>,
  post: Post,
  openUrl: (url: string, opts: ReadOptions) => Promise<FetchedLog>,
  pausedUntil: () => number,
  hold: (ms: number) => void,
) {
  const t0 = performance.now();
  // indexLog decodes every chunk in order: it checks them (the session's worker does too)
  const opts = { salvage: req.salvage, file: req.name, verify: VERIFY };
  let log: EventLog;
  try {
    if (req.bytes) log = decodeLogFile(new Uint8Array(req.bytes), opts).log;
    else if (req.url) log = (await openUrl(req.url, opts)).result.log;
    else throw new Error('check: neither url nor bytes given');
    // the session's worker waits for this index (it replays the keyframes meanwhile)
    if (req.indexPort) {
      // its columns move, not copy (tens of MB on a large log), its maps go as columns
      const { wire, transfer } = packIndex(indexLog(log));
      req.indexPort.postMessage({ index: wire }, transfer);
    }
  } catch (e) {
    // the session then indexes the log itself
    req.indexPort?.postMessage({ index: null });
    throw e;
  } finally {
    req.indexPort?.close();
  }
  const job = new CheckJob(log);
  const total = log.length;
  let last = performance.now();
  // held until the page has drawn its first view (it resumes them then), or holdMs passed
  if (req.holdMs) {
    hold(Math.min(MAX_HOLD_MS, req.holdMs));
    await paused(pausedUntil);
  }
  // a slice at a time, looking at its messages in between: the page's `yield` pauses the run
  // while it seeks (two cores: the checkers would take the one the page renders on)
  while (!job.step(CHECK_RUN, CHECK_RUN_MS)) {
    await nextTask();
    await paused(pausedUntil);
    if (performance.now() - last > 250) {
      last = performance.now();
      post({ id: -1, checks: { done: job.done, total, finished: false, count: job.count() } });
    }
  }
  return { findings: job.findings(), count: job.count(), events: total, ms: Math.round(performance.now() - t0) };
}

/** The index another worker sends on `port` (null: it could not build one). */
function receiveIndex(port: MessagePort): Promise<LogIndex | null> {
  return new Promise((resolve) => {
    port.onmessage = (ev: MessageEvent<{ index: WireIndex | null }>) => {
      const w = ev.data.index;
      resolve(w ? unpackIndex(w) : null);
      port.close();
    };
    port.onmessageerror = () => resolve(null);
  });
}

function tick(): Promise<void> {
  return new Promise<void>((r) => setTimeout(r, 0));
}

function sleep(ms: number): Promise<void> {
  return new Promise<void>((r) => setTimeout(r, ms));
}

/** Until `until()` has passed; a resume (until moved back) is seen within 20 ms. */
async function paused(until: () => number): Promise<void> {
  for (let wait = until() - performance.now(); wait > 0; wait = until() - performance.now()) await sleep(Math.min(wait, 20));
}

/**
 * The next task, after the messages that came meanwhile: a message to ourselves (a chain of
 * setTimeout(0) is clamped to 4 ms, a fifth of the checkers' time at one look per 16 ms).
 */
const selfChannel = typeof MessageChannel === 'function' ? new MessageChannel() : null;
const selfWaiters: (() => void)[] = [];
if (selfChannel) {
  selfChannel.port1.onmessage = () => selfWaiters.shift()?.();
  // node: a port with a listener keeps the process alive; this one must not
  (selfChannel.port1 as unknown as { unref?(): void }).unref?.();
}
function nextTask(): Promise<void> {
  if (!selfChannel) return tick();
  return new Promise<void>((r) => {
    selfWaiters.push(r);
    selfChannel.port2.postMessage(null);
  });
}
