import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeLogFile, replay, splitLogFile } from '@mmsim/core';
import { cli, tmp } from './testing/harness.js';

describe('mmsim record / mmsim trace', () => {
  const dir = tmp();
  const trace = join(dir, 'sh.trace');

  it('records a shell pipeline and replays it in agreement (exit 0, mmsim-trace-report/1)', async () => {
    const rec = await cli(['record', '-o', trace, '--quiet', '--', '/bin/sh', '-c', 'ls / | wc -l']);
    expect(rec.code).toBe(0);
    expect(rec.err).toMatch(/records \(\d+ mm syscalls, \d+ faults\); the command exited 0/);
    const r = await cli(['trace', trace, '--json', '--policy', 'auto']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.format).toBe('mmsim-trace-report/1');
    expect(rep.policy).toBe('auto');
    expect(rep.agree).toBe(true);
    expect(rep.processes.length).toBeGreaterThanOrEqual(3); // sh, ls, wc
    expect(rep.processes.every((p: { vmas: number }) => p.vmas > 5)).toBe(true);
  });

  it('--log streams the whole replay log to the file (the replay itself keeps only the open chunk)', async () => {
    const log = join(dir, 'sh.mmlog');
    const r = await cli(['trace', trace, '--json', '--log', log]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out);
    const file = decodeLogFile(readFileSync(log), { file: log });
    expect(file.damage).toBeUndefined();
    expect(file.log.length).toBe(rep.events);
    expect(file.header.config).toEqual({ trace, policy: 'stock' });
    // the streamed events replay to the state the simulator ended in: every mm torn down at exit
    const s = replay(file.log);
    expect(s.seq).toBe(rep.events);
    expect(s.counts.mms).toBe(0);
    expect(s.counts.vmas).toBe(0);
  });

  it('prints the first difference and exits 1 when the recording disagrees', async () => {
    // drop the first successful anonymous mmap: its VMA is then missing at exit
    const lines = readFileSync(trace, 'utf8').split('\n');
    const i = lines.findIndex((l) => /^\["mmap",\d+,0,\d+,3,34,-1,0,\d+,0\]$/.test(l));
    expect(i).toBeGreaterThan(0);
    lines.splice(i, 1);
    // still a complete trace: its end record counts one record less
    const end = lines.findIndex((l) => l.startsWith('["end",'));
    lines[end] = `["end",${end - 1}]`;
    const cut = join(dir, 'cut.trace');
    writeFileSync(cut, lines.join('\n'));
    const r = await cli(['trace', cut]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/DISAGREE: line \d+: process \d+ at (exit|execve): (VMA \d+: recorded|page 0x)/);
  });

  it('record --snapshot-every compares mid-run too; a bad period is refused (exit 2)', async () => {
    const t = join(dir, 'every.trace');
    const rec = await cli(['record', '-o', t, '--quiet', '--snapshot-every', '0.1', '--', '/bin/sh', '-c', 'sleep 0.5']);
    expect(rec.code).toBe(0);
    const mid = readFileSync(t, 'utf8').split('\n').filter((l) => l.startsWith('["snap",') && l.includes('"at":"periodic"'));
    expect(mid.length).toBeGreaterThanOrEqual(2);
    const r = JSON.parse((await cli(['trace', t, '--json'])).out);
    expect(r.agree).toBe(true);
    expect(Math.max(...r.processes.map((p: { snapshots: number }) => p.snapshots))).toBeGreaterThanOrEqual(3);
    const bad = await cli(['record', '-o', t, '--snapshot-every', 'soon', '--', '/bin/true']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--snapshot-every: "soon" is not a number of seconds');
  });

  it('--all lists every difference, the report has them all, the default says how many more', async () => {
    // every fault record dropped (the end record recounted): pages of every process are missing
    const lines = readFileSync(trace, 'utf8').trimEnd().split('\n').filter((l) => !l.startsWith('["f",'));
    lines[lines.length - 1] = `["end",${lines.length - 2}]`;
    const nof = join(dir, 'nofaults.trace');
    writeFileSync(nof, lines.join('\n') + '\n');
    const json = JSON.parse((await cli(['trace', nof, '--json'])).out);
    expect(json.differences.length).toBeGreaterThan(1);
    expect(json.firstDifference).toBe(json.differences[0]);
    const all = await cli(['trace', nof, '--all']);
    expect(all.code).toBe(1);
    expect(all.out.split('\n').filter((l) => l.startsWith('DISAGREE: ')).map((l) => l.slice(10))).toEqual(json.differences);
    const one = await cli(['trace', nof]);
    expect(one.out).toContain(`(${json.differences.length - 1} more: --all lists them)`);
  });

  it('refuses a trace cut at a line boundary (no end record) with exit 2, never "agree"', async () => {
    const lines = readFileSync(trace, 'utf8').trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^\["end",\d+\]$/);
    const half = join(dir, 'half.trace');
    writeFileSync(half, lines.slice(0, Math.ceil(lines.length / 2)).join('\n') + '\n');
    const r = await cli(['trace', half]);
    expect(r.code).toBe(2);
    expect(r.out).not.toMatch(/agree/);
    expect(r.err).toMatch(new RegExp(`half.trace:${Math.ceil(lines.length / 2) + 1}: the trace ends after \\d+ records without its end record .*cut short`));
    const ctor = join(dir, 'ctor.trace');
    writeFileSync(ctor, [lines[0], '["constructor",1]', ...lines.slice(1)].join('\n'));
    const c = await cli(['trace', ctor]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/ctor.trace:2: unknown record kind "constructor"/);
  });

  it('two recordings replayed with --log at one path: the logs differ in nonce, and a splice of them salvages only the first', async () => {
    const log = join(dir, 'one.mmlog');
    const lines = readFileSync(trace, 'utf8').trimEnd().split('\n');
    // another recording: the same lines less its last fault (the end record recounted)
    const other = join(dir, 'other.trace');
    let f = lines.length - 1;
    while (!lines[f].startsWith('["f",')) f--;
    const rest = [...lines.slice(0, f), ...lines.slice(f + 1, -1)];
    writeFileSync(other, [...rest, `["end",${rest.length - 1}]`].join('\n'));
    expect((await cli(['trace', trace, '--log', log])).code).toBe(0);
    const a = new Uint8Array(readFileSync(log));
    expect((await cli(['trace', trace, '--log', log])).code).toBe(0);
    // the same recording: the same bytes
    expect(Buffer.from(readFileSync(log)).equals(Buffer.from(a))).toBe(true);
    // another recording at the same path, with the same config in the header
    writeFileSync(trace + '.bak', readFileSync(trace));
    writeFileSync(trace, readFileSync(other));
    try {
      // (it may or may not agree with its snapshots: the log is what matters here)
      expect([0, 1]).toContain((await cli(['trace', trace, '--log', log])).code);
    } finally {
      writeFileSync(trace, readFileSync(trace + '.bak'));
    }
    const b = new Uint8Array(readFileSync(log));
    const ha = decodeLogFile(a).header;
    const hb = decodeLogFile(b).header;
    expect(hb.config).toEqual(ha.config);
    expect(hb.nonce).not.toBe(ha.nonce);
    const pa = splitLogFile(a);
    const pb = splitLogFile(b);
    expect(pa.chunks.length).toBeGreaterThan(1);
    // a's header and first chunk, then b's chunks from the second on, b's trailer
    const spliced = Buffer.concat([a.subarray(0, pa.chunks[1].offset), b.subarray(pb.chunks[1].offset)]);
    const sp = join(dir, 'spliced.mmlog');
    writeFileSync(sp, spliced);
    const e = await cli(['events', sp, '--salvage', '--json']);
    expect(e.code).toBe(0);
    expect(e.out.trim().split('\n')).toHaveLength(pa.chunks[0].count);
    expect(e.err).toMatch(new RegExp(`salvaged ${pa.chunks[0].count} events; lost an unknown number of events .* from byte offset ${pa.chunks[1].offset} on \\(chunk checksum mismatch \\(a damaged chunk, or one of another run`));
  });

  it('refuses bad input with exit 2', async () => {
    const bad = join(dir, 'bad.trace');
    writeFileSync(bad, '{"format":"mmsim-trace/1","command":[],"kernel":"x","thp":"never"}\n["mmap",1]\n["end",1]\n');
    const r = await cli(['trace', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad.trace:2: a mmap record has 9 fields/);
    expect((await cli(['trace', trace, '--policy', 'fast'])).code).toBe(2);
  });
});

describe('mmsim record through a shell shim', () => {
  it('names each row: one pid, the shim and the program it execs', async () => {
    const dir = tmp();
    // a shim as pyenv's python3 is: a shell script that execs the real program
    writeFileSync(join(dir, 'shim'), '#!/bin/sh\nexec /bin/ls / > /dev/null\n', { mode: 0o755 });
    const trace = join(dir, 'shim.trace');
    const rec = await cli(['record', '-o', trace, '--quiet', '--', join(dir, 'shim')]);
    expect(rec.code).toBe(0);
    const rep = JSON.parse((await cli(['trace', trace, '--json'])).out);
    const rows = rep.processes as { pid: number; command: string }[];
    expect(rows).toHaveLength(2);
    expect(rows[0].pid).toBe(rows[1].pid);
    expect(rows.map((p) => p.command.split('/').pop())).toEqual([expect.stringMatching(/^(dash|bash|sh|busybox)$/), 'ls']);
    const human = await cli(['trace', trace]);
    expect(human.out).toMatch(/ {2}command\n/);
    expect(human.out).toMatch(new RegExp(`\\n${rows[1].pid} .* ${rows[1].command.replace(/[/.]/g, '\\$&')}\\n`));
  });

  it('documents its exit codes in --help', async () => {
    const h = await cli(['record', '--help']);
    for (const code of ['0  the command exited 0', '1  the command exited non-zero', '2  cannot record here', '74 the recording is incomplete']) expect(h.out).toContain(code);
  });
});
