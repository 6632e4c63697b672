/**
 * The event log: the only truth. Append-only, compact (a few bytes per event), in
 * chunks of CHUNK_EVENTS that decode on their own, so reading event N costs at most
 * one chunk's decode.
 *
 * A log that streams (a long trace replay) may let go of its sealed chunks once their
 * listeners have them (discardSealed): its memory then stays one chunk however long it
 * grows, and reading or truncating behind what it still holds is refused. A log that
 * lets go and has no listener at all only counts from then on (nobody can ever read
 * the bytes it would encode): see discardSealed.
 */
import {
  ByteSink,
  CHUNK_EVENTS,
  ChunkDecoder,
  ChunkEncoder,
  cloneRegisters,
  sameRegisters,
  stepRegisters,
  type Registers,
} from './codec.js';
import { newRawEvent, toEvent, type MmEvent, type RawEvent } from './events.js';

export interface SealedChunk {
  /** seq of its first event */
  readonly first: number;
  readonly count: number;
  readonly bytes: Uint8Array;
  /** envelope registers before its first event */
  readonly regs: Registers;
}

/**
 * A point of the log to come back to cheaply (EventLog.mark / truncateToMark): the open
 * chunk's byte length and encoder state there, so that cutting back does not re-encode
 * the chunk's kept prefix (the explorer cuts back to one point once per schedule).
 */
export interface LogMark {
  readonly seq: number;
  /** sealed chunks then */
  readonly sealed: number;
  /** bytes of the open chunk then */
  readonly bytes: number;
  readonly pred: Float64Array;
  readonly strings: number;
  readonly regs: Registers;
}

/**
 * Chunks of a log read from a file whose decode check was deferred (ReadLogOptions
 * `verify: 'checksums'`): their checksums held, but that they decode to exactly their
 * count of events, and that each starts with the registers the events before it left,
 * is checked by the first cursor that reads them in order (a replay of the whole log
 * then decodes it once, not twice), or by EventLog.checkDeferred.
 */
export interface DeferredChecks {
  /** throw the error a full read would have thrown for the chunk that starts at `first` */
  fail(first: number, problem: string): never;
}

/** What a full read says of a chunk whose decode threw `e` (a deferred check says the same). */
export function notDecodable(e: unknown): string {
  return `chunk does not decode: ${((e as Error).message ?? String(e)).slice(0, 200)}`;
}

/** A chunk whose events, all decoded, left `pos` of its bytes unread. */
function leftover(c: SealedChunk, pos: number): string {
  return `chunk of ${c.count} events leaves ${c.bytes.length - pos} of its ${c.bytes.length} bytes undecoded`;
}

export class EventLog {
  private sealed: SealedChunk[] = [];
  /** chunks from this seq on are not decode-checked yet (see DeferredChecks); Infinity: none */
  private uncheckedFrom = Infinity;
  private deferred: DeferredChecks | null = null;
  /** first seq of the last chunk, once endDeferred decoded it */
  private lastDecoded = -1;
  private cur = new ByteSink(1 << 12);
  private curFirst = 0;
  private curCount = 0;
  private curRegs: Registers = { task: 0, spans: {} };
  private readonly enc = new ChunkEncoder();
  private readonly regs: Registers = { task: 0, spans: {} };
  private sealListeners: ((c: SealedChunk) => void)[] = [];
  /** events before this seq were discarded (discardSealed) */
  private from = 0;
  /**
   * Counting, not encoding (discardSealed with no seal listener): events since `from`
   * exist as a number and their envelope registers only; a rollback can go back to
   * `from` (the start of the syscall), whose registers are `fromRegs`.
   */
  private counting = false;
  private fromRegs: Registers | null = null;

  /** number of events */
  get length(): number {
    return this.curFirst + this.curCount;
  }

  /** The first event the log still holds (0 unless discardSealed() let go of some). */
  get retainedFrom(): number {
    return this.from;
  }

  /**
   * Let go of every sealed chunk (its seal listeners, e.g. a streaming writer, had it
   * when it sealed): the open chunk is all the log keeps. Events before `retainedFrom`
   * can no longer be read, truncated to or written whole (each of those throws).
   */
  discardSealed(): void {
    if (!this.sealListeners.length) {
      // nobody listens, and nobody may read behind this point: the events to come need
      // no bytes (the open chunk goes too). Encoding is a third of a trace replay's time.
      this.counting = true;
      this.from = this.length;
      this.fromRegs = cloneRegisters(this.regs);
      this.sealed = [];
      this.curFirst = this.from;
      this.curCount = 0;
      this.cur.len = 0;
      return;
    }
    this.discardRead();
  }

  /**
   * Let go of the sealed chunks, and nothing more: a log read from a file chunk by chunk
   * (LogStreamReader) and walked once in order (`mmsim stats`) keeps only what is not
   * read yet; chunks appended later read as before. Events before `retainedFrom` are gone.
   */
  discardRead(): void {
    if (!this.sealed.length) return;
    this.from = this.curFirst;
    this.sealed = [];
  }

  /** True once the log only counts its events (see discardSealed). */
  get isCounting(): boolean {
    return this.counting;
  }

  private refuseDiscarded(seq: number, what: string): void {
    if (seq < this.from) {
      const why = this.counting ? 'it counts its events without keeping them: nobody streams it' : 'it streams and keeps only its open chunk';
      throw new RangeError(`${what} ${seq}: the log discarded the events before ${this.from} (${why})`);
    }
  }
  private refuseCounted(seq: number, what: string): void {
    this.refuseDiscarded(seq, what);
    if (this.counting) throw new RangeError(`${what} ${seq}: the log only counts its events since ${this.from} (it streams to nobody: attach a writer before the first event to keep them)`);
  }

  /** bytes the events take in memory (chunks as encoded) */
  get byteLength(): number {
    let n = this.cur.len;
    for (const c of this.sealed) n += c.bytes.length;
    return n;
  }

  /** Registers after the last event (task and open spans). */
  get registers(): Readonly<Registers> {
    return this.regs;
  }

  /** Called with every chunk as it is sealed: streaming writers hang here. */
  onSeal(fn: (c: SealedChunk) => void): () => void {
    if (this.counting) {
      // it encodes again from here (its open chunk is empty since discardSealed): the
      // first chunk it seals starts at this event
      this.counting = false;
      this.from = this.length;
      this.curFirst = this.from;
      this.curCount = 0;
      this.curRegs = cloneRegisters(this.regs);
      this.enc.reset();
    }
    this.sealListeners.push(fn);
    return () => {
      this.sealListeners = this.sealListeners.filter((f) => f !== fn);
    };
  }

  /**
   * Append one event. Sets r.seq, r.task and r.span (the envelope is derived from the
   * log's own span and task events, so it can never disagree with them).
   */
  append(r: RawEvent): void {
    r.seq = this.length;
    stepRegisters(this.regs, r);
    if (this.counting) {
      this.curCount++;
      return;
    }
    this.enc.encode(this.cur, r);
    if (++this.curCount === CHUNK_EVENTS) this.seal();
  }

  private seal(): void {
    const c: SealedChunk = { first: this.curFirst, count: this.curCount, bytes: this.cur.view().slice(), regs: this.curRegs };
    this.sealed.push(c);
    this.curFirst += this.curCount;
    this.curCount = 0;
    this.cur = new ByteSink(1 << 15);
    this.curRegs = cloneRegisters(this.regs);
    this.enc.reset();
    for (const fn of this.sealListeners) fn(c);
  }

  /** Seal the partial chunk too (before writing a complete file). */
  flush(): void {
    if (this.curCount > 0 && !this.counting) this.seal();
  }

  /** All chunks, the open one included (a snapshot; cheap). */
  chunks(): SealedChunk[] {
    this.refuseCounted(0, 'all chunks from event');
    const out = this.sealed.slice();
    if (this.curCount > 0) out.push({ first: this.curFirst, count: this.curCount, bytes: this.cur.view(), regs: this.curRegs });
    return out;
  }

  /** The chunks already sealed (complete or flushed), not the open one. */
  sealedChunks(): readonly SealedChunk[] {
    return this.sealed;
  }

  /**
   * Add an already encoded chunk (file loading). Its first seq must be this.length.
   * The chunk is decoded in full first (decodeChunk): a chunk whose count or bytes
   * lie is refused before it is counted, and the log stays as it was.
   */
  appendChunk(c: SealedChunk): void {
    if (this.curCount !== 0) throw new Error('appendChunk on a log with a partial chunk');
    if (c.first !== this.length) throw new Error(`chunk starts at seq ${c.first}, log has ${this.length} events`);
    const regs = decodeChunk(c);
    this.sealed.push(c);
    this.curFirst += c.count;
    this.regs.task = regs.task;
    this.regs.spans = regs.spans;
    this.curRegs = cloneRegisters(regs);
  }

  /**
   * Add a chunk whose decode check is deferred (see DeferredChecks): O(1), nothing is
   * decoded. The log's registers are the chunk's own until endDeferred().
   */
  appendChunkUnchecked(c: SealedChunk, checks: DeferredChecks): void {
    if (this.curCount !== 0) throw new Error('appendChunk on a log with a partial chunk');
    if (c.first !== this.length) throw new Error(`chunk starts at seq ${c.first}, log has ${this.length} events`);
    if (this.deferred && this.deferred !== checks) throw new Error('chunks of two files deferred into one log');
    this.deferred = checks;
    if (this.uncheckedFrom === Infinity) this.uncheckedFrom = c.first;
    this.sealed.push(c);
    this.curFirst += c.count;
    this.curRegs = c.regs;
  }

  /**
   * The file is read: decode the last chunk now (its end registers are the log's). Its
   * start is checked with the chunk before it (chunkChecked); the others wait for a
   * cursor or checkDeferred.
   */
  endDeferred(): void {
    const last = this.sealed[this.sealed.length - 1];
    if (!this.deferred || !last || this.uncheckedFrom > last.first) return;
    const regs = this.decodeOrFail(last);
    this.regs.task = regs.task;
    this.regs.spans = regs.spans;
    this.curRegs = cloneRegisters(regs);
    this.lastDecoded = last.first;
    if (this.uncheckedFrom === last.first) this.uncheckedFrom = Infinity;
  }

  /** Events from this seq on are in chunks not decode-checked yet (Infinity: none). */
  get uncheckedFromSeq(): number {
    return this.uncheckedFrom;
  }

  /**
   * Check the deferred chunks up to the one holding event `through` (default: all):
   * throws the LogFileError a full read would have. A consumer whose replay failed on an
   * unchecked event calls this first, to tell a damaged file from events that do not fit.
   */
  checkDeferred(through = this.length - 1): void {
    while (this.uncheckedFrom <= through && this.uncheckedFrom < this.curFirst) {
      const c = this.chunkFor(this.uncheckedFrom)!;
      this.chunkChecked(c, this.decodeOrFail(c));
    }
  }

  /** decodeChunk(c), a failure reported as the deferred chunk's damage */
  private decodeOrFail(c: SealedChunk): Registers {
    try {
      return decodeChunk(c);
    } catch (e) {
      return this.deferredFail(c.first, notDecodable(e));
    }
  }

  /** @internal a cursor found the chunk starting at `first` damaged */
  deferredFail(first: number, problem: string): never {
    return this.deferred!.fail(first, problem);
  }

  /**
   * @internal A cursor decoded chunk c, the first unchecked one, in full from its start:
   * `regs` are the registers after it. The next chunk must start with them.
   */
  chunkChecked(c: SealedChunk, regs: Registers): void {
    if (c.first !== this.uncheckedFrom) return;
    const end = c.first + c.count;
    if (end >= this.curFirst) {
      this.uncheckedFrom = Infinity;
      return;
    }
    const next = this.chunkFor(end)!;
    if (!sameRegisters(next.regs, regs)) this.deferred!.fail(next.first, 'chunk registers disagree with the events before it');
    // the last chunk's decode was checked by endDeferred: its start was all that waited
    this.uncheckedFrom = end === this.lastDecoded ? Infinity : end;
  }

  /** Told when truncate() drops events: from seq n on they no longer exist (streaming writers). */
  onTruncate(fn: (n: number) => void): () => void {
    this.truncListeners.push(fn);
    return () => {
      this.truncListeners = this.truncListeners.filter((f) => f !== fn);
    };
  }
  private truncListeners: ((n: number) => void)[] = [];

  /** Remember this point of the log (see LogMark). */
  mark(): LogMark {
    return { seq: this.length, sealed: this.sealed.length, bytes: this.cur.len, pred: this.enc.pred.v.slice(), strings: this.enc.strings.size, regs: cloneRegisters(this.regs) };
  }

  /**
   * Drop the events after a mark: truncate(m.seq), without re-encoding when no chunk was
   * sealed since (the open chunk is cut at its byte length then, its encoder state put
   * back). The open chunk's buffer is reused: views of it taken before are not kept.
   */
  truncateToMark(m: LogMark): void {
    if (m.seq > this.length) throw new RangeError(`truncateToMark(${m.seq}) of a log of ${this.length}`);
    if (this.counting) {
      this.refuseDiscarded(m.seq, 'truncate to event');
      if (m.seq < this.length) this.cutCounted(m.seq, m.regs);
      return;
    }
    if (this.sealed.length !== m.sealed || this.curFirst + this.curCount < m.seq || this.curFirst > m.seq) {
      this.truncate(m.seq);
      return;
    }
    if (m.seq === this.length) return;
    this.cur.len = m.bytes;
    this.curCount = m.seq - this.curFirst;
    this.enc.pred.v.set(m.pred);
    this.enc.truncateStrings(m.strings);
    const regs = cloneRegisters(m.regs);
    this.regs.task = regs.task;
    this.regs.spans = regs.spans;
    for (const fn of this.truncListeners) fn(m.seq);
  }

  /** Drop events from seq n on (rollback of an aborted syscall). */
  truncate(n: number): void {
    if (n > this.length || n < 0) throw new RangeError(`truncate(${n}) of a log of ${this.length}`);
    if (n === this.length) return;
    this.refuseDiscarded(n, 'truncate to event');
    // it re-decodes the chunk it cuts, and appends after: every chunk must be sound first
    if (this.uncheckedFrom !== Infinity) this.checkDeferred();
    if (this.counting) {
      // no bytes to re-derive the registers from: only the start of the syscall has them
      if (n !== this.from) throw new RangeError(`truncate to event ${n}: the log only counts its events since ${this.from} (it streams to nobody), so it rolls back to ${this.from} only (use truncateToMark)`);
      this.cutCounted(n, this.fromRegs!);
      return;
    }
    // reopen the chunk that holds event n
    let bytes = this.cur.view();
    while (n < this.curFirst) {
      const c = this.sealed.pop()!;
      this.curFirst = c.first;
      this.curCount = c.count;
      this.curRegs = c.regs;
      bytes = c.bytes;
    }
    const keep = n - this.curFirst;
    // re-encode the kept prefix: rebuilds predictors, string table and registers
    const dec = new ChunkDecoder();
    dec.start(bytes, 0, bytes.length);
    const r = newRawEvent();
    const regs = cloneRegisters(this.curRegs);
    this.enc.reset();
    const sink = new ByteSink(Math.max(1 << 12, bytes.length));
    for (let i = 0; i < keep; i++) {
      dec.next(r);
      stepRegisters(regs, r);
      this.enc.encode(sink, r);
    }
    this.cur = sink;
    this.curCount = keep;
    this.regs.task = regs.task;
    this.regs.spans = regs.spans;
    for (const fn of this.truncListeners) fn(n);
  }

  /** A counting log's cut back to event n, whose envelope registers are `regs`. */
  private cutCounted(n: number, regs: Registers): void {
    this.curCount = n - this.curFirst;
    const r = cloneRegisters(regs);
    this.regs.task = r.task;
    this.regs.spans = r.spans;
    for (const fn of this.truncListeners) fn(n);
  }

  /** A cursor that decodes events from seq `from`. */
  cursor(from = 0): LogCursor {
    return new LogCursor(this, from);
  }

  /** Decode one event (allocates; for inspection, not loops). */
  get(seq: number): MmEvent {
    const r = newRawEvent();
    if (!this.cursor(seq).next(r)) throw new RangeError(`no event ${seq} (log has ${this.length})`);
    return toEvent(r);
  }

  /** Typed events in [from, to). */
  *events(from = 0, to = this.length): IterableIterator<MmEvent> {
    const c = this.cursor(from);
    const r = newRawEvent();
    for (let i = from; i < to && c.next(r); i++) yield toEvent(r);
  }

  /** @internal chunk lookup for cursors */
  chunkFor(seq: number): SealedChunk | null {
    this.refuseCounted(seq, 'event');
    if (seq >= this.curFirst) {
      if (seq >= this.length) return null;
      return { first: this.curFirst, count: this.curCount, bytes: this.cur.view(), regs: this.curRegs };
    }
    let lo = 0;
    let hi = this.sealed.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.sealed[mid].first <= seq) lo = mid;
      else hi = mid - 1;
    }
    return this.sealed[lo];
  }
}

/**
 * Decode a whole chunk: exactly `count` events that use exactly its bytes. Returns the
 * registers after its last event; throws (CodecError or Error) when the chunk lies.
 */
export function decodeChunk(c: SealedChunk): Registers {
  const dec = new ChunkDecoder();
  const r = newRawEvent();
  const regs = cloneRegisters(c.regs);
  dec.start(c.bytes, 0, c.bytes.length);
  for (let i = 0; i < c.count; i++) {
    dec.next(r);
    stepRegisters(regs, r);
  }
  if (dec.pos !== c.bytes.length) throw new Error(leftover(c, dec.pos));
  return regs;
}

/** Sequential decoder over a log, from any seq. */
export class LogCursor {
  private dec = new ChunkDecoder();
  private chunk: SealedChunk | null = null;
  private left = 0;
  private regs: Registers = { task: 0, spans: {} };
  /** decoding the first unchecked chunk from its start (see DeferredChecks) */
  private checking = false;
  seq: number;

  constructor(
    private readonly log: EventLog,
    from: number,
  ) {
    this.seq = from;
    this.open(from);
  }

  private open(seq: number): void {
    const c = this.log.chunkFor(seq);
    this.chunk = c;
    if (!c) return;
    this.dec.start(c.bytes, 0, c.bytes.length);
    this.regs = cloneRegisters(c.regs);
    this.left = c.count;
    // the first unchecked chunk, decoded from its start: this cursor checks it (DeferredChecks)
    this.checking = c.first === this.log.uncheckedFromSeq;
    const skip = seq - c.first;
    const r = newRawEvent();
    for (let i = 0; i < skip; i++) {
      this.decode(r);
      stepRegisters(this.regs, r);
      this.left--;
    }
  }

  private decode(r: RawEvent): void {
    if (!this.checking) return this.dec.next(r);
    try {
      this.dec.next(r);
    } catch (e) {
      this.log.deferredFail(this.chunk!.first, notDecodable(e));
    }
  }

  /** The chunk this cursor checks is decoded to its end: it used exactly its bytes, and the next one starts where it ended. */
  private endCheck(): void {
    const c = this.chunk!;
    this.checking = false;
    if (this.dec.pos !== c.bytes.length) {
      this.log.deferredFail(c.first, notDecodable(new Error(leftover(c, this.dec.pos))));
    }
    this.log.chunkChecked(c, this.regs);
  }

  /** Decode the next event into r; false at the end of the log. */
  next(r: RawEvent): boolean {
    if (this.left === 0) {
      if (this.checking) this.endCheck();
      if (this.seq >= this.log.length) return false;
      this.open(this.seq);
      if (!this.chunk) return false;
    }
    this.decode(r);
    stepRegisters(this.regs, r);
    r.seq = this.seq++;
    this.left--;
    return true;
  }
}
