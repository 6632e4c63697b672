/**
 * TimeTravel.finalFirst: the final state at once, the keyframes after (in slices, or up
 * to a seek that needs them). Every state it gives equals the eager TimeTravel's.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { E } from './events.js';
import { TimeTravel } from './timetravel.js';
import type { KGen } from './sched.js';

/** fault n pages in, then rewrite each folio's index (a relocation's shape: every folio changes twice) */
function* work(eng: Engine, start: number, n: number): KGen<number> {
  yield* eng.lock('mmap_lock:1', 1, 'sleep');
  const pfns: number[] = [];
  for (let i = 0; i < n; i++) {
    const pfn = eng.ids.pfn++;
    pfns.push(pfn);
    eng.emit(E.FolioAlloc, pfn, 0);
    eng.emit(E.PteSet, 1, start + i, pfn, 2);
  }
  for (let i = 0; i < n; i++) eng.emit(E.FolioIndex, pfns[i], 1000 + i);
  yield* eng.unlock('mmap_lock:1', 1, 'sleep');
  return 0;
}

function engineLog(): Engine {
  const eng = new Engine();
  eng.emit(E.MmCreate, 1, 0);
  eng.emit(E.VmaInsert, 1, 1, 4096, 4096 + 4096, 4096, 0x73);
  eng.emit(E.PtAlloc, 1, 4096);
  eng.commit();
  for (let k = 0; k < 6; k++) eng.syscall(`w${k}`, () => work(eng, 4096 + k * 300, 300));
  return eng;
}

describe('TimeTravel.finalFirst', () => {
  const eng = engineLog();
  const EVERY = 256;

  it('has the final state before any keyframe, equal to the eager one', () => {
    const lazy = TimeTravel.finalFirst(eng.log, EVERY);
    expect(lazy.keyframesBuilt).toBe(0);
    expect(lazy.keyframes.count).toBe(1);
    expect(lazy.stateAt(eng.log.length)).toEqual(eng.state);
    expect(lazy.keyframesBuilt).toBe(0);
    expect(lazy.spanIndex()).toEqual(new TimeTravel(eng.log, EVERY).spanIndex());
  });

  it('a seek past the keyframes builds them up to it; every state equals the eager one', () => {
    const eager = new TimeTravel(eng.log, EVERY);
    const lazy = TimeTravel.finalFirst(eng.log, EVERY);
    const p = Math.floor(eng.log.length / 2) + 7;
    expect(lazy.stateAt(p)).toEqual(eager.stateAt(p));
    expect(lazy.keyframesBuilt).toBe(p - (p % EVERY));
    // behind the built keyframes nothing more is built
    expect(lazy.stateAt(100)).toEqual(eager.stateAt(100));
    expect(lazy.keyframesBuilt).toBe(p - (p % EVERY));
    for (let q = 0; q <= eng.log.length; q += 97) expect(lazy.stateAt(q)).toEqual(eager.stateAt(q));
  });

  it('buildKeyframes in slices ends with the eager keyframes', () => {
    const eager = new TimeTravel(eng.log, EVERY);
    const lazy = TimeTravel.finalFirst(eng.log, EVERY);
    let slices = 0;
    // a budget of 0 ms: one keyframe interval per call
    while (!lazy.buildKeyframes(0)) {
      slices++;
      expect(lazy.keyframesBuilt).toBe(slices * EVERY);
    }
    expect(lazy.keyframesBuilt).toBe(eng.log.length);
    expect(lazy.keyframes.count).toBe(eager.keyframes.count);
    for (let q = 0; q <= eng.log.length; q += EVERY) expect(lazy.keyframes.at(q)).toEqual(eager.keyframes.at(q));
    expect(lazy.stateAt(eng.log.length)).toEqual(eng.state);
  });
});
