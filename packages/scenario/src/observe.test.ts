import { describe, expect, it } from 'vitest';
import {
  checkExpectations,
  diffObservations,
  formatDivergence,
  parseScenario,
  stableStringify,
  type Observation,
} from './index.js';

const scenario = parseScenario({
  format: 'mmsim-scenario/1',
  name: 's',
  arena: { pages: 64 },
  steps: [
    { op: 'mmap', page: 0, pages: 10, prot: 'rw-' },
    { op: 'touch', page: 0, pages: 2 },
    { op: 'snapshot', label: 'mid' },
    { op: 'mmap', page: 0, pages: 1, prot: 'rw-' },
  ],
  expect: [
    { snapshot: 'mid', proc: 0, vma: { contains: 5, start: 0, end: 10 } },
    { snapshot: 'final', proc: 0, vmaCount: 1 },
    { step: 3, result: { ok: false, errno: 'EEXIST' } },
    { step: 0, result: { ok: true, page: 0 } },
  ],
});

function obs(): Observation {
  const proc = {
    proc: 0,
    vmas: [{ start: 0, end: 10, perms: 'rw-p', vmFlags: '' }],
    pages: [
      { page: 0, present: true, swapped: false, frame: 'f1', compound: null, exclusive: true },
      { page: 1, present: true, swapped: false, frame: 'f2', compound: null, exclusive: true },
    ],
  };
  return {
    format: 'mmsim-observation/1',
    scenario: 's',
    steps: [
      { i: 0, op: 'mmap', result: { ok: true, page: 0 } },
      { i: 1, op: 'touch', result: { ok: true } },
      { i: 3, op: 'mmap', result: { ok: false, errno: 'EEXIST' } },
    ],
    snapshots: [
      { label: 'mid', procs: [structuredClone(proc)] },
      { label: 'final', procs: [structuredClone(proc)] },
    ],
  };
}

describe('checkExpectations', () => {
  it('passes', () => {
    expect(checkExpectations(scenario, obs())).toEqual([]);
  });
  it('reports each failure readably', () => {
    const o = obs();
    o.snapshots[0].procs[0].vmas = [{ start: 0, end: 4, perms: 'rw-p', vmFlags: '' }, { start: 4, end: 10, perms: 'rw-p', vmFlags: '' }];
    o.snapshots[1].procs[0].vmas.push({ start: 20, end: 21, perms: 'r--p', vmFlags: '' });
    o.steps[2].result = { ok: true, page: 0 };
    o.steps[0].result = { ok: true, page: null };
    const f = checkExpectations(scenario, o);
    expect(f).toHaveLength(4);
    expect(f[0]).toBe('expect[0]: snapshot "mid" proc 0: the VMA containing page 5 is [4, 10) rw-p, expected [0, 10)');
    expect(f[1]).toMatch(/^expect\[1\]: snapshot "final" proc 0: 2 VMAs overlap the arena, expected 1/);
    expect(f[2]).toBe('expect[2]: step 3 (mmap) result is {"ok":true,"page":0}, expected {"ok":false,"errno":"EEXIST"}');
    expect(f[3]).toMatch(/step 0 \(mmap\) result is \{"ok":true,"page":null\}/);
  });
  it('reports a missing VMA and missing snapshot', () => {
    const o = obs();
    o.snapshots[0].procs[0].vmas = [];
    o.snapshots.pop();
    const f = checkExpectations(scenario, o);
    expect(f[0]).toMatch(/no VMA contains page 5/);
    expect(f[1]).toMatch(/no such snapshot/);
  });
});

describe('diffObservations', () => {
  it('equal observations give null', () => {
    expect(diffObservations(obs(), obs())).toBeNull();
  });
  it('first differing step', () => {
    const b = obs();
    b.steps[2].result = { ok: true, page: 0 };
    const d = diffObservations(obs(), b)!;
    expect(d).toMatchObject({ where: 'step', i: 3 });
    const text = formatDivergence(d, 'kernel', 'sim');
    expect(text).toContain('step 3 (mmap)');
    expect(text).toContain('kernel: {"ok":false,"errno":"EEXIST"}');
    expect(text).toContain('sim: {"ok":true,"page":0}');
  });
  it('missing step', () => {
    const b = obs();
    b.steps.pop();
    expect(diffObservations(obs(), b)).toMatchObject({ where: 'step', i: 3, b: undefined });
  });
  it('snapshot path for a VMA field, with side-by-side table', () => {
    const b = obs();
    b.snapshots[1].procs[0].vmas = [{ start: 0, end: 4, perms: 'rw-p', vmFlags: '' }, { start: 4, end: 10, perms: 'rw-p', vmFlags: '' }];
    const d = diffObservations(obs(), b)!;
    expect(d).toMatchObject({ where: 'snapshot', label: 'final', proc: 0, path: 'vmas[0].end', a: 10, b: 4 });
    const text = formatDivergence(d, 'kernel', 'sim');
    expect(text).toContain('snapshot "final"');
    expect(text).toMatch(/\* \[0, 10\) rw-p\s+\| \[0, 4\) rw-p/);
    expect(text).toMatch(/\*\s+\| \[4, 10\) rw-p/);
  });
  it('snapshot path for pages', () => {
    const b = obs();
    b.snapshots[0].procs[0].pages[1].frame = 'f1';
    expect(diffObservations(obs(), b)).toMatchObject({ where: 'snapshot', label: 'mid', proc: 0, path: 'pages[1].frame', a: 'f2', b: 'f1' });
    const c = obs();
    c.snapshots[0].procs[0].pages.pop();
    expect(diffObservations(obs(), c)).toMatchObject({ path: 'pages[1]', b: undefined });
  });
  it('process list difference', () => {
    const b = obs();
    b.snapshots[0].procs.push({ proc: 1, vmas: [], pages: [] });
    expect(diffObservations(obs(), b)).toMatchObject({ where: 'snapshot', label: 'mid', proc: null, path: 'procs', a: [0], b: [0, 1] });
  });
});

describe('stableStringify', () => {
  it('uses the key order of the spec', () => {
    const o = obs();
    const shuffled = JSON.parse(
      JSON.stringify({ snapshots: o.snapshots, steps: o.steps.map((s) => ({ result: s.result, op: s.op, i: s.i })), scenario: 's', format: o.format }),
    );
    shuffled.snapshots[0].procs[0] = { pages: [{ exclusive: true, compound: null, frame: 'f1', swapped: false, present: true, page: 0 }], vmas: [{ vmFlags: '', perms: 'rw-p', end: 10, start: 0 }], proc: 0 };
    const text = stableStringify(shuffled);
    expect(text.startsWith('{"format":"mmsim-observation/1","scenario":"s","steps":[{"i":0,"op":"mmap","result":{"ok":true,"page":0}}')).toBe(true);
    expect(text).toContain('{"proc":0,"vmas":[{"start":0,"end":10,"perms":"rw-p","vmFlags":""}],"pages":[{"page":0,"present":true,"swapped":false,"frame":"f1","compound":null,"exclusive":true}]}');
  });
  it('orders signal results as in the spec and indents on request', () => {
    expect(stableStringify({ page: 40, signal: 'SIGSEGV', ok: false })).toBe('{"ok":false,"signal":"SIGSEGV","page":40}');
    expect(stableStringify({ b: 1, a: [1] }, { indent: 2 })).toBe('{\n  "a": [\n    1\n  ],\n  "b": 1\n}');
  });
  it('orders scenario keys like the spec', () => {
    expect(stableStringify(scenario).startsWith('{"format":"mmsim-scenario/1","name":"s","arena":{"pages":64},"steps":[{"op":"mmap","proc":0,"page":0,"pages":10,"prot":"rw-"')).toBe(true);
  });
});

describe('VMA flags and kernel metadata', () => {
  const withMeta = () => {
    const o = obs();
    o.snapshots[1].procs[0].vmas = [
      { start: 0, end: 4, perms: 'rw-p', vmFlags: 'ac', pgoff: 0, anonVma: 'av1' },
      { start: 4, end: 10, perms: 'r--p', vmFlags: 'ac mg', pgoff: 2, anonVma: null },
    ];
    return o;
  };
  const s = parseScenario({
    format: 'mmsim-scenario/1',
    name: 'm',
    arena: { pages: 64 },
    steps: [{ op: 'mmap', page: 0, pages: 10, prot: 'rw-' }],
    observe: ['pgoff', 'anonVma'],
    expect: [
      { snapshot: 'final', vma: { contains: 5, start: 4, end: 10, perms: 'rw-p', vmFlags: ['ac'], pgoff: 4, anonVma: 'av1' } },
      { snapshot: 'final', vmaCount: 1, range: [0, 4] },
      { snapshot: 'final', vmaCount: 1, range: [3, 5] },
    ],
  });
  it('checks perms, vmFlags, pgoff, anonVma and counts VMAs over a range', () => {
    expect(checkExpectations(s, withMeta())).toEqual([
      'expect[0]: snapshot "final" proc 0: the VMA containing page 5 is [4, 10) r--p ac mg, expected perms rw-p',
      'expect[0]: snapshot "final" proc 0: the VMA containing page 5 is [4, 10) r--p ac mg, expected vmFlags "ac", got "ac mg"',
      'expect[0]: snapshot "final" proc 0: the VMA containing page 5 is [4, 10) r--p ac mg, expected pgoff 4, got 2',
      'expect[0]: snapshot "final" proc 0: the VMA containing page 5 is [4, 10) r--p ac mg, expected anonVma "av1", got null',
      'expect[2]: snapshot "final" proc 0: 2 VMAs overlap pages [3, 5), expected 1 ([0, 4) rw-p ac, [4, 10) r--p ac mg)',
    ]);
  });
  it('leaves metadata unchecked where the observation has none (a kernel)', () => {
    const kernel = withMeta();
    for (const v of kernel.snapshots[1].procs[0].vmas) {
      delete v.pgoff;
      delete v.anonVma;
    }
    expect(checkExpectations(s, kernel).filter((f) => /pgoff|anonVma/.test(f))).toEqual([]);
  });
  it('diff compares metadata only where both sides report it, and vmFlags always', () => {
    const kernel = withMeta();
    for (const v of kernel.snapshots[1].procs[0].vmas) {
      delete v.pgoff;
      delete v.anonVma;
    }
    expect(diffObservations(withMeta(), kernel)).toBeNull();
    const other = withMeta();
    other.snapshots[1].procs[0].vmas[1].pgoff = 4;
    expect(diffObservations(withMeta(), other)).toMatchObject({ where: 'snapshot', path: 'vmas[1].pgoff', a: 2, b: 4 });
    kernel.snapshots[1].procs[0].vmas[1].vmFlags = 'ac';
    expect(diffObservations(withMeta(), kernel)).toMatchObject({ where: 'snapshot', path: 'vmas[1].vmFlags', a: 'ac mg', b: 'ac' });
  });
});
