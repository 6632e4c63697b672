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
import { E, HUGE_ZERO_PFN, ptePfn } from '@mmsim/core';
import { getPte } from '@mmsim/linux';
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

describe('a memfd mapped twice and shared with a fork child (memfd.c)', () => {
  it('replays its shmem faults and agrees: one page per offset in every mapping, no anon_vma', async () => {
    const trace = await recorded('memfd');
    const rs = await records(trace);
    expect(rs.filter((r) => r[0] === 'memfd').length).toBe(1);
    let comparedPages = 0;
    const shared: { vmas: number; anonVmas: number; pfns: Map<number, Set<number>> }[] = [];
    const { report } = await replayTrace(trace, {
      onSnapshot: (k, mm, snap) => {
        const pfns = new Map<number, Set<number>>();
        let vmas = 0;
        let anonVmas = 0;
        for (const id of k.mm(mm).vmas) {
          const v = k.vma(id);
          const e = snap.maps.find((m) => m[0] === v.start);
          if (!e || !e[5].startsWith('/memfd:')) continue;
          vmas++;
          if (v.anonVma) anonVmas++;
          for (let vpn = v.start; vpn < v.end; vpn++) {
            const pte = getPte(k, mm, vpn);
            if (pte <= 0) continue;
            const off = v.pgoff + (vpn - v.start);
            if (!pfns.has(off)) pfns.set(off, new Set());
            pfns.get(off)!.add(ptePfn(pte));
          }
        }
        for (const [first, n] of snap.present) for (const e of snap.maps) if (e[5].startsWith('/memfd:')) comparedPages += Math.max(0, Math.min(first + n, e[1]) - Math.max(first, e[0]));
        shared.push({ vmas, anonVmas, pfns });
      },
    });
    expect(report.firstDifference).toBeNull();
    expect(report.agree).toBe(true);
    // the comparison saw the memfd's pages (the tracer records them), not only the VMAs
    expect(comparedPages).toBeGreaterThan(100);
    expect(shared.length).toBe(2);
    for (const s of shared) {
      expect(s.vmas).toBe(3);
      expect(s.anonVmas).toBe(0);
      // an offset mapped by two VMAs maps one frame
      expect([...s.pfns.values()].every((set) => set.size === 1)).toBe(true);
      expect([...s.pfns.keys()].length).toBeGreaterThan(0);
    }
    // parent and child map the same frame at an offset both touched
    const [a, b] = shared;
    const both = [...a.pfns.keys()].filter((o) => b.pfns.has(o));
    expect(both.length).toBeGreaterThan(0);
    expect(both.every((o) => [...a.pfns.get(o)!][0] === [...b.pfns.get(o)!][0])).toBe(true);
    // no memfd fault is left unmodelled: only the program's own file mappings are
    expect(Object.keys(report.unmodelled)).toEqual(['fault on a file or special mapping (page cache not modelled)']);
  });
});

describe('a SysV segment attached twice and shared with a fork child (shm.c)', () => {
  it('replays shmget/shmat/shmdt and the segment faults (no fault-around), and agrees', async () => {
    const trace = await recorded('shm');
    const rs = await records(trace);
    expect(rs.map((r) => r[0]).filter((k) => k.startsWith('shm'))).toEqual(['shmget', 'shmat', 'shmat', 'shmdt']);
    let segmentPages = 0;
    let segmentVmas = 0;
    for (const policy of ['stock', 'relocate', 'auto'] as const) {
      const { report } = await replayTrace(trace, {
        policy,
        plugins: plugins(policy),
        onSnapshot: (_k, _mm, snap) => {
          if (policy !== 'stock') return;
          for (const e of snap.maps) {
            if (!e[5].startsWith('/SYSV')) continue;
            segmentVmas++;
            for (const [first, n] of snap.present) segmentPages += Math.max(0, Math.min(first + n, e[1]) - Math.max(first, e[0]));
          }
        },
      });
      expect(report.firstDifference, policy).toBeNull();
      expect(Object.keys(report.unmodelled), policy).toEqual(['fault on a file or special mapping (page cache not modelled)']);
    }
    // the child's two attachments and the parent's read-only one, their pages compared
    expect(segmentVmas).toBe(3);
    expect(segmentPages).toBeGreaterThan(30);
  });
});
