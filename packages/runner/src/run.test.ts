import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { E, FOLIO_KSM, encodeLogFile, folioAtHead, lookupPte, ptePfn, replay } from '@mmsim/core';
import { checkExpectations, parseScenario } from '@mmsim/scenario';
import { randomScenario } from './random.js';
import { observationFromLog, runScenario } from './run.js';
import { ARENA_BASE, Kernel, doMmap, doMremap, getPte, userAccess } from '@mmsim/linux';

const goldenRoot = fileURLToPath(new URL('../../../scenarios/golden/', import.meta.url));
// merge.c's ports first (goldens[0] is one of them), then tools/testing/vma/vma.c's
const goldens = ['merge', 'vma'].flatMap((d) =>
  readdirSync(goldenRoot + d)
    .filter((f) => f.endsWith('.json'))
    .map((f) => parseScenario(readFileSync(`${goldenRoot}${d}/${f}`, 'utf8'), `${d}/${f}`)),
);

describe('the merge and vma goldens (each checked on a real 6.18 kernel)', () => {
  for (const s of goldens) {
    it(s.name, () => {
      const r = runScenario(s);
      expect(checkExpectations(s, r.observation)).toEqual([]);
    });
  }
});

const regressDir = fileURLToPath(new URL('../../../scenarios/regress/', import.meta.url));
describe('regressions found by differential fuzzing (expectations from the real kernel)', () => {
  for (const f of readdirSync(regressDir).filter((x) => x.endsWith('.json'))) {
    it(f, () => {
      const s = parseScenario(readFileSync(regressDir + f, 'utf8'), f);
      expect(checkExpectations(s, runScenario(s).observation)).toEqual([]);
    });
  }
});

describe('the log is the truth', () => {
  it('replaying a golden log reproduces the state and the observation', () => {
    for (const s of goldens) {
      const r = runScenario(s);
      expect(replay(r.engine.log)).toEqual(r.engine.state);
      expect(observationFromLog(r.engine.log, r.header)).toEqual(r.observation);
    }
  });

  it('replay equals run on random scenarios (property)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const s = randomScenario(seed);
      const r = runScenario(s);
      expect(replay(r.engine.log), `seed ${seed}`).toEqual(r.engine.state);
      expect(observationFromLog(r.engine.log, r.header), `seed ${seed}`).toEqual(r.observation);
    }
  });

  it('the same scenario gives a byte-identical log', () => {
    const s = goldens[0];
    const a = runScenario(s);
    const b = runScenario(s);
    expect(Buffer.from(encodeLogFile(a.engine.log, a.header)).equals(Buffer.from(encodeLogFile(b.engine.log, b.header)))).toBe(true);
  });
});

describe('observations', () => {
  const run = (steps: unknown[]) =>
    runScenario(parseScenario({ format: 'mmsim-scenario/1', name: 't', arena: { pages: 2048 }, steps })).observation;

  it('a read touch maps the zero page, a write a new exclusive frame', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2, access: 'read' },
      { op: 'touch', page: 2, pages: 1 },
    ]);
    const pages = o.snapshots[0].procs[0].pages;
    expect(pages.map((p) => p.frame)).toEqual(['zero', 'zero', 'f1']);
    expect(pages.map((p) => p.exclusive)).toEqual([false, false, true]);
  });

  it('fork shares frames until a write copies them (COW), then both are exclusive', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 2, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2 },
      { op: 'fork' },
      { op: 'snapshot', label: 'forked' },
      { op: 'touch', proc: 1, page: 0, pages: 1 },
    ]);
    const [p0, p1] = o.snapshots[0].procs;
    expect(p0.pages.map((p) => p.frame)).toEqual(p1.pages.map((p) => p.frame));
    expect(p0.pages.every((p) => !p.exclusive)).toBe(true);
    const [q0, q1] = o.snapshots[1].procs;
    expect(q1.pages[0].frame).not.toBe(q0.pages[0].frame);
    expect(q0.pages[0].exclusive && q1.pages[0].exclusive).toBe(true);
    expect(q0.pages[1].frame).toBe(q1.pages[1].frame);
  });

  it('a THP: one head and 511 tails, all exclusive; after fork none are', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 512, prot: 'rw-' },
      { op: 'madvise', page: 0, pages: 512, advice: 'HUGEPAGE' },
      { op: 'touch', page: 0, pages: 1 },
      { op: 'snapshot', label: 'thp' },
      { op: 'fork' },
    ]);
    const pages = o.snapshots[0].procs[0].pages;
    expect(pages).toHaveLength(512);
    expect(pages[0].compound).toBe('head');
    expect(pages.slice(1).every((p) => p.compound === 'tail')).toBe(true);
    expect(new Set(pages.map((p) => p.frame)).size).toBe(512);
    expect(pages.every((p) => p.exclusive)).toBe(true);
    expect(o.snapshots[1].procs[0].pages.every((p) => !p.exclusive)).toBe(true);
  });

  it('KSM does not merge a pinned page (write_protect_page: references beyond the mappings)', () => {
    const r = runScenario(
      parseScenario({
        format: 'mmsim-scenario/1',
        name: 'ksm-pinned',
        arena: { pages: 2048 },
        steps: [
          { op: 'mmap', page: 0, pages: 2, prot: 'rw-' },
          { op: 'touch', page: 0, pages: 2 },
          { op: 'pin', page: 0, pages: 1 },
          { op: 'ksm', page: 0, pages: 2 },
        ],
      }),
    );
    const st = r.engine.state;
    const mm = st.mms[Number(Object.keys(st.mms)[0])];
    const flagsAt = (page: number) => folioAtHead(st, ptePfn(lookupPte(mm, ARENA_BASE + page)))!.flags;
    expect(flagsAt(0) & FOLIO_KSM).toBe(0);
    expect(flagsAt(1) & FOLIO_KSM).toBe(FOLIO_KSM);
  });

  it('a write to a THP no one else maps any more reuses it under the folio lock (do_huge_pmd_wp_page)', () => {
    const s = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'thp-wp-reuse',
      arena: { pages: 2048 },
      steps: [
        { op: 'mmap', page: 0, pages: 512, prot: 'rw-' },
        { op: 'madvise', page: 0, pages: 512, advice: 'HUGEPAGE' },
        { op: 'touch', page: 0, pages: 1 },
        { op: 'fork' },
        { op: 'exit', proc: 1 },
        { op: 'touch', page: 3, pages: 1 },
      ],
    });
    const r = runScenario(s);
    const ev = [...r.engine.log.events(0, r.engine.log.length)];
    const wp = ev.filter((e) => e.type === 'span_open' && (e as { name: string }).name === 'do_huge_pmd_wp_page');
    expect(wp).toHaveLength(1);
    const after = ev.filter((e) => e.seq > wp[0].seq);
    const move = after.findIndex((e) => e.type === 'folio_mapping');
    const lock = after.findIndex((e) => e.type === 'lock_acquire' && (e as { lock: string }).lock.startsWith('folio:'));
    const unlock = after.findIndex((e) => e.type === 'lock_release' && (e as { lock: string }).lock.startsWith('folio:'));
    // folio_move_anon_rmap() under folio_lock(), and the THP is reused, not copied
    expect(lock).toBeGreaterThanOrEqual(0);
    expect(lock).toBeLessThan(move);
    expect(move).toBeLessThan(unlock);
    expect(after.some((e) => e.type === 'folio_alloc')).toBe(false);
  });

  it('a partial MADV_FREE splits an exclusive THP; its zero-filled pages become the zero page', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 512, prot: 'rw-' },
      { op: 'madvise', page: 0, pages: 512, advice: 'HUGEPAGE' },
      { op: 'touch', page: 0, pages: 1 },
      { op: 'madvise', page: 498, pages: 1, advice: 'FREE' },
    ]);
    const pages = o.snapshots[0].procs[0].pages;
    expect(pages).toHaveLength(512);
    expect(pages[0]).toMatchObject({ frame: 'f1', compound: null, exclusive: true });
    expect(pages.slice(1).every((p) => p.frame === 'zero' && p.compound === null && !p.exclusive)).toBe(true);
  });

  it('a read of a present page made PROT_NONE faults (protnone PTE)', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 2, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2 },
      { op: 'mprotect', page: 0, pages: 2, prot: '---' },
      { op: 'touch', page: 1, pages: 1, access: 'read' },
    ]);
    expect(o.steps[3].result).toEqual({ ok: false, signal: 'SIGSEGV', page: 1 });
  });

  it('shared anonymous memory grown by mremap: pages past the shmem size get SIGBUS', () => {
    const o = run([
      { op: 'mmap', page: 216, pages: 3, prot: 'rw-', shared: true },
      { op: 'mremap', page: 216, pages: 3, newPages: 4 },
      { op: 'touch', page: 216, pages: 4 },
    ]);
    expect(o.steps[2].result).toEqual({ ok: false, signal: 'SIGBUS', page: 219 });
  });

  it('a read fault on shared memory maps the cached pages around it (fault-around)', () => {
    const o = run([
      { op: 'mmap', page: 53, pages: 9, prot: 'rw-', shared: true },
      { op: 'touch', page: 61, pages: 1 },
      { op: 'fork' },
      { op: 'touch', proc: 1, page: 53, pages: 1, access: 'read' },
    ]);
    const [p0, p1] = o.snapshots[0].procs;
    expect(p1.pages.map((p) => p.page)).toEqual([53, 61]);
    expect(p0.pages[0].exclusive).toBe(false);
    expect(p1.pages[1].frame).toBe(p0.pages[0].frame);
  });

  it('SIGSEGV on a PROT_NONE page and on a write to a read-only one', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 2, prot: '---' },
      { op: 'mmap', page: 2, pages: 2, prot: 'r--' },
      { op: 'touch', page: 0, pages: 1, access: 'read' },
      { op: 'touch', page: 2, pages: 2, access: 'write' },
    ]);
    expect(o.steps[2].result).toEqual({ ok: false, signal: 'SIGSEGV', page: 0 });
    expect(o.steps[3].result).toEqual({ ok: false, signal: 'SIGSEGV', page: 2 });
  });

  it('MAP_FIXED_NOREPLACE over a mapping is EEXIST', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'mmap', page: 2, pages: 4, prot: 'rw-' },
    ]);
    expect(o.steps[1].result).toEqual({ ok: false, errno: 'EEXIST' });
  });
});

describe('page-table moves at every level', () => {
  const arena = 4096;
  const run = (steps: unknown[]) =>
    runScenario(parseScenario({ format: 'mmsim-scenario/1', name: 'pud', arena: { pages: arena }, steps }));

  it('a 1 GiB aligned move moves the whole PMD table (move_normal_pud); pages follow', () => {
    const k = new Kernel();
    k.eng.emit(E.MmCreate, 1, 0);
    const ok = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
      if (!r.ok) throw r.error;
      return r.value;
    };
    const G = 262144;
    ok(k.eng.syscall('mmap', () => doMmap(k, 1, 4 * G, G, { prot: 3, shared: false, fixed: false, noreserve: false })));
    for (const p of [5, 6, 7]) ok(k.eng.syscall('touch', () => userAccess(k, 1, 4 * G + p, true)));
    expect(ok(k.eng.syscall('mremap', () => doMremap(k, 1, 4 * G, G, G, 3, 6 * G)))).toBe(6 * G);
    const moves = [...k.eng.log.events()].filter((e) => e.type === 'pt_move').map((e) => (e as { level: number }).level);
    expect(moves).toEqual([2]);
    expect([5, 6, 7].every((p) => getPte(k, 1, 6 * G + p) > 0 && getPte(k, 1, 4 * G + p) === 0)).toBe(true);
  });

  it('a 2 MiB aligned move moves PTE tables (move_normal_pmd); an unaligned one moves PTEs', () => {
    const aligned = run([
      { op: 'mmap', page: 0, pages: 1024, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2 },
      { op: 'mremap', page: 0, pages: 1024, flags: ['MAYMOVE', 'FIXED'], to: 2048 },
    ]);
    const ev = [...aligned.engine.log.events()];
    expect(ev.filter((e) => e.type === 'pt_move').length).toBe(1); // the second PMD never had a PTE table
    expect(ev.filter((e) => e.type === 'pte_move').length).toBe(0);
    const unaligned = run([
      { op: 'mmap', page: 0, pages: 1024, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2 },
      { op: 'mremap', page: 0, pages: 1024, flags: ['MAYMOVE', 'FIXED'], to: 2049 },
    ]);
    expect([...unaligned.engine.log.events()].filter((e) => e.type === 'pte_move').length).toBe(2);
  });
});

describe('observe: the kernel metadata of each VMA', () => {
  it("a shared VMA's pgoff is its offset into the shmem object; a fork child has an anon_vma of its own", () => {
    const s = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'metadata',
      arena: { pages: 64 },
      observe: ['pgoff', 'anonVma'],
      steps: [
        { op: 'mmap', page: 0, pages: 10, prot: 'rw-', shared: true },
        { op: 'munmap', page: 0, pages: 3 },
        { op: 'mmap', page: 20, pages: 4, prot: 'rw-' },
        { op: 'touch', page: 20, pages: 4 },
        { op: 'fork' },
        { op: 'touch', proc: 1, page: 21, pages: 1 },
      ],
    });
    const r = runScenario(s);
    const [p0, p1] = r.observation.snapshots.at(-1)!.procs;
    // shmem_zero_setup() gives the shared VMA pgoff 0; the split keeps the offset of [3, 10) at 3
    expect(p0.vmas).toEqual([
      { start: 3, end: 10, perms: 'rw-s', vmFlags: '', pgoff: 3, anonVma: null },
      { start: 20, end: 24, perms: 'rw-p', vmFlags: 'ac', pgoff: 20, anonVma: 'av1' },
    ]);
    // anon_vma_fork(): the child's VMA gets a new anon_vma (chained to the parent's)
    expect(p1.vmas[1]).toEqual({ start: 20, end: 24, perms: 'rw-p', vmFlags: 'ac', pgoff: 20, anonVma: 'av2' });
    expect(observationFromLog(r.engine.log, r.header)).toEqual(r.observation);
    // without `observe`, the same run reports neither
    const { observe: _drop, ...plain } = s;
    expect(runScenario(plain).observation.snapshots.at(-1)!.procs[0].vmas[0]).toEqual({ start: 3, end: 10, perms: 'rw-s', vmFlags: '' });
  });
});

describe('a plugin that throws inside a concurrent step', () => {
  it('fails the step (StepFailedError wrapping the PluginError), not a stopped run the checkers would report', async () => {
    const { PluginError, definePlugin } = await import('@mmsim/core');
    const { MREMAP_STRATEGY } = await import('@mmsim/linux');
    const { StepFailedError } = await import('./run.js');
    const race = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'move-vs-gup-fast',
      arena: { pages: 64 },
      steps: [
        { op: 'mmap', page: 0, pages: 8, prot: 'rw-' },
        { op: 'touch', page: 0, pages: 8 },
        {
          op: 'concurrent',
          tasks: [
            { proc: 0, steps: [{ op: 'mremap', page: 0, pages: 8, flags: ['MAYMOVE', 'FIXED'], to: 32 }] },
            { proc: 0, steps: [{ op: 'gup_fast', page: 3, pages: 1 }] },
          ],
        },
      ],
    });
    const thrower = definePlugin({
      name: 'thrower',
      setup: (h) =>
        h.provide(MREMAP_STRATEGY, {
          name: 'thrower',
          extraFlags: 0,
          checkPrepVma: () => {
            throw new Error('no');
          },
        }),
    });
    let err: unknown;
    try {
      runScenario(race, { plugins: [thrower] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err).toMatchObject({ step: race.steps.findIndex((s) => s.op === 'concurrent'), op: 'concurrent' });
    expect((err as Error).message).toMatch(/^step \d+ \(concurrent\): plugin thrower failed in mremap-strategy\.checkPrepVma: no$/);
    expect((err as { cause: unknown }).cause).toBeInstanceOf(PluginError);
  });
});
