import { describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import { DebuggerClient, SupersededError, WorkerRequestError, type PortLike } from './client.js';
import { createHandler } from './shared/handler.js';
import type { Request, RequestEnvelope, ResponseEnvelope } from './shared/protocol.js';
import { corruptLog, relocateGoldenLog, relocatePatchV1Log, relocationLog } from './testing/engine-logs.js';
import { DebugSession } from './shared/session.js';
import { CheckJob } from './shared/checks.js';
import { decodeLogFile, sealLogFile, splitLogFile } from '@mmsim/core';

/** A client wired to the worker's handler in-process (structured clone stands in for postMessage). */
function pair(files: Record<string, Uint8Array> = {}) {
  const sent: Request[] = [];
  const port: PortLike = {
    onmessage: null,
    postMessage(msg: RequestEnvelope, transfer?: Transferable[]) {
      sent.push(msg.req);
      handler.onMessage(structuredClone(msg, { transfer: transfer as Transferable[] }));
    },
  };
  const handler = createHandler(
    (m: ResponseEnvelope) => port.onmessage?.({ data: structuredClone(m) }),
    async (url) => {
      const f = files[url];
      if (!f) throw new Error(`could not fetch ${url}: HTTP 404 Not Found`);
      return f;
    },
  );
  return { client: new DebuggerClient(port), handler, sent };
}

describe('worker protocol', () => {
  const demo = relocateGoldenLog();
  const events = DebugSession.fromBytes(demo.bytes).length;

  it('loads by url, answers views, events and steps', async () => {
    const { client } = pair({ '/log.mmlog': demo.bytes });
    const progress: string[] = [];
    client.progress$.subscribe((p) => progress.push(p));
    const sum = await client.request({ kind: 'load', url: '/log.mmlog' });
    expect(sum.events).toBe(events);
    expect(progress.join('|')).toMatch(/fetching and decoding\|replaying \d+ events/);
    const v = await client.request({ kind: 'view', pos: sum.events, pinned: null });
    expect(v.mms).toHaveLength(1);
    expect(v.anonVmas.map((a) => a.id)).toEqual([1, 2]);
    const rows = await client.request({ kind: 'events', from: 10, count: 3 });
    expect(rows.map((r) => r.seq)).toEqual([10, 11, 12]);
    expect(await client.request({ kind: 'step', pos: 0, dir: 1, unit: 'syscall' })).toBeGreaterThan(0);
    const d = await client.request({ kind: 'diff', a: 0, b: sum.events });
    expect(d.vmas.added.length).toBe(v.mms[0].vmaTotal);
    const h = await client.request({ kind: 'history', target: { kind: 'lock', name: 'mmap_lock:1' }, pos: 10 });
    expect(h.total).toBeGreaterThan(0);
  });

  it('builds the keyframes after the load in idle slices, saying how far they go', async () => {
    const big = relocationLog(8192, 2).bytes;
    const { client, handler } = pair({ '/big.mmlog': big });
    const seen: { built: number; total: number }[] = [];
    client.keyframes$.subscribe((k) => k && seen.push(k));
    const sum = await client.request({ kind: 'load', url: '/big.mmlog', checks: false });
    // the final state is there before the keyframes are
    const v = await client.request({ kind: 'view', pos: sum.events, pinned: null });
    expect(v.pos).toBe(sum.events);
    await handler.idle();
    expect(handler.session!.keyframesPending).toBe(false);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[seen.length - 1]).toEqual({ built: sum.events, total: sum.events });
    for (let i = 1; i < seen.length; i++) expect(seen[i].built).toBeGreaterThanOrEqual(seen[i - 1].built);
  });

  it('loads bytes given by the page (file picker, drag and drop)', async () => {
    const { client } = pair();
    const buf = demo.bytes.slice().buffer;
    const sum = await client.request({ kind: 'loadBytes', bytes: buf, name: 'x.mmlog' });
    expect(sum.events).toBe(events);
  });

  it('reports a corrupt log as a LogFileError with its message', async () => {
    const { client } = pair({ '/bad': corruptLog(relocationLog(512, 1).bytes) });
    const err = await client.request({ kind: 'load', url: '/bad' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerRequestError);
    expect((err as WorkerRequestError).errorName).toBe('LogFileError');
    expect((err as Error).message).toMatch(/truncated or corrupt after event \d+ .*byte offset \d+/);
    // views before a successful load fail clearly
    const err2 = await client.request({ kind: 'view', pos: 0, pinned: null }).catch((e: unknown) => e);
    expect((err2 as Error).message).toBe('no log loaded');
    const err3 = await client.request({ kind: 'load', url: '/missing' }).catch((e: unknown) => e);
    expect((err3 as Error).message).toMatch(/HTTP 404/);
  });

  it('a chunk only its decode shows damaged (its checksums hold) fails the load of both workers as a full read would', async () => {
    // the workers read with the decode checks deferred to their replay (verify 'checksums')
    const { head, chunks } = splitLogFile(relocationLog(8192, 2).bytes);
    expect(chunks.length).toBeGreaterThan(4);
    const k = 2;
    const body = chunks[k].body.slice();
    body[0] = 0xfe; // no event type
    const bad = sealLogFile({ head, chunks: chunks.map((c, i) => (i === k ? { ...c, body } : c)) });
    let full: Error | undefined;
    try {
      decodeLogFile(bad);
    } catch (e) {
      full = e as Error;
    }
    expect(full?.name).toBe('LogFileError');
    const a = pair({ '/log.mmlog': bad });
    const b = pair({ '/log.mmlog': bad });
    const ch = new MessageChannel();
    const loading = a.client.request({ kind: 'load', url: '/log.mmlog', checks: false, indexPort: ch.port1 }, [ch.port1]).catch((e: unknown) => e);
    const checking = b.client.request({ kind: 'check', url: '/log.mmlog', indexPort: ch.port2 }, [ch.port2]).catch((e: unknown) => e);
    for (const err of [await loading, await checking]) {
      expect(err).toBeInstanceOf(WorkerRequestError);
      expect((err as WorkerRequestError).errorName).toBe('LogFileError');
      expect((err as Error).message).toBe(full!.message);
    }
  });

  it('runs the checkers between requests and posts their findings with the summary', async () => {
    const bad = relocatePatchV1Log();
    const { client, handler } = pair({ '/log.mmlog': bad.bytes });
    const statuses: { finished: boolean; count: number; violations?: number[] }[] = [];
    client.checks$.subscribe(({ status, summary }) => statuses.push({ finished: status.finished, count: status.count, violations: summary?.violations }));
    const sum = await client.request({ kind: 'load', url: '/log.mmlog' });
    expect(sum.checked).toBeNull();
    // a view is answered while the checkers still run
    const v = await client.request({ kind: 'view', pos: 5, pinned: null });
    expect(v.pos).toBe(5);
    await handler.idle();
    const last = statuses[statuses.length - 1];
    expect(last.finished).toBe(true);
    expect(last.count).toBeGreaterThan(0);
    expect(last.violations!.length).toBeGreaterThan(0);
    expect(await client.request({ kind: 'step', pos: 0, dir: 1, unit: 'violation' })).toBe(last.violations![0] + 1);
  });

  it('drops superseded views: only the newest queued view runs', async () => {
    const { client, handler } = pair({ '/log.mmlog': demo.bytes });
    await client.request({ kind: 'load', url: '/log.mmlog' });
    const ps = [10, 20, 30, 40].map((pos) => client.request({ kind: 'view', pos, pinned: null }));
    const settled = await Promise.allSettled(ps);
    expect(settled.slice(0, 3).every((s) => s.status === 'rejected' && s.reason instanceof SupersededError)).toBe(true);
    expect(settled[3].status === 'fulfilled' && settled[3].value.pos).toBe(40);
    await handler.idle();
  });

  it('scrubbing through `latest` yields the final position last and drops stale answers', async () => {
    const { client, sent } = pair({ '/log.mmlog': demo.bytes });
    await client.request({ kind: 'load', url: '/log.mmlog' });
    const pos$ = new Subject<Extract<Request, { kind: 'view' }>>();
    const views: number[] = [];
    const done = new Promise<void>((resolve) => {
      client.latest(pos$, 20).subscribe((v) => {
        views.push(v.pos);
        if (v.pos === 200) resolve();
      });
    });
    for (let p = 0; p <= 200; p++) pos$.next({ kind: 'view', pos: p, pinned: null });
    await done;
    expect(views[views.length - 1]).toBe(200);
    // throttling: far fewer requests than positions
    expect(sent.filter((r) => r.kind === 'view').length).toBeLessThan(20);
  });

  describe('two workers: the checkers\' worker indexes the log for the session\'s worker', () => {
    const bad = relocatePatchV1Log();
    const files = { '/log.mmlog': bad.bytes };
    const { timing: _t, ...alone } = new DebugSession(DebugSession.fromBytes(bad.bytes).result).summary();

    it('gives the summary and views of one worker, then the findings join the marks', async () => {
      const a = pair(files);
      const b = pair(files);
      const ch = new MessageChannel();
      const loading = a.client.request({ kind: 'load', url: '/log.mmlog', checks: false, indexPort: ch.port1 }, [ch.port1]);
      const progress: number[] = [];
      b.client.checks$.subscribe(({ status }) => progress.push(status.done));
      const checked = b.client.request({ kind: 'check', url: '/log.mmlog', indexPort: ch.port2 }, [ch.port2]);
      const { timing, ...sum } = await loading;
      expect(a.handler.session!.indexedBy).toBe('other worker');
      expect(sum).toEqual(alone);
      expect(timing.total).toBeGreaterThan(0);
      const one = DebugSession.fromBytes(bad.bytes);
      for (const pos of [0, 7, Math.floor(sum.events / 2), sum.events]) {
        const { ms: _m1, ...v } = await a.client.request({ kind: 'view', pos, pinned: null });
        const { ms: _m2, ...w } = one.view(pos, null);
        expect(v).toEqual(structuredClone(w));
      }
      const r = await checked;
      expect(r.events).toBe(sum.events);
      expect(r.count).toBeGreaterThan(0);
      expect(r.findings.length).toBeGreaterThan(0);
      // the session's worker ran no checker of its own
      await a.handler.idle();
      expect(a.handler.session!.summary().checked).toBeNull();
      const after = await a.client.request({ kind: 'findings', findings: r.findings, count: r.count });
      expect(after.checked).toEqual({ count: r.count });
      expect(after.violations).toEqual(expect.arrayContaining([...new Set(r.findings.map((f) => f.seq))]));
      expect(Object.keys(after.violationReasons).length).toBeGreaterThan(0);
    });

    it('indexes here when the other worker sends no index (its file did not decode)', async () => {
      const a = pair(files);
      const b = pair({ '/log.mmlog': corruptLog(bad.bytes) });
      const ch = new MessageChannel();
      const loading = a.client.request({ kind: 'load', url: '/log.mmlog', checks: false, indexPort: ch.port1 }, [ch.port1]);
      await expect(b.client.request({ kind: 'check', url: '/log.mmlog', indexPort: ch.port2 }, [ch.port2])).rejects.toThrow(WorkerRequestError);
      const { timing: _t2, ...sum } = await loading;
      expect(a.handler.session!.indexedBy).toBe('fallback');
      expect(sum).toEqual(alone);
    });
  });

  it('a check with holdMs sends its index, then runs no checker until the page resumes it', async () => {
    const bad = relocatePatchV1Log();
    const { client } = pair({ '/log.mmlog': bad.bytes });
    const ch = new MessageChannel();
    const indexed = new Promise<void>((r) => (ch.port1.onmessage = () => r()));
    const progress: number[] = [];
    client.checks$.subscribe(({ status }) => progress.push(status.done));
    let finished = false;
    // held for at most 60 s: far past this test's timeout, so only the resume can end it
    const checked = client.request({ kind: 'check', url: '/log.mmlog', indexPort: ch.port2, holdMs: 60_000 }, [ch.port2]).then((r) => ((finished = true), r));
    await indexed;
    ch.port1.close();
    // a seek's pause while held does not shorten the hold
    await client.request({ kind: 'yield', ms: 1 });
    await new Promise((r) => setTimeout(r, 150));
    expect(finished).toBe(false);
    expect(progress.filter((d) => d > 0)).toEqual([]);
    await client.request({ kind: 'yield', ms: 0 });
    const r = await checked;
    expect(r.count).toBeGreaterThan(0);
    expect(r.events).toBe(DebugSession.fromBytes(bad.bytes).length);
  });

  it('a seek pauses a whole-log checker run: `yield` is answered beside the queue, and no finding is lost', async () => {
    const bad = relocatePatchV1Log();
    const { client } = pair({ '/log.mmlog': bad.bytes });
    const order: string[] = [];
    const checked = client.request({ kind: 'check', url: '/log.mmlog' }).then((r) => (order.push('check'), r));
    // the queue is running the check: a queued request would wait for it, a yield does not
    await client.request({ kind: 'yield', ms: 200 }).then(() => order.push('yield'));
    await client.request({ kind: 'yield', ms: 0 }).then(() => order.push('resume'));
    const r = await checked;
    expect(order).toEqual(['yield', 'resume', 'check']);
    const alone = new CheckJob(DebugSession.fromBytes(bad.bytes).tt.log);
    while (!alone.step(10_000));
    expect(r.count).toBe(alone.count());
    expect(r.count).toBeGreaterThan(0);
    expect(r.events).toBe(DebugSession.fromBytes(bad.bytes).length);
  });
});
