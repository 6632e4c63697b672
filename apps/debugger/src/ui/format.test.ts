import { describe, expect, it } from 'vitest';
import { MIN_GAP, MIN_VMA, addressScale, firstViolationPos, hexAddr, pteFlagStr, seekWaitNote, vmFlags } from './format.js';

describe('view formatting', () => {
  it('scales addresses linearly inside islands and caps long gaps', () => {
    const s = addressScale([
      { start: 100, end: 200 },
      { start: 150, end: 300 },
      { start: 1_000_000, end: 1_000_100 },
    ]);
    expect(s.x(100)).toBe(0);
    expect(s.x(1_000_100)).toBe(1);
    // the 300..1e6 gap is capped: both islands keep most of the width
    expect(s.x(300)).toBeGreaterThan(0.5);
    expect(s.x(1_000_000) - s.x(300)).toBeLessThan(0.2);
    expect(s.breaks).toHaveLength(1);
    // monotone
    let last = -1;
    for (const v of [100, 120, 199, 250, 300, 5000, 999_999, 1_000_050]) {
      expect(s.x(v)).toBeGreaterThanOrEqual(last);
      last = s.x(v);
    }
    expect(addressScale([]).x(5)).toBe(0);
  });

  it('keeps a minimum width for small VMAs and for gaps', () => {
    // a 1-page VMA, a 1-page gap, then a 100000-page VMA
    const s = addressScale([
      { start: 0, end: 1 },
      { start: 2, end: 100_002 },
    ]);
    expect(s.x(1) - s.x(0)).toBeGreaterThanOrEqual(MIN_VMA - 1e-9);
    expect(s.x(2) - s.x(1)).toBeGreaterThanOrEqual(MIN_GAP - 1e-9);
    expect(s.x(100_002)).toBe(1);
  });

  it('formats addresses and flags', () => {
    expect(hexAddr(4096)).toBe('0x1000000');
    expect(vmFlags(0x73)).toBe('rw-p');
    expect(vmFlags(0x8 | 0x1)).toBe('r--s');
    expect(pteFlagStr(1 | 2 | 4)).toBe('W D');
    expect(pteFlagStr(1)).toBe('RO');
  });
});

describe('seekWaitNote', () => {
  const kf = { built: 16384, total: 1_000_000 };
  it('says a seek past the keyframes built so far waits for them', () => {
    expect(seekWaitNote(500_000, 1_000_000, kf)).toBe('building keyframes up to seq 500,000…');
  });
  it('says nothing when no seek is pending, the keyframes reach it, or they are all built', () => {
    expect(seekWaitNote(500_000, 500_000, kf)).toBeNull();
    expect(seekWaitNote(10_000, 1_000_000, kf)).toBeNull();
    expect(seekWaitNote(500_000, 1_000_000, { built: 1_000_000, total: 1_000_000 })).toBeNull();
    expect(seekWaitNote(500_000, null, kf)).toBeNull();
    expect(seekWaitNote(500_000, 1_000_000, null)).toBeNull();
  });
});

describe('firstViolationPos', () => {
  it('moves a cursor still at the opening position to the first violation (seen after its event)', () => {
    expect(firstViolationPos([192, 193, 223], 278, 278)).toBe(193);
    expect(firstViolationPos([0], 278, 278)).toBe(1);
  });
  it('leaves a cursor the user moved, one already moved, and a log without violations', () => {
    expect(firstViolationPos([192], 100, 278)).toBeNull();
    expect(firstViolationPos([192], 193, null)).toBeNull();
    expect(firstViolationPos([], 278, 278)).toBeNull();
  });
});
