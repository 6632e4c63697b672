/**
 * The log is the truth: seeded damage to logs the engine wrote while running real
 * scenarios on the model. Every damaged copy must be
 *   - refused by a strict read with a LogFileError (never another exception), or read
 *     back with exactly the original header and events (no damage changes meaning);
 *   - salvaged to exactly the valid prefix: the whole chunks before the first damaged
 *     byte, with the damage reported (a damaged header is refused even then);
 *   - refused with the same LogFileError when read with its decode checks deferred
 *     (verify 'checksums', as the debugger reads) and then read through in order;
 *   - refused with a message that names the byte offset (the one LogFileError holds).
 * Among the damages: a chunk of another run put in place of one of this run's (what
 * two runs writing one path gave): salvage stops before it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LogFileError, decodeLogFile, encodeLogFile, logNonce, newRawEvent, prng, type EventLog, type LogHeader } from '@mmsim/core';
import { parseScenario, type Scenario } from '@mmsim/scenario';
import { runScenario } from './run.js';

const hand = (f: string) => parseScenario(readFileSync(fileURLToPath(new URL(`../../../scenarios/hand/${f}`, import.meta.url)), 'utf8'), f);

/** a scenario with enough events for several chunks (faults, a fork, COW breaks, munmaps) */
const big: Scenario = parseScenario({
  format: 'mmsim-scenario/1',
  name: 'damage-big',
  arena: { pages: 1024 },
  steps: [
    { op: 'mmap', page: 0, pages: 600, prot: 'rw-' },
    { op: 'touch', page: 0, pages: 600 },
    { op: 'fork' },
    { op: 'touch', proc: 1, page: 0, pages: 300 },
    { op: 'mprotect', page: 100, pages: 50, prot: 'r--' },
    { op: 'munmap', page: 200, pages: 100 },
    { op: 'exit', proc: 1 },
  ],
});

interface Sample {
  name: string;
  bytes: Uint8Array;
  header: LogHeader;
  log: EventLog;
  /** file offset where each chunk ends, and the events up to it */
  ends: { end: number; events: number }[];
  headerEnd: number;
}

/** `header`: written with this header instead of the run's own */
function sample(s: Scenario, header?: LogHeader): Sample {
  const r = runScenario(s);
  const bytes = encodeLogFile(r.engine.log, header ?? r.header);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerEnd = 18 + dv.getUint32(10, true);
  const ends: Sample['ends'] = [];
  let off = headerEnd;
  while (dv.getUint32(off, true) === 0x4b4e4843) {
    off += 24 + dv.getUint32(off + 12, true) + dv.getUint32(off + 16, true);
    ends.push({ end: off, events: 0 });
  }
  // events per chunk from the log itself
  r.engine.log.chunks().forEach((c, i) => (ends[i].events = c.first + c.count));
  // the header as written: with the nonce the writer added
  return { name: s.name, bytes, header: decodeLogFile(bytes).header, log: r.engine.log, ends, headerEnd };
}

const SAMPLES = [sample(hand('fork-cow.json')), sample(hand('thp-mix.json')), sample(hand('mremap-errors.json')), sample(big)];
/**
 * Another run under the config of `big` (as two `trace --log` runs of different
 * recordings at one path had: the config names the path only): one more page touched,
 * as many chunks; its nonce hashes the other input, as `trace` does.
 */
const BIG_OTHER = sample(
  parseScenario({ ...big, steps: big.steps.map((st, i) => (i === 1 ? { ...st, pages: 601 } : st)) }),
  { ...SAMPLES[3].header, nonce: logNonce(SAMPLES[3].header, ['another recording']) },
);

/** A refusal names its byte offset, the one the error carries. */
function offsetNamed(e: LogFileError): boolean {
  const m = /\(at byte offset (\d+)\)$/.exec(e.message);
  return !!m && Number(m[1]) === e.offset && Number.isSafeInteger(e.offset) && e.offset >= 0;
}

/** The events of a log as comparable text. */
const eventsText = (log: EventLog, n = log.length) => {
  const out: string[] = [];
  for (const e of log.events(0, n)) out.push(JSON.stringify(e));
  return out.join('\n');
};

/** the events the valid prefix of `damaged` holds: whole chunks before its first differing byte */
function expectedPrefix(s: Sample, damaged: Uint8Array): number {
  let diff = 0;
  const n = Math.min(damaged.length, s.bytes.length);
  while (diff < n && damaged[diff] === s.bytes[diff]) diff++;
  let events = 0;
  for (const c of s.ends) if (c.end <= diff) events = c.events;
  return diff < s.headerEnd ? -1 : events;
}

type Damage = { kind: string; bytes: Uint8Array };

/** the chunks of a sample as byte ranges */
const spansOf = (s: Sample) => s.ends.map((c, i) => ({ start: i ? s.ends[i - 1].end : s.headerEnd, end: c.end }));

function damages(s: Sample, rnd: () => number, count: number, other: Sample): Damage[] {
  const b = s.bytes;
  const int = (n: number) => Math.floor(rnd() * n);
  const out: Damage[] = [];
  const chunkSpans = spansOf(s);
  const otherSpans = spansOf(other);
  const edit = (kind: string, f: (c: Uint8Array, dv: DataView) => void) => {
    const c = b.slice();
    f(c, new DataView(c.buffer));
    out.push({ kind, bytes: c });
  };
  const splice = (kind: string, parts: Uint8Array[]) => out.push({ kind, bytes: new Uint8Array(Buffer.concat(parts)) });
  // truncation exactly at every chunk boundary (after the header, after each chunk, inside the trailer)
  out.push({ kind: 'cut at header end', bytes: b.slice(0, s.headerEnd) });
  for (const c of s.ends) out.push({ kind: 'cut at chunk boundary', bytes: b.slice(0, c.end) });
  out.push({ kind: 'cut in trailer', bytes: b.slice(0, b.length - 1 - int(19)) });
  for (let k = 0; out.length < count; k++) {
    const which = k % 10;
    const ch = chunkSpans[int(chunkSpans.length)];
    if (which <= 2) edit('bit flip', (c) => (c[int(c.length)] ^= 1 << int(8)));
    else if (which === 3) out.push({ kind: 'cut at random offset', bytes: b.slice(0, int(b.length)) });
    else if (which === 4) {
      const field = [4, 8, 12, 16][int(4)];
      const delta = [1, -1, 100, 2 ** 31][int(4)];
      edit(`chunk field +${field}`, (_c, dv) => dv.setUint32(ch.start + field, (dv.getUint32(ch.start + field, true) + delta) >>> 0, true));
    } else if (which === 5) {
      // a header edit that keeps the JSON valid: a digit changed (arenaPages 256 -> 356...)
      edit('header digit edit', (c) => {
        const digits: number[] = [];
        for (let i = 18; i < s.headerEnd; i++) if (c[i] >= 0x30 && c[i] <= 0x39) digits.push(i);
        const at = digits[int(digits.length)];
        c[at] = 0x30 + ((c[at] - 0x30 + 1 + int(8)) % 10);
      });
    } else if (which === 6) {
      const i = int(chunkSpans.length);
      const x = chunkSpans[i];
      const kind = ['duplicated chunk', 'dropped chunk', 'swapped chunks'][int(3)];
      if (kind === 'duplicated chunk') splice(kind, [b.subarray(0, x.end), b.subarray(x.start, x.end), b.subarray(x.end)]);
      else if (kind === 'dropped chunk') splice(kind, [b.subarray(0, x.start), b.subarray(x.end)]);
      else if (i + 1 < chunkSpans.length) {
        const y = chunkSpans[i + 1];
        splice(kind, [b.subarray(0, x.start), b.subarray(y.start, y.end), b.subarray(x.start, x.end), b.subarray(y.end)]);
      } else splice('dropped chunk', [b.subarray(0, x.start), b.subarray(x.end)]);
    } else if (which === 7) edit('trailer field edit', (_c, dv) => dv.setUint32(b.length - 20 + 4 * (1 + int(3)), int(2 ** 32), true));
    else if (which === 8) {
      if (int(2)) splice('garbage appended', [b, Uint8Array.from({ length: 1 + int(40) }, () => int(256))]);
      else {
        // chunk i of another run in place of this run's chunk i (a run that wrote the same path)
        const i = int(Math.min(chunkSpans.length, otherSpans.length));
        const x = chunkSpans[i];
        const y = otherSpans[i];
        splice('foreign chunk', [b.subarray(0, x.start), other.bytes.subarray(y.start, y.end), b.subarray(x.end)]);
      }
    } else edit('header field edit', (_c, dv) => (int(2) ? dv.setUint16(8, [0, 1, 2, 4, 0xffff][int(5)], true) : dv.setUint32(10, dv.getUint32(10, true) + [1, -1, 1000][int(3)], true)));
  }
  return out;
}

describe('damaged logs (seeded): refused or unchanged, salvaged to exactly the valid prefix', () => {
  it('≥300 damages over logs of 4 scenarios: 0 accepted with changed meaning, 0 crashes, exact salvage', () => {
    const rnd = prng(20251115);
    const tally = { damages: 0, noOffset: 0, refused: 0, acceptedSame: 0, acceptedChanged: 0, crashes: 0, deferredSame: 0, salvageExact: 0, salvageWrong: 0, salvageRefusedHeader: 0 };
    const wrong: string[] = [];
    const kinds = new Set<string>();
    for (const s of SAMPLES) {
      const full = eventsText(s.log);
      // the other run: for big its twin, else the next sample (another scenario)
      const other = s === SAMPLES[3] ? BIG_OTHER : SAMPLES[SAMPLES.indexOf(s) + 1];
      for (const d of damages(s, rnd, 100, other)) {
        tally.damages++;
        kinds.add(d.kind);
        // strict read
        let strictError = '';
        try {
          const r = decodeLogFile(d.bytes);
          if (JSON.stringify(r.header) === JSON.stringify(s.header) && eventsText(r.log) === full) tally.acceptedSame++;
          else {
            tally.acceptedChanged++;
            wrong.push(`${s.name}: ${d.kind}: accepted with changed meaning`);
          }
        } catch (e) {
          if (e instanceof LogFileError) {
            tally.refused++;
            strictError = e.message;
            if (!offsetNamed(e)) {
              tally.noOffset++;
              wrong.push(`${s.name}: ${d.kind}: refused without its byte offset: ${e.message}`);
            }
          } else {
            tally.crashes++;
            wrong.push(`${s.name}: ${d.kind}: crash ${String(e)}`);
          }
        }
        // decode checks deferred to the first in-order read (the debugger's): the same refusal
        let deferredError = '';
        try {
          const r = decodeLogFile(d.bytes, { verify: 'checksums' });
          const cur = r.log.cursor(0);
          const ev = newRawEvent();
          while (cur.next(ev));
        } catch (e) {
          deferredError = e instanceof LogFileError ? e.message : `not a LogFileError: ${String(e)}`;
        }
        if (deferredError === strictError) tally.deferredSame++;
        else wrong.push(`${s.name}: ${d.kind}: read with deferred checks: ${deferredError || 'accepted'}; strict: ${strictError || 'accepted'}`);
        // salvage
        const want = expectedPrefix(s, d.bytes);
        try {
          const r = decodeLogFile(d.bytes, { salvage: true });
          const okPrefix =
            want >= 0 &&
            r.log.length === want &&
            JSON.stringify(r.header) === JSON.stringify(s.header) &&
            !!r.damage === true &&
            r.damage!.eventsKept === want &&
            eventsText(r.log) === eventsText(s.log, want);
          if (okPrefix) tally.salvageExact++;
          else {
            tally.salvageWrong++;
            wrong.push(`${s.name}: ${d.kind}: salvage kept ${r.log.length} events (damage ${r.damage ? 'reported' : 'NOT reported'}), valid prefix is ${want}`);
          }
        } catch (e) {
          if (e instanceof LogFileError && !offsetNamed(e)) {
            tally.noOffset++;
            wrong.push(`${s.name}: ${d.kind}: salvage refused without its byte offset: ${e.message}`);
          } else if (e instanceof LogFileError && want === -1) tally.salvageRefusedHeader++;
          else if (e instanceof LogFileError) {
            tally.salvageWrong++;
            wrong.push(`${s.name}: ${d.kind}: salvage refused (${e.message}) though ${want} events are valid`);
          } else {
            tally.crashes++;
            wrong.push(`${s.name}: ${d.kind}: salvage crash ${String(e)}`);
          }
        }
      }
    }
    console.log(`damaged logs: ${JSON.stringify(tally)}; kinds: ${[...kinds].join(', ')}`);
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(tally.damages).toBeGreaterThanOrEqual(300);
    expect(tally.acceptedChanged + tally.crashes + tally.salvageWrong + tally.noOffset).toBe(0);
    // every damage changes bytes that matter: none may be read as the complete log
    expect(tally.acceptedSame).toBe(0);
    expect(tally.salvageExact + tally.salvageRefusedHeader).toBe(tally.damages);
    expect(tally.deferredSame).toBe(tally.damages);
    // the samples really are multi-chunk, and every kind of damage occurred
    expect(SAMPLES.some((s) => s.ends.length >= 3)).toBe(true);
    expect(BIG_OTHER.ends.length).toBe(SAMPLES[3].ends.length);
    for (const k of ['foreign chunk', 'bit flip', 'cut at chunk boundary', 'cut at random offset', 'duplicated chunk', 'dropped chunk', 'swapped chunks', 'header digit edit']) expect(kinds).toContain(k);
  });

  it('the intact logs read back whole, with no damage and no warning', () => {
    for (const s of SAMPLES) {
      const r = decodeLogFile(s.bytes, { salvage: true });
      expect(r.damage).toBeUndefined();
      expect(r.warnings).toEqual([]);
      expect(r.version).toBe(3);
      expect(eventsText(r.log)).toBe(eventsText(s.log));
    }
  });

  it('says how many events a cut-in-the-middle log lost when its trailer survives', () => {
    const s = SAMPLES.find((x) => x.ends.length >= 3)!;
    const mid = s.ends[0];
    const damaged = s.bytes.slice();
    damaged[mid.end + 30] ^= 0x10; // inside chunk 1
    const r = decodeLogFile(damaged, { salvage: true });
    expect(r.damage).toMatchObject({ offset: mid.end, eventsKept: mid.events, eventsLost: s.log.length - mid.events, bytesLost: damaged.length - mid.end });
  });
});
