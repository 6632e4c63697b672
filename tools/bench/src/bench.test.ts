import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
// the command file lives in the CLI app; it is exercised here on a bare program so that
// this suite does not depend on the command list registering it
import { register } from '../../../apps/cli/src/commands/bench.js';
import { makeContext } from '../../../apps/cli/src/context.js';
import { reportError } from '../../../apps/cli/src/cli.js';
import { HEADLINE_KEYS, formatReport, type BenchResult } from './bench.js';
import { aggregateProfile, formatProfile, type CpuProfile } from './cpuprofile.js';
import { ensureHelper, runKernel } from './helper.js';
import { prng, quantile } from './stats.js';
import { sweepSvg } from './svg.js';

async function mmsimBench(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx = makeContext({ stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd, progress: false, columns: 100 });
  const program = new Command('mmsim').exitOverride().configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) });
  register(program, ctx);
  let code = 0;
  try {
    await program.parseAsync(['bench', ...args], { from: 'user' });
  } catch (e) {
    code = reportError(ctx, e);
  }
  return { code: code || ctx.exitCode, out, err };
}

describe('C helper', () => {
  it('builds and times the kernel faulting and moving 4 MiB', { timeout: 60_000 }, () => {
    const bin = ensureHelper();
    expect(existsSync(bin)).toBe(true);
    expect(ensureHelper()).toBe(bin); // cached
    const f = runKernel('fault', 4, 2, bin);
    expect(f.pages).toBe(1024);
    expect(f.runs).toHaveLength(2);
    expect(f.best.wallMs).toBeGreaterThan(0);
    expect(f.best.cpuMs).toBeGreaterThan(0);
    const m = runKernel('mremap', 4, 2, bin);
    expect(m.best.wallMs).toBeGreaterThan(0);
    expect(m.best.wallMs).toBeLessThan(f.best.wallMs * 100);
  });
});

describe('mmsim bench', () => {
  it('runs end to end at a tiny size and reports every key', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-bench-'));
    const r = await mmsimBench(['--sizes', '2,4', '--events', '40000', '--seeks', '20', '--naive', '3000', '--reps', '2', '--warmup', '1', '--split-vmas', '16,256', '--trace-faults', '20000', '--json', '--out', 'res'], dir);
    expect(r.err).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out) as BenchResult;
    expect(res.format).toBe('mmsim-bench/1');
    expect(res.sizeMiB).toBe(4);
    for (const key of HEADLINE_KEYS) {
      const v = (res as unknown as Record<string, number>)[key];
      expect(typeof v, key).toBe('number');
      expect(Number.isFinite(v), key).toBe(true);
      expect(v, key).toBeGreaterThan(0);
      expect(res.targets[key], key).toBeDefined();
    }
    expect(res.sim.checkers).toBe('on');
    expect(res.sim.violations).toBe(0);
    expect(res.sim.relocated).toBe(true);
    expect(res.sim.faultEvents).toBeGreaterThan(1024 * 10);
    expect(res.log.events).toBeGreaterThanOrEqual(40_000);
    expect(res.log.naive.prefixEvents).toBe(3000);
    expect(res.log.timeTravel.seeks).toBe(20);
    expect(res.seekP99Ms).toBeGreaterThanOrEqual(res.seekP50Ms);
    expect(res.sweep.map((s) => s.mib)).toEqual([2, 4]);
    // splitGrowth: a window of 16 splits timed at 16 and at 256 VMAs, every split really made
    expect(res.splits.points.map((p) => [p.vmas, p.splits])).toEqual([
      [16, 16],
      [256, 16],
    ]);
    for (const p of res.splits.points) expect(p.events).toBeGreaterThan(16 * 10);
    expect(res.splits.violations).toBe(0);
    // exploreSchedulesPerSec: the seed's race explored whole (bound 2, no reduction), in a
    // child process, the best of 3 explorations
    // (1356: the faults re-check their PTE under the PTE lock, pte_same(), and lock-free PTE reads are scheduling points)
    expect(res.explore).toMatchObject({ schedules: 1356, complete: true, violations: 0, reps: 3 });
    expect(res.exploreSchedulesPerSec).toBe(res.explore.schedulesPerSec);
    // the trace replay: a synthetic trace of at least 20k faults replayed in agreement, in bounded memory
    expect(res.trace.faults).toBeGreaterThanOrEqual(20_000);
    expect(res.trace.agree).toBe(true);
    expect(res.trace.reps).toBe(3);
    expect(res.trace.firstFaultsPerSec).toBeGreaterThan(0);
    expect(res.traceReplayFaultsPerSec).toBeGreaterThanOrEqual(res.clock === 'cpu' ? res.trace.firstFaultsPerSec : 0);
    expect(res.trace.events).toBeGreaterThan(res.trace.faults * 10);
    expect(res.traceReplayPeakRssMiB).toBeGreaterThanOrEqual(res.trace.rssEndMiB);
    // the same replay of a real recording (root and perf here): a python program of 20k page writes
    if ('skipped' in res.realTrace) throw new Error(`realTrace skipped: ${res.realTrace.skipped}`);
    expect(res.realTrace.agree).toBe(true);
    expect(res.realTrace.faults).toBeGreaterThanOrEqual(20_000);
    expect(res.realTrace.command[1]).toBe('-c');
    expect(res.realTraceReplayFaultsPerSec).toBe(res.clock === 'cpu' ? res.realTrace.faultsPerSec : res.realTrace.faultsPerSecWall);
    expect(res.notes.join('\n')).toMatch(/after two 1 MiB warm-up sessions/);
    for (const s of res.sweep) {
      expect(Number.isFinite(s.faultInRatio) && s.faultInRatio > 0).toBe(true);
      expect(Number.isFinite(s.relocateRatio) && s.relocateRatio > 0).toBe(true);
    }
    // progress and the written files go to stderr, never into the JSON
    expect(r.err).toMatch(/bench: kernel fault-in 2 MiB/);
    expect(r.err).toMatch(/wrote /);
    const written = JSON.parse(readFileSync(join(dir, 'res', 'bench.json'), 'utf8')) as BenchResult;
    expect(Object.keys(written)).toEqual(Object.keys(res));
    expect(JSON.parse(readFileSync(join(dir, 'res', 'sweep.json'), 'utf8')).sweep).toHaveLength(2);
    expect(readFileSync(join(dir, 'res', 'sweep.svg'), 'utf8')).toMatch(/^<svg [^]*<\/svg>\n$/);
    // the human report names every key
    const text = formatReport(res).join('\n');
    for (const key of HEADLINE_KEYS) expect(text).toContain(key);
  });

  it('has --help with examples, and refuses bad options', { timeout: 30_000 }, async () => {
    const h = await mmsimBench(['--help'], tmpdir());
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/--quick/);
    expect(h.out).toMatch(/Examples:\n\s+\$ mmsim bench --quick/);
    const one = await mmsimBench(['--split-vmas', '1024'], tmpdir());
    expect(one.code).toBe(2);
    expect(one.err).toMatch(/--split-vmas needs two different VMA counts/);
    const bad = await mmsimBench(['--sizes', '4,x'], tmpdir());
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--sizes: expected a positive integer/);
    const clock = await mmsimBench(['--clock', 'sundial'], tmpdir());
    expect(clock.code).toBe(2);
    const warm = await mmsimBench(['--warmup', '-3'], tmpdir());
    expect(warm.code).toBe(2);
    expect(warm.err).toMatch(/--warmup: expected a non-negative integer/);
  });
});

describe('helpers', () => {
  it('quantiles and the seeded PRNG are deterministic', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
    const a = prng(7);
    const b = prng(7);
    for (let i = 0; i < 5; i++) expect(a()).toBe(b());
  });

  it('draws the sweep chart deterministically', () => {
    const pts = [
      { mib: 64, simFaultMs: 2000, kernelFaultMs: 20, simRelocateMs: 1000, kernelMremapMs: 0.2 },
      { mib: 128, simFaultMs: 4000, kernelFaultMs: 40, simRelocateMs: 2000, kernelMremapMs: 0.4 },
    ];
    const svg = sweepSvg(pts, 'test');
    expect(svg).toBe(sweepSvg([...pts].reverse(), 'test'));
    expect(svg.match(/<path /g)).toHaveLength(4);
    expect(svg).toContain('MREMAP_RELOCATE_ANON');
  });

  it('aggregates a cpuprofile into self time per function', () => {
    const cf = (functionName: string, line: number) => ({ functionName, url: 'file:///r/a.ts', lineNumber: line, columnNumber: 0 });
    const p: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 3] },
        { id: 2, callFrame: cf('hot', 9) },
        { id: 3, callFrame: cf('cold', 19) },
      ],
      startTime: 0,
      endTime: 400,
      samples: [2, 2, 3, 2],
      timeDeltas: [0, 100, 100, 100],
    };
    const a = aggregateProfile(p, '/r');
    expect(a.functions[0]).toMatchObject({ fn: 'hot', where: 'a.ts:10', selfMs: 0.3, pct: 75 });
    expect(a.functions[1]).toMatchObject({ fn: 'cold', pct: 25 });
    expect(formatProfile(a.functions, 1)).toHaveLength(3);
  });
});
