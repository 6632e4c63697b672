import { stableStringify } from './stringify.js';
import { VMA_METADATA, type Observation, type ProcSnapshot, type StepObservation, type VmaObservation } from './types.js';

export interface StepDivergence {
  where: 'step';
  /** Scenario step index (`i`) of the first differing step result; for a missing entry, the `i` of the one present. */
  i: number;
  a: StepObservation | undefined;
  b: StepObservation | undefined;
}

export interface SnapshotDivergence {
  where: 'snapshot';
  label: string;
  /** Index of the snapshot in `snapshots`. */
  index: number;
  /** The process whose state differs, or `null` when the label or process lists differ. */
  proc: number | null;
  /** JSON path inside the process snapshot (`"vmas[1].end"`, `"pages[3].frame"`, `"pages.length"`), or `"label"` / `"procs"`. */
  path: string;
  a: unknown;
  b: unknown;
  /** The two process snapshots (for printing), when `proc` is set. */
  procA?: ProcSnapshot;
  procB?: ProcSnapshot;
}

export type Divergence = StepDivergence | SnapshotDivergence;

const eq = (x: unknown, y: unknown) => stableStringify(x) === stableStringify(y);

function firstDiff(path: string, a: unknown, b: unknown): { path: string; a: unknown; b: unknown } | null {
  if (eq(a, b)) return null;
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let k = 0; k < n; k++) {
      const d = firstDiff(`${path}[${k}]`, a[k], b[k]);
      if (d) return d;
    }
    return { path: `${path}[${n}]`, a: a[n], b: b[n] };
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])];
    for (const k of keys) {
      const d = firstDiff(path ? `${path}.${k}` : k, ao[k], bo[k]);
      if (d) return d;
    }
  }
  return { path, a, b };
}

/**
 * The first place where two observations differ: first the step results in order,
 * then the snapshots in order (within a process: its VMAs, then its pages).
 * `null` when they are equal (the scenario name is not compared).
 */
export function diffObservations(a: Observation, b: Observation): Divergence | null {
  const n = Math.max(a.steps.length, b.steps.length);
  for (let k = 0; k < n; k++) {
    const sa = a.steps[k];
    const sb = b.steps[k];
    if (!eq(sa, sb)) return { where: 'step', i: (sa ?? sb)!.i, a: sa, b: sb };
  }
  const m = Math.max(a.snapshots.length, b.snapshots.length);
  for (let k = 0; k < m; k++) {
    const xa = a.snapshots[k];
    const xb = b.snapshots[k];
    const label = (xa ?? xb)!.label;
    if (!xa || !xb || xa.label !== xb.label)
      return { where: 'snapshot', label, index: k, proc: null, path: 'label', a: xa?.label, b: xb?.label };
    const ia = xa.procs.map((p) => p.proc);
    const ib = xb.procs.map((p) => p.proc);
    if (!eq(ia, ib)) return { where: 'snapshot', label, index: k, proc: null, path: 'procs', a: ia, b: ib };
    for (let q = 0; q < xa.procs.length; q++) {
      const pa = xa.procs[q];
      const pb = xb.procs[q];
      const [va, vb] = comparableVmas(pa.vmas, pb.vmas);
      const d = firstDiff('vmas', va, vb) ?? firstDiff('pages', pa.pages, pb.pages);
      if (d) return { where: 'snapshot', label, index: k, proc: pa.proc, ...d, procA: pa, procB: pb };
    }
  }
  return null;
}

/**
 * Kernel metadata (pgoff, anonVma) counts only where both sides report it: a kernel
 * observation has none, and a simulator run reports it only where its scenario asks.
 */
function comparableVmas(a: readonly VmaObservation[], b: readonly VmaObservation[]): [readonly VmaObservation[], readonly VmaObservation[]] {
  const both = (k: 'pgoff' | 'anonVma') => a.some((v) => v[k] !== undefined) && b.some((v) => v[k] !== undefined);
  const drop = VMA_METADATA.filter((k) => !both(k));
  if (drop.every((k) => !a.some((v) => v[k] !== undefined) && !b.some((v) => v[k] !== undefined))) return [a, b];
  const strip = (vs: readonly VmaObservation[]) =>
    vs.map((v) => {
      const o = { ...v };
      for (const k of drop) delete o[k];
      return o;
    });
  return [strip(a), strip(b)];
}

const show = (v: unknown) => (v === undefined ? '(none)' : stableStringify(v));

function vmaRow(v: VmaObservation | undefined): string {
  return v ? `[${v.start}, ${v.end}) ${v.perms}${v.vmFlags ? ` ${v.vmFlags}` : ''}` : '';
}

/**
 * Side-by-side VMA table of two process snapshots, rows aligned by start page;
 * rows that differ are marked with `*`.
 */
export function formatVmaTable(a: ProcSnapshot | undefined, b: ProcSnapshot | undefined, labelA: string, labelB: string): string {
  const va = a?.vmas ?? [];
  const vb = b?.vmas ?? [];
  const left: string[] = [labelA];
  const right: string[] = [labelB];
  let x = 0;
  let y = 0;
  while (x < va.length || y < vb.length) {
    const sa = x < va.length ? va[x].start : Infinity;
    const sb = y < vb.length ? vb[y].start : Infinity;
    left.push(sa <= sb ? vmaRow(va[x++]) : '');
    right.push(sb <= sa ? vmaRow(vb[y++]) : '');
  }
  const w = Math.max(...left.map((s) => s.length));
  const wr = Math.max(...right.map((s) => s.length));
  const lines = left.map((l, k) => {
    const mark = k > 0 && left[k] !== right[k] ? '*' : ' ';
    return `  ${mark} ${l.padEnd(w)} | ${right[k]}`.trimEnd();
  });
  lines.splice(1, 0, `    ${'-'.repeat(w)}-+-${'-'.repeat(wr)}`);
  return lines.join('\n');
}

/** Prints a divergence, with the two VMA layouts side by side for a snapshot divergence. */
export function formatDivergence(d: Divergence, labelA = 'a', labelB = 'b'): string {
  if (d.where === 'step') {
    const op = (d.a ?? d.b)?.op ?? '?';
    return [
      `first divergence at step ${d.i} (${op}):`,
      `  ${labelA}: ${show(d.a?.result)}`,
      `  ${labelB}: ${show(d.b?.result)}`,
    ].join('\n');
  }
  const head =
    d.proc === null
      ? `first divergence in snapshot ${JSON.stringify(d.label)} (#${d.index}) at ${d.path}:`
      : `first divergence in snapshot ${JSON.stringify(d.label)} (#${d.index}), proc ${d.proc}, at ${d.path}:`;
  const out = [head, `  ${labelA}: ${show(d.a)}`, `  ${labelB}: ${show(d.b)}`];
  if (d.proc !== null) {
    out.push(`  VMAs of proc ${d.proc}:`, formatVmaTable(d.procA, d.procB, labelA, labelB));
  }
  return out.join('\n');
}
