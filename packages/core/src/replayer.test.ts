/**
 * LogReplayer on logs the engine wrote: at every seq it stops at, its state (committed)
 * and its readers mid-batch (pageFolio, lock, counts, mm, spans) agree with time travel
 * (the keyframes' own replay), whatever the batch size; a log fed as it grows replays to
 * the same end; reemit gives an engine the same log again.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { E } from './events.js';
import { LogReplayer } from './replayer.js';
import { TimeTravel } from './timetravel.js';
import { folioAtHead, pageFolio, type State } from './state.js';
import type { KGen } from './sched.js';

/** fault n folios of order `order` in under mmap_lock, rewrite their index, free every third one */
function* work(eng: Engine, mm: number, start: number, n: number, order: number): KGen<number> {
  yield* eng.lock(`mmap_lock:${mm}`, 1, 'sleep');
  const pfns: number[] = [];
  for (let i = 0; i < n; i++) {
    const pfn = eng.ids.pfn;
    eng.ids.pfn += 1 << order;
    pfns.push(pfn);
    eng.emit(E.FolioAlloc, pfn, order);
    eng.emit(E.PteSet, mm, start + (i << order), pfn, 2);
  }
  for (let i = 0; i < n; i++) eng.emit(E.FolioIndex, pfns[i], 1000 + i);
  yield* eng.lock(`folio:${pfns[0]}`, 0, 'sleep');
  for (let i = 0; i < n; i += 3) {
    eng.emit(E.PteClear, mm, start + (i << order));
    eng.emit(E.FolioFree, pfns[i]);
  }
  yield* eng.unlock(`folio:${pfns[0]}`, 0, 'sleep');
  yield* eng.unlock(`mmap_lock:${mm}`, 1, 'sleep');
  return 0;
}

/** two mms, syscalls of order-0 and order-2 folios: several chunks of events */
function engineLog(): Engine {
  const eng = new Engine();
  for (const mm of [1, 2]) {
    eng.emit(E.MmCreate, mm, 0);
    eng.emit(E.VmaInsert, mm, mm, 4096, 4096 + 8192, 4096, 0x73);
    for (let vpn = 4096; vpn < 4096 + 8192; vpn += 512) eng.emit(E.PtAlloc, mm, vpn);
  }
  eng.commit();
  for (let k = 0; k < 8; k++) eng.syscall(`w${k}`, () => work(eng, 1 + (k & 1), 4096 + (k >> 1) * 1600, 300, k % 3 === 2 ? 2 : 0));
  return eng;
}

describe('LogReplayer', () => {
  const eng = engineLog();
  const log = eng.log;
  const tt = new TimeTravel(log, 1000);
  const stops = [1, 5, 777, 4096, 4097, Math.floor(log.length / 2) + 3, log.length - 1, log.length];

  it('a log of several chunks', () => expect(log.length).toBeGreaterThan(2 * 4096));

  for (const batchEvents of [1, 100, 65536]) {
    it(`stops where time travel does (batches of ${batchEvents})`, () => {
      const rp = new LogReplayer(log, { batchEvents });
      for (const at of stops) expect(rp.seek(at)).toEqual(tt.stateAt(at));
      expect(rp.next()).toBe(false);
      expect(rp.commit()).toEqual(eng.state);
    });
  }

  it('its readers see the open batch as time travel sees the committed state', () => {
    const rp = new LogReplayer(log, { batchEvents: 1 << 20 });
    const want = new Set(stops);
    let checked = 0;
    let folios = 0;
    let inSyscall = 0;
    while (rp.next()) {
      const seq = rp.event.seq + 1;
      if (!want.has(seq)) continue;
      const s: State = tt.stateAt(seq);
      expect(rp.seq).toBe(seq);
      expect({ ...rp.counts() }).toEqual(s.counts);
      expect(Object.fromEntries(rp.locks())).toEqual(s.locks);
      for (const name of Object.keys(s.locks)) expect(rp.lock(name)).toEqual(s.locks[name]);
      for (const pfn of [0, 1, 2, 5, 300, 301, 1200, 1203, 2000]) {
        expect(rp.pageFolio(pfn)).toEqual(pageFolio(s, pfn));
        expect(rp.folioAtHead(pfn)).toEqual(folioAtHead(s, pfn));
        if (pageFolio(s, pfn)) folios++;
      }
      expect(rp.mm(1)).toEqual(s.mms[1]);
      expect(rp.spans(0)).toEqual(s.spans[0]);
      if (Object.keys(s.locks).length && s.spans[0]?.length) inSyscall++;
      checked++;
    }
    expect(checked).toBe(stops.length);
    expect(folios).toBeGreaterThan(10);
    expect(inSyscall).toBeGreaterThan(2);
    // mid-batch checks read the draft: the batch was never committed until now
    expect(rp.commit()).toEqual(eng.state);
  });

  it('replays a log as it grows: next() reads what was appended since', () => {
    const grow = new Engine();
    const rp = new LogReplayer(grow.log, { batchEvents: 64 });
    let commits = 0;
    const seen: number[] = [];
    const fed = new LogReplayer(grow.log, { batchEvents: 64, onCommit: () => commits++ });
    grow.emit(E.MmCreate, 1, 0);
    grow.emit(E.VmaInsert, 1, 1, 4096, 4096 + 4096, 4096, 0x73);
    grow.emit(E.PtAlloc, 1, 4096);
    grow.commit();
    for (let k = 0; k < 4; k++) {
      grow.syscall(`w${k}`, () => work(grow, 1, 4096 + k * 400, 100, 0));
      while (fed.next()) seen.push(fed.event.seq);
    }
    expect(seen).toEqual([...Array(grow.log.length).keys()]);
    expect(commits).toBe(Math.floor((grow.log.length - 1) / 64));
    expect(fed.commit()).toEqual(grow.state);
    expect(rp.seek(grow.log.length)).toEqual(grow.state);
  });

  it('starts from a state of the log: the rest replays onto it', () => {
    const mid = Math.floor(log.length / 3);
    const rp = new LogReplayer(log, { from: tt.stateAt(mid), batchEvents: 500 });
    expect(rp.seq).toBe(mid);
    rp.next();
    expect(rp.event.seq).toBe(mid);
    expect(rp.seek(log.length)).toEqual(eng.state);
  });

  it('reemit gives an engine the same log and state, its observers every event', () => {
    const again = new Engine();
    const types: number[] = [];
    again.onRaw((r) => types.push(r.type));
    LogReplayer.reemit(log, again);
    expect(again.log.length).toBe(log.length);
    expect([...again.log.events()]).toEqual([...log.events()]);
    expect(again.commit()).toEqual(eng.state);
    expect(types.length).toBe(log.length);
  });
});
