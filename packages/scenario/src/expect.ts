import { stableStringify } from './stringify.js';
import type { Observation, Scenario, StepResult } from './types.js';

function sameResult(a: StepResult, b: StepResult): boolean {
  return stableStringify(a) === stableStringify(b);
}

/**
 * Checks the scenario's `expect` entries against an observation. Returns one
 * human-readable line per failed expectation; an empty array means all passed.
 */
export function checkExpectations(s: Scenario, o: Observation): string[] {
  const failures: string[] = [];
  (s.expect ?? []).forEach((e, k) => {
    const tag = `expect[${k}]`;
    if ('step' in e) {
      const st = o.steps.find((x) => x.i === e.step);
      const op = s.steps[e.step]?.op ?? '?';
      if (!st) failures.push(`${tag}: step ${e.step} (${op}) has no result in the observation`);
      else if (!sameResult(st.result, e.result))
        failures.push(`${tag}: step ${e.step} (${op}) result is ${stableStringify(st.result)}, expected ${stableStringify(e.result)}`);
      return;
    }
    const where = `snapshot ${JSON.stringify(e.snapshot)} proc ${e.proc}`;
    const snap = o.snapshots.find((x) => x.label === e.snapshot);
    if (!snap) return void failures.push(`${tag}: ${where}: no such snapshot in the observation`);
    const p = snap.procs.find((x) => x.proc === e.proc);
    if (!p) return void failures.push(`${tag}: ${where}: process not in the snapshot`);
    if ('vmaCount' in e) {
      if (p.vmas.length !== e.vmaCount)
        failures.push(
          `${tag}: ${where}: ${p.vmas.length} VMAs overlap the arena, expected ${e.vmaCount} (${p.vmas
            .map((v) => `[${v.start}, ${v.end}) ${v.perms}`)
            .join(', ') || 'none'})`,
        );
      return;
    }
    const { contains, start, end } = e.vma;
    const v = p.vmas.find((x) => x.start <= contains && contains < x.end);
    if (!v) failures.push(`${tag}: ${where}: no VMA contains page ${contains}, expected [${start}, ${end})`);
    else if (v.start !== start || v.end !== end)
      failures.push(`${tag}: ${where}: the VMA containing page ${contains} is [${v.start}, ${v.end}) ${v.perms}, expected [${start}, ${end})`);
  });
  return failures;
}
