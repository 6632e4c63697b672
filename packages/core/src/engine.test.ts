import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { E } from './events.js';
import { replay, TimeTravel } from './timetravel.js';
import { encodeLogFile, LogFileError, streamLog } from './file.js';
import { decodeLogFile, LogStreamReader } from './file-read.js';
import { lookupPte, ptePfn } from './state.js';
import { BLOCKED, type KGen } from './sched.js';

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
    expect(() => cut.end()).toThrow(/truncated or corrupt after event \d+/);
  });
});

describe('Engine: spans, locks and the copy-on-write tables', () => {
  it('closes the spans a throwing body left open, innermost first, and rethrows', () => {
    const eng = setup();
    const closes: { span: number; name: string; result?: number }[] = [];
    eng.spans$.subscribe((n) => n.phase === 'close' && closes.push({ span: n.span, name: n.name, result: n.result }));
    function* inner(): KGen<number> {
      yield* eng.lock('mmap_lock:1', 0, 'sleep');
      eng.spanOpen('left_open');
      throw new Error('model bug');
    }
    // outside syscall(): the spans are closed and logged, nothing is rolled back
    expect(() => eng.interleave([{ task: 0, run: () => eng.span('outer', () => eng.span('inner', inner)) }])).toThrow('model bug');
    expect(closes.map((c) => c.name)).toEqual(['left_open', 'inner', 'outer']);
    expect(closes.every((c) => c.result === -1)).toBe(true);
    expect(eng.spansOf(0) ?? []).toEqual([]);
  });

  it('records a negative body result on the span close', () => {
    const eng = setup();
    const r = eng.syscall('call', () => eng.span('einval', () => (function* (): KGen<number> { return -22; })()));
    expect(r).toEqual({ ok: true, value: -22 });
    const closes = [...eng.log.events(0, eng.log.length)].filter((e) => e.type === 'span_close');
    expect(closes.map((c) => (c as { result: number }).result)).toEqual([-22, -22]);
  });

  it('makes a task wait for a lock another task holds, in an interleaving', () => {
    const eng = setup();
    let waits = 0;
    const task = (t: number) =>
      function* (): KGen<number> {
        // yield* by hand, to count the times the lock made this task wait
        const it = eng.lock('ptl:1:4096', 0, 'spin');
        for (let r = it.next(); !r.done; r = it.next()) {
          if (r.value === BLOCKED) waits++;
          yield r.value;
        }
        expect(eng.locksHeld()).toEqual(['ptl:1:4096']);
        yield* eng.unlock('ptl:1:4096', 0, 'spin');
        return t;
      };
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const from = eng.log.length;
      const res = eng.interleave([{ task: 1, run: task(1) }, { task: 2, run: task(2) }], seed);
      expect([...res.values()].sort()).toEqual([1, 2]);
      // mutual exclusion: acquires and releases of the lock alternate, by the same task
      const ev = [...eng.log.events(from, eng.log.length)].filter((e) => e.type === 'lock_acquire' || e.type === 'lock_release');
      expect(ev.map((e) => e.type)).toEqual(['lock_acquire', 'lock_release', 'lock_acquire', 'lock_release']);
      expect(ev[0].task).toBe(ev[1].task);
      expect(ev[2].task).toBe(ev[3].task);
    }
    // some interleavings ran the second task while the first held the lock: it waited
    expect(waits).toBeGreaterThan(0);
    expect(eng.locksHeld(1)).toEqual([]);
  });

  it('copies a page table, a folio chunk and an mm on the first write of a batch only', () => {
    const eng = setup();
    eng.syscall('touch', () => faultRange(eng, 1, 4096, 20));
    const s0 = eng.state;
    eng.syscall('two writes', function* () {
      eng.emit(E.PteClear, 1, 4096 + 1);
      eng.emit(E.PteClear, 1, 4096 + 2);
      eng.emit(E.FolioIndex, 1024, 77);
      eng.emit(E.FolioIndex, 1025, 78);
      return 0;
    });
    const s1 = eng.state;
    // the old state is untouched
    expect(lookupPte(s0.mms[1], 4096 + 1)).not.toBe(0);
    expect(s0.folios[4][0].index).toBe(0);
    // the new one has both writes, in one copy of each node
    expect(lookupPte(s1.mms[1], 4096 + 1)).toBe(0);
    expect(lookupPte(s1.mms[1], 4096 + 2)).toBe(0);
    expect([s1.folios[4][0].index, s1.folios[4][1].index]).toEqual([77, 78]);
    expect(s1.mms[1]).not.toBe(s0.mms[1]);
    // what was not written is shared
    expect(s1.folios[4][5]).toBe(s0.folios[4][5]);
    expect(s1.vmas).toBe(s0.vmas);
    // a syscall that writes nothing of the page table leaves the mm record shared
    eng.syscall('folio only', function* () {
      eng.emit(E.FolioIndex, 1030, 5);
      return 0;
    });
    expect(eng.state.mms[1]).toBe(s1.mms[1]);
  });
});
