/**
 * EngineOptions.retainLog = false: the log lets go of each sealed chunk once its seal
 * listeners (a streaming writer) have it. What streams out must be the log a retaining
 * engine keeps, and what needs discarded events must be refused, naming them.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { CHUNK_EVENTS } from './codec.js';
import { E } from './events.js';
import { encodeLogFile, streamLog } from './file.js';
import { decodeLogFile } from './file-read.js';
import { replay } from './timetravel.js';
import type { KGen } from './sched.js';

const H = { mmsimVersion: '0.1.0', config: {}, seed: 0 };

/** map n pages (a folio each), then unmap them: the run's live state stays small */
function* churn(eng: Engine, start: number, n: number): KGen<number> {
  yield* eng.lock('mmap_lock:1', 0, 'sleep');
  const pfns: number[] = [];
  for (let i = 0; i < n; i++) {
    const pfn = eng.ids.pfn++;
    pfns.push(pfn);
    eng.emit(E.FolioAlloc, pfn, 0);
    eng.emit(E.PteSet, 1, start + i, pfn, 2);
  }
  for (let i = 0; i < n; i++) {
    eng.emit(E.PteClear, 1, start + i);
    eng.emit(E.FolioFree, pfns[i]);
  }
  yield* eng.unlock('mmap_lock:1', 0, 'sleep');
  return 0;
}

function run(retainLog: boolean, onStart?: (eng: Engine) => void): Engine {
  const eng = new Engine({ retainLog });
  onStart?.(eng);
  eng.emit(E.MmCreate, 1, 0);
  eng.emit(E.VmaInsert, 1, 1, 4096, 4096 + 512, 4096, 0x73);
  eng.emit(E.PtAlloc, 1, 4096);
  eng.commit();
  for (let t = 0; t < 40; t++) eng.syscall('churn', () => churn(eng, 4096, 300));
  return eng;
}

describe('Engine({ retainLog: false })', () => {
  it('streams the same log a retaining engine keeps, and keeps only its open chunk', () => {
    const kept = run(true);
    const parts: Uint8Array[] = [];
    let w: ReturnType<typeof streamLog> | null = null;
    const lean = run(false, (eng) => (w = streamLog(eng.log, H, (b) => parts.push(b.slice()))));
    w!.finish();
    expect(lean.log.length).toBe(kept.log.length);
    expect(lean.log.length).toBeGreaterThan(8 * CHUNK_EVENTS);
    // byte for byte the file of the whole log
    expect(Buffer.concat(parts).equals(Buffer.from(encodeLogFile(kept.log, H)))).toBe(true);
    const back = decodeLogFile(Buffer.concat(parts));
    expect(replay(back.log)).toEqual(kept.state);
    expect(lean.state).toEqual(kept.state);
    // what it holds: the last chunk (finish() sealed it), no keyframe beyond the empty state
    expect(lean.log.length - lean.log.retainedFrom).toBeLessThanOrEqual(CHUNK_EVENTS);
    expect(lean.log.byteLength * 8).toBeLessThan(kept.log.byteLength);
    expect(lean.keyframes.count).toBe(1);
    expect(kept.keyframes.count).toBeGreaterThan(1);
    // no empty folio chunks left behind by the freed folios
    expect(Object.keys(lean.state.folios)).toEqual([]);
  });

  it('refuses what needs the discarded events, naming them', () => {
    const eng = run(false);
    const from = eng.log.retainedFrom;
    expect(from).toBeGreaterThan(0);
    expect(() => eng.log.chunks()).toThrow(new RegExp(`the log discarded the events before ${from}`));
    expect(() => encodeLogFile(eng.log, H)).toThrow(/discarded the events before/);
    expect(() => eng.log.truncate(from - 1)).toThrow(new RegExp(`truncate to event ${from - 1}: the log discarded`));
    expect(() => [...eng.log.events(0, 10)]).toThrow(/event 0: the log discarded the events before/);
    expect(() => streamLog(eng.log, H, () => {})).toThrow(/attach the writer before the first event/);
    // a syscall that fails still rolls back: its events are in the open chunk or after it
    const before = eng.log.length;
    const res = eng.syscall('bad', function* (): KGen<number> {
      eng.emit(E.FolioFree, 999_999_999);
      return 0;
    });
    expect(res.ok).toBe(false);
    expect(eng.log.length).toBe(before + 1); // the error event only
  });

  it('with no writer it only counts: same length and state, no bytes, reads refused by name', () => {
    const kept = run(true);
    const lean = run(false);
    expect(lean.log.isCounting).toBe(true);
    expect(kept.log.isCounting).toBe(false);
    expect(lean.log.length).toBe(kept.log.length);
    expect(lean.state).toEqual(kept.state);
    expect(lean.log.byteLength).toBe(0);
    expect(() => lean.log.get(lean.log.length - 1)).toThrow(/discarded the events before \d+ \(it counts its events without keeping them/);
    // events after the last commit exist as a number only
    lean.emit(E.Note, 0, 0, 0, 0, 0, 0, 'x');
    lean.emit(E.Note, 0, 0, 0, 0, 0, 0, 'y');
    expect(() => lean.log.get(lean.log.length - 1)).toThrow(/only counts its events since/);
    expect(() => lean.log.truncate(lean.log.length - 1)).toThrow(/rolls back to \d+ only/);
  });

  it('a counting log rolls a failed syscall back to its start, envelope registers too', () => {
    const kept = run(true);
    const lean = run(false);
    for (const eng of [kept, lean]) {
      eng.setTask(7);
      const res = eng.syscall('bad', function* (): KGen<number> {
        eng.emit(E.FolioAlloc, 999_000_000, 0);
        eng.emit(E.FolioFree, 999_999_999);
        return 0;
      });
      expect(res.ok).toBe(false);
      eng.syscall('churn', () => churn(eng, 4096, 10));
    }
    expect(lean.log.length).toBe(kept.log.length);
    expect(lean.log.registers).toEqual(kept.log.registers);
    expect(lean.state).toEqual(kept.state);
  });

  it('a writer attached to a counting log gets the events from then on, encoded as a retaining log has them', () => {
    const kept = run(true);
    const lean = run(false);
    const at = lean.log.length;
    const chunks: { first: number; count: number }[] = [];
    lean.log.onSeal((c) => chunks.push({ first: c.first, count: c.count }));
    expect(lean.log.isCounting).toBe(false);
    for (const eng of [kept, lean]) for (let t = 0; t < 20; t++) eng.syscall('churn', () => churn(eng, 4096, 300));
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks[0].first).toBe(at);
    // the open chunk of the lean log decodes to the retaining log's events
    const last = lean.log.length - 1;
    expect(lean.log.get(last)).toEqual(kept.log.get(last));
    const from = lean.log.retainedFrom;
    expect([...lean.log.events(from)]).toEqual([...kept.log.events(from)]);
  });
});

