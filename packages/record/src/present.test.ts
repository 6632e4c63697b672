import { describe, expect, it } from 'vitest';
import { firstDifference, inRuns, toRuns } from './present.js';

describe('present runs', () => {
  it('toRuns sorts and coalesces recorded [first, pages] runs', () => {
    expect(toRuns([[10, 2], [0, 3], [3, 1], [11, 5]])).toEqual([[0, 4], [10, 16]]);
  });

  it('firstDifference finds the first page in exactly one of two run lists, over edges only', () => {
    expect(firstDifference([[0, 4]], [[0, 4]], 0, 10)).toBe(-1);
    expect(firstDifference([[0, 4]], [[0, 2], [2, 4]], 0, 10)).toBe(-1);
    expect(firstDifference([[0, 4]], [[0, 3]], 0, 10)).toBe(3);
    expect(firstDifference([[5, 6]], [], 0, 10)).toBe(5);
    expect(firstDifference([], [[9, 20]], 0, 10)).toBe(9);
    // outside [lo, hi) nothing counts
    expect(firstDifference([[0, 2]], [[12, 14]], 2, 12)).toBe(-1);
    // 2^35 pages: as fast as 10
    expect(firstDifference([[2 ** 34, 2 ** 34 + 1]], [[2 ** 34, 2 ** 34 + 2]], 0, 2 ** 35)).toBe(2 ** 34 + 1);
  });

  it('inRuns', () => {
    const r = toRuns([[0, 2], [10, 1], [20, 5]]);
    expect([0, 1, 2, 9, 10, 11, 19, 20, 24, 25].map((v) => inRuns(r, v))).toEqual([true, true, false, false, true, false, false, true, true, false]);
  });
});
