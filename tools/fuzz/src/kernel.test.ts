/**
 * The permanent differential suite against the running kernel (Linux + root + gcc; skipped
 * elsewhere):
 *  - a fixed-seed fuzz run of FUZZ_COUNT scenarios must agree completely (no mismatch, no
 *    simulator crash);
 *  - every regression (scenarios/regress) and merge golden passes its expectations on the
 *    simulator and agrees with the kernel.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkExpectations, isOracleSafe, parseScenario, type Scenario } from '@mmsim/scenario';
import { oracleAvailable } from '@mmsim/kernel-oracle';
import { runFuzz } from './fuzz.js';
import { SLOW_STEP_MS, compareOnce, simulate } from './compare.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FUZZ_SEED = 20251126;
export const FUZZ_COUNT = 300;

// the suite needs the real kernel (Linux, root, gcc): fail loudly rather than skip
const canRun = oracleAvailable();
if (!canRun) throw new Error('the kernel oracle cannot run here (needs Linux, root and gcc): the differential suite cannot be checked');

function scenarioFiles(dir: string): [string, Scenario][] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [`${dir}/${f}`, parseScenario(readFileSync(join(abs, f), 'utf8'), `${dir}/${f}`)]);
}

describe('differential fuzzing against the running kernel', () => {
  it(
    `${FUZZ_COUNT} fuzzed scenarios (seed ${FUZZ_SEED}) agree with the kernel`,
    async () => {
      const r = await runFuzz({ seed: FUZZ_SEED, count: FUZZ_COUNT, shrink: false, concurrency: 2 });
      const report = r.classes
        .map((c) => `${c.count} x ${c.kind} ${c.signature} (scenarios #${c.indices.join(', #')})`)
        .concat(r.failures.slice(0, 3).map((f) => `#${f.index}: ${f.message.split('\n').slice(0, 8).join('\n')}`))
        .join('\n');
      // a loaded machine may time an oracle run out: that is not the simulator's fault, but it must stay rare
      expect(r.oracleErrors, report).toBeLessThanOrEqual(Math.ceil(FUZZ_COUNT / 100));
      expect({ mismatches: r.mismatches, simCrashes: r.simCrashes }, report).toEqual({ mismatches: 0, simCrashes: 0 });
    },
    300_000,
  );
});

const cases = [...scenarioFiles('scenarios/regress'), ...scenarioFiles('scenarios/hand'), ...scenarioFiles('scenarios/golden/merge'), ...scenarioFiles('scenarios/golden/vma')];

describe('regressions and merge goldens', () => {
  // simulate(): a simulator step slower than 3 s fails the test as well. Expectations
  // hold for the stock 6.18 configuration (the model's defaults: the zero page on read
  // faults), in which they were derived; the kernel comparison below uses this machine's.
  it.each(cases)(
    '%s passes its expectations on the simulator (stock 6.18 configuration)',
    (_file, s) => {
      const r = simulate(s, SLOW_STEP_MS, {});
      expect(r.error ? String(r.error) : null).toBeNull();
      expect(checkExpectations(s, r.observation!)).toEqual([]);
    },
    120_000,
  );

  // goldens with simulator-only ops or RELOCATE flags only check the simulator
  const kernelCases = cases.filter(
    ([, s]) => isOracleSafe(s) && !s.steps.some((x) => x.op === 'mremap' && x.flags.some((f) => f.includes('RELOCATE'))),
  );
  // A divergence is re-checked with a second kernel run (compareOnce's recheck): if the
  // kernel answers differently itself (a THP allocation failing on a loaded machine), that
  // run proves nothing and the comparison is made again, up to three times; a divergence
  // the kernel repeats fails at once.
  it.each(kernelCases)(
    '%s agrees with the kernel',
    async (_file, s) => {
      const flaky: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const o = await compareOnce(s, { timeoutMs: 30_000, recheck: true });
        if (o.kind === 'agree') return;
        if (o.kind !== 'kernel-flaky') expect.fail(o.message);
        flaky.push(o.message);
      }
      expect.fail(`the kernel answered differently on each of 3 attempts:\n${flaky.join('\n')}`);
    },
    120_000,
  );
});
