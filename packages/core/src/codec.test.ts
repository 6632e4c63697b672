import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from './codec.js';
import { E, newRawEvent } from './events.js';
import { EventLog } from './log.js';

describe('crc32 (slicing by 4)', () => {
  it('is zlib\'s CRC-32 at every length and alignment, continued or not', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) & 0xff;
    const big = Uint8Array.from({ length: 4099 }, rnd);
    for (let off = 0; off < 5; off++) {
      for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 1000, 4093]) {
        const b = big.subarray(off, off + len);
        expect(crc32(b)).toBe(zlibCrc32(b));
        // continuing a checksum: crc32(b, crc32(a)) is the CRC of a followed by b
        const a = big.subarray(0, off);
        expect(crc32(b, crc32(a))).toBe(zlibCrc32(big.subarray(0, off + len)));
        expect(crc32(b, 0xdeadbeef)).toBe(zlibCrc32(b, 0xdeadbeef));
      }
    }
  });
});

describe('strings in the log', () => {
  it('round-trip short ASCII (the fast path), non-ASCII and long strings, first use and reference', () => {
    const texts = ['folio:1234', 'mmap_lock:1', '', 'anon_vma:7 ✓', 'ü', 'x'.repeat(48), 'y'.repeat(49), `{"call":"${'z'.repeat(200)}"}`, 'folio:1234'];
    const log = new EventLog();
    texts.forEach((s, i) => {
      const r = newRawEvent();
      r.seq = i;
      r.type = E.Note;
      r.s = s;
      log.append(r);
    });
    const back: string[] = [];
    const cur = log.cursor(0);
    const r = newRawEvent();
    while (cur.next(r)) back.push(r.s);
    expect(back).toEqual(texts);
  });
});
