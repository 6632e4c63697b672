/**
 * Reading log files (format in file.ts): any byte sequence is either a verified log or
 * a LogFileError naming the byte offset, never another exception. `salvage` keeps the
 * valid prefix (whole verified chunks) of a damaged or truncated file and says what
 * was lost; a damaged header cannot be salvaged (nothing after it can be trusted).
 */
import { CHUNK_EVENTS, cloneRegisters, crc32, sameRegisters, type Registers } from './codec.js';
import {
  CHUNK_HEAD_BYTES,
  CHUNK_MAGIC,
  HEADER_FIXED_BYTES,
  LOG_FORMAT_CHAINED,
  LOG_FORMAT_OLDEST,
  LOG_FORMAT_VERSION,
  LOG_MAGIC,
  LogFileError,
  TRAILER_BYTES,
  TRAILER_MAGIC,
  chainCrc,
  chunkCrc,
  headerCrc,
  type LogHeader,
} from './file.js';
import { EventLog, notDecodable, type DeferredChecks, type SealedChunk } from './log.js';

export interface ReadLogOptions {
  /** keep the valid prefix of a damaged file instead of refusing it */
  salvage?: boolean;
  file?: string;
  /**
   * 'full' (default): every chunk is decoded before it counts. 'checksums': a chunk
   * counts once its checksum holds, and its decode check waits for the first cursor that
   * reads it in order (EventLog's DeferredChecks), which throws the same LogFileError a
   * full read would have: a consumer that replays the whole log at once (the debugger)
   * then decodes it once, not twice. Version 2 logs without `salvage` only (salvage must
   * know the valid prefix while it reads); others are read in full.
   */
  verify?: 'full' | 'checksums';
}

export interface LogDamage {
  /** byte offset of the first byte not kept */
  offset: number;
  message: string;
  eventsKept: number;
  /** bytes of the file dropped (from `offset` to its end) */
  bytesLost: number;
  /** events lost, when a trailer at the end of the file still says how many there were */
  eventsLost?: number;
}

export interface ReadLogResult {
  header: LogHeader;
  log: EventLog;
  /** the file's format version (1: unverified, no trailer) */
  version: number;
  /** things the reader wants said (a v1 log) */
  warnings: string[];
  /** set when salvage dropped a damaged or missing tail */
  damage?: LogDamage;
}

const MAGIC_BYTES = new TextEncoder().encode(LOG_MAGIC);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A short, printable description of what a non-log file looks like. */
function whatItLooksLike(buf: Uint8Array): string {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return ' (it looks gzip-compressed: gunzip it first)';
  if (buf.length >= 4 && buf[0] === 0x28 && buf[1] === 0xb5 && buf[2] === 0x2f && buf[3] === 0xfd) return ' (it looks zstd-compressed)';
  if (buf.length && (buf[0] === 0x7b || buf[0] === 0x5b)) return ' (it looks like JSON: a scenario or an observation?)';
  return '';
}

export const V1_WARNING =
  'format version 1 log: read unverified (no header checksum, chunk fields outside the checksum, no trailer: a v1 log cut at a chunk boundary looks complete); re-run the scenario to get a verified version 2 log';

function isRegisters(v: unknown): v is Registers {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (!Number.isSafeInteger(o.task) || typeof o.spans !== 'object' || o.spans === null || Array.isArray(o.spans)) return false;
  for (const [k, s] of Object.entries(o.spans as object)) {
    if (!/^\d+$/.test(k) || !Array.isArray(s) || !s.every((x) => Number.isSafeInteger(x))) return false;
  }
  return Object.keys(o).length === 2;
}

function isHeader(v: unknown): v is LogHeader {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return typeof o.mmsimVersion === 'string' && typeof o.config === 'object' && o.config !== null && !Array.isArray(o.config) && typeof o.seed === 'number';
}

type Item =
  | { kind: 'more' }
  | { kind: 'chunk'; chunk: SealedChunk; crc: number; next: number; at: number }
  | { kind: 'trailer'; next: number }
  | { kind: 'bad'; message: string };

/**
 * The parser both readers share: the header first, then one item (chunk or trailer) at
 * a time, each checked completely before it counts.
 */
class LogParser {
  version = 0;
  header: LogHeader | null = null;
  /** the header's CRC: seed of the trailer's CRC, of every chunk CRC (v2), of the first (v3) */
  seed = 0;
  /** seed of the next chunk's CRC: the header's CRC (v2, and v3's first), then the last chunk's (v3) */
  private chain = 0;
  headerEnd = 0;
  readonly log = new EventLog();
  private readonly crcs: number[] = [];
  /** registers the next chunk must start with */
  private regs: Registers = { task: 0, spans: {} };
  done = false;

  /**
   * `views`: a chunk's bytes are a view of the buffer they were read from, not a copy
   * (the buffer is the log's to keep: LogStreamReader's keepPieces).
   */
  constructor(
    private readonly file?: string,
    private readonly views = false,
    private readonly opts: ReadLogOptions = {},
  ) {}

  /** chunks' decode checks deferred (ReadLogOptions.verify): a v2 log read without salvage */
  private get deferred(): boolean {
    return this.opts.verify === 'checksums' && !this.opts.salvage && this.version >= 2;
  }
  /** file offset of each deferred chunk, by its first seq (for the error a cursor raises) */
  private readonly offsets = new Map<number, number>();
  private readonly checks: DeferredChecks = {
    fail: (first, problem) => {
      throw new LogFileError(this.offsets.get(first) ?? 0, `${problem}; the log is truncated or corrupt after event ${first} (use --salvage to keep the valid prefix)`, this.file);
    },
  };

  /** The file is read: a deferred log decodes its last chunk now (its registers are the log's). */
  finish(): void {
    if (this.deferred) this.log.endDeferred();
  }

  /** Parse the header at buf[0..]: false = need more bytes; throws LogFileError. */
  parseHeader(buf: Uint8Array, final: boolean): boolean {
    const fail = (off: number, msg: string): never => {
      throw new LogFileError(off, msg, this.file);
    };
    const magicLen = Math.min(buf.length, 8);
    for (let i = 0; i < magicLen; i++) if (buf[i] !== MAGIC_BYTES[i]) fail(0, `not an mmsim log (bad magic)${whatItLooksLike(buf)}`);
    if (buf.length < 14) {
      if (final) fail(0, `not an mmsim log (${buf.length} bytes, too short for a header)`);
      return false;
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const version = dv.getUint16(8, true);
    if (version < LOG_FORMAT_OLDEST || version > LOG_FORMAT_VERSION)
      fail(8, `log format version ${version}, this mmsim reads versions ${LOG_FORMAT_OLDEST} to ${LOG_FORMAT_VERSION} (a newer mmsim, or a damaged header)`);
    const fixed = version === 1 ? 14 : HEADER_FIXED_BYTES;
    if (buf.length < fixed) {
      if (final) fail(0, `the header is cut short (${buf.length} of ${fixed} bytes)`);
      return false;
    }
    const hlen = dv.getUint32(10, true);
    if (fixed + hlen > buf.length) {
      if (final) fail(10, `header of ${hlen} bytes runs past the end of the file (${buf.length} bytes)`);
      return false;
    }
    const json = buf.subarray(fixed, fixed + hlen);
    if (version >= 2) {
      const crc = headerCrc(buf.subarray(8, 14), json);
      if (crc !== dv.getUint32(14, true)) fail(14, 'the header is damaged (checksum mismatch); nothing after it can be trusted, so nothing can be salvaged');
      this.seed = crc;
    }
    let h: unknown;
    try {
      h = JSON.parse(utf8.decode(json));
    } catch (e) {
      fail(fixed, `header is not valid JSON: ${(e as Error).message.slice(0, 120)}`);
    }
    if (!isHeader(h)) fail(fixed, 'header JSON is not {mmsimVersion, config, seed}');
    if (version >= LOG_FORMAT_CHAINED && typeof (h as LogHeader).nonce !== 'string') fail(fixed, `header JSON of a format ${version} log has no nonce`);
    this.chain = this.seed;
    this.header = h as LogHeader;
    this.version = version;
    this.headerEnd = fixed + hlen;
    return true;
  }

  /** Bytes the item at buf[off..] takes, once its head is there (undefined: not yet, or not an item). */
  itemLength(buf: Uint8Array, off: number): number | undefined {
    if (off + 4 > buf.length) return undefined;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const magic = dv.getUint32(off, true);
    if (magic === TRAILER_MAGIC && this.version >= 2) return TRAILER_BYTES;
    if (magic !== CHUNK_MAGIC || off + CHUNK_HEAD_BYTES > buf.length) return undefined;
    return CHUNK_HEAD_BYTES + dv.getUint32(off + 12, true) + dv.getUint32(off + 16, true);
  }

  /** The item at buf[off..]; `final`: the file ends at buf.length. */
  item(buf: Uint8Array, off: number, final: boolean): Item {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const more = (msg: string): Item => (final ? { kind: 'bad', message: msg } : { kind: 'more' });
    if (off + 4 > buf.length) return more(`${buf.length - off} stray bytes where a chunk or the trailer should start`);
    const magic = dv.getUint32(off, true);
    if (magic === TRAILER_MAGIC && this.version >= 2) {
      if (off + TRAILER_BYTES > buf.length) return more(`trailer cut short (${buf.length - off} of ${TRAILER_BYTES} bytes)`);
      if (crc32(buf.subarray(off, off + 16), this.seed) !== dv.getUint32(off + 16, true)) return { kind: 'bad', message: 'trailer checksum mismatch' };
      const chunks = dv.getUint32(off + 4, true);
      const events = dv.getUint32(off + 8, true);
      if (chunks !== this.crcs.length || events !== this.log.length)
        return { kind: 'bad', message: `the trailer says ${events} events in ${chunks} chunks, the file holds ${this.log.length} in ${this.crcs.length} (chunks are missing)` };
      if (chainCrc(this.crcs) !== dv.getUint32(off + 12, true)) return { kind: 'bad', message: 'the chunks are not the ones the trailer lists (chain checksum mismatch)' };
      return { kind: 'trailer', next: off + TRAILER_BYTES };
    }
    if (magic !== CHUNK_MAGIC) return { kind: 'bad', message: 'bad chunk magic' };
    if (off + CHUNK_HEAD_BYTES > buf.length) return more(`chunk header cut short (${buf.length - off} of ${CHUNK_HEAD_BYTES} bytes)`);
    const first = dv.getUint32(off + 4, true);
    const count = dv.getUint32(off + 8, true);
    const rlen = dv.getUint32(off + 12, true);
    const blen = dv.getUint32(off + 16, true);
    const crc = dv.getUint32(off + 20, true);
    const end = off + CHUNK_HEAD_BYTES + rlen + blen;
    const v2 = this.version >= 2;
    // fields first checked by the CRC (v2): a length that points past the end is a cut
    // file when the CRC cannot be computed yet, damage when it could
    if (end > buf.length) return more(`chunk of ${rlen + blen} bytes cut short (${buf.length - off - CHUNK_HEAD_BYTES} present)`);
    const ok = v2 ? chunkCrc(buf, off, end, this.chain) === crc : crc32(buf.subarray(off + CHUNK_HEAD_BYTES, end)) === crc;
    if (!ok) return { kind: 'bad', message: this.version >= LOG_FORMAT_CHAINED ? 'chunk checksum mismatch (a damaged chunk, or one of another run: each chunk\'s checksum continues the one before it)' : 'chunk checksum mismatch' };
    const expect = this.log.length;
    if (first !== expect) return { kind: 'bad', message: `chunk starts at event ${first}, expected ${expect} (a chunk is missing, repeated or out of order)` };
    if (count < 1 || count > CHUNK_EVENTS || count > blen) return { kind: 'bad', message: `chunk claims ${count} events in ${blen} bytes` };
    let regs: unknown;
    try {
      regs = JSON.parse(utf8.decode(buf.subarray(off + CHUNK_HEAD_BYTES, off + CHUNK_HEAD_BYTES + rlen)));
    } catch {
      return { kind: 'bad', message: 'chunk registers are not valid JSON' };
    }
    if (!isRegisters(regs)) return { kind: 'bad', message: 'chunk registers are not {task, spans}' };
    // deferred: only the first chunk's are known here (the others: DeferredChecks)
    if ((!this.deferred || this.log.length === 0) && !sameRegisters(regs, this.regs)) return { kind: 'bad', message: 'chunk registers disagree with the events before it' };
    const body = off + CHUNK_HEAD_BYTES + rlen;
    const chunk: SealedChunk = { first, count, regs, bytes: this.views ? buf.subarray(body, end) : buf.slice(body, end) };
    return { kind: 'chunk', chunk, crc, next: end, at: off };
  }

  /** Take a verified chunk: decoded in full before it counts. Returns an error message or null. */
  take(it: { chunk: SealedChunk; crc: number; at: number }, origin = 0): string | null {
    if (this.deferred) {
      this.offsets.set(it.chunk.first, origin + it.at);
      this.log.appendChunkUnchecked(it.chunk, this.checks);
      this.accepted(it.crc);
      return null;
    }
    try {
      // decodes the chunk in full before it counts (throws on a chunk whose count lies)
      this.log.appendChunk(it.chunk);
      this.regs = cloneRegisters(this.log.registers);
    } catch (e) {
      return notDecodable(e);
    }
    this.accepted(it.crc);
    return null;
  }

  /** A chunk counts: the trailer's list has its CRC, and (v3) the next chunk's continues it. */
  private accepted(crc: number): void {
    this.crcs.push(crc);
    if (this.version >= LOG_FORMAT_CHAINED) this.chain = crc;
  }
}

/** a followed by b, in a new buffer */
function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Events a trailer at the very end of a damaged file still names (to say how many were lost). */
function trailerEvents(buf: Uint8Array, seed: number): number | undefined {
  if (buf.length < TRAILER_BYTES) return undefined;
  const off = buf.length - TRAILER_BYTES;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(off, true) !== TRAILER_MAGIC) return undefined;
  if (crc32(buf.subarray(off, off + 16), seed) !== dv.getUint32(off + 16, true)) return undefined;
  return dv.getUint32(off + 8, true);
}

/** Parse a log file image; throws LogFileError naming the offset unless `salvage` can keep a prefix. */
export function decodeLogFile(buf: Uint8Array, opts: ReadLogOptions = {}): ReadLogResult {
  const p = new LogParser(opts.file, false, opts);
  p.parseHeader(buf, true);
  const header = p.header!;
  const warnings = p.version === 1 ? [V1_WARNING] : [];
  const damaged = (off: number, problem: string): ReadLogResult => {
    const kept = p.log.length;
    if (!opts.salvage) {
      throw new LogFileError(off, `${problem}; the log is truncated or corrupt after event ${kept} (use --salvage to keep the valid prefix)`, opts.file);
    }
    const total = p.version >= 2 ? trailerEvents(buf, p.seed) : undefined;
    const damage: LogDamage = { offset: off, message: problem, eventsKept: kept, bytesLost: buf.length - off };
    if (total !== undefined && total >= kept) damage.eventsLost = total - kept;
    return { header, log: p.log, version: p.version, warnings, damage };
  };
  let off = p.headerEnd;
  for (;;) {
    if (off === buf.length) {
      if (p.version === 1 || p.done) {
        p.finish();
        return { header, log: p.log, version: p.version, warnings };
      }
      return damaged(off, `no trailer: the log ends after ${p.log.length} events without its closing trailer (a run that crashed or was interrupted)`);
    }
    if (p.done) return damaged(off, `${buf.length - off} bytes after the trailer`);
    const it = p.item(buf, off, true);
    if (it.kind === 'bad') return damaged(off, it.message);
    if (it.kind === 'more') return damaged(off, 'cut short'); // not reached: final
    if (it.kind === 'trailer') {
      p.done = true;
      off = it.next;
      continue;
    }
    const err = p.take(it);
    if (err) return damaged(off, err);
    off = it.next;
  }
}

/**
 * Streaming reader: feed the file's bytes as they arrive (`push`), get events as soon
 * as each chunk is complete and verified; `end()` says whether the file ended cleanly
 * (with its trailer). Damage is thrown at once (LogFileError) unless `salvage`, which
 * stops taking bytes and reports the damage from end().
 */
export interface StreamReadOptions extends ReadLogOptions {
  /**
   * The pieces pushed are the reader's to keep (the caller never writes to them again, as
   * with a fetch() body's): the chunks are views of them instead of copies. A 60 MB log
   * then takes no second 60 MB of fresh memory, whose first touch was most of the time of
   * the decode in a browser's worker.
   */
  keepPieces?: boolean;
}

export class LogStreamReader {
  private buf: Uint8Array = new Uint8Array(0);
  private off = 0;
  private consumed = 0;
  private readonly p: LogParser;
  private damage: LogDamage | undefined;
  /** bytes of the piece being pushed that are not in `buf` yet (what damage found now loses too) */
  private untaken = 0;

  constructor(private readonly opts: StreamReadOptions = {}) {
    this.p = new LogParser(opts.file, opts.keepPieces, opts);
  }

  get header(): LogHeader | null {
    return this.p.header;
  }

  get log(): EventLog {
    return this.p.log;
  }

  /** the file's format version, once its header is read (0 before) */
  get version(): number {
    return this.p.version;
  }

  /**
   * Add bytes; returns how many events became readable. The bytes are read where they
   * are, not copied onto what is left of the last piece (a download's pieces are MBs, and
   * that copy was a fifth of the decode): only the item that straddles the two pieces is
   * joined, and the tail left at the end is copied out (the caller may reuse its buffer).
   */
  push(bytes: Uint8Array): number {
    if (this.damage) return 0;
    const before = this.p.log.length;
    const rest = this.buf.subarray(this.off);
    let from = 0;
    if (rest.length || !this.p.header) {
      // the leftover and as much of the new bytes as its item needs (all of them when
      // that is not known yet: a head cut short, or no header read so far)
      const want = this.p.header ? this.p.itemLength(rest, 0) : undefined;
      const take = want === undefined ? bytes.length : Math.min(bytes.length, Math.max(0, want - rest.length));
      this.consumed += this.off;
      this.buf = join(rest, bytes.subarray(0, take));
      this.off = 0;
      this.untaken = bytes.length - take;
      this.advance(false);
      this.untaken = 0;
      if (this.damage || take === bytes.length) return this.p.log.length - before;
      if (this.off < this.buf.length) {
        // the straddling item still wants more (not expected): join the rest the old way
        this.consumed += this.off;
        this.buf = join(this.buf.subarray(this.off), bytes.subarray(take));
        this.off = 0;
        this.advance(false);
        return this.p.log.length - before;
      }
      from = take;
    }
    // all of buf is read: the new bytes follow it
    this.consumed += this.buf.length;
    this.buf = bytes.subarray(from);
    this.off = 0;
    this.advance(false);
    if (!this.damage) {
      // keep only what is left, in a buffer of our own (unless the pieces are ours)
      this.consumed += this.off;
      this.buf = this.opts.keepPieces ? this.buf.subarray(this.off) : this.buf.slice(this.off);
      this.off = 0;
    }
    return this.p.log.length - before;
  }

  private advance(final: boolean): number {
    const before = this.p.log.length;
    if (!this.p.header) {
      if (!this.p.parseHeader(this.buf, final)) return 0;
      this.off = this.p.headerEnd;
    }
    while (!this.damage && this.off < this.buf.length) {
      if (this.p.done) {
        this.fail(`${this.buf.length - this.off} bytes after the trailer`);
        break;
      }
      const it = this.p.item(this.buf, this.off, final);
      if (it.kind === 'more') break;
      if (it.kind === 'bad') {
        this.fail(it.message);
        break;
      }
      if (it.kind === 'trailer') {
        this.p.done = true;
        this.off = it.next;
        continue;
      }
      const err = this.p.take(it, this.consumed);
      if (err) {
        this.fail(err);
        break;
      }
      this.off = it.next;
    }
    return this.p.log.length - before;
  }

  private fail(message: string): void {
    const at = this.consumed + this.off;
    if (!this.opts.salvage) {
      throw new LogFileError(at, `${message}; the log is truncated or corrupt after event ${this.p.log.length} (use --salvage to keep the valid prefix)`, this.opts.file);
    }
    this.damage = { offset: at, message, eventsKept: this.p.log.length, bytesLost: this.buf.length - this.off + this.untaken };
  }

  /**
   * The file is complete: anything left over is a truncated chunk, a missing trailer is a
   * cut file. `tail`: the file's last bytes (at least the trailer's 20), for a damaged
   * file whose trailer survived to say how many events were lost (as decodeLogFile does).
   */
  end(tail?: Uint8Array): ReadLogResult {
    if (!this.damage) this.advance(true);
    const header = this.p.header;
    if (!header) throw new LogFileError(0, 'not an mmsim log (file too short for a header)', this.opts.file);
    const warnings = this.p.version === 1 ? [V1_WARNING] : [];
    if (!this.damage && this.p.version >= 2 && !this.p.done) {
      this.fail(`no trailer: the log ends after ${this.p.log.length} events without its closing trailer (a run that crashed or was interrupted)`);
    }
    if (!this.damage) this.p.finish();
    const res: ReadLogResult = { header, log: this.p.log, version: this.p.version, warnings };
    if (this.damage) {
      res.damage = this.damage;
      const total = tail && this.p.version >= 2 ? trailerEvents(tail, this.p.seed) : undefined;
      if (total !== undefined && total >= this.damage.eventsKept) res.damage = { ...this.damage, eventsLost: total - this.damage.eventsKept };
    }
    return res;
  }
}
