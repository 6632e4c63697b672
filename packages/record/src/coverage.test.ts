/**
 * What a trace used to leave uncompared or call unmodelled (issue 33), each as a small C
 * program recorded on this machine's kernel and replayed: every mm is compared at its
 * last task's exit and at the execve() that drops it, a recorded SIGSEGV is a result the
 * model must give too, pages GUP fills without a fault are faulted in from the syscall.
 * Each case also shows the comparison can fail: the same trace with the records that
 * matter taken out (or changed) disagrees where the recording says it should.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoRelocatePlugin } from '@mmsim/auto-relocate';
import { relocateAnonPlugin } from '@mmsim/relocate-anon';
import { beforeAll, describe, expect, it } from 'vitest';
import { COVERAGE_WORKLOADS, buildWorkload, record, replayTrace, type Policy, type TraceRecord } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-coverage-test-'));
const traces = new Map<string, string>();

async function replay(trace: string, policy: Policy = 'stock') {
  const plugins = policy === 'relocate' ? [relocateAnonPlugin] : policy === 'auto' ? [autoRelocatePlugin] : [];
  return (await replayTrace(trace, { policy, plugins })).report;
}

/** the trace's record lines, parsed, with their line numbers */
function records(trace: string): { r: TraceRecord; line: number }[] {
  return readFileSync(trace, 'utf8')
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l, i) => ({ r: JSON.parse(l) as TraceRecord, line: i + 2 }))
    .filter(({ r }) => r[0] !== 'end');
}

/** a copy of the trace with its records edited (null drops one), the end record recounted */
function edited(trace: string, name: string, edit: (r: TraceRecord, i: number) => TraceRecord | null): string {
  const lines = readFileSync(trace, 'utf8').trimEnd().split('\n');
  const out = [lines[0]];
  lines.slice(1, -1).forEach((l, i) => {
    const r = edit(JSON.parse(l) as TraceRecord, i);
    if (r) out.push(JSON.stringify(r));
  });
  out.push(`["end",${out.length - 1}]`);
  const p = join(dir, name);
  writeFileSync(p, out.join('\n') + '\n');
  return p;
}

describe('coverage: every mm compared, signals and GUP fills replayed (real programs)', () => {
  beforeAll(async () => {
    for (const w of COVERAGE_WORKLOADS) {
      const out = join(dir, `${w.name}.trace`);
      const r = await record(buildWorkload(w)!, out, { stdio: 'ignore', ...(w.name === 'periodic' ? { snapshotEvery: 0.25 } : {}) });
      expect(r.exitCode, w.name).toBe(0);
      traces.set(w.name, out);
    }
  }, 180_000);

  it('threadexit: the leader pthread_exit()s first; the mm is compared when its last thread exits', async () => {
    const t = traces.get('threadexit')!;
    const rs = records(t);
    const root = (rs.find(({ r }) => r[0] === 'exec')!.r as ['exec', number, unknown])[1];
    const leaderExit = rs.find(({ r }) => r[0] === 'exit' && r[1] === root)!.line;
    const snaps = rs.filter(({ r }) => r[0] === 'snap');
    // one snapshot, after the leader's exit and after every fault and munmap of the threads
    expect(snaps.length).toBe(1);
    expect(snaps[0].line).toBeGreaterThan(leaderExit);
    expect(snaps[0].r[1]).not.toBe(root);
    const lastWork = Math.max(...rs.filter(({ r }) => r[0] === 'f' || r[0] === 'munmap' || r[0] === 'mremap').map(({ line }) => line));
    expect(snaps[0].line).toBeGreaterThan(lastWork);
    expect(rs.filter(({ r }) => r[0] === 'f' && r[1] !== root).length).toBeGreaterThan(1000);
    const rep = await replay(t);
    expect(rep.differences).toEqual([]);
    expect(rep.agree).toBe(true);
    const p = rep.processes[0];
    expect(p.snapshots).toBe(1);
    expect(p.agree).toBe(true);
    // the end counts are the compared snapshot's: as many VMAs as it lists
    expect(p.vmas).toBe((snaps[0].r as ['snap', number, { maps: unknown[] }])[2].maps.length);
    // the threads' last munmap taken out: the compared mm keeps a VMA the kernel unmapped
    const lastMunmap = Math.max(...rs.filter(({ r }) => r[0] === 'munmap' && r[1] !== root && r[4] === 0).map(({ line }) => line));
    const cut = edited(t, 'threadexit-cut.trace', (r, i) => (i + 2 === lastMunmap ? null : r));
    const bad = await replay(cut);
    expect(bad.agree).toBe(false);
    expect(bad.firstDifference).toMatch(/at exit: VMA \d+: recorded/);
  });

  it('forkexec: the fork copy is compared at its execve(), and the rows of one pid are named apart', async () => {
    const t = traces.get('forkexec')!;
    const rep = await replay(t);
    expect(rep.differences).toEqual([]);
    expect(rep.processes.length).toBe(3);
    const [parent, copy, execd] = rep.processes;
    expect(copy.pid).toBe(execd.pid);
    expect([parent.generation, copy.generation, execd.generation]).toEqual([1, 0, 1]);
    expect(new Set(rep.processes.map((p) => p.name)).size).toBe(3);
    expect(copy.name).toMatch(new RegExp(`^${copy.pid} workload-forkexec-\\w+ #0$`));
    expect(rep.processes.every((p) => p.snapshots === 1 && p.agree === true)).toBe(true);
    // the child's fills before its exec dropped: its pre-exec mm disagrees, at execve
    const rs = records(t);
    const fork = rs.find(({ r }) => r[0] === 'fork')!;
    const child = fork.r[2] as number;
    const atExecve = rs.find(({ r }) => r[0] === 'snap' && r[1] === child)!;
    expect((atExecve.r as ['snap', number, { at?: string }])[2].at).toBe('execve');
    // the fork copy shares frames with its parent (COW) and the zero page: pagemap says so, and the model agrees
    const shared = ((atExecve.r[2] as { shared?: [number, number][] }).shared ?? []).reduce((n, [, p]) => n + p, 0);
    expect(shared).toBeGreaterThan(10);
    const unshared = edited(t, 'forkexec-unshared.trace', (r, i) => (i + 2 === atExecve.line ? (['snap', r[1], { ...(r[2] as object), shared: [] }] as unknown as TraceRecord) : r));
    expect(rep.sharingDifferences).toEqual([]);
    const wrong = await replay(unshared);
    expect(wrong.sharingDifferences.length).toBeGreaterThan(0);
    expect(wrong.sharingDifferences.every((d) => new RegExp(`^line ${atExecve.line}: process ${child}: pages? .*: recorded exclusive, simulated shared \\(pagemap PM_MMAP_EXCLUSIVE\\)$`).test(d))).toBe(true);
    const cut = edited(t, 'forkexec-cut.trace', (r, i) => (i + 2 > fork.line && i + 2 < atExecve.line && r[0] === 'f' && r[1] === child && r[3] === 1 ? null : r));
    const bad = await replay(cut);
    expect(bad.agree).toBe(false);
    expect(bad.differences.every((d) => d.includes(`process ${child} at execve: page`))).toBe(true);
  });

  it('segv: the polling page and the null check are signals the model gives too, not "unmodelled"', async () => {
    const t = traces.get('segv')!;
    const rs = records(t);
    expect(rs.filter(({ r }) => r[0] === 'sig' && r[2] === 11).length).toBe(4);
    const rep = await replay(t);
    expect(rep.differences).toEqual([]);
    expect(rep.processes[0].signals).toBe(4);
    expect(Object.keys(rep.unmodelled).filter((k) => /SIGSEGV|outside every VMA/.test(k))).toEqual([]);
    // the safepoint never armed (mprotect PROT_READ, not PROT_NONE): the recorded signals have no fault in the model
    const bad = await replay(edited(t, 'segv-unarmed.trace', (r) => (r[0] === 'mprotect' && r[4] === 0 ? (['mprotect', r[1], r[2], r[3], 1, r[5]] as TraceRecord) : r)));
    expect(bad.agree).toBe(false);
    expect(bad.differences.filter((d) => /SIGSEGV \(si_code 2\) delivered to task \d+: the simulator did not fault/.test(d)).length).toBe(3);
    expect(bad.processes[0].signals).toBe(1); // the null check still faults
  });

  it('gupfill: process_vm_writev/readv and vmsplice fill fresh buffers through GUP: faulted in from the syscall', async () => {
    const t = traces.get('gupfill')!;
    const gup = records(t).filter(({ r }) => r[0] === 'gup').map(({ r }) => r.slice(3));
    // writev's two remote iovecs (written), readv's remote one and vmsplice's own (read)
    expect(gup).toEqual([[65536, 1], [65536, 1], [32768, 0], [16384, 0]]);
    const rep = await replay(t);
    expect(rep.differences).toEqual([]);
    // without the GUP records each buffer's pages are missing: every one listed
    const bad = await replay(edited(t, 'gupfill-nogup.trace', (r) => (r[0] === 'gup' ? null : r)));
    expect(bad.differences.length).toBe(4);
    expect(bad.differences.every((d) => /at exit: pages 0x[0-9a-f]+-0x[0-9a-f]+ \(\d+\) in .*: recorded present, simulated not present/.test(d))).toBe(true);
  });

  it('odirect: read and pread of an O_DIRECT file fill the buffer through GUP', async () => {
    const t = traces.get('odirect')!;
    const gup = records(t).filter(({ r }) => r[0] === 'gup');
    expect(gup.map(({ r }) => r.slice(3))).toEqual([[131072, 1], [131072, 1]]);
    const rep = await replay(t);
    expect(rep.differences).toEqual([]);
    const bad = await replay(edited(t, 'odirect-nogup.trace', (r) => (r[0] === 'gup' ? null : r)));
    expect(bad.agree).toBe(false);
    expect(bad.firstDifference).toMatch(/pages 0x[0-9a-f]+-0x[0-9a-f]+ \(64\) in .*: recorded present, simulated not present/);
  });

  it('periodic: --snapshot-every compares the mm mid-run, with mappings the exit no longer has', async () => {
    const t = traces.get('periodic')!;
    const rs = records(t);
    const mid = rs.filter(({ r }) => r[0] === 'snap' && (r[2] as { at?: string }).at === 'periodic');
    expect(mid.length).toBeGreaterThanOrEqual(3);
    const rep = await replay(t);
    expect(rep.differences).toEqual([]);
    expect(rep.processes[0].snapshots).toBe(mid.length + 1);
    // an mmap before the first mid-run snapshot and unmapped after it: dropped, only that snapshot can tell
    const first = mid[0].line;
    const unmapped = new Set(rs.filter(({ r, line }) => r[0] === 'munmap' && line > first).map(({ r }) => r[2]));
    const mmap = rs.filter(({ r, line }) => r[0] === 'mmap' && line < first && unmapped.has(r[8] as number)).at(-1)!;
    const cut = edited(t, 'periodic-cut.trace', (r, i) => (i + 2 === mmap.line ? null : r));
    const bad = await replay(cut);
    expect(bad.agree).toBe(false);
    expect(bad.differences.every((d) => d.includes('mid-run (periodic snapshot)'))).toBe(true);
  });

  it('relocate and auto: boundaries are the policy\'s effect (agree), a wrong permission is still a difference', async () => {
    const t = traces.get('threadexit')!;
    for (const policy of ['relocate', 'auto'] as const) {
      const rep = await replay(t, policy);
      expect(rep.differences).toEqual([]);
      expect(rep.agree).toBe(true);
      // relocation rewrites folio metadata only: every frame as shared as pagemap says
      expect(rep.sharingDifferences).toEqual([]);
    }
    const seg = traces.get('segv')!;
    // the polling page's last mprotect to PROT_READ replayed as PROT_WRITE|PROT_READ: what the program sees differs
    const last = Math.max(...records(seg).filter(({ r }) => r[0] === 'mprotect' && r[4] === 1).map(({ line }) => line));
    const bad = await replay(edited(seg, 'segv-rw.trace', (r, i) => (i + 2 === last ? (['mprotect', r[1], r[2], r[3], 3, r[5]] as TraceRecord) : r)), 'auto');
    expect(bad.agree).toBe(false);
    expect(bad.firstDifference).toMatch(/recorded r--p, simulated rw-p/);
  });
});
