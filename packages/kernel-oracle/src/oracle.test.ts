import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  checkExpectations,
  parseScenario,
  type Observation,
  type ProcSnapshot,
  type Scenario,
} from '@mmsim/scenario';
import { OracleError, OracleUnavailableError, hostKernelConfig, kernelVersion, machineKernel, notComparableReason, oracleAvailable, runOnKernel, toScript } from './index.js';
import { procSlots } from './oracle.js';

/** Read faults map the shared zero page here (false where the kernel was booted with pvm_no_zero_page=1). */
const faultZeroPage = hostKernelConfig().faultZeroPage !== false;

const HERE = dirname(fileURLToPath(import.meta.url));
const GOLDEN = join(HERE, '..', '..', '..', 'scenarios', 'golden');

const canRun = oracleAvailable();
if (!canRun) throw new Error('the kernel oracle cannot run here: these tests need Linux, root and gcc');
const thpEnabled = (() => {
  try {
    return !/\[never\]/.test(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'));
  } catch {
    return false;
  }
})();
if (!thpEnabled) throw new Error('transparent_hugepage is [never] here: the THP oracle tests need madvise or always');

function goldens(sub: string): [string, Scenario][] {
  const dir = join(GOLDEN, sub);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, parseScenario(readFileSync(join(dir, f), 'utf8'), `scenarios/golden/${sub}/${f}`)]);
}

function scenario(arenaPages: number, steps: unknown[], name = 'test'): Scenario {
  return parseScenario({ format: 'mmsim-scenario/1', name, arena: { pages: arenaPages }, steps });
}
function snap(o: Observation, label: string, proc: number): ProcSnapshot {
  const s = o.snapshots.find((x) => x.label === label);
  const p = s?.procs.find((x) => x.proc === proc);
  if (!p) throw new Error(`no snapshot ${label} proc ${proc}`);
  return p;
}

describe('process slots: scenario ids are never reused, oracle slots are', () => {
  it('an exited process gives its slot to the next child; snapshots map slots back', () => {
    const s = scenario(8, [{ op: 'fork' }, { op: 'fork' }, { op: 'exit', proc: 1 }, { op: 'fork' }, { op: 'snapshot', label: 'a' }, { op: 'exit', proc: 0 }, { op: 'fork', proc: 2 }]);
    const { slots, slotOf, procOf } = procSlots(s);
    expect(slots).toBe(3);
    expect([...slotOf[4]]).toEqual([[0, 0], [2, 2], [3, 1]]);
    expect(procOf[4].get(1)).toBe(3);
    const script = toScript(s).split('\n');
    expect(script[1]).toBe('procs 3');
    expect(script).toContain('fork 3 0 1'); // process 3 takes slot 1 of the exited process 1
    expect(script).toContain('fork 6 2 0'); // process 4 takes slot 0 of process 0
  });

  it('200 fork/exit pairs with two alive need two slots besides process 0', () => {
    const steps: unknown[] = [{ op: 'fork' }];
    for (let n = 2; n < 202; n++) steps.push({ op: 'fork' }, { op: 'exit', proc: n });
    expect(procSlots(scenario(8, steps)).slots).toBe(3);
  });
});

describe('comparability with this machine', () => {
  const machine = { thp: 'madvise', mthp: [], relocateAnon: false as const };
  it('RELOCATE flags are comparable only under "none"; THP settings must match', () => {
    const p = { relocateAnon: 'fixed', mthp: [], thp: 'madvise' };
    expect(notComparableReason(true, p, machine)).toBe("this machine's kernel lacks MREMAP_RELOCATE_ANON");
    expect(notComparableReason(false, p, machine)).toBeNull();
    expect(notComparableReason(true, { ...p, relocateAnon: 'none' }, machine)).toBeNull();
    expect(notComparableReason(false, { ...p, thp: 'always' }, machine)).toMatch(/runs THP "madvise", the profile "always"/);
    expect(notComparableReason(false, { ...p, mthp: [4] }, machine)).toMatch(/mTHP orders \[\], the profile \[4\]/);
  });

  it('machineKernel reads the THP mode of this machine', () => {
    const m = machineKernel();
    if (existsSync('/sys/kernel/mm/transparent_hugepage/enabled'))
      expect(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')).toContain(`[${m.thp}]`);
    expect(m.mthp.every((o) => o >= 1 && o <= 8)).toBe(true);
  });
});

describe('toScript (no kernel needed)', () => {
  it('translates every oracle op into the line protocol', () => {
    const s = scenario(64, [
      { op: 'mmap', page: 0, pages: 10, prot: 'rw-', noreserve: true },
      { op: 'mprotect', page: 0, pages: 5, prot: 'r-x' },
      { op: 'madvise', page: 0, pages: 5, advice: 'COLLAPSE' },
      { op: 'mremap', page: 5, pages: 5, newPages: 6, flags: ['MAYMOVE', 'FIXED', 'MUST_RELOCATE_ANON'], to: 20 },
      { op: 'touch', page: 0, pages: 2, access: 'read' },
      { op: 'fork' },
      { op: 'snapshot', label: 'x' },
      { op: 'exit', proc: 1 },
      { op: 'munmap', page: 0, pages: 64 },
      { op: 'prctl', option: 'PR_SET_MEMORY_MERGE', value: 1 },
    ]);
    expect(toScript(s).split('\n')).toEqual([
      'arena 64',
      'procs 2',
      'mmap 0 0 0 10 3 0 0 1',
      'mprotect 1 0 0 5 5',
      'madvise 2 0 0 5 25',
      'mremap 3 0 5 5 6 19 20',
      'touch 4 0 0 2 0',
      'fork 5 0 1',
      'snapshot 6',
      'exit 7 1',
      'munmap 8 0 0 64',
      'prctl 9 0 67 1',
      'snapshot 10',
      'end',
      '',
    ]);
  });

  it('translates the VMA-flag steps: mlock2 flags, MCL_* bits, the anon name as a word', () => {
    const s = scenario(64, [
      { op: 'mlock', page: 1, pages: 2 },
      { op: 'mlock', page: 3, pages: 2, onfault: true },
      { op: 'munlock', page: 1, pages: 4 },
      { op: 'mlockall', flags: ['CURRENT', 'FUTURE', 'ONFAULT'] },
      { op: 'munlockall' },
      { op: 'mseal', page: 5, pages: 1 },
      { op: 'anon_name', page: 6, pages: 2, name: 'jit' },
      { op: 'madvise', page: 0, pages: 1, advice: 'DONTDUMP' },
      { op: 'mbind', page: 0, pages: 1, mode: 'BIND', nodes: [0, 33] },
    ]);
    expect(toScript(s).split('\n').slice(2, 11)).toEqual([
      'mlock 0 0 1 2 0',
      'mlock 1 0 3 2 1',
      'munlock 2 0 1 4',
      'mlockall 3 0 7',
      'munlockall 4 0',
      'mseal 5 0 5 1',
      'anon_name 6 0 6 2 jit',
      'madvise 7 0 0 1 16',
      'mbind 8 0 0 1 2 1 2',
    ]);
  });

  it('refuses simulator-only ops', async () => {
    const s = scenario(64, [{ op: 'mmap', page: 0, pages: 1, prot: 'rw-' }, { op: 'swapout', page: 0, pages: 1 }]);
    await expect(runOnKernel(s)).rejects.toBeInstanceOf(OracleUnavailableError);
    await expect(runOnKernel(s)).rejects.toThrow(/simulator-only op "swapout" \(step 1\)/);
  });

  it('refuses an injected fault: the real kernel has no fail_prealloc', async () => {
    const s = scenario(64, [{ op: 'mmap', page: 0, pages: 2, prot: 'rw-' }, { op: 'mprotect', page: 0, pages: 1, prot: 'r--', fail: 'prealloc' }]);
    await expect(runOnKernel(s)).rejects.toThrow(/an injected fault \("fail": "prealloc"\) \(step 1\)/);
  });
});

describe(`kernel oracle on Linux ${kernelVersion()}`, () => {
  // the ports of tools/testing/selftests/mm/merge.c and of tools/testing/vma/vma.c
  for (const sub of ['merge', 'vma']) {
    describe(`${sub} goldens: every expectation holds on the real kernel`, () => {
      const corpus = goldens(sub);
      it(`has the ${sub} corpus`, () => expect(corpus.length).toBeGreaterThan(0));
      for (const [f, s] of corpus) {
        it(f, async () => {
          const o = await runOnKernel(s);
          expect(checkExpectations(s, o)).toEqual([]);
          expect(o.snapshots.at(-1)!.label).toBe('final');
        });
      }
    });
  }

  describe('relocate-anon goldens: released kernels answer EINVAL to the relocate flags', () => {
    const reloc = goldens('relocate-anon');
    it('has the relocate-anon corpus', () => expect(reloc.length).toBeGreaterThan(0));
    for (const [f, s] of reloc) {
      it(f, async () => {
        const o = await runOnKernel(s);
        const relocating = s.steps.flatMap((st, i) =>
          st.op === 'mremap' && st.flags.some((x) => x === 'RELOCATE_ANON' || x === 'MUST_RELOCATE_ANON') ? [i] : [],
        );
        expect(relocating.length).toBeGreaterThan(0);
        for (const i of relocating) expect(o.steps.find((x) => x.i === i)!.result).toEqual({ ok: false, errno: 'EINVAL' });
      });
    }
  });

  it('observation shape: steps skip snapshots, results carry pages', async () => {
    const s = scenario(64, [
      { op: 'mmap', page: 0, pages: 10, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 10 },
      { op: 'mremap', page: 5, pages: 5, flags: ['MAYMOVE', 'FIXED'], to: 20 },
      { op: 'snapshot', label: 'moved' },
      { op: 'munmap', page: 0, pages: 64 },
    ]);
    const o = await runOnKernel(s);
    expect(o.format).toBe('mmsim-observation/1');
    expect(o.scenario).toBe('test');
    expect(o.steps).toEqual([
      { i: 0, op: 'mmap', result: { ok: true, page: 0 } },
      { i: 1, op: 'touch', result: { ok: true } },
      { i: 2, op: 'mremap', result: { ok: true, page: 20 } },
      { i: 4, op: 'munmap', result: { ok: true } },
    ]);
    expect(o.snapshots.map((x) => x.label)).toEqual(['moved', 'final']);
    const moved = snap(o, 'moved', 0);
    expect(moved.vmas).toEqual([
      { start: 0, end: 5, perms: 'rw-p', vmFlags: 'ac' },
      { start: 20, end: 25, perms: 'rw-p', vmFlags: 'ac' },
    ]);
    expect(moved.pages.map((p) => p.page)).toEqual([0, 1, 2, 3, 4, 20, 21, 22, 23, 24]);
    expect(moved.pages.map((p) => p.frame)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9', 'f10']);
    expect(moved.pages.every((p) => p.present && !p.swapped && p.exclusive && p.compound === null)).toBe(true);
    expect(snap(o, 'final', 0)).toEqual({ proc: 0, vmas: [], pages: [] });
  });

  it('fork shares frames copy-on-write until a write', async () => {
    const s = scenario(64, [
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2 },
      { op: 'fork' },
      { op: 'snapshot', label: 'forked' },
      { op: 'touch', proc: 1, page: 0, pages: 1 },
      { op: 'snapshot', label: 'child-wrote' },
    ]);
    const o = await runOnKernel(s);
    const [p0, p1] = [snap(o, 'forked', 0), snap(o, 'forked', 1)];
    expect(p0.vmas).toEqual([{ start: 0, end: 4, perms: 'rw-p', vmFlags: 'ac' }]);
    expect(p1.vmas).toEqual(p0.vmas);
    expect(p0.pages.map((p) => [p.page, p.frame, p.exclusive])).toEqual([
      [0, 'f1', false],
      [1, 'f2', false],
    ]);
    expect(p1.pages).toEqual(p0.pages);
    const [q0, q1] = [snap(o, 'child-wrote', 0), snap(o, 'child-wrote', 1)];
    expect(q0.pages.map((p) => [p.page, p.frame, p.exclusive])).toEqual([
      [0, 'f1', true],
      [1, 'f2', false],
    ]);
    expect(q1.pages.map((p) => [p.page, p.frame, p.exclusive])).toEqual([
      [0, 'f3', true],
      [1, 'f2', false],
    ]);
  });

  it('exit removes the process; the survivor becomes exclusive', async () => {
    const s = scenario(64, [
      { op: 'mmap', page: 0, pages: 2, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2 },
      { op: 'fork' },
      { op: 'fork', proc: 1 },
      { op: 'exit', proc: 0 },
      { op: 'exit', proc: 2 },
      { op: 'touch', proc: 1, page: 1, pages: 1 },
    ]);
    const o = await runOnKernel(s);
    expect(o.steps.map((x) => x.result)).toEqual([{ ok: true, page: 0 }, { ok: true }, { ok: true }, { ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    const fin = o.snapshots.at(-1)!;
    expect(fin.procs.map((p) => p.proc)).toEqual([1]);
    expect(fin.procs[0].pages.map((p) => [p.page, p.frame, p.exclusive])).toEqual([
      [0, 'f1', true],
      [1, 'f2', true],
    ]);
  });

  it(`read touches ${faultZeroPage ? 'map the shared zero page' : 'allocate exclusive folios (pvm_no_zero_page=1)'}`, async () => {
    const s = scenario(64, [
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2, access: 'read' },
      { op: 'touch', page: 3, pages: 1 },
      { op: 'snapshot', label: 'read' },
      { op: 'touch', page: 1, pages: 1 },
    ]);
    const o = await runOnKernel(s);
    if (faultZeroPage) {
      expect(snap(o, 'read', 0).pages).toEqual([
        { page: 0, present: true, swapped: false, frame: 'zero', compound: null, exclusive: false },
        { page: 1, present: true, swapped: false, frame: 'zero', compound: null, exclusive: false },
        { page: 3, present: true, swapped: false, frame: 'f1', compound: null, exclusive: true },
      ]);
      expect(snap(o, 'final', 0).pages.map((p) => [p.page, p.frame, p.exclusive])).toEqual([
        [0, 'zero', false],
        [1, 'f1', true],
        [3, 'f2', true],
      ]);
    } else {
      // a read fault allocates a folio as a write fault does; the later write reuses it
      expect(snap(o, 'read', 0).pages.map((p) => [p.page, p.frame, p.exclusive])).toEqual([
        [0, 'f1', true],
        [1, 'f2', true],
        [3, 'f3', true],
      ]);
      expect(snap(o, 'final', 0).pages.map((p) => [p.page, p.frame, p.exclusive])).toEqual([
        [0, 'f1', true],
        [1, 'f2', true],
        [3, 'f3', true],
      ]);
    }
  });

  it('MADV_HUGEPAGE + one write touch gives a PMD THP: 1 head + 511 tails', async () => {
    const s = scenario(1024, [
      { op: 'mmap', page: 512, pages: 512, prot: 'rw-' },
      { op: 'madvise', page: 512, pages: 512, advice: 'HUGEPAGE' },
      { op: 'touch', page: 512, pages: 1 },
    ]);
    const o = await runOnKernel(s);
    expect(o.steps.map((x) => x.result)).toEqual([{ ok: true, page: 512 }, { ok: true }, { ok: true }]);
    const p = snap(o, 'final', 0);
    expect(p.vmas).toEqual([{ start: 512, end: 1024, perms: 'rw-p', vmFlags: 'ac hg' }]);
    expect(p.pages).toHaveLength(512);
    expect(p.pages[0]).toEqual({ page: 512, present: true, swapped: false, frame: 'f1', compound: 'head', exclusive: true });
    expect(p.pages.slice(1).every((x) => x.compound === 'tail' && x.present && x.exclusive)).toBe(true);
    // every subpage of the THP is its own PFN, hence its own frame name
    expect(new Set(p.pages.map((x) => x.frame)).size).toBe(512);
  });

  it('a read touch in a MADV_HUGEPAGE region maps the huge zero page', async () => {
    const s = scenario(1024, [
      { op: 'mmap', page: 512, pages: 512, prot: 'rw-' },
      { op: 'madvise', page: 512, pages: 512, advice: 'HUGEPAGE' },
      { op: 'touch', page: 512, pages: 1, access: 'read' },
    ]);
    const o = await runOnKernel(s);
    const p = snap(o, 'final', 0);
    // with use_zero_page off, or read faults without the zero page, it allocates a THP
    if (!faultZeroPage || hostKernelConfig().useZeroPage === false) {
      expect(p.pages).toHaveLength(512);
      expect(p.pages[0]).toMatchObject({ compound: 'head', exclusive: true });
      expect(p.pages.slice(1).every((x) => x.compound === 'tail' && x.frame !== 'zero')).toBe(true);
    } else {
      expect(p.pages).toHaveLength(512);
      expect(p.pages.every((x) => x.frame === 'zero' && !x.exclusive)).toBe(true);
      expect(p.pages[0].compound).toBe('head');
      expect(p.pages[511].compound).toBe('tail');
    }
  });

  it('touch stops at the first page that faults with SIGSEGV', async () => {
    const s = scenario(64, [
      { op: 'mmap', page: 0, pages: 2, prot: 'rw-' },
      { op: 'mmap', page: 2, pages: 2, prot: '---' },
      { op: 'touch', page: 0, pages: 4 },
      { op: 'touch', page: 10, pages: 1, access: 'read' },
      { op: 'mmap', page: 20, pages: 2, prot: 'r--' },
      { op: 'touch', page: 20, pages: 2, access: 'read' },
      { op: 'touch', page: 20, pages: 2 },
    ]);
    const o = await runOnKernel(s);
    expect(o.steps.map((x) => x.result)).toEqual([
      { ok: true, page: 0 },
      { ok: true, page: 2 },
      { ok: false, signal: 'SIGSEGV', page: 2 },
      { ok: false, signal: 'SIGSEGV', page: 10 },
      { ok: true, page: 20 },
      { ok: true },
      { ok: false, signal: 'SIGSEGV', page: 20 },
    ]);
    const p = snap(o, 'final', 0);
    expect(p.vmas).toEqual([
      { start: 0, end: 2, perms: 'rw-p', vmFlags: 'ac' },
      { start: 2, end: 4, perms: '---p', vmFlags: '' },
      { start: 20, end: 22, perms: 'r--p', vmFlags: '' },
    ]);
    expect(p.pages.map((x) => [x.page, x.frame])).toEqual([
      [0, 'f1'],
      [1, 'f2'],
      [20, faultZeroPage ? 'zero' : 'f3'],
      [21, faultZeroPage ? 'zero' : 'f4'],
    ]);
  });

  it('mmap over an existing mapping: EEXIST without fixed, replaces with fixed', async () => {
    const s = scenario(64, [
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 4 },
      { op: 'mmap', page: 2, pages: 4, prot: 'rw-' },
      { op: 'mmap', page: 2, pages: 4, prot: 'r--', fixed: true },
      { op: 'mmap', page: 8, pages: 2, prot: 'rw-', shared: true },
    ]);
    const o = await runOnKernel(s);
    expect(o.steps.map((x) => x.result)).toEqual([
      { ok: true, page: 0 },
      { ok: true },
      { ok: false, errno: 'EEXIST' },
      { ok: true, page: 2 },
      { ok: true, page: 8 },
    ]);
    const p = snap(o, 'final', 0);
    expect(p.vmas).toEqual([
      { start: 0, end: 2, perms: 'rw-p', vmFlags: 'ac' },
      { start: 2, end: 6, perms: 'r--p', vmFlags: '' },
      { start: 8, end: 10, perms: 'rw-s', vmFlags: '' },
    ]);
    expect(p.pages.map((x) => x.page)).toEqual([0, 1]);
  });

  it('errno names for failing calls, and null for an address outside the arena', async () => {
    const s = scenario(64, [
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'mmap', page: 4, pages: 4, prot: 'r--' },
      { op: 'mremap', page: 0, pages: 4, newPages: 8 },
      { op: 'mremap', page: 0, pages: 4, newPages: 8, flags: ['MAYMOVE'] },
      { op: 'mprotect', page: 10, pages: 1, prot: 'r--' },
      { op: 'madvise', page: 10, pages: 1, advice: 'HUGEPAGE' },
      { op: 'munmap', page: 10, pages: 1 },
    ]);
    const o = await runOnKernel(s);
    expect(o.steps.map((x) => x.result)).toEqual([
      { ok: true, page: 0 },
      { ok: true, page: 4 },
      { ok: false, errno: 'ENOMEM' },
      { ok: true, page: null },
      { ok: false, errno: 'ENOMEM' },
      { ok: false, errno: 'ENOMEM' },
      { ok: true },
    ]);
    expect(snap(o, 'final', 0).vmas).toEqual([{ start: 4, end: 8, perms: 'r--p', vmFlags: '' }]);
  });

  describe('failures of the oracle process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-oracle-test-'));
    const script = (name: string, body: string) => {
      const f = join(dir, name);
      writeFileSync(f, `#!/bin/sh\n${body}\n`);
      chmodSync(f, 0o755);
      return f;
    };
    const s = scenario(64, [{ op: 'mmap', page: 0, pages: 1, prot: 'rw-' }]);
    it('times out and kills the process group', async () => {
      const bin = script('hang', 'sleep 30 & echo started >&2; wait');
      const t = Date.now();
      await expect(runOnKernel(s, { binary: bin, timeoutMs: 300 })).rejects.toThrow(/timed out after 300 ms/);
      expect(Date.now() - t).toBeLessThan(5000);
    });
    it('a failing oracle reports its stderr', async () => {
      const bin = script('fail', 'echo "oracle: something broke" >&2; exit 3');
      const e = await runOnKernel(s, { binary: bin }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OracleError);
      expect((e as OracleError).message).toMatch(/exit 3[\s\S]*oracle: something broke/);
    });
    it('truncated output is an error', async () => {
      const bin = script('short', 'cat >/dev/null; echo "R 0 okp 0"');
      await expect(runOnKernel(s, { binary: bin })).rejects.toThrow(/no END line/);
    });
  });

  it('runs are deterministic', async () => {
    const [[, s]] = goldens('merge');
    const a = await runOnKernel(s);
    const b = await runOnKernel(s);
    expect(b).toEqual(a);
  });
});
