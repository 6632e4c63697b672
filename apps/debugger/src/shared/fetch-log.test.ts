import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogFileError, decodeLogFile, newRawEvent, type EventLog } from '@mmsim/core';
import { serveDebugger, type DebuggerServer } from '../server.js';
import { corruptLog, relocationLog } from '../testing/engine-logs.js';
import { decodeStreamed, fetchLog } from './fetch-log.js';

const big = relocationLog(2048, 2);
const bad = corruptLog(big.bytes);

function events(log: EventLog): string[] {
  const out: string[] = [];
  const cur = log.cursor(0);
  const r = newRawEvent();
  while (cur.next(r)) out.push(`${r.seq} ${r.type} ${r.task} ${r.a} ${r.b} ${r.c} ${r.d} ${r.s}`);
  return out;
}

async function* pieces(b: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < b.length; o += size) yield b.slice(o, o + size);
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('a log decoded as it downloads', () => {
  let dir: string;
  let srv: DebuggerServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mmsim-fetch-log-'));
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(dir, 'big.mmlog'), big.bytes);
    srv = await serveDebugger({ logPath: join(dir, 'big.mmlog'), port: 0, distDir: join(dir, 'app') });
  });
  afterAll(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('over HTTP from the server: the same events, header and length as decodeLogFile', async () => {
    const whole = decodeLogFile(big.bytes);
    const got = await fetchLog(new URL('log.mmlog', srv.url).href);
    expect(got.bytes).toBe(big.bytes.length);
    expect(got.result.header).toEqual(whole.header);
    expect(got.result.damage).toBeUndefined();
    expect(events(got.result.log)).toEqual(events(whole.log));
  });

  it('in pieces of any size (1 byte, 7 bytes, a chunk and a bit)', async () => {
    const want = events(decodeLogFile(big.bytes).log);
    for (const size of [1, 7, 70_001]) {
      const got = await decodeStreamed(pieces(big.bytes, size), { file: 'big.mmlog' });
      expect(events(got.result.log)).toEqual(want);
    }
  });

  it('a damaged file: the error, and with salvage the prefix and damage, of decodeLogFile', async () => {
    const msg = errorOf(() => decodeLogFile(bad, { file: 'bad.mmlog' }));
    expect(msg).toMatch(/byte offset \d+/);
    await expect(decodeStreamed(pieces(bad, 4096), { file: 'bad.mmlog' })).rejects.toThrow(LogFileError);
    await expect(decodeStreamed(pieces(bad, 4096), { file: 'bad.mmlog' })).rejects.toThrow(msg);
    const whole = decodeLogFile(bad, { salvage: true });
    const got = await decodeStreamed(pieces(bad, 4096), { salvage: true });
    expect(got.result.damage).toEqual(whole.damage);
    expect(got.result.log.length).toBe(whole.log.length);
    // a file cut in the middle of a chunk (no trailer): refused, then salvaged the same way
    const cut = big.bytes.slice(0, Math.floor(big.bytes.length / 2));
    await expect(decodeStreamed(pieces(cut, 1000))).rejects.toThrow(errorOf(() => decodeLogFile(cut)));
  });
});
