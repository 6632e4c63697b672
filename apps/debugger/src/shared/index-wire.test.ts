import { describe, expect, it } from 'vitest';
import { decodeLogFile } from '@mmsim/core';
import { forkCowLog, relocateGoldenLog, relocationLog } from '../testing/engine-logs.js';
import { indexLog, type Lookup } from './log-index.js';
import { packIndex, unpackIndex } from './index-wire.js';

/** the index as the session's worker gets it: packed, posted (columns moved), unpacked */
function sent(bytes: Uint8Array) {
  const ix = indexLog(decodeLogFile(bytes).log);
  const { wire, transfer } = packIndex(ix);
  const got = unpackIndex(structuredClone(wire, { transfer }));
  return { got, wire, transfer };
}

/** every key of the Map found with its value, and nothing else */
function sameLookups<T>(got: Lookup<T>, want: Map<number, T>) {
  expect(got.size).toBe(want.size);
  for (const [k, v] of want) expect(got.get(k)).toBe(v);
  const keys = [...want.keys()];
  for (const k of [-1, Math.max(0, ...keys) + 1, 0.5]) if (!want.has(k)) expect(got.get(k)).toBeUndefined();
}

describe('the index crosses between workers as columns', () => {
  it.each([
    ['relocate golden', () => relocateGoldenLog()],
    ['fork cow', () => forkCowLog()],
    ['relocation of 64 pages, 3 moves', () => relocationLog(64, 3)],
  ])('%s: what arrives is the index built from the log', (_name, make) => {
    const { bytes } = make();
    const { got, wire } = sent(bytes);
    const fresh = indexLog(decodeLogFile(bytes).log);
    const { spanNames, spanIdx, ...rest } = got;
    const { spanNames: freshNames, spanIdx: freshIdx, ...freshRest } = fresh;
    expect(rest).toEqual(freshRest);
    sameLookups(spanNames, freshNames);
    sameLookups(spanIdx, freshIdx);
    // a name is sent once however many spans have it
    expect(wire.names.length).toBe(new Set(fresh.spanNames.values()).size);
    expect(wire.names.length).toBeLessThan(fresh.spanCount);
  });

  it('keys in another order than ascending are looked up as well (a Map is built then)', () => {
    const ix = indexLog(decodeLogFile(relocationLog(64, 3).bytes).log);
    const want = new Map(ix.spanNames);
    const { wire } = packIndex(ix);
    expect(wire.spanKeys.length).toBeGreaterThan(2);
    // the same entries, the first and last swapped
    const n = wire.spanKeys.length - 1;
    [wire.spanKeys[0], wire.spanKeys[n]] = [wire.spanKeys[n], wire.spanKeys[0]];
    [wire.spanNameOf[0], wire.spanNameOf[n]] = [wire.spanNameOf[n], wire.spanNameOf[0]];
    sameLookups(unpackIndex(wire).spanNames, want);
  });

  it('moves every column: the sender keeps none of them', () => {
    const ix = indexLog(decodeLogFile(relocateGoldenLog().bytes).log);
    expect(ix.vmaNotes.length + ix.lockNames.length).toBeGreaterThan(0);
    const { wire, transfer } = packIndex(ix);
    structuredClone(wire, { transfer });
    for (const c of [ix.locks.start, ix.spans.open, ix.counts.pos, wire.spanKeys, wire.idxKeys, wire.lockLengths, wire.notes]) expect(c.byteLength).toBe(0);
    // nothing but columns, a few strings and scalars is left to clone
    expect(Object.values(wire).some((v) => v instanceof Map)).toBe(false);
    expect(Object.values(wire.rest).some((v) => v instanceof Map && v.size > 1000)).toBe(false);
  });
});
