/**
 * Following a log while the engine writes it (LogFollower), and the engine's streams at
 * the grain of a follower: chunks$ (each chunk as it seals) and syscalls$.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_EVENTS } from './codec.js';
import { Engine } from './engine.js';
import { E } from './events.js';
import { streamLog, type LogHeader } from './file.js';
import { FollowError, LogFollower } from './file-follow.js';
import { decodeLogFile } from './file-read.js';
import type { SealedChunk } from './log.js';

const H: LogHeader = { mmsimVersion: '0.1.0', config: { scenario: 'follow' }, seed: 0 };

/** An engine that faults `pages` pages in, one syscall each, its log streamed to `sink` as it seals. */
function run(pages: number, sink: (b: Uint8Array) => void, each?: (eng: Engine, i: number) => void): Engine {
  const eng = new Engine();
  const w = streamLog(eng.log, H, sink);
  eng.emit(E.MmCreate, 1, 0);
  eng.emit(E.VmaInsert, 1, 1, 4096, 4096 + pages, 4096, 0x73);
  eng.commit();
  for (let i = 0; i < pages; i++) {
    eng.syscall('touch', function* () {
      if (i % 512 === 0) eng.emit(E.PtAlloc, 1, 4096 + i);
      const pfn = eng.ids.pfn++;
      eng.emit(E.FolioAlloc, pfn, 0);
      eng.emit(E.PteSet, 1, 4096 + i, pfn, 2);
      return 0;
    });
    each?.(eng, i);
  }
  eng.close();
  w.finish();
  return eng;
}

const join = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

describe('LogFollower', () => {
  it('serves every sealed prefix of a growing log as a complete file, and the finished file byte for byte', () => {
    const f = new LogFollower();
    const parts: Uint8Array[] = [];
    const seen: number[] = [];
    let mid: Uint8Array | undefined;
    // the file as a reader finds it between two syscalls: every byte written so far,
    // pushed in odd pieces (a read may end anywhere in a chunk)
    let given = 0;
    const eng = run(
      3000,
      (b) => parts.push(b),
      (_eng, i) => {
        if (i % 97 !== 0) return;
        const all = join(parts);
        for (let o = given; o < all.length; o += 1000) f.push(all.subarray(o, Math.min(all.length, o + 1000)));
        given = all.length;
        const img = f.image();
        const read = decodeLogFile(img);
        expect(read.log.length).toBe(f.events);
        expect(f.events % CHUNK_EVENTS).toBe(0);
        seen.push(f.events);
        if (f.events > 0 && !mid) mid = img;
      },
    );
    const file = join(parts);
    f.push(file.subarray(given));
    expect(f.complete).toBe(true);
    expect(f.events).toBe(eng.log.length);
    expect(Buffer.from(f.image()).equals(Buffer.from(file))).toBe(true);
    // it grew chunk by chunk while the run went on
    expect(new Set(seen).size).toBeGreaterThan(2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    // the events of a prefix are those of the finished log
    const prefix = decodeLogFile(mid!).log;
    expect(prefix.length).toBeGreaterThan(0);
    expect([...prefix.events()]).toEqual([...eng.log.events(0, prefix.length)]);
  });

  it('refuses a chunk whose bytes were changed, and what follows a trailer', () => {
    const parts: Uint8Array[] = [];
    run(1500, (b) => parts.push(b));
    const file = join(parts);
    const bad = file.slice();
    bad[bad.length - 100] ^= 1;
    expect(() => new LogFollower().push(bad)).toThrow(FollowError);
    const f = new LogFollower();
    f.push(file);
    expect(() => f.push(new Uint8Array(1))).toThrow(/after the trailer/);
    expect(() => new LogFollower().push(new TextEncoder().encode('{"format":"mmsim-trace/1"}'))).toThrow(/not an mmsim log/);
  });
});

describe('Engine streams at the grain of a follower', () => {
  it('chunks$ gives each chunk as it seals, the very chunks the streaming writer writes; syscalls$ each syscall', () => {
    const sealed: SealedChunk[] = [];
    const returns: number[] = [];
    let completed = false;
    const eng = run(3000, () => undefined, (e, i) => {
      if (i !== 0) return;
      e.chunks$.subscribe({ next: (c) => sealed.push(c), complete: () => (completed = true) });
      e.syscalls$.subscribe((s) => returns.push(s.seq));
    });
    expect(completed).toBe(true);
    expect(sealed.map((c) => c.first)).toEqual(eng.log.chunks().map((c) => c.first));
    expect(sealed.reduce((n, c) => n + c.count, 0)).toBe(eng.log.length);
    // every syscall after the first, each closing at its span_close
    expect(returns.length).toBe(2999);
    for (const seq of returns) expect(eng.log.get(seq).type).toBe('span_close');
  });
});
