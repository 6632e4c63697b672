import { describe, expect, it } from 'vitest';
import { ScenarioError, parseScenario } from './index.js';

const base = (extra: Record<string, unknown> = {}, steps: unknown[] = []) => ({
  format: 'mmsim-scenario/1',
  name: 't',
  arena: { pages: 64 },
  steps,
  ...extra,
});

function err(input: unknown): ScenarioError {
  try {
    parseScenario(input, 'k.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return e as ScenarioError;
  }
  throw new Error('expected a ScenarioError');
}

describe('the "kernel" block', () => {
  it('is optional and absent when not given', () => {
    expect(parseScenario(base()).kernel).toBeUndefined();
  });

  it('keeps every field, mTHP orders sorted', () => {
    const s = parseScenario(base({ kernel: { relocateAnon: 'bug-skip-swap', largeFolio: false, mthp: [4, 2], thp: 'always' } }));
    expect(s.kernel).toEqual({ relocateAnon: 'bug-skip-swap', largeFolio: false, mthp: [2, 4], thp: 'always' });
  });

  it('accepts "none" and any variant-shaped name (which variants exist is @mmsim/relocate-anon\'s to say)', () => {
    for (const v of ['none', 'fixed', 'patch-v1', 'bug-unlocked-new-anon-vma', 'v2'])
      expect(parseScenario(base({ kernel: { relocateAnon: v } })).kernel).toEqual({ relocateAnon: v });
  });

  it.each([
    ['not an object', [], 'kernel', /must be an object, got an array/],
    ['unknown field', { relocate: 'fixed' }, 'kernel.relocate', /unknown field \(known: relocateAnon, largeFolio, mthp, thp, release, revert\)/],
    ['not a variant name', { relocateAnon: 'Bug_Skip Swap' }, 'kernel.relocateAnon', /must be "none" or a variant of @mmsim\/relocate-anon such as "fixed".*got string "Bug_Skip Swap"/],
    ['variant not a string', { relocateAnon: 1 }, 'kernel.relocateAnon', /got number 1/],
    ['largeFolio type', { largeFolio: 'on' }, 'kernel.largeFolio', /true or false/],
    ['mthp not an array', { mthp: 4 }, 'kernel.mthp', /array of mTHP orders/],
    ['mthp order 9', { mthp: [9] }, 'kernel.mthp[0]', /\[1, 8\]/],
    ['mthp duplicate', { mthp: [4, 4] }, 'kernel.mthp[1]', /duplicate order 4/],
    ['thp mode', { thp: 'sometimes' }, 'kernel.thp', /"always", "madvise", "never"/],
  ])('%s is an error naming the field', (_n, kernel, field, re) => {
    const e = err(base({ kernel }));
    expect(e.field).toBe(field);
    expect(e.file).toBe('k.json');
    expect(e.message).toMatch(re);
  });
});

describe('the kernel edge cases are results, not input errors', () => {
  it('a length of 0 pages is in range for every range op', () => {
    const s = parseScenario(
      base({}, [
        { op: 'mmap', page: 0, pages: 0, prot: 'rw-' },
        { op: 'munmap', page: 3, pages: 0 },
        { op: 'mprotect', page: 3, pages: 0, prot: 'r--' },
        { op: 'madvise', page: 3, pages: 0, advice: 'COLD' },
        { op: 'touch', page: 63, pages: 0 },
        { op: 'mremap', page: 0, pages: 0, newPages: 4, flags: ['MAYMOVE'] },
        { op: 'mremap', page: 0, pages: 4, newPages: 0 },
      ]),
    );
    expect(s.steps.map((x) => ('pages' in x ? x.pages : -1))).toEqual([0, 0, 0, 0, 0, 0, 4]);
  });

  it('the process limit counts live processes: 200 fork/exit pairs with two alive', () => {
    const steps: unknown[] = [{ op: 'fork' }];
    for (let n = 2; n < 202; n++) steps.push({ op: 'fork' }, { op: 'exit', proc: n });
    const s = parseScenario(base({}, steps));
    expect(s.steps.filter((x) => x.op === 'fork')).toHaveLength(201);
    // 64 alive at once is still the limit
    const many = Array.from({ length: 64 }, () => ({ op: 'fork' }));
    expect(err(base({}, many)).message).toMatch(/step 63 \(fork\): too many live processes: at most 64/);
  });

  it('a snapshot after process 0 exits needs no process of its own', () => {
    const s = parseScenario(base({ expect: [{ snapshot: 'after', proc: 1, vmaCount: 0 }] }, [{ op: 'fork' }, { op: 'exit' }, { op: 'snapshot', label: 'after' }]));
    expect(s.steps[2]).toEqual({ op: 'snapshot', proc: 0, label: 'after' });
    // naming a dead process is still an error
    expect(err(base({}, [{ op: 'fork' }, { op: 'exit' }, { op: 'snapshot', proc: 0, label: 'x' }])).field).toBe('proc');
  });

  it('knows the advice COLD, PAGEOUT, MERGEABLE and UNMERGEABLE', () => {
    for (const advice of ['COLD', 'PAGEOUT', 'MERGEABLE', 'UNMERGEABLE'])
      expect(parseScenario(base({}, [{ op: 'madvise', page: 0, pages: 1, advice }])).steps[0]).toMatchObject({ advice });
  });
});
