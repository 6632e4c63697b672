/**
 * Two calls stress-ng --mremap makes that the recorder and the replay got wrong, each
 * as a small C program recorded on this machine's kernel (root, perf) and replayed:
 * 64-bit arguments no double holds (bigargs.c: the trace keeps them exact, the model
 * gives the kernel's errno for each), and a moving mremap of a huge-zero-page PMD
 * (hugezero.c: no folio behind the pfn, under every policy).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autoRelocatePlugin } from '@mmsim/auto-relocate';
import { relocateAnonPlugin } from '@mmsim/relocate-anon';
import { E, HUGE_ZERO_PFN } from '@mmsim/core';
import { describe, expect, it } from 'vitest';
import { buildC, readTrace, record, replayTrace, type Policy, type TraceRecord } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-exact-test-'));
const WORKLOADS = join(dirname(fileURLToPath(import.meta.url)), '..', 'workloads');

async function recorded(name: string): Promise<string> {
  const out = join(dir, `${name}.trace`);
  const r = await record([buildC(join(WORKLOADS, `${name}.c`), `workload-${name}`)], out, { stdio: 'ignore' });
  expect(r.exitCode).toBe(0);
  return out;
}

async function records(trace: string): Promise<TraceRecord[]> {
  const out: TraceRecord[] = [];
  for await (const x of readTrace(trace)) if ('record' in x) out.push(x.record);
  return out;
}

const plugins = (policy: Policy) => (policy === 'relocate' ? [relocateAnonPlugin] : policy === 'auto' ? [autoRelocatePlugin] : []);

describe('64-bit syscall arguments (bigargs.c)', () => {
  it('are recorded exactly, and every failing call gets the kernel errno in the model', async () => {
    const trace = await recorded('bigargs');
    const rs = (await records(trace)).filter((r) => r[0] !== 'f');
    const mremaps = rs.filter((r): r is Extract<TraceRecord, { 0: 'mremap' }> => r[0] === 'mremap');
    // ~0UL and 2^53 + 1 (no double is either) as new_addr, exact
    expect(mremaps.map((r) => r[6])).toContain(2n ** 64n - 1n);
    expect(mremaps.map((r) => r[6])).toContain(2n ** 53n + 1n);
    expect(rs.some((r) => r[0] === 'munmap' && r[3] === 2n ** 64n - 4096n && r[4] === -22)).toBe(true);
    // the file spells them as decimal strings
    expect(readFileSync(trace, 'utf8')).toContain('"18446744073709551615"');
    const rep = (await replayTrace(trace)).report;
    expect(rep.firstDifference).toBeNull();
    expect(rep.agree).toBe(true);
    // the big-argument mremap that succeeded (new_addr ignored without MREMAP_FIXED) moved
    expect(rep.processes[0].moves).toBe(1);
  });

  it('a wrong errno in the trace is a difference, naming the call and both errnos', async () => {
    const trace = join(dir, 'bigargs.trace');
    const lines = readFileSync(trace, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('["munmap"') && l.includes('"18446744073709547520",-22]'));
    expect(i).toBeGreaterThan(0);
    lines[i] = lines[i].replace(/-22\]$/, '-12]');
    const bad = join(dir, 'bigargs-wrong-errno.trace');
    writeFileSync(bad, lines.join('\n'));
    const rep = (await replayTrace(bad)).report;
    expect(rep.agree).toBe(false);
    const addr = JSON.parse(lines[i])[2] as number;
    expect(rep.firstDifference).toBe(`line ${i + 1}: munmap(0x${addr.toString(16)}): the kernel returned ENOMEM, the simulator EINVAL`);
  });

  it('a decimal string is refused for a value a number holds, or out of 64 bits', async () => {
    const trace = join(dir, 'bigargs.trace');
    const lines = readFileSync(trace, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"18446744073709551615"'));
    for (const v of ['4096', '18446744073709551616', '-1', '0x10']) {
      const bad = join(dir, 'bigargs-bad-string.trace');
      writeFileSync(bad, [...lines.slice(0, i), lines[i].replace('"18446744073709551615"', `"${v}"`), ...lines.slice(i + 1)].join('\n'));
      await expect(replayTrace(bad), v).rejects.toThrow(new RegExp(`bigargs-bad-string.trace:${i + 1} \\(mremap\\.newAddr\\): must be an integer \\(a decimal string only from 2\\^53 to 2\\^64-1\\)`));
    }
  });
});

describe('a moving mremap of a huge-zero-page PMD (hugezero.c)', () => {
  it('replays and agrees under stock, relocate and auto', async () => {
    const trace = await recorded('hugezero');
    for (const policy of ['stock', 'relocate', 'auto'] as const) {
      let zeroPmds = 0;
      const { report } = await replayTrace(trace, {
        policy,
        plugins: plugins(policy),
        onKernel: (k) => k.eng.onRaw((r) => {
          if (r.type === E.PmdSet && r.c === HUGE_ZERO_PFN) zeroPmds++;
        }),
      });
      expect(report.firstDifference, policy).toBeNull();
      // the read faulted the huge zero page in, and both mremaps moved
      expect(zeroPmds, policy).toBeGreaterThan(0);
      expect(report.processes[0].moves, policy).toBe(2);
    }
  });
});
