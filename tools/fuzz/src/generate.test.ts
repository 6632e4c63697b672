import { describe, expect, it } from 'vitest';
import { ADVICES, isOracleSafe, parseScenario, stableStringify, type Scenario } from '@mmsim/scenario';
import { generateScenario, MAX_FLOATING_PAGES } from './generate.js';
import { Rng, scenarioSeed } from './prng.js';

describe('Rng', () => {
  it('is deterministic and in range', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    for (let k = 0; k < 1000; k++) {
      const x = a.next();
      expect(x).toBe(b.next());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    expect(new Rng(1).int(3, 3)).toBe(3);
    expect(scenarioSeed(1, 0)).not.toBe(scenarioSeed(1, 1));
    expect(scenarioSeed(1, 5)).toBe(scenarioSeed(1, 5));
  });
});

describe('generateScenario', () => {
  it('is deterministic: same seed, same JSON', () => {
    for (const seed of [0, 1, 2, 12345, 0xffffffff]) {
      expect(stableStringify(generateScenario(seed))).toBe(stableStringify(generateScenario(seed)));
      expect(stableStringify(generateScenario(seed, { steps: 60, arenaPages: 2048 }))).toBe(
        stableStringify(generateScenario(seed, { steps: 60, arenaPages: 2048 })),
      );
    }
    expect(stableStringify(generateScenario(1))).not.toBe(stableStringify(generateScenario(2)));
  });

  it('produces only valid, oracle-safe scenarios (1000 seeds) covering every oracle op', () => {
    const seen = new Set<string>();
    for (let k = 0; k < 1000; k++) {
      const s = generateScenario(scenarioSeed(7, k));
      // valid as JSON text too, not just as the object the generator returned
      const again = parseScenario(JSON.stringify(s));
      expect(stableStringify(again)).toBe(stableStringify(s));
      expect(isOracleSafe(s)).toBe(true);
      expect(s.arena.pages).toBeGreaterThanOrEqual(2048);
      for (const st of s.steps) {
        seen.add(st.op);
        if (st.op === 'madvise') seen.add(`advice:${st.advice}`);
        if (st.op === 'mmap') {
          seen.add(`prot:${st.prot}`);
          if (st.shared) seen.add('mmap:shared');
          if (st.fixed) seen.add('mmap:fixed');
          if (st.noreserve) seen.add('mmap:noreserve');
        }
        if (st.op === 'touch') seen.add(`touch:${st.access}`);
        if (st.op === 'mremap') {
          seen.add(`mremap:${[...st.flags].sort().join('|')}`);
          if (st.newPages < st.pages) seen.add('mremap:shrink');
          if (st.newPages > st.pages) seen.add('mremap:grow');
          // the kernel picks the destination: keep it small so it never lands in the arena
          if (st.flags.includes('MAYMOVE') && !st.flags.includes('FIXED') && (st.newPages > st.pages || st.flags.includes('DONTUNMAP')))
            expect(st.newPages).toBeLessThanOrEqual(MAX_FLOATING_PAGES);
          expect(st.flags).not.toContain('RELOCATE_ANON');
          expect(st.flags).not.toContain('MUST_RELOCATE_ANON');
        }
      }
    }
    for (const op of ['mmap', 'munmap', 'mprotect', 'madvise', 'mremap', 'touch', 'fork', 'exit', 'snapshot']) expect(seen).toContain(op);
    for (const a of ADVICES) expect(seen).toContain(`advice:${a}`);
    for (const p of ['rw-', 'r--', '---', 'rwx']) expect(seen).toContain(`prot:${p}`);
    for (const x of [
      'mmap:shared',
      'mmap:fixed',
      'mmap:noreserve',
      'touch:read',
      'touch:write',
      'mremap:',
      'mremap:MAYMOVE',
      'mremap:FIXED|MAYMOVE',
      'mremap:DONTUNMAP|FIXED|MAYMOVE',
      'mremap:DONTUNMAP|MAYMOVE',
      'mremap:FIXED',
      'mremap:shrink',
      'mremap:grow',
    ])
      expect(seen).toContain(x);
  });

  it('keeps at most 3 forks and only exits children', () => {
    for (let k = 0; k < 300; k++) {
      const s = generateScenario(scenarioSeed(11, k));
      expect(s.steps.filter((x) => x.op === 'fork').length).toBeLessThanOrEqual(3);
      expect(s.steps.filter((x) => x.op === 'exit' && x.proc === 0)).toEqual([]);
    }
  });

  it('honours steps and arenaPages, and uses simulator-only ops on request', () => {
    const s: Scenario = generateScenario(3, { steps: 80, arenaPages: 2048 });
    expect(s.arena.pages).toBe(2048);
    expect(s.steps.length).toBeGreaterThanOrEqual(80);
    let simOnly = 0;
    for (let k = 0; k < 50; k++) if (!isOracleSafe(generateScenario(k, { simOnly: true, steps: 40 }))) simOnly++;
    expect(simOnly).toBeGreaterThan(25);
  });
});
