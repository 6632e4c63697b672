/**
 * `mmsim stats` reads its log as a stream (logstream.ts): the same output as the whole
 * log read into memory and walked (computeStats over readLog, what stats did before),
 * with only the chunks of one read held at any time, and the same salvage report.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeLogFile, splitLogFile } from '@mmsim/core';
import { writeSyntheticTrace } from '@mmsim/record';
import { computeStats } from './commands/stats.js';
import { makeContext } from './context.js';
import { readLog } from './files.js';
import { streamLogFile } from './logstream.js';
import { cli, tmp } from './testing/harness.js';

const dir = tmp('mmsim-stats-');
// an engine log of many chunks: the replay of a synthetic recording (faults, mremaps, forks)
const trace = join(dir, 'synthetic.trace');
writeSyntheticTrace(trace, { faults: 20_000, seed: 3 });

describe('stats as a stream', () => {
  const log = join(dir, 'big.mmlog');

  it('gives the output the whole log read into memory gave, streamed in any block size', async () => {
    expect((await cli(['trace', trace, '--log', log])).code).toBe(0);
    const whole = decodeLogFile(readFileSync(log));
    expect(whole.log.sealedChunks().length).toBeGreaterThan(5);
    const before = JSON.stringify(computeStats(readLog(makeContext({ stdout: () => {}, stderr: () => {} }), log).log));
    const r = await cli(['stats', log, '--json']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(before);
    expect(JSON.parse(before).events).toBe(whole.log.length);
    // the human table too: its first line has the event and byte counts of the whole log
    const h = await cli(['stats', log]);
    expect(h.out.split('\n')[0]).toBe(`${log}: ${whole.log.length} events, ${whole.log.byteLength} bytes encoded, ${JSON.parse(before).tasks} tasks`);
    for (const block of [997, 65_536]) {
      const ctx = makeContext({ stdout: () => {}, stderr: () => {} });
      let held = 0;
      const got = streamLogFile(ctx, log, { block }, (l) => {
        // what the log holds when handed on: the chunks of the last read, at most
        const bytes = l.sealedChunks().reduce((n, c) => n + c.bytes.length, 0);
        held = Math.max(held, bytes);
      });
      expect(got.log.length).toBe(whole.log.length);
      expect(got.bytes).toBe(whole.log.byteLength);
      const biggest = Math.max(...whole.log.sealedChunks().map((c) => c.bytes.length));
      expect(held, `block ${block}`).toBeLessThanOrEqual(block + biggest);
      expect(got.log.retainedFrom).toBeGreaterThan(0);
    }
  });

  it('--salvage: the same report (events kept and lost, offset) and the stats of the valid prefix', async () => {
    const bytes = new Uint8Array(readFileSync(log));
    const { chunks } = splitLogFile(bytes);
    const bent = bytes.slice();
    bent[chunks[3].offset + 40] ^= 4;
    const bad = join(dir, 'bent.mmlog');
    writeFileSync(bad, bent);
    let oldErr = '';
    const old = readLog(makeContext({ stdout: () => {}, stderr: (s) => void (oldErr += s) }), bad, { salvage: true });
    const r = await cli(['stats', bad, '--salvage', '--json']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(JSON.stringify(computeStats(old.log)));
    expect(r.err).toBe(oldErr);
    expect(r.err).toMatch(new RegExp(`salvaged ${chunks[3].first} events; lost \\d+ events and \\d+ bytes from byte offset ${chunks[3].offset} on`));
    // without --salvage: refused naming the offset, as before
    const s = await cli(['stats', bad]);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(new RegExp(`chunk checksum mismatch.*at byte offset ${chunks[3].offset}\\)`));
  });
});
