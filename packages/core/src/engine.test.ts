import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { E } from './events.js';
import { replay, TimeTravel } from './timetravel.js';
import { decodeLogFile, encodeLogFile, LogFileError, LogStreamReader, streamLog } from './file.js';
import { lookupPte, ptePfn } from './state.js';
import type { KGen } from './sched.js';

/** A tiny "kernel": map a VMA and fault n pages of it, with locks and spans. */
function* faultRange(eng: Engine, mm: number, start: number, n: number): KGen<number> {
  yield* eng.lock(`mmap_lock:${mm}`, 1, 'sleep');
  eng.emit(E.PtAlloc, mm, start);
  for (let i = 0; i < n; i++) {
    const pfn = eng.ids.pfn++;
    eng.emit(E.FolioAlloc, pfn, 0);
    eng.emit(E.PteSet, mm, start + i, pfn, 2);
  }
  yield* eng.unlock(`mmap_lock:${mm}`, 1, 'sleep');
  return 0;
}

function setup(): Engine {
  const eng = new Engine({ batchEvents: 1000, keyframeEvery: 500 });
  eng.emit(E.MmCreate, 1, 0);
  eng.emit(E.VmaInsert, 1, 1, 4096, 4096 + 512, 4096, 0x73);
  eng.commit();
  return eng;
}

describe('Engine', () => {
  it('records every mutation and replays to the same state', () => {
    const eng = setup();
    const r = eng.syscall('touch', () => faultRange(eng, 1, 4096, 300));
    expect(r.ok).toBe(true);
    expect(ptePfn(lookupPte(eng.state.mms[1], 4096 + 299))).toBeGreaterThan(0);
    const again = replay(eng.log);
    expect(again).toEqual(eng.state);
    expect(again.seq).toBe(eng.log.length);
  });

  it('keeps earlier states intact (structural sharing, no mutation of the past)', () => {
    const eng = setup();
    eng.syscall('touch', () => faultRange(eng, 1, 4096, 10));
    const before = eng.state;
    const pteBefore = lookupPte(before.mms[1], 4096 + 5);
    eng.syscall('touch2', function* () {
      eng.emit(E.PteClear, 1, 4096 + 5);
      return 0;
    });
    expect(lookupPte(before.mms[1], 4096 + 5)).toBe(pteBefore);
    expect(lookupPte(eng.state.mms[1], 4096 + 5)).toBe(0);
    expect(Object.isFrozen(eng.state.vmas)).toBe(true);
  });

  it('rolls a failing syscall back and logs an error event', () => {
    const eng = setup();
    eng.syscall('ok', () => faultRange(eng, 1, 4096, 3));
    const seq = eng.log.length;
    const st = eng.state;
    const r = eng.syscall('boom', function* () {
      eng.emit(E.PteClear, 1, 4096);
      throw new Error('plugin exploded');
    });
    expect(r.ok).toBe(false);
    expect(eng.log.length).toBe(seq + 1);
    const last = eng.log.get(seq);
    expect(last.type).toBe('error');
    expect(eng.state.mms).toBe(st.mms);
    expect(replay(eng.log)).toEqual(eng.state);
  });

  it('gives events an envelope with increasing seq, task and span', () => {
    const eng = setup();
    eng.syscall('touch', () => faultRange(eng, 1, 4096, 2));
    const evs = [...eng.log.events()];
    evs.forEach((e, i) => expect(e.seq).toBe(i));
    const open = evs.find((e) => e.type === 'span_open')!;
    const inside = evs.filter((e) => e.type === 'pte_set');
    expect(inside.every((e) => e.span === open.span)).toBe(true);
  });

  it('time travels to any seq and steps by syscall', () => {
    const eng = setup();
    for (let k = 0; k < 5; k++) eng.syscall(`t${k}`, () => faultRange(eng, 1, 4096 + k * 10 - (k ? 0 : 0), k === 0 ? 10 : 0));
    const tt = new TimeTravel(eng.log, 7);
    for (let p = 0; p <= eng.log.length; p += 3) expect(tt.stateAt(p).seq).toBe(p);
    expect(tt.stateAt(eng.log.length)).toEqual(eng.state);
    const s1 = tt.forward(0, 'syscall');
    expect(eng.log.get(s1 - 1).type).toBe('span_open');
  });

  it('writes a byte-identical file twice and refuses a damaged one', () => {
    const a = setup();
    a.syscall('touch', () => faultRange(a, 1, 4096, 400));
    const b = setup();
    b.syscall('touch', () => faultRange(b, 1, 4096, 400));
    const h = { mmsimVersion: '0.1.0', config: {}, seed: 0 };
    const fa = encodeLogFile(a.log, h);
    expect(Buffer.from(fa).equals(Buffer.from(encodeLogFile(b.log, h)))).toBe(true);
    const back = decodeLogFile(fa);
    expect(replay(back.log)).toEqual(a.state);
    const cut = new Uint8Array([...fa.subarray(0, Math.floor((fa.length * 2) / 3)), 1, 2, 3, 4, 5]);
    expect(() => decodeLogFile(cut)).toThrow(LogFileError);
    expect(() => decodeLogFile(cut)).toThrow(/offset \d+/);
  });

  it('streams a log out while it grows and back in piece by piece', () => {
    const eng = setup();
    const parts: Uint8Array[] = [];
    const w = streamLog(eng.log, { mmsimVersion: '0.1.0', config: {}, seed: 0 }, (b) => parts.push(b.slice()));
    for (let t = 0; t < 6; t++) eng.syscall('touch', () => faultRange(eng, 1, 4096 + 512 * t, 512));
    expect(parts.length).toBeGreaterThan(1); // chunks went out as they were sealed
    w.finish();
    const whole = Buffer.concat(parts);
    const rd = new LogStreamReader();
    let seen = 0;
    for (let i = 0; i < whole.length; i += 777) seen += rd.push(whole.subarray(i, i + 777));
    const { log } = rd.end();
    expect(seen).toBe(eng.log.length);
    expect(replay(log)).toEqual(eng.state);
    const cut = new LogStreamReader();
    cut.push(whole.subarray(0, whole.length - 10));
    expect(() => cut.end()).toThrow(/truncated after event \d+/);
  });
});
