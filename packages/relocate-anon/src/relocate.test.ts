import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkExpectations, parseScenario, type Observation, type Scenario } from '@mmsim/scenario';
import { prng } from '@mmsim/core';
import { randomScenario, runScenario } from '@mmsim/runner';
import relocateAnon, { RELOCATE_VARIANTS, type RelocateVariant } from './index.js';

const dir = fileURLToPath(new URL('../../../scenarios/golden/relocate-anon/', import.meta.url));
const goldens = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => parseScenario(readFileSync(dir + f, 'utf8'), f));

const withFlag = (variant: RelocateVariant = 'fixed') => ({ plugins: [[relocateAnon, { variant }]] as [typeof relocateAnon, unknown][] });

function scenario(steps: unknown[], pages = 64): Scenario {
  return parseScenario({ format: 'mmsim-scenario/1', name: 't', arena: { pages }, steps });
}

const vmasOf = (o: Observation, label = 'final', proc = 0) =>
  o.snapshots.find((s) => s.label === label)!.procs.find((p) => p.proc === proc)!.vmas.map((v) => [v.start, v.end]);

describe('the series selftests (patches 7 and 11)', () => {
  for (const s of goldens) {
    it(s.name, () => {
      expect(checkExpectations(s, runScenario(s, withFlag()).observation)).toEqual([]);
    });
  }
  it('a released kernel (no plugin) answers EINVAL to the flags', () => {
    const s = goldens.find((g) => g.name === 'mremap_relocate_anon_faulted_after_faulted')!;
    const o = runScenario(s).observation;
    expect(o.steps.find((x) => x.i === 6)!.result).toEqual({ ok: false, errno: 'EINVAL' });
  });
});

describe('properties', () => {
  /** the random scenario with RELOCATE_ANON added to every FIXED move */
  function flagged(s: Scenario): Scenario {
    return {
      ...s,
      steps: s.steps.map((st) =>
        st.op === 'mremap' && st.flags.includes('FIXED') ? { ...st, flags: [...st.flags, 'RELOCATE_ANON'] } : st,
      ),
    };
  }

  /** faulted pieces shuffled around a carveout: moves that relocation can turn into merges */
  function shuffleScenario(seed: number): Scenario {
    const rnd = prng(seed);
    const int = (n: number) => Math.floor(rnd() * n);
    const steps: unknown[] = [
      { op: 'mmap', page: 0, pages: 64, prot: '---' },
      { op: 'mmap', page: 0, pages: 24, prot: 'rw-', fixed: true, noreserve: rnd() < 0.5 },
      { op: 'touch', page: 0, pages: 24, access: rnd() < 0.8 ? 'write' : 'read' },
    ];
    let procs = 1;
    for (let i = 0; i < 14; i++) {
      const pages = 1 + int(8);
      const page = int(64 - pages);
      let to = int(64 - pages);
      if (Math.abs(to - page) < pages) to = (page + pages + int(8)) % (64 - pages);
      if (Math.abs(to - page) < pages) continue;
      const r = rnd();
      if (r < 0.6) steps.push({ op: 'mremap', page, pages, flags: ['MAYMOVE', 'FIXED'], to });
      else if (r < 0.75) steps.push({ op: 'touch', page, pages, access: 'write' });
      else if (r < 0.85) steps.push({ op: 'mprotect', page, pages, prot: rnd() < 0.5 ? 'r--' : 'rw-' });
      else if (r < 0.9 && procs < 3) {
        steps.push({ op: 'fork' });
        procs++;
      } else steps.push({ op: 'snapshot', label: `s${i}` });
    }
    return scenario(steps);
  }

  it('adding RELOCATE_ANON never changes a step result, the pages or the frames: only VMAs', () => {
    let relocations = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const s = seed % 2 ? randomScenario(seed, 30) : shuffleScenario(seed);
      const a = runScenario(s).observation;
      const b = runScenario(flagged(s), withFlag()).observation;
      expect(b.steps, `seed ${seed}`).toEqual(a.steps);
      for (let i = 0; i < a.snapshots.length; i++) {
        for (let p = 0; p < a.snapshots[i].procs.length; p++) {
          expect(b.snapshots[i].procs[p].pages, `seed ${seed} snapshot ${a.snapshots[i].label}`).toEqual(a.snapshots[i].procs[p].pages);
        }
      }
      if (JSON.stringify(a.snapshots) !== JSON.stringify(b.snapshots)) relocations++;
    }
    // the property must not hold vacuously: some layouts did change
    expect(relocations).toBeGreaterThan(5);
  }, 120_000);

  it('a faulted piece moved away and back with the flag is one VMA again', () => {
    const steps = [
      { op: 'mmap', page: 0, pages: 30, prot: '---' },
      { op: 'mmap', page: 1, pages: 10, prot: 'rw-', fixed: true },
      { op: 'touch', page: 1, pages: 10 },
      { op: 'mremap', page: 6, pages: 5, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 20 },
      { op: 'touch', page: 20, pages: 5 },
      { op: 'mremap', page: 20, pages: 5, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 6 },
    ];
    // 0123456789012345678901234567890
    // -AAAAAAAAAA--------------------   -> [6,11) to 20 and back
    // -AAAAAAAAAA---------     -----    (one VMA again; the carveout keeps a hole at [20,25))
    expect(vmasOf(runScenario(scenario(steps), withFlag()).observation)).toEqual([[0, 1], [1, 11], [11, 20], [25, 30]]);
    // pieces put back in reverse order merge only when relocated:
    // 0123456789012345678901234567890
    // -BBBBB              AAAAA          -> B to 25, after A
    //                     AAAAABBBBB     one VMA with the flag, two without
    const reversed = (flag: string[]) => [
      ...steps.slice(0, 3),
      { op: 'mremap', page: 6, pages: 5, flags: ['MAYMOVE', 'FIXED', ...flag], to: 20 },
      { op: 'mremap', page: 1, pages: 5, flags: ['MAYMOVE', 'FIXED', ...flag], to: 25 },
    ];
    expect(vmasOf(runScenario(scenario(reversed(['RELOCATE_ANON'])), withFlag()).observation)).toContainEqual([20, 30]);
    const plain = vmasOf(runScenario(scenario(reversed([]))).observation);
    expect(plain).toContainEqual([20, 25]);
    expect(plain).toContainEqual([25, 30]);
  });
});

describe('MUST_RELOCATE_ANON fails with EFAULT exactly when folios may be shared', () => {
  const base = [
    { op: 'mmap', page: 0, pages: 30, prot: '---' },
    { op: 'mmap', page: 0, pages: 3, prot: 'rw-', fixed: true },
    { op: 'touch', page: 0, pages: 1 },
  ];
  const must = (proc = 0) => ({ op: 'mremap', proc, page: 0, pages: 1, flags: ['MAYMOVE', 'FIXED', 'MUST_RELOCATE_ANON'], to: 10 });
  const result = (steps: unknown[], variant: RelocateVariant = 'fixed') => {
    const o = runScenario(scenario(steps), withFlag(variant)).observation;
    return o.steps[o.steps.length - 1].result;
  };
  const EFAULT = { ok: false, errno: 'EFAULT' };
  const OK = { ok: true, page: 10 };

  it('unshared: succeeds', () => expect(result([...base, must()])).toEqual(OK));
  it('fork parent: EFAULT', () => expect(result([...base, { op: 'fork' }, must(0)])).toEqual(EFAULT));
  it('fork child: EFAULT', () => expect(result([...base, { op: 'fork' }, must(1)])).toEqual(EFAULT));
  it('grandchild: EFAULT', () => expect(result([...base, { op: 'fork' }, { op: 'fork', proc: 1 }, must(2)])).toEqual(EFAULT));
  it('parent once the child exited: succeeds', () => expect(result([...base, { op: 'fork' }, { op: 'exit', proc: 1 }, must(0)])).toEqual(OK));
  it('parent while a grandchild lives on behind an exited child: EFAULT', () =>
    expect(result([...base, { op: 'fork' }, { op: 'fork', proc: 1 }, { op: 'exit', proc: 1 }, must(0)])).toEqual(EFAULT));
  it('WIPEONFORK range: succeeds', () =>
    expect(result([...base, { op: 'madvise', page: 0, pages: 3, advice: 'WIPEONFORK' }, { op: 'fork' }, must(0)])).toEqual(OK));
  it('DONTFORK range: succeeds', () =>
    expect(result([...base, { op: 'madvise', page: 0, pages: 3, advice: 'DONTFORK' }, { op: 'fork' }, must(0)])).toEqual(OK));
  it('shared anonymous memory: EFAULT', () =>
    expect(
      result([
        { op: 'mmap', page: 0, pages: 3, prot: 'rw-', shared: true },
        { op: 'touch', page: 0, pages: 1 },
        must(0),
      ]),
    ).toEqual(EFAULT));
  it('pinned folio: EFAULT with the fixed variant', () =>
    expect(result([...base, { op: 'pin', page: 0, pages: 1 }, must(0)])).toEqual(EFAULT));
  it('pinned folio: patch-v1 skips it and goes on', () =>
    expect(result([...base, { op: 'pin', page: 0, pages: 1 }, must(0)], 'patch-v1')).toEqual(OK));
  it('without MAYMOVE: EINVAL', () =>
    expect(result([...base, { op: 'mremap', page: 0, pages: 1, newPages: 2, flags: ['RELOCATE_ANON'] }])).toEqual({ ok: false, errno: 'EINVAL' }));
  it('RELOCATE_ANON (not MUST) falls back to the ordinary move when shared', () =>
    expect(result([...base, { op: 'fork' }, { op: 'mremap', page: 0, pages: 1, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 10 }])).toEqual(OK));
});

describe('a relocation that gives up says why in the log (a note inside relocate_anon)', () => {
  const steps = (flag: string) => [
    { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
    { op: 'touch', page: 0, pages: 4 },
    { op: 'pin', page: 2, pages: 1 },
    { op: 'mremap', page: 0, pages: 4, flags: ['MAYMOVE', 'FIXED', flag], to: 20 },
  ];
  /** the relocate-anon notes of a run, with the name of the span each was emitted in */
  const notesOf = (flag: string, variant: RelocateVariant = 'fixed') => {
    const { engine, observation } = runScenario(scenario(steps(flag)), withFlag(variant));
    const spans = new Map<number, string>();
    const out: { span: string; note: unknown }[] = [];
    for (const ev of engine.log.events(0, engine.log.length)) {
      if (ev.type === 'span_open') spans.set(ev.span, ev.name);
      if (ev.type === 'note' && ev.text.includes('"plugin":"relocate-anon"')) out.push({ span: spans.get(ev.span) ?? '', note: JSON.parse(ev.text) });
    }
    return { out, result: observation.steps[3].result };
  };

  it('a pinned folio under fixed: the move falls back, and the note names the folio and its pincount', () => {
    const { out, result } = notesOf('RELOCATE_ANON');
    expect(result).toEqual({ ok: true, page: 20 });
    expect(out).toEqual([
      {
        span: 'relocate_anon',
        note: { plugin: 'relocate-anon', outcome: 'fallback', reason: expect.stringMatching(/^the folio \(pfn \d+\) at 0x10000002000 is pinned \(folio_maybe_dma_pinned\(\): pincount 1\)$/) },
      },
    ]);
  });

  it('under MUST_RELOCATE_ANON the same reason comes with EFAULT; patch-v1 skips the pin and writes none', () => {
    const must = notesOf('MUST_RELOCATE_ANON');
    expect(must.result).toEqual({ ok: false, errno: 'EFAULT' });
    expect(must.out.map((n) => (n.note as { outcome: string }).outcome)).toEqual(['EFAULT']);
    expect(notesOf('RELOCATE_ANON', 'patch-v1').out).toEqual([]);
  });
});

describe('metadata the cover letter wants to save', () => {
  it('fewer VMAs, anon_vmas and AVCs with the flag', () => {
    // two faulted halves swapped: [0,10) goes after [10,20); their pgoffs are no longer contiguous
    const steps = (flag: string[]) => [
      { op: 'mmap', page: 0, pages: 20, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 20 },
      { op: 'mremap', page: 0, pages: 10, flags: ['MAYMOVE', 'FIXED', ...flag], to: 30 },
      { op: 'mremap', page: 10, pages: 10, flags: ['MAYMOVE', 'FIXED', ...flag], to: 20 },
    ];
    const plain = runScenario(scenario(steps([]))).engine.state.counts;
    const reloc = runScenario(scenario(steps(['RELOCATE_ANON'])), withFlag()).engine.state.counts;
    expect([plain.vmas, plain.anonVmas, plain.avcs]).toEqual([2, 1, 2]);
    expect([reloc.vmas, reloc.anonVmas, reloc.avcs]).toEqual([1, 1, 1]);
  });
});

describe('variants', () => {
  it('every variant is selectable and an unknown one is refused', () => {
    for (const v of RELOCATE_VARIANTS) expect(() => runScenario(scenario([{ op: 'snapshot', label: 'x' }]), withFlag(v))).not.toThrow();
    expect(() => runScenario(scenario([]), withFlag('nope' as RelocateVariant))).toThrow(/unknown variant "nope"/);
  });
});
