/**
 * The VMA-flag syscalls recorded from a real program (workloads/vmaflags.c) and replayed:
 * the trace carries each call with the kernel's result, the replay agrees, and the same
 * trace without them does not (they split and merge VMAs the replay must reproduce).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKLOADS, buildWorkload, record, replayTrace } from './index.js';
import { vmaFlagRecord } from './flags.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-vmaflags-test-'));
const FLAG_KINDS = ['mlock', 'munlock', 'mlockall', 'munlockall', 'mseal', 'anon_name', 'mbind'];

describe('VMA-flag syscalls in a recorded trace', () => {
  it('perf arguments become records: mlock is mlock2 with flags 0, only PR_SET_VMA_ANON_NAME of prctl', () => {
    expect(vmaFlagRecord(7, 'mlock', ['0x7f0000001000', '0x2000'], 0)).toEqual(['mlock', 7, 0x7f0000001000, 0x2000, 0, 0]);
    expect(vmaFlagRecord(7, 'mlock2', ['0x7f0000001000', '0x2000', '0x1'], -11)).toEqual(['mlock', 7, 0x7f0000001000, 0x2000, 1, -11]);
    expect(vmaFlagRecord(7, 'mlockall', ['0x3'], 0)).toEqual(['mlockall', 7, 3, 0]);
    expect(vmaFlagRecord(7, 'prctl', ['0x53564d41', '0x0', '0x7f0000001000', '0x4000', '0x55aa00'], -22)).toEqual(['anon_name', 7, 0x7f0000001000, 0x4000, -22]);
    expect(vmaFlagRecord(7, 'prctl', ['0xf', '0x55aa00', '0x0', '0x0', '0x0'], 0)).toBeNull(); // PR_SET_NAME
  });

  it('workloads/vmaflags.c records each call, replays with agree: true, and disagrees without them', async () => {
    const cmd = buildWorkload(WORKLOADS.find((w) => w.name === 'vmaflags')!)!;
    const out = join(dir, 'vmaflags.trace');
    const r = await record(cmd, out, { stdio: 'ignore' });
    expect(r.exitCode).toBe(0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    const recs = lines.slice(1).map((l) => JSON.parse(l) as [string, ...number[]]);
    const flagRecs = recs.filter((x) => FLAG_KINDS.includes(x[0]));
    // the kernel's answers: mlock, mlock2(ONFAULT), mseal, munlock, mlockall, munlockall succeed;
    // the anon name is EINVAL (no CONFIG_ANON_VMA_NAME), the munmap of the sealed page EPERM
    expect(flagRecs.map((x) => [x[0], x.at(-1)])).toEqual([
      ['mlock', 0],
      ['mlock', 0],
      ['anon_name', -22],
      ['mseal', 0],
      ['munlock', 0],
      ['mbind', 0],
      ['mbind', 0],
      ['mlockall', 0],
      ['munlockall', 0],
      ['mbind', 0],
    ]);
    const seal = flagRecs.find((x) => x[0] === 'mseal')!;
    expect(recs.some((x) => x[0] === 'munmap' && x[2] === seal[2] && x.at(-1) === -1)).toBe(true);
    const advice = recs.filter((x) => x[0] === 'madvise').map((x) => x[4]);
    expect(advice).toEqual([16, 1, 17, 0]); // DONTDUMP, RANDOM, DODUMP, NORMAL

    const rep = (await replayTrace(out, { policy: 'stock' })).report;
    expect(rep.firstDifference).toBeNull();
    expect(rep.agree).toBe(true);
    expect(Object.keys(rep.unmodelled).filter((k) => /madvise|mlock|mseal|anon|mbind/.test(k))).toEqual([]);
    // mseal and mbind leave VMAs split, mlockall faults in pages no fault record names: without
    // any one of them the state at exit parts from the recording (munlockall undoes the mlocks)
    for (const kind of ['mseal', 'mbind', 'mlockall']) {
      const body = lines.slice(1, -1).filter((l) => (JSON.parse(l) as string[])[0] !== kind);
      const f = join(dir, `without-${kind}.trace`);
      writeFileSync(f, [lines[0], ...body, `["end",${body.length}]`].join('\n') + '\n');
      expect((await replayTrace(f, { policy: 'stock' })).report.agree, `without ${kind}`).toBe(false);
    }

    // the same trace without the flag records: the layout at exit is not the recorded one
    const body = lines.slice(1, -1).filter((l) => !FLAG_KINDS.includes((JSON.parse(l) as string[])[0]));
    const stripped = join(dir, 'stripped.trace');
    writeFileSync(stripped, [lines[0], ...body, `["end",${body.length}]`].join('\n') + '\n');
    const bad = (await replayTrace(stripped, { policy: 'stock' })).report;
    expect(bad.agree).toBe(false);
    expect(bad.firstDifference).toMatch(/VMA \d+: recorded .* simulated/);
  });
});
