/**
 * The progress bar of a long run on the real model: its steps, and the events of the
 * log's sealed chunks as the engine's chunks$ gives them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeLogFile } from '@mmsim/core';
import { scenarioJson } from './testing/fixtures.js';
import { cli, files, tmp } from './testing/harness.js';

const dir = tmp();

describe('run: the progress bar', () => {

  it("a long scenario's bar counts its steps and the events of its log's sealed chunks (engine.chunks$)", async () => {
    const steps = Array.from({ length: 60 }, () => [
      { op: 'mmap', page: 0, pages: 64, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 64 },
      { op: 'mprotect', page: 5, pages: 2, prot: 'r--' },
      { op: 'munmap', page: 0, pages: 64 },
    ]).flat();
    files(dir, { 'long.json': scenarioJson(steps, { name: 'long', arena: { pages: 256 } }) });
    const r = await cli(['run', 'long.json', '--log', 'long.mmlog', '-q'], dir, { progress: true });
    expect(r.code).toBe(0);
    const draws = [...r.err.matchAll(/\rlong \[#* *\]\s+\d+% (\d+)\/240 · ([\d,]+) events/g)].map((m) => ({ step: +m[1], events: +m[2].replace(/,/g, '') }));
    expect(draws.length, JSON.stringify(r.err.slice(0, 300))).toBeGreaterThan(2);
    const total = decodeLogFile(new Uint8Array(readFileSync(join(dir, 'long.mmlog')))).log.length;
    // the events of whole chunks only, growing with the steps
    for (const d of draws) expect(d.events % 4096).toBe(0);
    expect(draws.map((d) => d.events)).toEqual(draws.map((d) => d.events).sort((a, b) => a - b));
    expect(draws[draws.length - 1].events).toBeGreaterThan(0);
    expect(draws[draws.length - 1].events).toBeLessThanOrEqual(total);
    // cleared at the end
    expect(r.err).toContain('\r\x1b[2K');
  });
});
