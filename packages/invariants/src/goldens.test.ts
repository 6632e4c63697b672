/**
 * The golden merge and vma scenarios on the baseline model with every checker attached: no
 * violations, except known model issues listed below (each a precise model bug to fix
 * in @mmsim/linux; remove the entry once fixed).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runScenario } from '@mmsim/runner';
import { parseScenario } from '@mmsim/scenario';
import { attachCheckers, checkLog, type Violation } from './index.js';

const GOLDEN = fileURLToPath(new URL('../../../scenarios/golden/', import.meta.url));

const KNOWN_MODEL_ISSUES: { why: string; match: (v: Violation) => boolean }[] = [];

// the ports of merge.c (golden/merge) and of tools/testing/vma/vma.c (golden/vma)
const files = ['merge', 'vma'].flatMap((d) =>
  readdirSync(GOLDEN + d)
    .filter((f) => f.endsWith('.json'))
    .map((f) => `${d}/${f}`),
);

describe('golden merge scenarios under every checker', () => {
  it('has goldens', () => expect(files.length).toBeGreaterThan(0));
  for (const f of files) {
    it(f, () => {
      const s = parseScenario(readFileSync(GOLDEN + f, 'utf8'));
      let h: ReturnType<typeof attachCheckers> | undefined;
      const res = runScenario(s, { onKernel: (k) => void (h = attachCheckers(k.eng)) });
      const all = h!.violations();
      const unknown = all.filter((v) => !KNOWN_MODEL_ISSUES.some((k) => k.match(v)));
      expect(unknown).toEqual([]);
      // replaying the log finds the same
      expect(checkLog(res.engine.log).map((v) => [v.checker, v.seq, v.message])).toEqual(all.map((v) => [v.checker, v.seq, v.message]));
    });
  }
});
