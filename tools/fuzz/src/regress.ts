/**
 * Regression scenarios: a shrunk diverging scenario, saved as a test case whose
 * `expect` list comes from the KERNEL's observation (so the simulator must match it).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseScenario,
  stableStringify,
  type Divergence,
  type Expectation,
  type Observation,
  type Scenario,
  type Step,
} from '@mmsim/scenario';

/** A step without its default fields (proc 0, false flags, newPages = pages, write access...). */
export function compactStep(st: Step): Record<string, unknown> {
  const o: Record<string, unknown> = { op: st.op };
  for (const [k, v] of Object.entries(st)) {
    if (k === 'op') continue;
    if (k === 'proc' && v === 0) continue;
    if ((k === 'shared' || k === 'fixed' || k === 'noreserve') && v === false) continue;
    if (k === 'access' && v === 'write') continue;
    if (k === 'flags' && Array.isArray(v) && v.length === 0) continue;
    if (k === 'newPages' && st.op === 'mremap' && v === st.pages) continue;
    o[k] = v;
  }
  return o;
}

/** Short content hash of a scenario's arena and steps (the regression's file name). */
export function scenarioHash(s: Scenario): string {
  return createHash('sha1')
    .update(stableStringify({ arena: s.arena, steps: s.steps.map(compactStep) }))
    .digest('hex')
    .slice(0, 10);
}

/**
 * Expectations from the kernel's observation for the place where the simulator
 * diverged: the step's result, or the VMA layout (count and every VMA) of the
 * diverging process at the diverging snapshot. For a simulator crash: every step result
 * and the final VMA layout of every process.
 */
export function expectationsFor(s: Scenario, kernel: Observation, d: Divergence | null): Expectation[] {
  const out: Expectation[] = [];
  const vmaExp = (label: string, proc: number) => {
    const snap = kernel.snapshots.find((x) => x.label === label);
    const p = snap?.procs.find((x) => x.proc === proc);
    if (!p) return;
    out.push({ snapshot: label, proc, vmaCount: p.vmas.length });
    for (const v of p.vmas) {
      const contains = Math.max(0, v.start);
      if (contains >= s.arena.pages || contains >= v.end) continue;
      out.push({ snapshot: label, proc, vma: { contains, start: v.start, end: v.end } });
    }
  };
  if (d?.where === 'step') {
    const st = kernel.steps.find((x) => x.i === d.i);
    if (st) out.push({ step: d.i, result: st.result });
  } else if (d?.where === 'snapshot') {
    if (d.proc !== null) vmaExp(d.label, d.proc);
    else for (const p of kernel.snapshots.find((x) => x.label === d.label)?.procs ?? []) vmaExp(d.label, p.proc);
  } else {
    for (const st of kernel.steps) out.push({ step: st.i, result: st.result });
    for (const p of kernel.snapshots.find((x) => x.label === 'final')?.procs ?? []) vmaExp('final', p.proc);
  }
  return out;
}

export interface RegressionFile {
  hash: string;
  /** relative file name `<hash>.json` */
  file: string;
  scenario: Scenario;
  text: string;
}

/** The regression scenario (validated) and its JSON text: one step / expectation per line. */
export function buildRegression(s: Scenario, kernel: Observation, d: Divergence | null, description: string): RegressionFile {
  const hash = scenarioHash(s);
  const raw = {
    format: s.format,
    name: `regress-${hash}`,
    description,
    arena: s.arena,
    steps: s.steps.map(compactStep),
    expect: expectationsFor(s, kernel, d),
  };
  const scenario = parseScenario(raw);
  const line = (v: unknown) => JSON.stringify(v);
  const text = [
    '{',
    `  "format": ${line(raw.format)},`,
    `  "name": ${line(raw.name)},`,
    `  "description": ${line(raw.description)},`,
    `  "arena": ${line(raw.arena)},`,
    '  "steps": [',
    raw.steps.map((st) => `    ${line(st)}`).join(',\n'),
    '  ],',
    '  "expect": [',
    raw.expect.map((e) => `    ${line(e)}`).join(',\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
  return { hash, file: `${hash}.json`, scenario, text };
}

/** Writes the file unless one with that name exists. Returns its path. */
export function saveRegression(dir: string, r: RegressionFile): { path: string; written: boolean } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, r.file);
  if (existsSync(path)) return { path, written: false };
  writeFileSync(path, r.text);
  return { path, written: true };
}
