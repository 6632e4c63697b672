/**
 * The log file format: v1 logs still read (unverified, with a warning), hostile bytes
 * are refused with LogFileError, the streaming writer follows a rollback and the
 * streaming reader wants the trailer.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { E } from './events.js';
import { replay } from './timetravel.js';
import { encodeLogFile, LogFileError, logNonce, streamLog, type LogHeader } from './file.js';
import { splitLogFile } from './file-edit.js';
import { decodeLogFile, LogStreamReader, V1_WARNING } from './file-read.js';
import { prng, type KGen } from './sched.js';
import type { EventLog } from './log.js';

const H: LogHeader = { mmsimVersion: '0.1.0', config: { scenario: 't', arenaPages: 512 }, seed: 0 };

function* faultRange(eng: Engine, mm: number, start: number, n: number): KGen<number> {
  yield* eng.lock(`mmap_lock:${mm}`, 1, 'sleep');
  for (let i = 0; i < n; i++) {
    // a PTE table per 512 pages (ranges of one test never share a table)
    if (i === 0 || (start + i) % 512 === 0) eng.emit(E.PtAlloc, mm, start + i - ((start + i) % 512));
    const pfn = eng.ids.pfn++;
    eng.emit(E.FolioAlloc, pfn, 0);
    eng.emit(E.PteSet, mm, start + i, pfn, 2);
  }
  yield* eng.unlock(`mmap_lock:${mm}`, 1, 'sleep');
  return 0;
}

function setup(): Engine {
  const eng = new Engine();
  eng.emit(E.MmCreate, 1, 0);
  eng.emit(E.VmaInsert, 1, 1, 4096, 4096 + 8192, 4096, 0x73);
  eng.commit();
  return eng;
}

const eventsHash = (log: EventLog) => {
  const h = createHash('sha256');
  for (const e of log.events()) h.update(JSON.stringify(e) + '\n');
  return h.digest('hex');
};

/** A sink that is a growable file image (write and truncate). */
function memorySink() {
  let bytes = new Uint8Array(0);
  return {
    write(b: Uint8Array) {
      const n = new Uint8Array(bytes.length + b.length);
      n.set(bytes);
      n.set(b, bytes.length);
      bytes = n;
    },
    truncate(size: number) {
      bytes = bytes.slice(0, size);
    },
    get bytes() {
      return bytes;
    },
  };
}

describe('format version 1 logs', () => {
  // written by mmsim 0.1 (format 1) from `mmsim run scenarios/hand/fork-cow.json --log ...`
  const v1 = new Uint8Array(readFileSync(new URL('./fixtures/fork-cow.v1.mmlog', import.meta.url)));

  it('still read: the same 868 events, marked unverified with a warning', () => {
    const r = decodeLogFile(v1);
    expect(r.version).toBe(1);
    expect(r.warnings).toEqual([V1_WARNING]);
    expect(r.log.length).toBe(868);
    // the digest `mmsim events --json` of that file gave under mmsim 0.1
    expect(eventsHash(r.log)).toBe('5e73cef06ba7b7202f62a5b3fd050ef84ebd8f4cfe528cea8ca6120150f3868c');
    expect(r.header.config).toMatchObject({ scenario: 'fork-cow', arenaPages: 256 });
  });

  it('a damaged v1 chunk is still refused (its body CRC, and a count that does not decode)', () => {
    const bad = v1.slice();
    bad[bad.length - 5] ^= 4;
    expect(() => decodeLogFile(bad)).toThrow(LogFileError);
    const count = v1.slice();
    const dv = new DataView(count.buffer);
    const off = 14 + dv.getUint32(10, true);
    dv.setUint32(off + 8, 867, true); // a lowered count: the body CRC cannot see it, decoding does
    expect(() => decodeLogFile(count)).toThrow(/leaves \d+ of its \d+ bytes undecoded/);
  });
});

describe('format version 2 logs', () => {
  // written by mmsim before the nonce (format 2) from `mmsim run scenarios/hand/fork-cow.json --log ...`
  const v2 = new Uint8Array(readFileSync(new URL('./fixtures/fork-cow.v2.mmlog', import.meta.url)));

  it('still read and verified: the same 883 events, no warning', () => {
    const r = decodeLogFile(v2);
    expect(r.version).toBe(2);
    expect(r.warnings).toEqual([]);
    expect(r.header.nonce).toBeUndefined();
    expect(r.log.length).toBe(883);
    // the digest of its events as the format 2 reader gave them
    expect(eventsHash(r.log)).toBe('9cb83a7a88fac38b98d6185e89c9a624f6669897f167b7a949195acb1e19c938');
    const bad = v2.slice();
    bad[bad.length - 30] ^= 1;
    expect(() => decodeLogFile(bad)).toThrow(/checksum mismatch.*at byte offset \d+/);
  });
});

describe('chunks of another run never verify (format 3: nonce, chained CRCs)', () => {
  /** a run's log: `pages` pages touched from `start`, 3 chunks or more */
  const runLog = (start: number, pages: number, h: LogHeader) => {
    const eng = setup();
    eng.syscall('touch', () => faultRange(eng, 1, start, pages));
    eng.close();
    return { file: encodeLogFile(eng.log, h), events: eng.log.length };
  };
  /** the file's items as byte ranges: header, each chunk, trailer */
  const pieces = (file: Uint8Array) => {
    const { head, chunks } = splitLogFile(file);
    const ends = [...chunks.slice(1).map((c) => c.offset), file.length - 20];
    return { head, chunks: chunks.map((c, i) => ({ bytes: file.subarray(c.offset, ends[i]), count: c.count })), trailer: file.subarray(file.length - 20) };
  };
  const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

  it('the nonce is the header and the inputs it names, deterministic', () => {
    expect(logNonce(H)).toBe(logNonce({ ...H }));
    expect(logNonce(H, ['trace a'])).not.toBe(logNonce(H, ['trace b']));
    expect(logNonce(H, ['ab', 'c'])).not.toBe(logNonce(H, ['a', 'bc']));
    expect(logNonce(H)).toMatch(/^[0-9a-f]{16}$/);
    // a header written without one gets logNonce(header): the same run, the same bytes
    const a = runLog(4096, 100, H).file;
    expect(decodeLogFile(a).header.nonce).toBe(logNonce(H));
    // the header JSON is that of the header with its nonce, as JSON.stringify writes it
    const hlen = new DataView(a.buffer, a.byteOffset).getUint32(10, true);
    expect(new TextDecoder().decode(a.subarray(18, 18 + hlen))).toBe(JSON.stringify({ ...H, nonce: logNonce(H) }));
    expect(Buffer.from(a).equals(Buffer.from(runLog(4096, 100, { ...H, nonce: logNonce(H) }).file))).toBe(true);
  });

  it('two runs whose headers differ only by the nonce: a spliced file is refused at the foreign chunk, salvage keeps the first run only', () => {
    // two `trace --log` runs at one path: the config is the same, the recordings are not
    const A = runLog(4096, 5000, { ...H, nonce: logNonce(H, ['recording A']) });
    const B = runLog(20480, 5000, { ...H, nonce: logNonce(H, ['recording B']) });
    const a = pieces(A.file);
    const b = pieces(B.file);
    expect(a.chunks.length).toBeGreaterThanOrEqual(3);
    expect(b.chunks.length).toBe(a.chunks.length);
    // A's header and first chunk, B's second, then A's again with A's trailer
    const spliced = cat(a.head, a.chunks[0].bytes, b.chunks[1].bytes, ...a.chunks.slice(2).map((c) => c.bytes), a.trailer);
    const at = a.head.length + a.chunks[0].bytes.length;
    expect(() => decodeLogFile(spliced)).toThrow(new RegExp(`of another run.*at byte offset ${at}\\)`));
    const s = decodeLogFile(spliced, { salvage: true });
    expect(s.log.length).toBe(a.chunks[0].count);
    // A's trailer still verifies under A's header: it says how many were lost
    expect(s.damage).toMatchObject({ offset: at, eventsKept: a.chunks[0].count, eventsLost: A.events - a.chunks[0].count, bytesLost: spliced.length - at });
    // B's chunks behind A's header, even the first: refused at once
    expect(() => decodeLogFile(cat(a.head, ...b.chunks.map((c) => c.bytes), b.trailer))).toThrow(new RegExp(`at byte offset ${a.head.length}\\)`));
    // and B's trailer after A's chunks does not verify: the loss is not made up from it
    const t = decodeLogFile(cat(a.head, a.chunks[0].bytes, b.chunks[1].bytes, b.trailer), { salvage: true });
    expect(t.damage?.eventsKept).toBe(a.chunks[0].count);
    expect(t.damage?.eventsLost).toBeUndefined();
  });

  it('two runs with the same header and nonce (an engine changed between them): the chain stops at the first chunk that differs', () => {
    const A = runLog(4096, 5000, H);
    const B = runLog(20480, 5000, H);
    const a = pieces(A.file);
    const b = pieces(B.file);
    expect(Buffer.from(a.head).equals(Buffer.from(b.head))).toBe(true);
    const spliced = cat(a.head, a.chunks[0].bytes, ...b.chunks.slice(1).map((c) => c.bytes), b.trailer);
    const s = decodeLogFile(spliced, { salvage: true });
    expect(s.damage).toMatchObject({ offset: a.head.length + a.chunks[0].bytes.length, eventsKept: a.chunks[0].count });
    // B's trailer verifies under the shared header: B had B.events, so that many less the kept were lost
    expect(s.damage?.eventsLost).toBe(B.events - a.chunks[0].count);
    // a streaming reader stops at the same chunk
    const rd = new LogStreamReader({ salvage: true });
    rd.push(spliced);
    expect(rd.end().damage?.offset).toBe(s.damage?.offset);
  });
});

describe('hostile bytes given as a log', () => {
  const good = (() => {
    const eng = setup();
    eng.syscall('touch', () => faultRange(eng, 1, 4096, 3000));
    eng.close();
    return encodeLogFile(eng.log, H);
  })();

  it('are refused with LogFileError and a useful message, never another exception', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /bad magic|too short/],
      ['gzip', new Uint8Array(gzipSync(good)), /gzip-compressed/],
      ['non-UTF-8 magic', Uint8Array.from([0xff, 0xfe, 0x80, ...good.subarray(3)]), /bad magic/],
      ['JSON', new TextEncoder().encode('{"format":"mmsim-scenario/1"}'), /looks like JSON/],
      ['magic only', good.subarray(0, 8), /too short/],
    ];
    const huge = good.slice();
    const hdv = new DataView(huge.buffer);
    const chunk = 18 + hdv.getUint32(10, true);
    hdv.setUint32(chunk + 8, 2 ** 31 - 1, true);
    cases.push(['huge count', huge, /checksum mismatch/]);
    const hugeLen = good.slice();
    new DataView(hugeLen.buffer).setUint32(10, 2 ** 32 - 1, true);
    cases.push(['huge header length', hugeLen, /runs past the end/]);
    for (const [what, b, msg] of cases) {
      for (const salvage of [false, true]) {
        let err: unknown;
        let res: ReturnType<typeof decodeLogFile> | undefined;
        try {
          res = decodeLogFile(b, { salvage });
        } catch (e) {
          err = e;
        }
        if (res) {
          // only salvage may return, and only with the damage said and nothing invented
          expect(salvage, what).toBe(true);
          expect(res.damage, what).toBeDefined();
          expect(res.damage!.message, what).toMatch(msg);
          expect(res.log.length, what).toBe(0);
        } else {
          expect(err, what).toBeInstanceOf(LogFileError);
          expect((err as Error).message, what).toMatch(msg);
        }
      }
    }
  });

  it('random byte strings after a valid magic are refused too (500 seeded)', () => {
    const rnd = prng(7);
    let refused = 0;
    for (let k = 0; k < 500; k++) {
      const n = Math.floor(rnd() * 200);
      const b = new Uint8Array(n + 8);
      b.set(good.subarray(0, 8));
      for (let i = 8; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
      if (k % 2) b.set(good.subarray(8, Math.min(b.length, 8 + Math.floor(rnd() * 40))), 8);
      try {
        decodeLogFile(b);
      } catch (e) {
        expect(e).toBeInstanceOf(LogFileError);
        refused++;
      }
    }
    expect(refused).toBe(500);
  });
});

describe('streaming', () => {
  it('the writer follows a rolled-back syscall that had sealed a chunk, and the file is the one-shot image', () => {
    const eng = setup();
    const sink = memorySink();
    const w = streamLog(eng.log, H, sink);
    eng.syscall('touch', () => faultRange(eng, 1, 4096, 1000));
    const before = eng.log.length;
    let sealedDuring = 0;
    const off = eng.log.onSeal(() => sealedDuring++);
    const r = eng.syscall('bad', function* () {
      yield* faultRange(eng, 1, 6144, 3000); // 6000 events: crosses a chunk seal
      throw new Error('plugin blew up');
    });
    off();
    expect(r.ok).toBe(false);
    expect(sealedDuring).toBeGreaterThan(0);
    expect(eng.log.length).toBe(before + 1); // rolled back, then the error event
    eng.syscall('touch', () => faultRange(eng, 1, 9216, 100));
    eng.close();
    w.finish();
    expect(Buffer.from(sink.bytes).equals(Buffer.from(encodeLogFile(eng.log, H)))).toBe(true);
    expect(replay(decodeLogFile(sink.bytes).log)).toEqual(eng.state);
  });

  it('abort() leaves a log without trailer: refused, salvaged whole', () => {
    const eng = setup();
    const sink = memorySink();
    const w = streamLog(eng.log, H, sink);
    eng.syscall('touch', () => faultRange(eng, 1, 4096, 5000));
    w.abort();
    expect(w.events).toBe(eng.log.length);
    expect(() => decodeLogFile(sink.bytes)).toThrow(/no trailer/);
    const s = decodeLogFile(sink.bytes, { salvage: true });
    expect(s.log.length).toBe(eng.log.length);
    expect(s.damage).toMatchObject({ eventsKept: eng.log.length, bytesLost: 0 });
  });

  it('the reader takes a stream piece by piece, wants the trailer, and salvages', () => {
    const eng = setup();
    eng.syscall('touch', () => faultRange(eng, 1, 4096, 5000));
    eng.close();
    const whole = encodeLogFile(eng.log, H);
    for (const step of [1, 777, 5000]) {
      const rd = new LogStreamReader();
      let seen = 0;
      for (let i = 0; i < whole.length; i += step) seen += rd.push(whole.subarray(i, i + step));
      expect(rd.end().log.length).toBe(eng.log.length);
      expect(seen).toBe(eng.log.length);
    }
    // pieces read into one buffer the caller reuses: what the reader keeps is its own
    const events = (log: EventLog) => [...log.events()].map((e) => JSON.stringify(e));
    const want = events(decodeLogFile(whole).log);
    for (const step of [3, 24, 4099, 70_000]) {
      const rd = new LogStreamReader();
      const piece = new Uint8Array(step);
      for (let i = 0; i < whole.length; i += step) {
        const n = Math.min(step, whole.length - i);
        piece.set(whole.subarray(i, i + n));
        rd.push(piece.subarray(0, n));
        piece.fill(0xee);
      }
      expect(events(rd.end().log)).toEqual(want);
    }
    // pieces the reader may keep: its chunks are views of them (no copy), the events the same
    {
      const rd = new LogStreamReader({ keepPieces: true });
      const pieces: Uint8Array[] = [];
      const half = Math.ceil(whole.length / 2);
      for (let i = 0; i < whole.length; i += half) pieces.push(whole.slice(i, i + half));
      for (const p of pieces) rd.push(p);
      const log = rd.end().log;
      expect(events(log)).toEqual(want);
      const bufs = new Set(pieces.map((p) => p.buffer));
      const viewed = log.sealedChunks().filter((c) => bufs.has(c.bytes.buffer as ArrayBuffer)).length;
      // only a chunk split between two pieces is joined into a buffer of its own
      expect(viewed).toBeGreaterThan(0);
      expect(log.sealedChunks().every((c) => c.bytes.byteLength < c.bytes.buffer.byteLength || !bufs.has(c.bytes.buffer as ArrayBuffer))).toBe(true);
    }
    // damage in a piece that also completes a chunk begun in the last one: the same offset and loss as the whole file
    for (const step of [5000, 33_333]) {
      const salvd = new LogStreamReader({ salvage: true });
      const bent = whole.slice();
      bent[whole.length - 100] ^= 1;
      for (let i = 0; i < bent.length; i += step) salvd.push(bent.subarray(i, i + step));
      // (the stream cannot look for the trailer past the damage to count the events lost)
      const { eventsLost: _lost, ...fromFile } = decodeLogFile(bent, { salvage: true }).damage!;
      expect(salvd.end().damage).toEqual(fromFile);
    }
    const noTrailer = new LogStreamReader();
    noTrailer.push(whole.subarray(0, whole.length - 20));
    expect(() => noTrailer.end()).toThrow(/no trailer/);
    const flipped = whole.slice();
    flipped[whole.length - 100] ^= 1;
    const strict = new LogStreamReader();
    expect(() => strict.push(flipped)).toThrow(LogFileError);
    const salv = new LogStreamReader({ salvage: true });
    salv.push(flipped);
    const res = salv.end();
    expect(res.damage?.eventsKept).toBe(8192);
    expect(res.log.length).toBe(8192);
  });
});
