import { describe, expect, it } from 'vitest';
import { differingRuns, firstDifference, inRuns, toRuns } from './present.js';

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

  it('differingRuns lists every run in exactly one of the two, saying which', () => {
    expect(differingRuns([[0, 4]], [[0, 4]], 0, 10)).toEqual([]);
    // a: 0-4 and 8-9; b: 2-6: a only 0-2, b only 4-6, a only 8-9
    expect(differingRuns([[0, 4], [8, 9]], [[2, 6]], 0, 10)).toEqual([[0, 2, false], [4, 6, true], [8, 9, false]]);
    // adjacent pieces of one side coalesce
    expect(differingRuns([], [[0, 2], [2, 5]], 0, 10)).toEqual([[0, 5, true]]);
    expect(differingRuns([[0, 1], [2, 3], [4, 5]], [], 0, 10, 2)).toEqual([[0, 1, false], [2, 3, false]]);
    expect(differingRuns([[2 ** 34, 2 ** 34 + 1]], [], 0, 2 ** 35)).toEqual([[2 ** 34, 2 ** 34 + 1, false]]);
  });

  it('inRuns', () => {
    const r = toRuns([[0, 2], [10, 1], [20, 5]]);
    expect([0, 1, 2, 9, 10, 11, 19, 20, 24, 25].map((v) => inRuns(r, v))).toEqual([true, true, false, false, true, false, false, true, true, false]);
  });
});
