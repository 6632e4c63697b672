/**
 * A log file's chunks as parts, and a file sealed anew from parts: every chunk CRC and
 * the trailer computed again (format in file.ts). For tools that cut or rewrite a log
 * without replaying it, and for tests that need damage only a decode can see (what a
 * buggy writer or a crafted file gives: the checksums hold, the events do not).
 * Version 2 and 3 files (sealed in the version of their header); nothing here checks
 * what the chunks hold.
 */
import { CHUNK_HEAD_BYTES, CHUNK_MAGIC, HEADER_FIXED_BYTES, LOG_FORMAT_CHAINED, LOG_FORMAT_VERSION, LogFileError, chunkCrc, encodeTrailer } from './file.js';

export interface LogFileChunk {
  /** byte offset of the chunk in the file it was split from (ignored by sealLogFile) */
  readonly offset: number;
  readonly first: number;
  readonly count: number;
  /** the registers JSON, as bytes */
  readonly regs: Uint8Array;
  /** the encoded events */
  readonly body: Uint8Array;
}

export interface LogFileParts {
  /** the header: fixed fields, CRC and JSON (kept as it is) */
  readonly head: Uint8Array;
  readonly chunks: LogFileChunk[];
}

/** Split a version 2 or 3 log file into its header and chunks (copies; the trailer is dropped). */
export function splitLogFile(file: Uint8Array, name?: string): LogFileParts {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = file.length < HEADER_FIXED_BYTES ? 0 : dv.getUint16(8, true);
  if (version < 2 || version > LOG_FORMAT_VERSION) {
    throw new LogFileError(8, `splitLogFile reads format version 2 to ${LOG_FORMAT_VERSION} logs only`, name);
  }
  const headEnd = HEADER_FIXED_BYTES + dv.getUint32(10, true);
  const chunks: LogFileChunk[] = [];
  let off = headEnd;
  while (off + CHUNK_HEAD_BYTES <= file.length && dv.getUint32(off, true) === CHUNK_MAGIC) {
    const rlen = dv.getUint32(off + 12, true);
    const blen = dv.getUint32(off + 16, true);
    const r0 = off + CHUNK_HEAD_BYTES;
    if (r0 + rlen + blen > file.length) throw new LogFileError(off, `chunk of ${rlen + blen} bytes runs past the end of the file`, name);
    chunks.push({
      offset: off,
      first: dv.getUint32(off + 4, true),
      count: dv.getUint32(off + 8, true),
      regs: file.slice(r0, r0 + rlen),
      body: file.slice(r0 + rlen, r0 + rlen + blen),
    });
    off = r0 + rlen + blen;
  }
  return { head: file.slice(0, headEnd), chunks };
}

/** A log file of these parts, in its header's version: each chunk's CRC (chained in v3) and the trailer computed anew. */
export function sealLogFile(parts: LogFileParts): Uint8Array {
  const { head, chunks } = parts;
  const hdv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const seed = hdv.getUint32(14, true);
  const chained = hdv.getUint16(8, true) >= LOG_FORMAT_CHAINED;
  const out: Uint8Array[] = [head];
  const crcs: number[] = [];
  let events = 0;
  for (const c of chunks) {
    const b = new Uint8Array(CHUNK_HEAD_BYTES + c.regs.length + c.body.length);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, CHUNK_MAGIC, true);
    dv.setUint32(4, c.first, true);
    dv.setUint32(8, c.count, true);
    dv.setUint32(12, c.regs.length, true);
    dv.setUint32(16, c.body.length, true);
    b.set(c.regs, CHUNK_HEAD_BYTES);
    b.set(c.body, CHUNK_HEAD_BYTES + c.regs.length);
    const crc = chunkCrc(b, 0, b.length, chained && crcs.length ? crcs[crcs.length - 1] : seed);
    dv.setUint32(20, crc, true);
    crcs.push(crc);
    events += c.count;
    out.push(b);
  }
  out.push(encodeTrailer(crcs, events, seed));
  const file = new Uint8Array(out.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of out) {
    file.set(p, at);
    at += p.length;
  }
  return file;
}
