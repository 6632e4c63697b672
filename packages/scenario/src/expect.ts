import { stableStringify } from './stringify.js';
import type { Observation, Scenario, StepResult, VmaObservation } from './types.js';

const vmaRow = (v: VmaObservation) => `[${v.start}, ${v.end}) ${v.perms}${v.vmFlags ? ` ${v.vmFlags}` : ''}`;

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
      const [lo, hi] = e.range ?? [-Infinity, Infinity];
      const vmas = p.vmas.filter((v) => v.start < hi && v.end > lo);
      const over = e.range ? `pages [${lo}, ${hi})` : 'the arena';
      if (vmas.length !== e.vmaCount)
        failures.push(`${tag}: ${where}: ${vmas.length} VMAs overlap ${over}, expected ${e.vmaCount} (${vmas.map(vmaRow).join(', ') || 'none'})`);
      return;
    }
    const { contains, start, end } = e.vma;
    const v = p.vmas.find((x) => x.start <= contains && contains < x.end);
    if (!v) return void failures.push(`${tag}: ${where}: no VMA contains page ${contains}, expected [${start}, ${end})`);
    const head = `${tag}: ${where}: the VMA containing page ${contains} is ${vmaRow(v)}`;
    if (v.start !== start || v.end !== end) failures.push(`${head}, expected [${start}, ${end})`);
    if (e.vma.perms !== undefined && v.perms !== e.vma.perms) failures.push(`${head}, expected perms ${e.vma.perms}`);
    if (e.vma.vmFlags !== undefined && v.vmFlags !== e.vma.vmFlags.join(' '))
      failures.push(`${head}, expected vmFlags ${JSON.stringify(e.vma.vmFlags.join(' '))}, got ${JSON.stringify(v.vmFlags)}`);
    // kernel metadata: only where the observation reports it (the simulator, with `observe`)
    if (e.vma.pgoff !== undefined && v.pgoff !== undefined && v.pgoff !== e.vma.pgoff)
      failures.push(`${head}, expected pgoff ${e.vma.pgoff}, got ${v.pgoff}`);
    if (e.vma.anonVma !== undefined && v.anonVma !== undefined && v.anonVma !== e.vma.anonVma)
      failures.push(`${head}, expected anonVma ${JSON.stringify(e.vma.anonVma)}, got ${JSON.stringify(v.anonVma)}`);
  });
  return failures;
}
