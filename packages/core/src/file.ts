/**
 * The log file: append-only binary, streamable. Format version 3:
 *
 *   header   "MMSIMLOG" (8 bytes) | u16 version = 3 | u32 header length | u32 header CRC
 *            | header JSON {mmsimVersion, config, seed, nonce}
 *   chunks   "CHNK" | u32 first seq | u32 count | u32 regs length | u32 bytes length
 *            | u32 chunk CRC | regs JSON | bytes
 *   trailer  "TRLR" | u32 chunk count | u32 event count | u32 CRC of the chunk CRCs
 *            | u32 trailer CRC
 *
 * All integers little-endian. Every byte that decides meaning is under a checksum:
 * - header CRC = crc32(version, length, JSON);
 * - chunk CRC = crc32(first, count, lengths, regs, bytes), continued from the CRC of the
 *   chunk before it (the first chunk's from the header CRC): a chunk verifies only behind
 *   the very chunks it was written after, so no chunk of another run is ever kept, not
 *   even one of a run whose header is byte-identical up to the nonce;
 * - the trailer's chain CRC = crc32 of the chunk CRCs in order (u32 each), and its own
 *   CRC = crc32(its first 16 bytes), continued from the header CRC.
 * A complete log ends with exactly one trailer: a file without one was cut short (a
 * crashed or interrupted run) and is refused; `salvage` keeps its valid prefix.
 *
 * The nonce tells runs apart whose header would otherwise be the same (two `trace --log`
 * runs of different recordings at one path: the config names only the path). It is not
 * random: the promise "the same scenario and options give a byte-identical log" stands.
 * It is a hash of the header and of every input the run read that the header only names
 * (logNonce: the trace's bytes), so runs that differ in what they read differ in nonce,
 * and runs that do not write the same bytes. Two runs with one nonce can thus only
 * differ where the engine itself was changed (another checkout): the chained CRCs then
 * stop a splice at the first chunk that differs.
 *
 * Version 2 (mmsim 0.1 with the trailer, before the nonce) seeded every chunk CRC from
 * the header CRC alone and had no nonce: its chunks could be spliced with another run's
 * of an identical header. It is still read and verified as it was written.
 *
 * Version 1 (mmsim 0.1 before the trailer) had no header CRC, chunk CRCs over the
 * body only and no trailer. It is still read, marked unverified with a warning: a v1
 * log cut exactly at a chunk boundary cannot be told from a complete one.
 */
import { crc32 } from './codec.js';
import type { EventLog, SealedChunk } from './log.js';

export const LOG_MAGIC = 'MMSIMLOG';
export const LOG_FORMAT_VERSION = 3;
/** the version whose chunk CRCs are chained and whose header has a nonce */
export const LOG_FORMAT_CHAINED = 3;
/** the oldest format version this mmsim still reads */
export const LOG_FORMAT_OLDEST = 1;
export const CHUNK_MAGIC = 0x4b4e4843; // "CHNK" little-endian
export const TRAILER_MAGIC = 0x524c5254; // "TRLR" little-endian
export const CHUNK_HEAD_BYTES = 24;
export const TRAILER_BYTES = 20;
/** magic, version, header length, header CRC */
export const HEADER_FIXED_BYTES = 18;

export interface LogHeader {
  /** mmsim version that wrote it */
  mmsimVersion: string;
  /** what ran: scenario names, options, plugins */
  config: Record<string, unknown>;
  seed: number;
  /**
   * Tells this run's log from another's (format 3, see above). Written by the writer as
   * `logNonce(header)` when the caller gives none; a run with inputs the header only
   * names passes `logNonce(header, [their bytes or digest])`.
   */
  nonce?: string;
}

export class LogFileError extends Error {
  constructor(
    readonly offset: number,
    message: string,
    readonly file?: string,
  ) {
    super(`${file ? file + ': ' : ''}${message} (at byte offset ${offset})`);
    this.name = 'LogFileError';
  }
}

const enc = new TextEncoder();

/** FNV-1a, 64 bits, over the pieces in order (a string as UTF-8), as 16 hex digits. */
function fnv1a64(pieces: readonly (string | Uint8Array)[]): string {
  // the 64-bit state in two 32-bit halves; prime 2^40 + 0x1b3
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const p of pieces) {
    const b = typeof p === 'string' ? enc.encode(p) : p;
    for (let i = 0; i < b.length; i++) {
      lo ^= b[i];
      const l = lo >>> 0;
      const nlo = Math.imul(l, 0x1b3);
      // high half: hi*0x1b3 + lo*2^8 (the 2^40 part) + the carry of the low product
      const carry = Math.floor((l * 0x1b3) / 0x100000000);
      hi = (Math.imul(hi, 0x1b3) + (l << 8) + carry) >>> 0;
      lo = nlo >>> 0;
    }
    // a separator, so that ["ab", "c"] and ["a", "bc"] differ
    lo ^= 0xff;
  }
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

/**
 * The nonce of a run's log: a hash of its header (version, config, seed) and of the
 * inputs the header does not hold (file contents it names by path), in order.
 * Deterministic: the same run gives the same log, byte for byte.
 */
export function logNonce(h: LogHeader, inputs: readonly (string | Uint8Array)[] = []): string {
  return fnv1a64([headerJson(h), ...inputs]);
}

/** The header's JSON without the nonce (a header holds its whole scenario: stringified once). */
const headerJson = (h: LogHeader): string => JSON.stringify({ mmsimVersion: h.mmsimVersion, config: h.config, seed: h.seed });

/** The header as written: fixed part and JSON, plus its CRC (the seed of the first chunk's CRC). */
export function encodeHeaderWithCrc(h: LogHeader): { bytes: Uint8Array; crc: number } {
  const base = headerJson(h);
  const nonce = h.nonce ?? fnv1a64([base]);
  // JSON.stringify of the header with the nonce as its last key, without a second stringify
  const json = enc.encode(`${base.slice(0, -1)},"nonce":${JSON.stringify(nonce)}}`);
  const out = new Uint8Array(HEADER_FIXED_BYTES + json.length);
  out.set(enc.encode(LOG_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, LOG_FORMAT_VERSION, true);
  dv.setUint32(10, json.length, true);
  out.set(json, HEADER_FIXED_BYTES);
  const crc = headerCrc(out.subarray(8, 14), json);
  dv.setUint32(14, crc, true);
  return { bytes: out, crc };
}

/** crc32 of the version and length fields, then the JSON. */
export function headerCrc(versionAndLength: Uint8Array, json: Uint8Array): number {
  return crc32(json, crc32(versionAndLength));
}

export function encodeHeader(h: LogHeader): Uint8Array {
  return encodeHeaderWithCrc(h).bytes;
}

/** One chunk, its CRC continued from `seed`: the CRC of the chunk before it, or the header's for the first. */
export function encodeChunk(c: SealedChunk, seed: number): Uint8Array {
  const regs = enc.encode(JSON.stringify(c.regs));
  const out = new Uint8Array(CHUNK_HEAD_BYTES + regs.length + c.bytes.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CHUNK_MAGIC, true);
  dv.setUint32(4, c.first, true);
  dv.setUint32(8, c.count, true);
  dv.setUint32(12, regs.length, true);
  dv.setUint32(16, c.bytes.length, true);
  out.set(regs, CHUNK_HEAD_BYTES);
  out.set(c.bytes, CHUNK_HEAD_BYTES + regs.length);
  dv.setUint32(20, chunkCrc(out, 0, out.length, seed), true);
  return out;
}

/** CRC of the chunk at buf[off, end): its fields after the magic, then the body. */
export function chunkCrc(buf: Uint8Array, off: number, end: number, seed: number): number {
  return crc32(buf.subarray(off + CHUNK_HEAD_BYTES, end), crc32(buf.subarray(off + 4, off + 20), seed));
}

/** The trailer closing a log of `chunkCrcs.length` chunks and `events` events. */
export function encodeTrailer(chunkCrcs: readonly number[], events: number, seed: number): Uint8Array {
  const out = new Uint8Array(TRAILER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, TRAILER_MAGIC, true);
  dv.setUint32(4, chunkCrcs.length, true);
  dv.setUint32(8, events, true);
  dv.setUint32(12, chainCrc(chunkCrcs), true);
  dv.setUint32(16, crc32(out.subarray(0, 16), seed), true);
  return out;
}

/** crc32 over the chunk CRCs in file order, each as u32 little-endian. */
export function chainCrc(chunkCrcs: readonly number[]): number {
  const b = new Uint8Array(chunkCrcs.length * 4);
  const dv = new DataView(b.buffer);
  chunkCrcs.forEach((c, i) => dv.setUint32(i * 4, c, true));
  return crc32(b);
}

const chunkCrcOf = (bytes: Uint8Array): number => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(20, true);

/** The whole log as one file image (the open chunk included), trailer last. */
export function encodeLogFile(log: EventLog, h: LogHeader): Uint8Array {
  const head = encodeHeaderWithCrc(h);
  const parts: Uint8Array[] = [head.bytes];
  const crcs: number[] = [];
  for (const c of log.chunks()) {
    const b = encodeChunk(c, crcs.length ? crcs[crcs.length - 1] : head.crc);
    crcs.push(chunkCrcOf(b));
    parts.push(b);
  }
  parts.push(encodeTrailer(crcs, log.length, head.crc));
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Where a streaming writer puts bytes. `truncate(size)` cuts the file back (a rolled-back
 * syscall took back events of chunks already written); a sink without it cannot follow
 * a rollback across a chunk seal, and the writer throws then.
 */
export interface LogSink {
  write(b: Uint8Array): void;
  truncate?(size: number): void;
}

export interface LogStreamWriter {
  /** Seal the open chunk, write the trailer: the file is complete. */
  finish(): void;
  /** Seal the open chunk and stop, without trailer (a failed run: salvageable). */
  abort(): void;
  /** bytes written so far */
  readonly size: number;
  /** events in the chunks written so far */
  readonly events: number;
}

/**
 * Streaming writer: the header goes out at once, every chunk as the log seals it, the
 * trailer on finish(). `sink` is a byte sink (a file, an array in tests) or a function.
 */
export function streamLog(log: EventLog, h: LogHeader, sink: LogSink | ((b: Uint8Array) => void)): LogStreamWriter {
  const s: LogSink = typeof sink === 'function' ? { write: sink } : sink;
  const head = encodeHeaderWithCrc(h);
  const written: { first: number; count: number; end: number; crc: number }[] = [];
  let size = 0;
  const put = (b: Uint8Array) => {
    s.write(b);
    size += b.length;
  };
  const putChunk = (c: SealedChunk) => {
    const b = encodeChunk(c, written.length ? written[written.length - 1].crc : head.crc);
    put(b);
    written.push({ first: c.first, count: c.count, end: size, crc: chunkCrcOf(b) });
  };
  put(head.bytes);
  if (log.retainedFrom > 0) throw new RangeError(`streamLog: the log discarded its events before ${log.retainedFrom}; attach the writer before the first event`);
  // every chunk sealed so far (a flush() may have sealed a short one), then each as it seals
  for (const c of log.sealedChunks()) putChunk(c);
  const offSeal = log.onSeal(putChunk);
  const offTrunc = log.onTruncate((n) => {
    let k = written.length;
    while (k > 0 && written[k - 1].first + written[k - 1].count > n) k--;
    if (k === written.length) return;
    const end = k ? written[k - 1].end : head.bytes.length;
    if (!s.truncate) throw new Error(`the log was rolled back to event ${n}, behind what the sink already holds (its sink cannot truncate)`);
    s.truncate(end);
    written.length = k;
    size = end;
  });
  const stop = () => {
    log.flush();
    offSeal();
    offTrunc();
  };
  return {
    finish() {
      stop();
      put(encodeTrailer(written.map((w) => w.crc), log.length, head.crc));
    },
    abort: stop,
    get size() {
      return size;
    },
    get events() {
      return written.length ? written[written.length - 1].first + written[written.length - 1].count : 0;
    },
  };
}
