import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkExpectations, parseScenario, stableStringify, type Observation, type Scenario } from '@mmsim/scenario';
import { runScenario } from '@mmsim/runner';
import { hostKernelConfig } from '@mmsim/kernel-oracle';
import { generateScenario } from './generate.js';
import { runFuzz } from './fuzz.js';
import { scenarioSeed } from './prng.js';
import { materialize, shrinkScenario, type Check } from './shrink.js';
import { buildRegression, compactStep } from './regress.js';
import { divergenceSignature } from './compare.js';

const scen = (steps: unknown[], pages = 256): Scenario => parseScenario({ format: 'mmsim-scenario/1', name: 't', arena: { pages }, steps });

/** Fake comparator: "diverges" when a child process touches memory after a DONTUNMAP mremap. */
const fakeCheck: Check = async (s) => {
  const k = s.steps.findIndex((x) => x.op === 'mremap' && x.flags.includes('DONTUNMAP'));
  if (k < 0) return null;
  return s.steps.slice(k + 1).some((x) => x.op === 'touch' && x.proc > 0) ? 'fake:dontunmap-then-child-touch' : null;
};

describe('shrinkScenario', () => {
  it('reduces a synthetic divergence to its essential steps and keeps process ids valid', async () => {
    const s = scen([
      { op: 'mmap', page: 0, pages: 40, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 20 },
      { op: 'fork' }, // child 1: irrelevant
      { op: 'snapshot', label: 'a' },
      { op: 'mprotect', page: 4, pages: 8, prot: 'r--' },
      { op: 'touch', proc: 1, page: 0, pages: 3 },
      { op: 'fork', proc: 1 }, // child 2 (of 1)
      { op: 'fork' }, // child 3: the one that matters
      { op: 'madvise', page: 0, pages: 10, advice: 'DONTNEED' },
      { op: 'mremap', page: 0, pages: 10, flags: ['MAYMOVE', 'FIXED', 'DONTUNMAP'], to: 100 },
      { op: 'exit', proc: 2 },
      { op: 'touch', proc: 3, page: 100, pages: 10, access: 'read' },
      { op: 'snapshot', label: 'b' },
    ]);
    expect(await fakeCheck(s)).toBe('fake:dontunmap-then-child-touch');
    const r = await shrinkScenario(s, 'fake:dontunmap-then-child-touch', fakeCheck);
    expect(await fakeCheck(r.scenario)).toBe('fake:dontunmap-then-child-touch');
    // fork + mremap + touch by the (renumbered) child
    expect(r.scenario.steps.map((x) => x.op)).toEqual(['fork', 'mremap', 'touch']);
    const touch = r.scenario.steps[2];
    expect(touch.proc).toBe(1);
    expect(touch.op === 'touch' && touch.pages).toBe(1);
    const mr = r.scenario.steps[1];
    expect(mr.op === 'mremap' && mr.pages).toBe(1);
    expect(r.from).toBe(13);
    expect(r.to).toBe(3);
    // still a valid scenario
    expect(() => parseScenario(JSON.stringify(r.scenario))).not.toThrow();
  });

  it('drops the steps of a process whose fork was dropped, renumbering later children', () => {
    const s = scen([{ op: 'fork' }, { op: 'fork' }, { op: 'touch', proc: 1, page: 0, pages: 1 }, { op: 'touch', proc: 2, page: 0, pages: 1 }]);
    let next = 1;
    const items = s.steps.map((st) => (st.op === 'fork' ? { step: st, proc: st.proc, child: next++ } : { step: st, proc: st.proc }));
    const m = materialize(s, [items[1], items[2], items[3]])!;
    expect(m.steps.map((x) => [x.op, x.proc])).toEqual([
      ['fork', 0],
      ['touch', 1],
    ]);
  });

  it('shrinks a real simulator divergence injected by a fake kernel', async () => {
    // "kernel" = the simulator configured as this machine (as the fuzzer's side is),
    // except that a FREE madvise makes every mapping one page longer
    const config = hostKernelConfig();
    const kernel = async (s: Scenario): Promise<Observation> => {
      const o = runScenario(s, { config }).observation;
      if (s.steps.some((x) => x.op === 'madvise' && x.advice === 'FREE'))
        for (const sn of o.snapshots) for (const p of sn.procs) for (const v of p.vmas) v.end += 1;
      return o;
    };
    let seedIdx = -1;
    for (let k = 0; k < 200 && seedIdx < 0; k++) {
      const s = generateScenario(scenarioSeed(99, k));
      if (s.steps.some((x) => x.op === 'madvise' && x.advice === 'FREE') && s.steps.length > 10) seedIdx = k;
    }
    expect(seedIdx).toBeGreaterThanOrEqual(0);
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-fuzz-'));
    const run = () => runFuzz({ seed: 99, count: seedIdx + 1, outDir: dir, compare: { kernel }, concurrency: 2 });
    const a = await run();
    expect(a.mismatches).toBeGreaterThan(0);
    expect(a.simCrashes).toBe(0);
    expect(a.regressions.length).toBeGreaterThan(0);
    const reg = a.regressions[0];
    expect(reg.steps.to).toBeLessThan(reg.steps.from);
    expect(reg.steps.to).toBeLessThanOrEqual(3);
    // the file is a valid scenario whose expectations (from the "kernel") the simulator fails
    const files = readdirSync(dir);
    expect(files).toContain(`${reg.hash}.json`);
    const saved = parseScenario(readFileSync(join(dir, `${reg.hash}.json`), 'utf8'));
    expect(saved.expect?.length).toBeGreaterThan(0);
    expect(checkExpectations(saved, runScenario(saved, { config }).observation).length).toBeGreaterThan(0);
    expect(checkExpectations(saved, await kernel(saved))).toEqual([]);
    // deterministic
    const b = await runFuzz({ seed: 99, count: seedIdx + 1, compare: { kernel }, concurrency: 1 });
    expect(stableStringify(b.classes)).toBe(stableStringify(a.classes));
    expect(b.regressions.map((r) => r.hash)).toEqual(a.regressions.map((r) => r.hash));
  });

  it('records simulator crashes as failures', async () => {
    const kernel = async (s: Scenario) => runScenario(s).observation;
    const sim = (s: Scenario) => (s.steps.some((x) => x.op === 'fork') ? { error: new Error('boom at 12') } : { observation: runScenario(s).observation });
    const r = await runFuzz({ seed: 5, count: 20, compare: { kernel, sim }, shrink: true });
    expect(r.simCrashes).toBeGreaterThan(0);
    expect(r.classes.some((c) => c.kind === 'crash' && c.signature.startsWith('crash:'))).toBe(true);
    const reg = r.regressions.find((x) => x.kind === 'crash')!;
    expect(reg.scenario.steps.map((x) => x.op)).toEqual(['fork']);
  });
});

describe('regression files', () => {
  it('derive expectations from the kernel observation at the divergence', () => {
    const s = scen([
      { op: 'mmap', page: 0, pages: 10, prot: 'rw-' },
      { op: 'mprotect', page: 2, pages: 2, prot: 'r--' },
    ]);
    const sim = runScenario(s).observation;
    const kern = JSON.parse(JSON.stringify(sim)) as Observation;
    kern.snapshots[0].procs[0].vmas = [{ start: 0, end: 10, perms: 'rw-p', vmFlags: '' }];
    const d = { where: 'snapshot' as const, label: 'final', index: 0, proc: 0, path: 'vmas[0].end', a: 2, b: 10 };
    expect(divergenceSignature(d)).toBe('snapshot:vmas.end');
    const r = buildRegression(s, kern, d, 'test');
    expect(r.scenario.expect).toEqual([
      { snapshot: 'final', proc: 0, vmaCount: 1 },
      { snapshot: 'final', proc: 0, vma: { contains: 0, start: 0, end: 10 } },
    ]);
    expect(r.text).toContain('{"op":"mprotect","page":2,"pages":2,"prot":"r--"}');
    expect(compactStep(s.steps[0])).toEqual({ op: 'mmap', page: 0, pages: 10, prot: 'rw-' });
    expect(r.file).toMatch(/^[0-9a-f]{10}\.json$/);
    const st = buildRegression(s, kern, { where: 'step', i: 1, a: sim.steps[1], b: { i: 1, op: 'mprotect', result: { ok: false, errno: 'ENOMEM' } } }, 'x');
    expect(st.scenario.expect).toEqual([{ step: 1, result: { ok: true } }]);
  });
});
