import { describe, expect, it } from 'vitest';
import { canonicalizeSnapshot, type RawPage } from './index.js';

const pg = (page: number, rawFrame: RawPage['rawFrame'], extra: Partial<RawPage> = {}): RawPage => ({
  page,
  present: rawFrame !== null,
  swapped: false,
  rawFrame,
  compound: null,
  exclusive: true,
  ...extra,
});

describe('canonicalizeSnapshot', () => {
  it('names frames by first appearance: processes ascending, then pages ascending', () => {
    const out = canonicalizeSnapshot([
      { proc: 1, vmas: [], pages: [pg(3, 900), pg(0, 500), pg(1, 'zero')] },
      { proc: 0, vmas: [{ start: 5, end: 9, perms: 'rw-p', vmFlags: '' }, { start: 0, end: 4, perms: 'rw-p', vmFlags: '' }], pages: [pg(2, 700), pg(1, 500), pg(0, 'zero')] },
    ]);
    expect(out.map((p) => p.proc)).toEqual([0, 1]);
    expect(out[0].vmas.map((v) => v.start)).toEqual([0, 5]);
    expect(out[0].pages.map((p) => [p.page, p.frame])).toEqual([
      [0, 'zero'],
      [1, 'f1'],
      [2, 'f2'],
    ]);
    expect(out[1].pages.map((p) => [p.page, p.frame])).toEqual([
      [0, 'f1'],
      [1, 'zero'],
      [3, 'f3'],
    ]);
  });

  it('drops pages neither present nor swapped; swapped pages have frame null', () => {
    const out = canonicalizeSnapshot([
      { proc: 0, vmas: [], pages: [pg(0, null), pg(1, null, { swapped: true, exclusive: false }), pg(2, 7n, { compound: 'head' })] },
    ]);
    expect(out[0].pages).toEqual([
      { page: 1, present: false, swapped: true, frame: null, compound: null, exclusive: false },
      { page: 2, present: true, swapped: false, frame: 'f1', compound: 'head', exclusive: true },
    ]);
  });

  it('distinguishes raw frame types and rejects duplicate processes', () => {
    const out = canonicalizeSnapshot([{ proc: 0, vmas: [], pages: [pg(0, 5), pg(1, '5')] }]);
    expect(out[0].pages.map((p) => p.frame)).toEqual(['f1', 'f2']);
    expect(() => canonicalizeSnapshot([{ proc: 0, vmas: [], pages: [] }, { proc: 0, vmas: [], pages: [] }])).toThrow(/twice/);
  });

  it('does not mutate its input', () => {
    const pages = [pg(2, 1), pg(0, 2)];
    canonicalizeSnapshot([{ proc: 0, vmas: [], pages }]);
    expect(pages.map((p) => p.page)).toEqual([2, 0]);
  });
});

describe('canonicalizeSnapshot: anon_vmas', () => {
  it('names them by first appearance across processes; null stays null; no field, no name', () => {
    const out = canonicalizeSnapshot([
      { proc: 1, vmas: [{ start: 0, end: 4, perms: 'rw-p', vmFlags: 'ac', anonVma: 77 }, { start: 4, end: 6, perms: 'rw-p', vmFlags: 'ac', anonVma: 12 }], pages: [] },
      { proc: 0, vmas: [{ start: 0, end: 4, perms: 'rw-p', vmFlags: 'ac', anonVma: 12 }, { start: 8, end: 9, perms: 'rw-p', vmFlags: 'ac', anonVma: null }], pages: [] },
      { proc: 2, vmas: [{ start: 0, end: 4, perms: 'rw-p', vmFlags: '' }], pages: [] },
    ]);
    expect(out.map((p) => p.vmas.map((v) => v.anonVma))).toEqual([['av1', null], ['av2', 'av1'], [undefined]]);
    expect('anonVma' in out[2].vmas[0]).toBe(false);
  });
});
