import { describe, expect, it } from 'vitest';
import { parseScenario, type Observation } from '@mmsim/scenario';
import { type KernelConfig } from '@mmsim/linux';
import { runScenario } from '@mmsim/runner';
import relocateAnon from '@mmsim/relocate-anon';
import { attachCheckers } from '@mmsim/invariants';
import largeFolio from './index.js';

const MUST = ['MAYMOVE', 'FIXED', 'MUST_RELOCATE_ANON'];

/** Run with every invariant checker attached: each case must also be clean (--check). */
function run(steps: unknown[], opts: { large?: boolean; config?: Partial<KernelConfig> } = {}): Observation {
  const s = parseScenario({ format: 'mmsim-scenario/1', name: 'large', arena: { pages: 4096 }, steps });
  const plugins = opts.large === false ? [relocateAnon] : [relocateAnon, largeFolio];
  let h: ReturnType<typeof attachCheckers> | undefined;
  const o = runScenario(s, { plugins, config: opts.config, onKernel: (k) => void (h = attachCheckers(k.eng)) }).observation;
  expect(h!.violations()).toEqual([]);
  return o;
}

/** the pages of proc 0 in the final snapshot within [start, end) */
function pages(o: Observation, start: number, end: number) {
  return o.snapshots[o.snapshots.length - 1].procs[0].pages.filter((p) => p.page >= start && p.page < end);
}

const thp = [
  { op: 'mmap', page: 0, pages: 512, prot: 'rw-' },
  { op: 'madvise', page: 0, pages: 512, advice: 'HUGEPAGE' },
  { op: 'touch', page: 0, pages: 1 },
];

describe('PMD-mapped THP', () => {
  it('fully spanned, to an aligned destination: relocated at PMD level, kept whole', () => {
    const o = run([...thp, { op: 'mremap', page: 0, pages: 512, flags: MUST, to: 1024 }]);
    expect(o.steps[3].result).toEqual({ ok: true, page: 1024 });
    const p = pages(o, 1024, 1536);
    expect(p).toHaveLength(512);
    expect(p[0].compound).toBe('head');
    expect(p.slice(1).every((x) => x.compound === 'tail')).toBe(true);
    expect(p.every((x) => x.exclusive)).toBe(true);
  });

  it('the huge zero page (a read fault): nothing to rewrite, the move goes on, aligned or not', () => {
    const zero = [thp[0], thp[1], { op: 'touch', page: 3, pages: 1, access: 'read' }];
    for (const to of [1024, 1025]) {
      const o = run([...zero, { op: 'mremap', page: 0, pages: 512, flags: MUST, to }]);
      expect(o.steps[3].result).toEqual({ ok: true, page: to });
      const p = pages(o, to, to + 512);
      expect(p).toHaveLength(512);
      expect(p.every((x) => x.frame === 'zero')).toBe(true);
    }
  });

  it('fully spanned, to an unaligned destination: the PMD splits, the folio stays whole (PTE-mapped)', () => {
    const o = run([...thp, { op: 'mremap', page: 0, pages: 512, flags: MUST, to: 1025 }]);
    expect(o.steps[3].result).toEqual({ ok: true, page: 1025 });
    const p = pages(o, 1025, 1537);
    expect(p).toHaveLength(512);
    expect(p[0].compound).toBe('head');
    expect(p.slice(1).every((x) => x.compound === 'tail')).toBe(true);
    expect(new Set(p.map((x) => x.frame)).size).toBe(512);
  });

  it('partly spanned: the folio is split, no large folio is left; zero-filled pages become the zero page', () => {
    const o = run([...thp, { op: 'touch', page: 300, pages: 2 }, { op: 'mremap', page: 0, pages: 256, flags: MUST, to: 1024 }]);
    expect(o.steps[4].result).toEqual({ ok: true, page: 1024 });
    const all = o.snapshots[0].procs[0].pages;
    expect(all).toHaveLength(512);
    expect(all.every((x) => x.compound === null)).toBe(true);
    // the written pages (0, 300, 301) keep their frames, exclusive; the rest held zeroes
    const written = all.filter((x) => x.frame !== 'zero').map((x) => x.page);
    expect(written).toEqual([301 - 1, 301, 1024].sort((a, b) => a - b));
    expect(all.filter((x) => x.frame !== 'zero').every((x) => x.exclusive)).toBe(true);
  });

  it('--large-folio off gives up as the seed does: EFAULT with MUST', () => {
    const o = run([...thp, { op: 'mremap', page: 0, pages: 512, flags: MUST, to: 1025 }], { large: false });
    expect(o.steps[3].result).toEqual({ ok: false, errno: 'EFAULT' });
    // nothing moved: the THP is where it was
    expect(pages(o, 0, 512)).toHaveLength(512);
  });

  it('a split that needs the anon_vma lock the walk holds fails (same root as the new VMA)', () => {
    // 0    100  200                600 700    1100
    // XXXXX.....XXXXXXXXXXXXXXXXXXXXX[THP part]XXXX   move [600,700) to [100,200):
    // the new VMA sits right after [0,100), linear, and reuses its anon_vma: the root the
    // THP's split would need is the one the walk holds
    const steps = [
      { op: 'mmap', page: 0, pages: 1100, prot: 'rw-' },
      { op: 'madvise', page: 0, pages: 1100, advice: 'HUGEPAGE' },
      { op: 'touch', page: 600, pages: 1 },
      { op: 'mremap', page: 600, pages: 100, flags: MUST, to: 100 },
    ];
    expect(run(steps).steps[3].result).toEqual({ ok: false, errno: 'EFAULT' });
    // with a gap the new VMA gets its own anon_vma and the split goes ahead
    const apart = steps.map((s, i) => (i === 3 ? { ...s, to: 1200 } : s));
    expect(run(apart).steps[3].result).toEqual({ ok: true, page: 1200 });
  });

  it('fork-shared THPs are refused', () => {
    const o = run([...thp, { op: 'fork' }, { op: 'mremap', page: 0, pages: 512, flags: MUST, to: 1024 }]);
    expect(o.steps[4].result).toEqual({ ok: false, errno: 'EFAULT' });
  });
});

describe('mTHP (simulator-only: the machines have mTHP sizes off)', () => {
  const mthp = { config: { mthpOrders: [4] } };

  it('a write fault maps a whole order-4 folio, as alloc_anon_folio does', () => {
    const o = run([{ op: 'mmap', page: 0, pages: 32, prot: 'rw-' }, { op: 'touch', page: 3, pages: 1 }], mthp);
    const p = pages(o, 0, 32);
    expect(p.map((x) => x.page)).toEqual([...Array(16).keys()]);
    expect(p[0].compound).toBe('head');
    expect(p.slice(1).every((x) => x.compound === 'tail')).toBe(true);
  });

  it('a fully spanned mTHP is relocated whole; the moved VMA merges', () => {
    const o = run(
      [
        { op: 'mmap', page: 0, pages: 64, prot: '---' },
        { op: 'mmap', page: 0, pages: 16, prot: 'rw-', fixed: true },
        { op: 'mmap', page: 32, pages: 16, prot: 'rw-', fixed: true },
        { op: 'touch', page: 0, pages: 1 },
        { op: 'touch', page: 32, pages: 1 },
        { op: 'mremap', page: 32, pages: 16, flags: MUST, to: 16 },
      ],
      mthp,
    );
    expect(o.steps[5].result).toEqual({ ok: true, page: 16 });
    const vmas = o.snapshots[0].procs[0].vmas;
    expect(vmas.find((v) => v.start === 0)!.end).toBe(32);
    const p = pages(o, 16, 32);
    expect(p[0].compound).toBe('head');
  });

  it('a partly spanned mTHP is split', () => {
    const o = run(
      [
        { op: 'mmap', page: 0, pages: 32, prot: 'rw-' },
        { op: 'touch', page: 0, pages: 1 },
        { op: 'mremap', page: 4, pages: 4, flags: MUST, to: 100 },
      ],
      mthp,
    );
    expect(o.steps[2].result).toEqual({ ok: true, page: 100 });
    expect(o.snapshots[0].procs[0].pages.every((x) => x.compound === null)).toBe(true);
  });
});

describe('cow.c "partially mremap()\'ed THP", as scenarios', () => {
  it('half a THP moved away: one folio mapped in two places; a COW copies one page', () => {
    const o = run([
      ...thp,
      { op: 'mremap', page: 0, pages: 256, flags: ['MAYMOVE', 'FIXED'], to: 1025 },
      { op: 'fork' },
      { op: 'touch', proc: 1, page: 1025, pages: 1 },
      { op: 'snapshot', label: 'cow' },
    ]);
    const [parent, child] = o.snapshots[0].procs;
    const moved = parent.pages.filter((p) => p.page >= 1025);
    expect(moved).toHaveLength(256);
    expect(moved[0].compound).toBe('head'); // still one large folio
    expect(child.pages.find((p) => p.page === 1025)!.frame).not.toBe(moved[0].frame);
    expect(child.pages.find((p) => p.page === 1026)!.frame).toBe(moved[1].frame);
  });

  it('half a THP relocated: the folio is split, both halves small; written pages keep their data', () => {
    const o = run([
      ...thp,
      { op: 'touch', page: 0, pages: 512 },
      { op: 'mremap', page: 0, pages: 256, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 1025 },
    ]);
    const all = o.snapshots[0].procs[0].pages;
    expect(all).toHaveLength(512);
    expect(all.every((p) => p.compound === null && p.exclusive && p.frame !== 'zero')).toBe(true);
  });
});
