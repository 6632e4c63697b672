/**
 * `mmsim record` when the recording cannot be whole: perf losing events (a tiny
 * --buffer under a fault-heavy program) and Ctrl-C (SIGINT to the whole foreground
 * process group, as a terminal sends it). Each ends with a message and its exit code, no
 * stack trace, and nothing left behind: no `out.trace.tmp-PID`, no perf.data in TMPDIR.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readTraceSync } from '@mmsim/record';

const BIN = fileURLToPath(new URL('../bin/mmsim.mjs', import.meta.url));

interface Run {
  code: number | null;
  out: string;
  err: string;
  /** what the run left in its TMPDIR (tsx's cache aside) */
  leftInTmp: string[];
  /** the run's folder and the files in it */
  cwd: string;
  files: string[];
}

/** mmsim in a process group of its own and a TMPDIR of its own; `whenOut` (a stdout substring) sends SIGINT to the group. */
async function mmsim(args: string[], whenOut?: string): Promise<Run> {
  const cwd = mkdtempSync(join(tmpdir(), 'mmsim-record-errors-'));
  const tmp = join(cwd, 'tmp');
  mkdirSync(tmp);
  const child = spawn(process.execPath, [BIN, ...args], { cwd, detached: true, env: { ...process.env, TMPDIR: tmp } });
  let out = '';
  let err = '';
  let sent = false;
  child.stdout.on('data', (b) => {
    out += b;
    if (whenOut && !sent && out.includes(whenOut)) {
      sent = true;
      process.kill(-child.pid!, 'SIGINT');
    }
  });
  child.stderr.on('data', (b) => (err += b));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  return { code, out, err, leftInTmp: readdirSync(tmp).filter((f) => !f.startsWith('tsx-')), cwd, files: readdirSync(cwd).filter((f) => f !== 'tmp') };
}

describe('mmsim record: lost events and Ctrl-C', () => {
  it('perf losing events: exit 74, --buffer named, no trace, no temporary file', async () => {
    const r = await mmsim(['record', '--quiet', '--buffer', '1', '-o', 'big.trace', '--', 'python3', '-c', "b = bytearray(b'x' * (256 << 20))"]);
    expect(r.err).toMatch(/^mmsim: record: big\.trace not written: perf lost events \(\d+ LOST records with a buffer of 1 pages per CPU\)/);
    expect(r.err).toContain('--buffer 4');
    expect(r.err).not.toMatch(/\(-m\)|\n\s+at /);
    expect(r.code).toBe(74);
    expect(r.files).toEqual([]);
    expect(r.leftInTmp).toEqual([]);
  }, 120_000);

  it('Ctrl-C: exit 130, says so, the trace holds what ran, nothing else left', async () => {
    // the interpreter itself, not a version manager's shim (which runs a dozen processes first)
    const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
    const cmd = [python, '-c', "import time; print('started', flush=True); time.sleep(60)"];
    const r = await mmsim(['record', '-o', 'int.trace', '--', ...cmd], 'started');
    expect(r.err).toContain('int.trace: recording stopped by SIGINT: the trace holds what ran until then');
    expect(r.code).toBe(130);
    expect(r.files).toEqual(['int.trace']);
    expect(r.leftInTmp).toEqual([]);
    const all = [...readTraceSync(join(r.cwd, 'int.trace'))];
    const header = 'header' in all[0] ? all[0].header : undefined;
    const records = all.flatMap((x) => ('record' in x ? [x.record] : []));
    expect(header?.command).toEqual(cmd);
    // python's start, its pages, and the exit of the interrupted interpreter
    expect(records.filter((x) => x[0] === 'exec').length).toBe(1);
    expect(records.filter((x) => x[0] === 'f').length).toBeGreaterThan(100);
    // its exit snapshot, then its exit (the reader checked the end record's count)
    expect(records.at(-2)?.[0]).toBe('snap');
    expect(records.at(-1)?.[0]).toBe('exit');
  }, 120_000);
});
