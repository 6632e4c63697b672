/**
 * Engine.mark / restore cut the log back with EventLog.truncateToMark (no re-encoding of
 * the open chunk): what is appended afterwards must encode exactly as on a log that never
 * went past the mark, within the open chunk and across a chunk sealed meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { CHUNK_EVENTS } from './codec.js';
import { E } from './events.js';
import { encodeLogFile } from './file.js';
import { decodeLogFile } from './file-read.js';
import { replay } from './timetravel.js';
import type { KGen } from './sched.js';

function* touch(eng: Engine, mm: number, start: number, n: number, lockName: string): KGen<number> {
  yield* eng.lock(lockName, 1, 'sleep');
  for (let i = 0; i < n; i++) {
    const pfn = eng.ids.pfn++;
    eng.emit(E.FolioAlloc, pfn, 0);
    eng.emit(E.PteSet, mm, start + i, pfn, 2);
  }
  yield* eng.unlock(lockName, 1, 'sleep');
  return 0;
}

/** n events, most with strings the chunk's table does not hold yet */
function* detour(eng: Engine, n: number): KGen<number> {
  yield* eng.lock('some_other_lock:7', 0, 'spin');
  for (let i = 0; i < n; i++) eng.emit(E.Note, i, 0, 0, 0, 0, 0, `note ${i % 50}`);
  yield* eng.unlock('some_other_lock:7', 0, 'spin');
  return 0;
}

function setup(): Engine {
  const eng = new Engine();
  eng.emit(E.MmCreate, 1, 0);
  eng.emit(E.VmaInsert, 1, 1, 4096, 4096 + 8192, 4096, 0x73);
  eng.emit(E.PtAlloc, 1, 4096);
  eng.commit();
  eng.syscall('first', () => touch(eng, 1, 4096, 4, 'mmap_lock:1'));
  return eng;
}

const HEADER = { mmsimVersion: '0.1.0', config: {}, seed: 0 };
const bytes = (eng: Engine) => Buffer.from(encodeLogFile(eng.log, HEADER)).toString('base64');

describe('EventLog.truncateToMark (via Engine.mark/restore)', () => {
  for (const [what, pages] of [
    ['within the open chunk', 20],
    ['after a chunk was sealed', CHUNK_EVENTS],
  ] as const) {
    it(`${what}: the events after the mark encode as on a log that never went past it`, () => {
      const eng = setup();
      const m = eng.mark();
      // a detour with strings the chunk's table did not have (new lock and span names)
      eng.syscall('detour', () => detour(eng, pages));
      expect(eng.log.length).toBeGreaterThan(m.seq + pages);
      eng.restore(m);
      expect(eng.log.length).toBe(m.seq);
      eng.syscall('second', () => touch(eng, 1, 4096 + 50, 3, 'mmap_lock:1'));
      const ref = setup();
      ref.syscall('second', () => touch(ref, 1, 4096 + 50, 3, 'mmap_lock:1'));
      expect(bytes(eng)).toEqual(bytes(ref));
      // and the log decodes and replays to the engine's state
      const back = decodeLogFile(encodeLogFile(eng.log, HEADER));
      expect(replay(back.log)).toEqual(eng.state);
    });
  }

  it('restoring twice to the same mark, with different detours, gives the same log', () => {
    const eng = setup();
    const m = eng.mark();
    const seen = new Set<string>();
    for (const name of ['lock_a', 'lock_b', 'mmap_lock:1']) {
      eng.restore(m);
      eng.syscall(`via-${name}`, () => touch(eng, 1, 4096 + 200, 5, name));
      eng.restore(m);
      eng.syscall('end', () => touch(eng, 1, 4096 + 300, 2, 'mmap_lock:1'));
      seen.add(bytes(eng));
    }
    expect(seen.size).toBe(1);
  });
});
