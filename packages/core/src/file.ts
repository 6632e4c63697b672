/**
 * The log file: append-only binary, streamable.
 *
 *   "MMSIMLOG" (8 bytes) | u16 format version | u32 header length | header JSON
 *   then chunks:  "CHNK" | u32 first seq | u32 count | u32 regs length | u32 bytes length
 *                 | u32 crc32(regs JSON + bytes) | regs JSON | bytes
 *
 * Every chunk carries its checksum, so a truncated or corrupt file is refused with the
 * offset named, and `salvage` keeps the valid prefix.
 */
import { crc32, type Registers } from './codec.js';
import { EventLog, type SealedChunk } from './log.js';

export const LOG_MAGIC = 'MMSIMLOG';
export const LOG_FORMAT_VERSION = 1;
const CHUNK_MAGIC = 0x4b4e4843; // "CHNK" little-endian

export interface LogHeader {
  /** mmsim version that wrote it */
  mmsimVersion: string;
  /** what ran: scenario names, options, plugins */
  config: Record<string, unknown>;
  seed: number;
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
const dec = new TextDecoder('utf-8', { fatal: true });

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

export function encodeHeader(h: LogHeader): Uint8Array {
  const json = enc.encode(JSON.stringify({ mmsimVersion: h.mmsimVersion, config: h.config, seed: h.seed }));
  const out = new Uint8Array(8 + 2 + 4 + json.length);
  out.set(enc.encode(LOG_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, LOG_FORMAT_VERSION, true);
  dv.setUint32(10, json.length, true);
  out.set(json, 14);
  return out;
}

export function encodeChunk(c: SealedChunk): Uint8Array {
  const regs = enc.encode(JSON.stringify(c.regs));
  const body = new Uint8Array(regs.length + c.bytes.length);
  body.set(regs, 0);
  body.set(c.bytes, regs.length);
  const out = new Uint8Array(24 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CHUNK_MAGIC, true);
  dv.setUint32(4, c.first, true);
  dv.setUint32(8, c.count, true);
  dv.setUint32(12, regs.length, true);
  dv.setUint32(16, c.bytes.length, true);
  dv.setUint32(20, crc32(body), true);
  out.set(body, 24);
  return out;
}

/** The whole log as one file image. */
export function encodeLogFile(log: EventLog, h: LogHeader): Uint8Array {
  const parts: Uint8Array[] = [encodeHeader(h)];
  for (const c of log.chunks()) parts.push(encodeChunk(c));
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  void u32;
  return out;
}

export interface ReadLogOptions {
  /** keep the valid prefix of a damaged file instead of refusing it */
  salvage?: boolean;
  file?: string;
}

export interface ReadLogResult {
  header: LogHeader;
  log: EventLog;
  /** set when salvage dropped a damaged tail */
  damage?: { offset: number; message: string; eventsKept: number };
}

/** Parse a log file image; throws LogFileError naming the offset unless `salvage`. */
export function decodeLogFile(buf: Uint8Array, opts: ReadLogOptions = {}): ReadLogResult {
  const file = opts.file;
  if (buf.length < 14 || dec.decode(buf.subarray(0, 8)) !== LOG_MAGIC) {
    throw new LogFileError(0, 'not an mmsim log (bad magic)', file);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint16(8, true);
  if (version !== LOG_FORMAT_VERSION) throw new LogFileError(8, `log format version ${version}, this mmsim reads ${LOG_FORMAT_VERSION}`, file);
  const hlen = dv.getUint32(10, true);
  if (14 + hlen > buf.length) throw new LogFileError(10, `header of ${hlen} bytes runs past the end of the file`, file);
  let header: LogHeader;
  try {
    header = JSON.parse(dec.decode(buf.subarray(14, 14 + hlen))) as LogHeader;
  } catch (e) {
    throw new LogFileError(14, `header is not valid JSON: ${(e as Error).message}`, file);
  }
  const log = new EventLog();
  let off = 14 + hlen;
  while (off < buf.length) {
    const problem = checkChunk(buf, dv, off, log.length);
    if (typeof problem === 'string') {
      if (opts.salvage) return { header, log, damage: { offset: off, message: problem, eventsKept: log.length } };
      throw new LogFileError(off, `${problem}; the log is truncated or corrupt after event ${log.length} (use --salvage to keep the valid prefix)`, file);
    }
    try {
      log.appendChunk(problem.chunk);
    } catch (e) {
      if (opts.salvage) return { header, log, damage: { offset: off, message: (e as Error).message, eventsKept: log.length } };
      throw new LogFileError(off, `chunk does not decode: ${(e as Error).message}`, file);
    }
    off = problem.next;
  }
  return { header, log };
}

function checkChunk(buf: Uint8Array, dv: DataView, off: number, expectFirst: number): string | { chunk: SealedChunk; next: number } {
  if (off + 24 > buf.length) return `chunk header cut short (${buf.length - off} of 24 bytes)`;
  if (dv.getUint32(off, true) !== CHUNK_MAGIC) return 'bad chunk magic';
  const first = dv.getUint32(off + 4, true);
  const count = dv.getUint32(off + 8, true);
  const rlen = dv.getUint32(off + 12, true);
  const blen = dv.getUint32(off + 16, true);
  const crc = dv.getUint32(off + 20, true);
  if (first !== expectFirst) return `chunk starts at event ${first}, expected ${expectFirst}`;
  const end = off + 24 + rlen + blen;
  if (end > buf.length) return `chunk of ${rlen + blen} bytes cut short (${buf.length - off - 24} present)`;
  const body = buf.subarray(off + 24, end);
  if (crc32(body) !== crc) return 'chunk checksum mismatch';
  let regs: Registers;
  try {
    regs = JSON.parse(dec.decode(body.subarray(0, rlen))) as Registers;
  } catch {
    return 'chunk registers are not valid JSON';
  }
  return { chunk: { first, count, regs, bytes: body.slice(rlen) }, next: end };
}

/**
 * Streaming writer: the header goes out at once, every chunk as the log seals it.
 * `write` is any byte sink (fs.writeSync on an fd, an array in tests).
 */
export function streamLog(log: EventLog, h: LogHeader, write: (b: Uint8Array) => void): { finish(): void } {
  write(encodeHeader(h));
  // every chunk sealed so far (a flush() may have sealed a short one), then each as it seals
  for (const c of log.sealedChunks()) write(encodeChunk(c));
  const off = log.onSeal((c) => write(encodeChunk(c)));
  return {
    finish() {
      log.flush();
      off();
    },
  };
}

/**
 * Streaming reader: feed the file's bytes as they arrive (`push`), get events as soon
 * as each chunk is complete and verified; `end()` says whether the file ended cleanly.
 */
export class LogStreamReader {
  private buf = new Uint8Array(0);
  private off = 0;
  private headerLen = -1;
  header: LogHeader | null = null;
  readonly log = new EventLog();

  constructor(private readonly opts: ReadLogOptions = {}) {}

  /** Add bytes; returns how many events became readable. */
  push(bytes: Uint8Array): number {
    const nb = new Uint8Array(this.buf.length - this.off + bytes.length);
    nb.set(this.buf.subarray(this.off), 0);
    nb.set(bytes, this.buf.length - this.off);
    this.consumed += this.off;
    this.buf = nb;
    this.off = 0;
    const before = this.log.length;
    const dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    if (!this.header) {
      if (this.buf.length < 14) return 0;
      const { header, log } = decodeLogFile(this.buf.subarray(0, 14 + dv.getUint32(10, true)), this.opts);
      void log;
      this.header = header;
      this.headerLen = 14 + dv.getUint32(10, true);
      this.off = this.headerLen;
    }
    for (;;) {
      if (this.off + 24 > this.buf.length) break;
      const rlen = dv.getUint32(this.off + 12, true);
      const blen = dv.getUint32(this.off + 16, true);
      if (this.off + 24 + rlen + blen > this.buf.length) break;
      const r = checkChunk(this.buf, dv, this.off, this.log.length);
      if (typeof r === 'string') throw new LogFileError(this.consumed + this.off, r, this.opts.file);
      this.log.appendChunk(r.chunk);
      this.off = r.next;
    }
    return this.log.length - before;
  }
  private consumed = 0;

  /** The file is complete: anything left over is a truncated chunk. */
  end(): ReadLogResult {
    if (!this.header) throw new LogFileError(0, 'not an mmsim log (file too short for a header)', this.opts.file);
    const left = this.buf.length - this.off;
    if (left > 0) {
      const msg = `chunk cut short (${left} bytes after the last complete chunk); the log is truncated after event ${this.log.length}`;
      if (!this.opts.salvage) throw new LogFileError(this.consumed + this.off, msg, this.opts.file);
      return { header: this.header, log: this.log, damage: { offset: this.consumed + this.off, message: msg, eventsKept: this.log.length } };
    }
    return { header: this.header, log: this.log };
  }
}
