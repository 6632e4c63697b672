/**
 * raw_syscalls with a filter records what the 38 per-syscall tracepoints did: one perf
 * run of a real program with both sets enabled, converted once from each set's lines,
 * gives the same trace records.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PerfConverter, perfEvents } from './perf.js';
import { perfEventArgs, rawSyscall } from './rawsys.js';
import { TRACER_SOURCE, buildC } from './record.js';
import { parseTracerLog } from './tracerlog.js';
import { WORKLOADS, buildWorkload } from './workloads.js';
import type { TraceRecord } from './format.js';

describe('raw_syscalls in place of the per-syscall tracepoints', () => {
  it('turns raw samples into the per-syscall form and drops syscalls not followed', () => {
    expect(rawSyscall('sys_enter', 'NR 9 (0, 2000, 3, 22, ffffffff, 0)')).toEqual(['sys_enter_mmap', '0x0, 0x2000, 0x3, 0x22, 0xffffffff, 0x0']);
    expect(rawSyscall('sys_exit', 'NR 11 = -22')).toEqual(['sys_exit_munmap', '-22']);
    expect(rawSyscall('sys_enter', 'NR 0 (3, 7ffd, 10, 0, 0, 0)')).toEqual(['sys_enter_read', '0x3, 0x7ffd, 0x10, 0x0, 0x0, 0x0']); // GUP fill
    expect(rawSyscall('sys_enter', 'NR 1 (1, 7ffd, 10, 0, 0, 0)')).toBeNull(); // write: not followed
    expect(perfEventArgs(perfEvents(), false)).toEqual(['-e', perfEvents().join(',')]);
    const raw = perfEventArgs(perfEvents(), true);
    expect(raw.join(' ')).not.toMatch(/(^|[ ,])syscalls:sys_/);
    // one syscall number per followed syscall: every per-syscall tracepoint has its raw_syscalls id
    const followed = perfEvents().filter((e) => e.startsWith('syscalls:sys_enter_')).map((e) => e.slice('syscalls:sys_enter_'.length));
    const ids = raw[raw.indexOf('--filter') + 1].split(' || ').map((c) => Number(/^id == (\d+)$/.exec(c)![1]));
    expect(new Set(ids).size).toBe(followed.length);
    for (const call of followed) expect(ids.map((nr) => rawSyscall('sys_exit', `NR ${nr} = 0`)![0])).toContain(`sys_exit_${call}`);
  });

  it('converts a real program to the same records either way', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-rawsys-test-'));
    const w = WORKLOADS.find((x) => x.name === 'realloc')!;
    const tracer = buildC(TRACER_SOURCE, 'mmsim-tracer');
    const data = join(dir, 'perf.data');
    const tlog = join(dir, 'tracer.log');
    const both = [...perfEventArgs(perfEvents(), true), '-e', perfEvents().filter((e) => e.startsWith('syscalls:')).join(',')];
    const rec = spawnSync('perf', ['record', '-q', '--no-bpf-event', '-B', ...both, '-o', data, '--', tracer, tlog, ...buildWorkload(w)!], { encoding: 'utf8' });
    expect(rec.status, rec.stderr).toBe(0);
    const script = spawnSync('perf', ['script', '-i', data, '-F', 'pid,tid,event,trace'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    expect(script.status).toBe(0);
    const lines = script.stdout.split('\n');
    const convert = (drop: string) => {
      const out: TraceRecord[] = [];
      const conv = new PerfConverter(parseTracerLog(readFileSync(tlog, 'utf8')), (r) => out.push(r));
      for (const l of lines) if (!l.includes(drop)) conv.line(l);
      return out;
    };
    const perSyscall = convert('raw_syscalls:');
    const raw = convert(' syscalls:sys_');
    expect(perSyscall.filter((r) => r[0] === 'mremap').length).toBeGreaterThan(10);
    expect(raw).toEqual(perSyscall);
  });
});
