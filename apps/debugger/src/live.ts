/**
 * The server's side of a live page (`mmsim serve --live`): a log file that a run is
 * still writing, followed chunk by chunk. The run's streaming writer puts each chunk out
 * as it seals; every poll reads the bytes added since the last one into core's
 * LogFollower, which keeps the chunks that arrived whole and verified. The page is told
 * of each change as a server-sent event (/api/live) and fetches /log.mmlog: the sealed
 * prefix closed with a trailer, a complete log of every event so far. Once the run wrote
 * its own trailer, that is the finished file byte for byte.
 *
 * A rollback across a seal cuts the file back (LogSink.truncate), and a new run at the
 * same path starts another file: the follower then starts over from byte 0.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LogFollower } from '@mmsim/core';
import type { LiveStatus } from './shared/protocol.js';

/** Where the followed log is now, and whether the run that writes it has ended. */
export interface LiveSource {
  /** the file to read now (a run's partial file, later its target), or null before it exists */
  current(): { path: string | null; done: boolean; label?: string; exitCode?: number };
}

const READ = 1 << 20;

export class LiveLog {
  private follower = new LogFollower();
  private path: string | null = null;
  private error: string | null = null;
  private restarts = 0;
  private status: LiveStatus = { events: 0, chunks: 0, bytes: 0, done: false, complete: false, restarts: 0 };

  constructor(private readonly source: LiveSource) {}

  /** Read what was added since the last poll; the status after it. */
  poll(): LiveStatus {
    const cur = this.source.current();
    if (cur.path !== null && cur.path !== this.path) {
      // the partial file renamed onto its target keeps its bytes: read on where we were,
      // the CRCs (chained from the header's) say whether it is still the same log
      this.path = cur.path;
    }
    if (this.path !== null) this.readNew(this.path);
    const f = this.follower;
    const next: LiveStatus = {
      events: f.events,
      chunks: f.chunks,
      bytes: f.sealedBytes,
      done: cur.done,
      complete: f.complete,
      restarts: this.restarts,
      ...(cur.label ? { label: cur.label } : {}),
      ...(cur.exitCode !== undefined ? { exitCode: cur.exitCode } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
    this.status = next;
    return next;
  }

  get last(): LiveStatus {
    return this.status;
  }

  /** The log so far as a complete file, or null before its header arrived. */
  image(): Uint8Array | null {
    return this.follower.sealedBytes > 0 ? this.follower.image() : null;
  }

  private restart(): void {
    this.follower = new LogFollower();
    this.restarts++;
  }

  private readNew(path: string): void {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return; // not there yet, or renamed between the look and the open: the next poll
    }
    try {
      const size = fstatSync(fd).size;
      if (size < this.follower.offset) this.restart();
      const buf = Buffer.allocUnsafe(READ);
      for (let off = this.follower.offset; off < size; ) {
        const n = readSync(fd, buf, 0, Math.min(READ, size - off), off);
        if (n <= 0) break;
        try {
          this.follower.push(buf.subarray(0, n));
          this.error = null;
        } catch (e) {
          // torn or replaced: read it again from the start at the next poll
          this.error = (e as Error).message;
          this.restart();
          return;
        }
        off += n;
      }
    } finally {
      closeSync(fd);
    }
  }
}
