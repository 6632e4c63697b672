/**
 * Byte-level codec of the event log: zigzag varints, predictor (delta) coding per event
 * type and slot, and a per-chunk string table. Small, allocation-free, and shared by the
 * in-memory log and the file format.
 *
 * A chunk holds CHUNK_EVENTS events and resets every predictor and the string table at
 * its start, so any chunk can be decoded on its own: that is what makes seeking cheap.
 */
import { EVENT_SCHEMA, EVENT_TYPE_COUNT, E, type RawEvent } from './events.js';

export const CHUNK_EVENTS = 4096;

/** slot count of every type, for the hot loops */
export const FIELD_COUNT: Uint8Array = Uint8Array.from(EVENT_SCHEMA.map((s) => s.fields.length));
export const HAS_STR: Uint8Array = Uint8Array.from(EVENT_SCHEMA.map((s) => ('str' in s ? 1 : 0)));

/** Which earlier value each slot is predicted from (delta coding). */
export class Predictors {
  readonly v = new Float64Array(EVENT_TYPE_COUNT * 6);
  reset(): void {
    this.v.fill(0);
  }
}

const utf8e = new TextEncoder();
const utf8d = new TextDecoder();

/**
 * A string of the log (lock names, span names, notes): short ASCII ones, nearly all of
 * them (`folio:1234`, `mmap_lock:1`), without TextDecoder, whose per-call cost dominates
 * for a few bytes (browsers' workers most of all: a large log holds millions of them).
 */
const CODES: number[] = [];
function decodeString(buf: Uint8Array, pos: number, len: number): string {
  if (len <= 48) {
    // the codes in a reused array: one flat string and nothing else allocated (a
    // concatenation builds a rope, flattened again on each Map lookup; a subarray is an object)
    const codes = CODES;
    codes.length = len;
    for (let i = 0; i < len; i++) {
      const c = buf[pos + i];
      if (c >= 0x80) return utf8d.decode(buf.subarray(pos, pos + len));
      codes[i] = c;
    }
    return String.fromCharCode.apply(null, codes);
  }
  return utf8d.decode(buf.subarray(pos, pos + len));
}

/** Growable byte buffer. */
export class ByteSink {
  buf: Uint8Array;
  len = 0;
  constructor(initial = 1 << 16) {
    this.buf = new Uint8Array(initial);
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  byte(x: number): void {
    this.ensure(1);
    this.buf[this.len++] = x;
  }
  /** unsigned varint of a non-negative integer up to 2^53 */
  uvar(x: number): void {
    this.ensure(8);
    const b = this.buf;
    let p = this.len;
    if (x < 0x10000000) {
      while (x >= 0x80) {
        b[p++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
      b[p++] = x;
    } else {
      while (x >= 0x80) {
        b[p++] = (x % 128) | 0x80;
        x = Math.floor(x / 128);
      }
      b[p++] = x;
    }
    this.len = p;
  }
  /** signed varint (zigzag) */
  svar(x: number): void {
    this.uvar(x >= 0 ? x * 2 : -x * 2 - 1);
  }
  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.len);
    this.len += src.length;
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** ByteSink.svar written at p into a buffer known to have room; returns the new end. */
function putSvar(b: Uint8Array, p: number, x: number): number {
  let z = x >= 0 ? x * 2 : -x * 2 - 1;
  if (z < 0x10000000) {
    while (z >= 0x80) {
      b[p++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
  } else {
    while (z >= 0x80) {
      b[p++] = (z % 128) | 0x80;
      z = Math.floor(z / 128);
    }
  }
  b[p++] = z;
  return p;
}

/** A string as its UTF-8 length * 2, then the bytes (ASCII without TextEncoder: lock names). */
function writeString(out: ByteSink, s: string): void {
  const n = s.length;
  let ascii = n < 128;
  for (let i = 0; ascii && i < n; i++) if (s.charCodeAt(i) > 127) ascii = false;
  if (!ascii) {
    const bytes = utf8e.encode(s);
    out.uvar(bytes.length * 2);
    out.bytes(bytes);
    return;
  }
  out.uvar(n * 2);
  out.ensure(n);
  const b = out.buf;
  let p = out.len;
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  out.len = p;
}

/** Encoder state of the chunk being written. */
export class ChunkEncoder {
  readonly pred = new Predictors();
  strings = new Map<string, number>();
  /** the table's strings in the order they were added (to cut it back: truncateStrings) */
  private readonly added: string[] = [];
  reset(): void {
    this.pred.reset();
    this.strings.clear();
    this.added.length = 0;
  }
  /** Forget the strings added after the first n (an encoder put back to an earlier event). */
  truncateStrings(n: number): void {
    for (let i = this.added.length - 1; i >= n; i--) this.strings.delete(this.added[i]);
    if (n < this.added.length) this.added.length = n;
  }
  encode(out: ByteSink, r: RawEvent): void {
    const t = r.type;
    // a type byte and up to six zigzag varints of at most 8 bytes each (|delta| < 2^53)
    out.ensure(1 + 6 * 8);
    const buf = out.buf;
    let p = out.len;
    buf[p++] = t;
    const n = FIELD_COUNT[t];
    const pv = this.pred.v;
    const base = t * 6;
    if (n > 0) { p = putSvar(buf, p, r.a - pv[base]); pv[base] = r.a; }
    if (n > 1) { p = putSvar(buf, p, r.b - pv[base + 1]); pv[base + 1] = r.b; }
    if (n > 2) { p = putSvar(buf, p, r.c - pv[base + 2]); pv[base + 2] = r.c; }
    if (n > 3) { p = putSvar(buf, p, r.d - pv[base + 3]); pv[base + 3] = r.d; }
    if (n > 4) { p = putSvar(buf, p, r.e - pv[base + 4]); pv[base + 4] = r.e; }
    if (n > 5) { p = putSvar(buf, p, r.f - pv[base + 5]); pv[base + 5] = r.f; }
    out.len = p;
    if (HAS_STR[t]) {
      const known = this.strings.get(r.s);
      if (known !== undefined) out.uvar(known * 2 + 1);
      else {
        writeString(out, r.s);
        this.strings.set(r.s, this.strings.size);
        this.added.push(r.s);
      }
    }
  }
}

/** Thrown on bytes that do not decode: names the byte offset. */
export class CodecError extends Error {
  constructor(
    /** byte offset in the chunk's encoded events (plus the decoder's origin, 0 unless given) */
    readonly offset: number,
    message: string,
  ) {
    // not "byte offset": beside a LogFileError's file offset it would read as one
    super(`${message} at byte ${offset} of the chunk's events`);
    this.name = 'CodecError';
  }
}

/** Decoder of one chunk. `pos` advances through `buf`. */
export class ChunkDecoder {
  readonly pred = new Predictors();
  strings: string[] = [];
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  /** absolute offset of buf[0], for error messages */
  origin = 0;
  start(buf: Uint8Array, pos: number, end: number, origin = 0): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.origin = origin;
    this.pred.reset();
    this.strings = [];
  }
  private uvar(): number {
    const b = this.buf;
    let p = this.pos;
    let x = 0;
    let mul = 1;
    for (;;) {
      if (p >= this.end) throw new CodecError(this.origin + p, 'truncated varint');
      const c = b[p++];
      x += (c & 0x7f) * mul;
      if (c < 0x80) break;
      mul *= 128;
      if (mul > 2 ** 56) throw new CodecError(this.origin + p, 'varint too long');
    }
    this.pos = p;
    return x;
  }
  private svar(): number {
    const z = this.uvar();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  /** Decode the next event's type and fields into r (envelope is the caller's job). */
  next(r: RawEvent): void {
    if (this.pos >= this.end) throw new CodecError(this.origin + this.pos, 'read past end of chunk');
    const t = this.buf[this.pos++];
    if (t >= EVENT_TYPE_COUNT) throw new CodecError(this.origin + this.pos - 1, `unknown event type id ${t}`);
    r.type = t;
    const n = FIELD_COUNT[t];
    const pv = this.pred.v;
    const base = t * 6;
    r.a = n > 0 ? (pv[base] += this.svar()) : 0;
    r.b = n > 1 ? (pv[base + 1] += this.svar()) : 0;
    r.c = n > 2 ? (pv[base + 2] += this.svar()) : 0;
    r.d = n > 3 ? (pv[base + 3] += this.svar()) : 0;
    r.e = n > 4 ? (pv[base + 4] += this.svar()) : 0;
    r.f = n > 5 ? (pv[base + 5] += this.svar()) : 0;
    if (HAS_STR[t]) {
      const k = this.uvar();
      if (k % 2 === 1) {
        const s = this.strings[(k - 1) / 2];
        if (s === undefined) throw new CodecError(this.origin + this.pos, `string reference ${(k - 1) / 2} undefined in chunk`);
        r.s = s;
      } else {
        const len = k / 2;
        if (this.pos + len > this.end) throw new CodecError(this.origin + this.pos, 'truncated string');
        r.s = decodeString(this.buf, this.pos, len);
        this.pos += len;
        this.strings.push(r.s);
      }
    } else r.s = '';
  }
}

/**
 * What the decoder must know at a chunk start to give every event its envelope:
 * the current task and each task's open span ids.
 */
export interface Registers {
  task: number;
  spans: Record<number, number[]>;
}

export function cloneRegisters(r: Registers): Registers {
  const spans: Record<number, number[]> = {};
  // for-in, not Object.keys: between syscalls no span is open, and a key array per
  // commit was most of what a streaming log allocated
  for (const k in r.spans) spans[+k] = r.spans[+k].slice();
  return { task: r.task, spans };
}

/** The same task and open spans (a chunk's stated registers against the events before it). */
export function sameRegisters(a: Registers, b: Registers): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Advance the envelope registers over one event and set r.task / r.span. */
export function stepRegisters(reg: Registers, r: RawEvent): void {
  if (r.type === E.TaskSwitch) reg.task = r.a;
  r.task = reg.task;
  const st = reg.spans[reg.task];
  if (r.type === E.SpanOpen) {
    (reg.spans[reg.task] ??= []).push(r.a);
    r.span = r.a;
    return;
  }
  r.span = st && st.length ? st[st.length - 1] : 0;
  if (r.type === E.SpanClose && st && st.length) {
    st.pop();
    if (st.length === 0) delete reg.spans[reg.task];
  }
}

/**
 * CRC-32 tables for slicing by 4: T[0] is the byte-at-a-time table, T[k][n] the CRC of
 * byte n followed by k zero bytes, so four bytes fold in with four lookups (a log of
 * 60 MB is checked on every load: this is several times the byte-wise loop's speed).
 */
const CRC_T = (() => {
  const t = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 4; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 0xff];
  return t;
})();

/**
 * CRC-32 (IEEE), as zlib computes it. `crc` continues an earlier checksum (zlib's
 * crc32(crc, buf)): crc32(b, crc32(a)) is the CRC of a followed by b.
 */
export function crc32(buf: Uint8Array, crc = 0): number {
  const t = CRC_T;
  let c = (crc ^ 0xffffffff) >>> 0;
  let i = 0;
  const n4 = buf.length - (buf.length & 3);
  for (; i < n4; i += 4) {
    c ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^ t[256 + ((c >>> 16) & 0xff)] ^ t[c >>> 24];
  }
  for (; i < buf.length; i++) c = t[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
