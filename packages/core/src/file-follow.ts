/**
 * Following a log file while a run writes it (`mmsim serve --live`): the streaming writer
 * (streamLog) puts out the header at once and each chunk as it seals, so a growing file
 * is a header, whole chunks, and perhaps the start of the next one. The follower takes
 * the bytes as they appear, keeps the chunks that arrived whole and verify (their CRCs
 * chained from the header's, as file.ts describes), and closes that sealed prefix with a
 * trailer of its own: a complete format 3 log of every event so far, which any reader
 * opens without --salvage. Once the run wrote its own trailer, the image is the finished
 * file byte for byte.
 *
 * Nothing is decoded (the chunk heads and CRCs only): a poll costs the new bytes' CRC.
 */
import { crc32 } from './codec.js';
import { CHUNK_HEAD_BYTES, CHUNK_MAGIC, HEADER_FIXED_BYTES, LOG_FORMAT_CHAINED, LOG_MAGIC, TRAILER_BYTES, TRAILER_MAGIC, chunkCrc, encodeTrailer } from './file.js';

export interface FollowedLog {
  /** events in the whole chunks so far */
  readonly events: number;
  readonly chunks: number;
  /** the file's own trailer was read: the run finished */
  readonly complete: boolean;
  /** bytes of the header and whole chunks */
  readonly sealedBytes: number;
}

/** Thrown by push(): the bytes are no log this follower can follow (another format, a failed CRC). */
export class FollowError extends Error {
  override name = 'FollowError';
}

export class LogFollower implements FollowedLog {
  private buf = new Uint8Array(1 << 16);
  /** bytes held (a prefix of the file) */
  private len = 0;
  /** end of the header, then of each verified chunk */
  private end = 0;
  private seed = 0;
  private readonly crcs: number[] = [];
  private count = 0;
  private done = false;

  get events(): number {
    return this.count;
  }
  get chunks(): number {
    return this.crcs.length;
  }
  get complete(): boolean {
    return this.done;
  }
  get sealedBytes(): number {
    return this.end;
  }
  /** bytes taken so far (the file's offset to read on from) */
  get offset(): number {
    return this.len;
  }

  /** The next bytes of the file; returns the events that became whole. */
  push(bytes: Uint8Array): number {
    if (this.done) {
      if (bytes.length) throw new FollowError(`${bytes.length} bytes after the trailer`);
      return 0;
    }
    if (this.len + bytes.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + bytes.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    const before = this.count;
    this.advance();
    return this.count - before;
  }

  private advance(): void {
    const b = this.buf;
    const dv = new DataView(b.buffer, 0, this.len);
    if (this.end === 0) {
      if (this.len < HEADER_FIXED_BYTES) return;
      if (new TextDecoder().decode(b.subarray(0, 8)) !== LOG_MAGIC) throw new FollowError('not an mmsim log (bad magic)');
      if (dv.getUint16(8, true) !== LOG_FORMAT_CHAINED) throw new FollowError(`only format ${LOG_FORMAT_CHAINED} logs can be followed (this one is ${dv.getUint16(8, true)})`);
      const headEnd = HEADER_FIXED_BYTES + dv.getUint32(10, true);
      if (this.len < headEnd) return;
      const seed = dv.getUint32(14, true);
      if (crc32(b.subarray(HEADER_FIXED_BYTES, headEnd), crc32(b.subarray(8, 14))) !== seed) throw new FollowError('header CRC mismatch');
      this.seed = seed;
      this.end = headEnd;
    }
    for (;;) {
      const off = this.end;
      if (off + 4 > this.len) return;
      const magic = dv.getUint32(off, true);
      if (magic === TRAILER_MAGIC) {
        if (off + TRAILER_BYTES > this.len) return;
        const own = encodeTrailer(this.crcs, this.count, this.seed);
        for (let i = 0; i < TRAILER_BYTES; i++) if (b[off + i] !== own[i]) throw new FollowError(`the trailer at byte ${off} does not close the chunks before it`);
        this.done = true;
        this.end = off + TRAILER_BYTES;
        if (this.len > this.end) throw new FollowError(`${this.len - this.end} bytes after the trailer`);
        return;
      }
      if (magic !== CHUNK_MAGIC) throw new FollowError(`no chunk at byte ${off}`);
      if (off + CHUNK_HEAD_BYTES > this.len) return;
      const next = off + CHUNK_HEAD_BYTES + dv.getUint32(off + 12, true) + dv.getUint32(off + 16, true);
      if (next > this.len) return;
      const first = dv.getUint32(off + 4, true);
      if (first !== this.count) throw new FollowError(`the chunk at byte ${off} starts at event ${first}, after ${this.count}`);
      const crc = chunkCrc(b, off, next, this.crcs.length ? this.crcs[this.crcs.length - 1] : this.seed);
      if (crc !== dv.getUint32(off + 20, true)) throw new FollowError(`chunk CRC mismatch at byte ${off}`);
      this.crcs.push(crc);
      this.count += dv.getUint32(off + 8, true);
      this.end = next;
    }
  }

  /** The sealed prefix as a complete log file: header, whole chunks, a trailer closing them. */
  image(): Uint8Array {
    if (this.end === 0) throw new FollowError('the header has not arrived yet');
    if (this.done) return this.buf.slice(0, this.end);
    const out = new Uint8Array(this.end + TRAILER_BYTES);
    out.set(this.buf.subarray(0, this.end));
    out.set(encodeTrailer(this.crcs, this.count, this.seed), this.end);
    return out;
  }
}
