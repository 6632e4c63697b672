/**
 * scenarios/races/: every race scenario explored to bound 2 with the `fixed` variant,
 * every checker attached. What each must show is written here: none is a stub. The
 * GUP-fast race is a finding against the fixed variant (it pins between the pin check
 * and the rewrite), kept as it is found, not weakened.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Explorer, runScenario, taskResultViolations } from '@mmsim/runner';
import relocateAnon from '@mmsim/relocate-anon';
import { parseScenario } from '@mmsim/scenario';
import { attachCheckers } from './index.js';

const DIR = new URL('../../../scenarios/races/', import.meta.url);

/** checkers that fire on the fixed variant, per scenario (file name without .json) */
const EXPECTED: Record<string, string[]> = {
  'relocate-vs-rmap-walk': [],
  'relocate-vs-reclaim': [],
  'relocate-vs-touch': [],
  'relocate-vs-gup-fast': ['rmap'],
  'relocate-undo-vs-gup-fast': ['rmap'],
  'dontneed-vs-touch': [],
  'reclaim-list-vs-relocate': [],
};

describe('scenarios/races (fixed variant, dfs bound 2)', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

  it('every race scenario has its expectation here', () => {
    expect(files.map((f) => f.replace(/\.json$/, ''))).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const f of files) {
    const name = f.replace(/\.json$/, '');
    it(`${name}: complete, violations as expected, each schedule reproduces`, () => {
      const s = parseScenario(readFileSync(new URL(f, DIR), 'utf8'), f);
      const plugins: [typeof relocateAnon, { variant: 'fixed' }][] = [[relocateAnon, { variant: 'fixed' }]];
      const r = new Explorer(s, {
        bound: 2,
        run: { plugins },
        checkers: (eng) => {
          const h = attachCheckers(eng);
          return { violations: () => h.violations(), clear: () => h.clear(), detach: () => h.detach() };
        },
      }).explore();
      expect(r.complete).toBe(true);
      expect(r.distinctFinalStates).toBeGreaterThan(1); // the tasks really raced
      expect([...new Set(r.violations.map((v) => v.checker))].sort()).toEqual(EXPECTED[name]);
      for (const v of r.violations) {
        expect(v.preemptions).toBeLessThanOrEqual(2);
        let seen: string[] = [];
        const run = runScenario(s, {
          plugins,
          schedule: v.schedule,
          onKernel: (k) => {
            const h = attachCheckers(k.eng);
            k.eng.state$.subscribe(() => (seen = h.violations().map((x) => x.message)));
          },
        });
        seen.push(...taskResultViolations(run.observation.steps, s).map((x) => x.message));
        expect(seen, `schedule "${v.schedule}"`).toContain(v.message);
      }
    });
  }

  it('relocate-vs-gup-fast: the pin lands between the pin check and the rewrite (a finding against fixed)', () => {
    const s = parseScenario(readFileSync(new URL('relocate-vs-gup-fast.json', DIR), 'utf8'));
    const r = runScenario(s, { plugins: [[relocateAnon, { variant: 'fixed' }]], schedule: '20:1' });
    const gup = r.observation.steps[2].tasks![1][0];
    expect(gup).toEqual({ op: 'gup_fast', result: { ok: true, pages: 1 } });
    // the relocation went ahead (page 32 onward), with the folio pinned meanwhile
    expect(r.observation.steps[2].tasks![0][0].result).toEqual({ ok: true, page: 32 });
  });
});
