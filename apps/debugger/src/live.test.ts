/**
 * LiveLog, the server's follower of a log a run is writing, on a log the engine made:
 * the partial file renamed onto its target is read on, a file cut back (a rollback
 * across a seal) or replaced by another run's is read again from its start.
 */
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeLogFile, splitLogFile } from '@mmsim/core';
import { LiveLog } from './live.js';
import { scenarioLog } from './testing/engine-logs.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-live-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const steps = Array.from({ length: 12 }, (_, i) => [
  { op: 'mmap', page: 0, pages: 256, prot: 'rw-' },
  { op: 'touch', page: 0, pages: 256 },
  { op: 'munmap', page: 0, pages: 256 + (i % 2) },
]).flat();
const log = scenarioLog({ format: 'mmsim-scenario/1', name: 'live', arena: { pages: 1024 }, steps });
const other = scenarioLog({ format: 'mmsim-scenario/1', name: 'other', arena: { pages: 1024 }, steps: steps.slice(0, 9) });
const chunkEnd = (bytes: Uint8Array, k: number) => splitLogFile(bytes).chunks[k].offset;

describe('LiveLog', () => {
  it('reads a partial file on after its rename, and serves the finished file byte for byte', () => {
    const partial = join(dir, 'a.mmlog.1.ab.partial');
    const target = join(dir, 'a.mmlog');
    let cur: { path: string | null; done: boolean } = { path: null, done: false };
    const live = new LiveLog({ current: () => cur });
    expect(live.poll()).toMatchObject({ events: 0, done: false });
    expect(live.image()).toBeNull();
    writeFileSync(partial, log.bytes.subarray(0, chunkEnd(log.bytes, 2) + 5));
    cur = { path: partial, done: false };
    const st = live.poll();
    expect(st.chunks).toBe(2);
    const img = decodeLogFile(live.image()!);
    expect(img.log.length).toBe(st.events);
    appendFileSync(partial, log.bytes.subarray(chunkEnd(log.bytes, 2) + 5));
    renameSync(partial, target);
    cur = { path: target, done: true };
    expect(live.poll()).toMatchObject({ done: true, complete: true, events: decodeLogFile(log.bytes).log.length, restarts: 0 });
    expect(Buffer.from(live.image()!).equals(Buffer.from(log.bytes))).toBe(true);
  });

  it('starts over when the file is cut back or is another run\'s', () => {
    const f = join(dir, 'b.mmlog');
    writeFileSync(f, log.bytes.subarray(0, chunkEnd(log.bytes, 3)));
    const live = new LiveLog({ current: () => ({ path: f, done: false }) });
    expect(live.poll().chunks).toBe(3);
    // a rollback across a seal truncates the file behind what was read
    truncateSync(f, chunkEnd(log.bytes, 1));
    expect(live.poll()).toMatchObject({ chunks: 1, restarts: 1 });
    // another run's log at the path, as long as what was read: its CRCs tell
    writeFileSync(f, other.bytes);
    const st = live.poll();
    expect(st.restarts).toBeGreaterThanOrEqual(2);
    live.poll();
    expect(Buffer.from(live.image()!).equals(Buffer.from(other.bytes))).toBe(true);
  });
});
