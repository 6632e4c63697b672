import { describe, expect, it } from 'vitest';
import { decodeLogFile } from '@mmsim/core';
import { forkCowLog, relocateGoldenLog, relocationLog } from '../testing/engine-logs.js';
import { indexLog } from './log-index.js';
import { packIndex, unpackIndex } from './index-wire.js';

/** the index as the session's worker gets it: packed, posted (columns moved), unpacked */
function sent(bytes: Uint8Array) {
  const ix = indexLog(decodeLogFile(bytes).log);
  const { wire, transfer } = packIndex(ix);
  const got = unpackIndex(structuredClone(wire, { transfer }));
  return { got, wire, transfer };
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
    expect(got).toEqual(fresh);
    // the maps keep their order (the views list spans and locks in it)
    expect([...got.spanNames.keys()]).toEqual([...fresh.spanNames.keys()]);
    expect([...got.spanIdx]).toEqual([...fresh.spanIdx]);
    // a name is sent once however many spans have it
    expect(wire.names.length).toBe(new Set(fresh.spanNames.values()).size);
    expect(wire.names.length).toBeLessThan(fresh.spanCount);
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
