/**
 * `mmsim record` when the recording cannot be whole: perf losing events (a tiny
 * --buffer under a fault-heavy program) and Ctrl-C (SIGINT to the whole foreground
 * process group, as a terminal sends it). Each ends with a message and its exit code, no
 * stack trace, and nothing left behind: no `out.trace.tmp-PID`, no perf.data in TMPDIR.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readTraceSync } from '@mmsim/record';
import { cli } from './testing/harness.js';

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

/**
 * mmsim in a process group of its own and a TMPDIR of its own; `whenOut` (a stdout
 * substring) or `afterMs` sends SIGINT to the group.
 */
async function mmsim(args: string[], whenOut?: string, afterMs?: number): Promise<Run> {
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
  const timer = afterMs === undefined ? undefined : setTimeout(() => process.kill(-child.pid!, 'SIGINT'), afterMs);
  const code = await new Promise<number | null>((res) => child.on('close', res));
  clearTimeout(timer);
  return { code, out, err, leftInTmp: readdirSync(tmp).filter((f) => !f.startsWith('tsx-')), cwd, files: readdirSync(cwd).filter((f) => f !== 'tmp') };
}

/** the interpreter itself, not a version manager's shim (which runs a dozen processes first) */
const python = () => spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();

function traceOf(path: string) {
  const all = [...readTraceSync(path)];
  const header = 'header' in all[0] ? all[0].header : undefined;
  return { header, records: all.flatMap((x) => ('record' in x ? [x.record] : [])) };
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
    const cmd = [python(), '-c', "import time; print('started', flush=True); time.sleep(60)"];
    const r = await mmsim(['record', '-o', 'int.trace', '--', ...cmd], 'started');
    expect(r.err).toContain('int.trace: recording stopped by SIGINT: the trace holds what ran until then');
    expect(r.code).toBe(130);
    expect(r.files).toEqual(['int.trace']);
    expect(r.leftInTmp).toEqual([]);
    const { header, records } = traceOf(join(r.cwd, 'int.trace'));
    expect(header?.command).toEqual(cmd);
    // python's start, its pages, and the exit of the interrupted interpreter
    expect(records.filter((x) => x[0] === 'exec').length).toBe(1);
    expect(records.filter((x) => x[0] === 'f').length).toBeGreaterThan(100);
    // its exit snapshot, then its exit (the reader checked the end record's count)
    expect(records.at(-2)?.[0]).toBe('snap');
    expect(records.at(-1)?.[0]).toBe('exit');
  }, 120_000);

  it('--pid: attaches to a running process, Ctrl-C detaches, the trace replays from its layout at attach', async () => {
    // a "server": maps, writes and drops 40 MiB (above glibc's largest mmap threshold) every 50 ms
    const srv = spawn(python(), ['-c', "import time\nwhile True:\n  b = bytearray(40 << 20); b[::4096] = b'x' * 10240; time.sleep(0.05)"], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 500));
      const r = await mmsim(['record', '--pid', String(srv.pid), '-o', 'srv.trace'], undefined, 4000);
      expect(r.err).toMatch(/srv\.trace: \d+ records \(\d+ mm syscalls, \d+ faults\); detached after SIGINT/);
      expect(r.code).toBe(0);
      expect(r.leftInTmp).toEqual([]);
      // detached: the server runs on (not stopped, not traced)
      const stat = readFileSync(`/proc/${srv.pid}/stat`, 'utf8');
      expect(stat.slice(stat.lastIndexOf(')') + 2)[0]).toMatch(/[RS]/);
      const { header, records } = traceOf(join(r.cwd, 'srv.trace'));
      expect(header?.command[0]).toMatch(/python/);
      expect(records[0].slice(0, 2)).toEqual(['exec', srv.pid]);
      expect(records.at(-1)?.slice(0, 2)).toEqual(['snap', srv.pid]);
      expect(records.filter((x) => x[0] === 'f').length).toBeGreaterThan(10_240);
      expect(records.filter((x) => x[0] === 'munmap').length).toBeGreaterThan(0);
      // it replays: every recorded fault, the one process, compared at detach (the layout
      // does not agree yet: building the mm from the attach snapshot merges neighbours
      // the kernel keeps apart, whose anon_vma and file history predate the attach)
      const rep = await cli(['trace', join(r.cwd, 'srv.trace'), '--json']);
      expect(rep.err).not.toMatch(/internal error|bad input/);
      const report = JSON.parse(rep.out);
      expect(report.faults).toBe(records.filter((x) => x[0] === 'f').length);
      expect(report.processes).toHaveLength(1);
      expect(report.processes[0].pid).toBe(srv.pid);
      expect(typeof report.processes[0].agree).toBe('boolean');
    } finally {
      srv.kill();
    }
  }, 120_000);
});
