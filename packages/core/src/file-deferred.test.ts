/**
 * Reading a log with its chunks' decode checks deferred (ReadLogOptions.verify
 * 'checksums'): the same events as a full read, and on a damaged file the same
 * LogFileError, only raised by the first cursor that reads the damaged chunk (or by
 * checkDeferred, or a replay whose event does not fit there).
 *
 * The damaged files are sealed anew (sealLogFile: CRCs and trailer recomputed), so that
 * only the decode can see the damage (what a buggy writer, or a crafted file, gives).
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_EVENTS } from './codec.js';
import { Engine } from './engine.js';
import { E, newRawEvent } from './events.js';
import { LogFileError, encodeLogFile, type LogHeader } from './file.js';
import { sealLogFile, splitLogFile, type LogFileChunk } from './file-edit.js';
import { decodeLogFile, LogStreamReader, type ReadLogOptions } from './file-read.js';
import type { EventLog } from './log.js';
import { ReplayError } from './reducer.js';
import { replay } from './timetravel.js';

const H: LogHeader = { mmsimVersion: '0.1.0', config: { scenario: 'deferred' }, seed: 0 };
const DEFER: ReadLogOptions = { verify: 'checksums' };

/** A log of a few chunks: one syscall faulting pages in (a folio and a PTE each). */
function bigLog(pages = 3 * CHUNK_EVENTS): Uint8Array {
  const eng = new Engine();
  eng.emit(E.MmCreate, 1, 0);
  eng.emit(E.VmaInsert, 1, 1, 4096, 4096 + pages, 4096, 0x73);
  eng.commit();
  eng.syscall('touch', function* () {
    for (let i = 0; i < pages; i++) {
      if (i % 512 === 0) eng.emit(E.PtAlloc, 1, 4096 + i);
      const pfn = eng.ids.pfn++;
      eng.emit(E.FolioAlloc, pfn, 0);
      eng.emit(E.PteSet, 1, 4096 + i, pfn, 2);
    }
    return 0;
  });
  eng.close();
  return encodeLogFile(eng.log, H);
}

/** The error `fn` throws (fails the test if it throws none). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

/** Decode every event with one cursor, in order. */
function readAll(log: EventLog): number {
  const c = log.cursor(0);
  const r = newRawEvent();
  let n = 0;
  while (c.next(r)) n++;
  return n;
}

describe('a log read with its decode checks deferred', () => {
  const good = bigLog();

  it('has the events, registers and final state of a full read, and is checked once read in order', () => {
    const full = decodeLogFile(good);
    const lazy = decodeLogFile(good, DEFER);
    const chunks = lazy.log.sealedChunks().length;
    expect(chunks).toBeGreaterThanOrEqual(3);
    // all but the last chunk wait (the last is decoded at once: its registers are the log's)
    expect(lazy.log.uncheckedFromSeq).toBe(0);
    expect(lazy.log.registers).toEqual(full.log.registers);
    expect(lazy.log.length).toBe(full.log.length);
    expect(replay(lazy.log)).toEqual(replay(full.log));
    expect(lazy.log.uncheckedFromSeq).toBe(Infinity);
    expect([...lazy.log.events()]).toEqual([...full.log.events()]);
  });

  it('is checked by a cursor only from the first unchecked chunk on, in order', () => {
    const lazy = decodeLogFile(good, DEFER).log;
    const second = lazy.sealedChunks()[1].first;
    // a cursor that starts in the second chunk checks nothing: the first is not checked yet
    const c = lazy.cursor(second);
    const r = newRawEvent();
    while (c.next(r)) {
      /* to the end */
    }
    expect(lazy.uncheckedFromSeq).toBe(0);
    lazy.checkDeferred(second - 1);
    expect(lazy.uncheckedFromSeq).toBe(second);
    lazy.checkDeferred();
    expect(lazy.uncheckedFromSeq).toBe(Infinity);
  });

  it('salvage and version 1 logs are read in full (salvage must know the valid prefix as it reads)', () => {
    const r = decodeLogFile(good, { ...DEFER, salvage: true });
    expect(r.log.uncheckedFromSeq).toBe(Infinity);
  });

  describe('a damaged chunk gives the LogFileError of a full read, at its first read', () => {
    const { head, chunks } = splitLogFile(good);
    const k = 1;
    const cases: [string, Uint8Array][] = [];
    {
      // an unknown event type where the chunk's second event starts
      const cs: LogFileChunk[] = chunks.map((c) => ({ ...c }));
      const body = cs[k].body.slice();
      body[0] = 0xfe;
      cs[k] = { ...cs[k], body };
      cases.push(['an undecodable event', sealLogFile({ head, chunks: cs })]);
    }
    {
      // bytes after the chunk's last event
      const cs: LogFileChunk[] = chunks.map((c) => ({ ...c }));
      cs[k] = { ...cs[k], body: Uint8Array.from([...cs[k].body, 0]) };
      cases.push(['bytes its count leaves undecoded', sealLogFile({ head, chunks: cs })]);
    }
    {
      // the next chunk claims another task than the events before it left
      const cs: LogFileChunk[] = chunks.map((c) => ({ ...c }));
      const regs = new TextDecoder().decode(cs[k + 1].regs).replace(/"task":\d/, '"task":7');
      cs[k + 1] = { ...cs[k + 1], regs: new TextEncoder().encode(regs) };
      cases.push(['registers that disagree with the events before them', sealLogFile({ head, chunks: cs })]);
    }
    for (const [what, bad] of cases) {
      it(what, () => {
        const full = thrown(() => decodeLogFile(bad));
        expect(full).toBeInstanceOf(LogFileError);
        const lazy = decodeLogFile(bad, DEFER);
        // the read itself takes it: the damage is past the first chunk and before the last
        expect(lazy.log.length).toBe(decodeLogFile(good).log.length);
        const byCursor = thrown(() => readAll(lazy.log));
        expect(byCursor).toBeInstanceOf(LogFileError);
        expect(byCursor.message).toBe(full.message);
        expect((byCursor as LogFileError).offset).toBe((full as LogFileError).offset);
        // and so does checkDeferred, or a replay
        const again = decodeLogFile(bad, DEFER);
        expect(thrown(() => again.log.checkDeferred()).message).toBe(full.message);
        expect(thrown(() => replay(decodeLogFile(bad, DEFER).log)).message).toBe(full.message);
      });
    }

    it('before a truncate (it re-decodes the chunk it cuts, and the log grows again after it)', () => {
      const bad = cases[0][1];
      const full = thrown(() => decodeLogFile(bad));
      expect(thrown(() => decodeLogFile(bad, DEFER).log.truncate(5)).message).toBe(full.message);
      const ok = decodeLogFile(good, DEFER).log;
      ok.truncate(ok.sealedChunks()[2].first + 3);
      expect(ok.uncheckedFromSeq).toBe(Infinity);
      expect([...ok.events()]).toEqual([...decodeLogFile(good).log.events()].slice(0, ok.length));
    });

    it('in a stream read in pieces too', () => {
      const bad = cases[0][1];
      const full = thrown(() => decodeLogFile(bad));
      const rd = new LogStreamReader({ ...DEFER, keepPieces: true });
      for (let at = 0; at < bad.length; at += 7777) rd.push(bad.slice(at, at + 7777));
      const res = rd.end();
      const e = thrown(() => readAll(res.log));
      expect(e.message).toBe(full.message);
      expect((e as LogFileError).offset).toBe((full as LogFileError).offset);
    });

    it('a damaged last chunk is refused by the read itself (its registers are the log\'s)', () => {
      const cs: LogFileChunk[] = chunks.map((c) => ({ ...c }));
      const last = cs.length - 1;
      const body = cs[last].body.slice();
      body[0] = 0xfe;
      cs[last] = { ...cs[last], body };
      const bad = sealLogFile({ head, chunks: cs });
      const full = thrown(() => decodeLogFile(bad));
      expect(thrown(() => decodeLogFile(bad, DEFER)).message).toBe(full.message);
    });
  });

  it('a replay whose event does not fit a sound chunk says so (ReplayError); in a damaged chunk, that the file is damaged', () => {
    const { head, chunks } = splitLogFile(good);
    // chunk 1 carries chunk 2's events: they decode, but fault pages whose PTE table is not there yet
    const swapped = chunks.map((c) => ({ ...c }));
    swapped[1] = { ...swapped[1], body: chunks[2].body, count: chunks[2].count };
    expect(chunks[2].count).toBe(chunks[1].count);
    const fits = sealLogFile({ head, chunks: swapped });
    // a sound file (every chunk decodes, the registers agree): the replay's error is the events'
    const readFull = decodeLogFile(fits);
    const e1 = thrown(() => replay(readFull.log));
    expect(e1).toBeInstanceOf(ReplayError);
    const e2 = thrown(() => replay(decodeLogFile(fits, DEFER).log));
    expect(e2).toBeInstanceOf(ReplayError);
    expect(e2.message).toBe(e1.message);
    // the same, and an extra byte at the end of chunk 2: the file is damaged, and that is
    // what the replay says (as a full read, before any replay, would), though an event
    // of chunk 1 failed before any cursor reached chunk 2
    const damaged = swapped.slice();
    damaged[2] = { ...damaged[2], body: Uint8Array.from([...damaged[2].body, 0]) };
    const bad = sealLogFile({ head, chunks: damaged });
    const full = thrown(() => decodeLogFile(bad));
    expect(full).toBeInstanceOf(LogFileError);
    const e3 = thrown(() => replay(decodeLogFile(bad, DEFER).log));
    expect(e3).toBeInstanceOf(LogFileError);
    expect(e3.message).toBe(full.message);
  });
});

describe('splitLogFile and sealLogFile', () => {
  it('seal the parts of a file back into the same bytes', () => {
    const good = bigLog(CHUNK_EVENTS);
    const parts = splitLogFile(good);
    expect(parts.chunks.length).toBeGreaterThan(1);
    expect(parts.chunks[1].offset).toBe(parts.chunks[0].offset + 24 + parts.chunks[0].regs.length + parts.chunks[0].body.length);
    expect(sealLogFile(parts)).toEqual(good);
  });

  it('refuse a file of another format version', () => {
    const v1 = bigLog(10).slice();
    new DataView(v1.buffer).setUint16(8, 1, true);
    expect(() => splitLogFile(v1, 'old.mmlog')).toThrow(/version 2 to 3 logs only/);
  });
});
