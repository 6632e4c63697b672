/**
 * `mmsim why` and the relocation reasons in `run`'s results, on logs the engine wrote:
 * a move whose relocation falls back on a pinned folio (fixed variant), adjacent VMAs
 * that do not merge for differing flags and for a pgoff gap, and a race where GUP-fast
 * pins the folio a concurrent relocation then meets.
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioJson } from './testing/fixtures.js';
import { cli, files, tmp } from './testing/harness.js';

const dir = tmp('mmsim-why-');
const RACE = resolve(import.meta.dirname, '../../../scenarios/races/relocate-vs-gup-fast.json');
const FALLBACK = 'MREMAP_RELOCATE_ANON fell back to the ordinary move: the folio (pfn 1026) at 0x10000002000 is pinned (folio_maybe_dma_pinned(): pincount 1)';
files(dir, {
  'pin.json': scenarioJson(
    [
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 4 },
      { op: 'pin', page: 2, pages: 1 },
      { op: 'mremap', page: 0, pages: 4, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 20 },
    ],
    // the expectation is about the outcome: the reason beside it does not fail it
    { name: 'pin', arena: { pages: 64 }, expect: [{ step: 3, result: { ok: true, page: 20 } }] },
  ),
  'merge.json': scenarioJson(
    [
      { op: 'mmap', page: 10, pages: 4, prot: 'rw-' },
      { op: 'touch', page: 10, pages: 4 },
      { op: 'mprotect', page: 10, pages: 2, prot: 'r--' },
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 4 },
      { op: 'mremap', page: 0, pages: 4, flags: ['MAYMOVE', 'FIXED'], to: 20 },
      { op: 'mmap', page: 24, pages: 4, prot: 'rw-' },
    ],
    { name: 'merge', arena: { pages: 64 } },
  ),
});

describe('mmsim run: a relocation that fell back says why in its step result', () => {
  it('human output and JSON; the expectations still see the plain result', async () => {
    const h = await cli(['run', 'pin.json', '--log', 'pin.mmlog'], dir);
    expect(h.code).toBe(0);
    expect(h.out).toContain('expectations: 1/1 passed');
    expect(h.out).toMatch(new RegExp(`#3 +mremap \\[0, 4\\) -> \\[20, 24\\) MAYMOVE\\|FIXED\\|RELOCATE_ANON +ok -> page 20: ${FALLBACK.replace(/[()|]/g, '\\$&')}\\n`));
    const j = await cli(['run', 'pin.json', '--json'], dir);
    expect(JSON.parse(j.out).steps[3].result).toEqual({ ok: true, page: 20, why: FALLBACK });
    // replay rebuilds the same from the log alone
    const r = await cli(['replay', 'pin.mmlog', '--json'], dir);
    expect(r.out).toBe(j.out);
  });

  it('a step whose relocation did not give up has no why', async () => {
    const j = await cli(['run', 'merge.json', '--json'], dir);
    expect(JSON.parse(j.out).steps.filter((s: { result: object }) => 'why' in s.result)).toEqual([]);
  });

  it("in a concurrent step: the task step's result (GUP-fast pinned the folio first)", async () => {
    const j = await cli(['run', RACE, '--json', '--seed', '0'], dir);
    const step = JSON.parse(j.out).steps[2];
    expect(step.result).toEqual({ ok: true });
    expect(step.tasks[0][0].result).toEqual({ ok: true, page: 32, why: expect.stringMatching(/^MREMAP_RELOCATE_ANON fell back to the ordinary move: the folio \(pfn \d+\) at 0x10000003000 is pinned/) });
    expect(step.tasks[1][0].result).not.toHaveProperty('why');
  });
});

describe('mmsim why LOG', () => {
  it('the relocation that fell back, with its step, and what the moved VMA does not merge with', async () => {
    await cli(['run', 'pin.json', '--log', 'pin.mmlog'], dir);
    const w = await cli(['why', 'pin.mmlog'], dir);
    expect(w.code).toBe(0);
    expect(w.out).toMatch(/^pin\.mmlog: the state after (\d+) of \1 events \(the end\)\n/);
    expect(w.out).toContain('  no two VMAs are adjacent: nothing could merge\n');
    expect(w.out).toMatch(new RegExp(`\\n    seq \\d+, step 3 \\(mremap\\), VMA 1: ${FALLBACK.replace(/[()|]/g, '\\$&')}\\n`));
  });

  it('the rule that fails for each adjacent pair: flags, then pgoff; --vma keeps one VMA\'s pairs; --json', async () => {
    await cli(['run', 'merge.json', '--log', 'merge.mmlog'], dir);
    const w = await cli(['why', 'merge.mmlog'], dir);
    expect(w.code).toBe(0);
    expect(w.out).toContain('  adjacent VMAs (merge policy linux-6.18):\n');
    expect(w.out).toMatch(/mm 1: VMA (\d+) \[0x1000000a000, 0x1000000c000\) pages \[10, 12\) \| VMA (\d+) \[0x1000000c000, 0x1000000e000\) pages \[12, 14\)\n {6}not merged: flags differ: VM_WRITE /);
    expect(w.out).toMatch(/pages \[20, 24\) \| VMA \d+ \[0x10000018000, 0x1000001c000\) pages \[24, 28\)\n {6}not merged: pgoff not contiguous: #\d+ ends at pgoff \d+, #\d+ starts at \d+/);
    expect(w.out).toContain('  no MREMAP_RELOCATE_ANON relocation gave up\n');
    const j = JSON.parse((await cli(['why', 'merge.mmlog', '--json'], dir)).out);
    expect(j.merges.map((m: { merge: boolean; reason: string }) => [m.merge, m.reason.split(':')[0]])).toEqual([
      [false, 'flags differ'],
      [false, 'pgoff not contiguous'],
    ]);
    const moved = j.merges[1].left;
    const one = JSON.parse((await cli(['why', 'merge.mmlog', '--json', '--vma', String(moved)], dir)).out);
    expect(one.merges).toEqual([j.merges[1]]);
  });

  it('--at: relocations up to there only (the note is at seq S: --at S leaves it out, --at S+1 has it)', async () => {
    await cli(['run', 'pin.json', '--log', 'pin.mmlog'], dir);
    const all = JSON.parse((await cli(['why', 'pin.mmlog', '--json'], dir)).out);
    const seq = all.relocations[0].seq;
    expect(JSON.parse((await cli(['why', 'pin.mmlog', '--json', '--at', String(seq)], dir)).out).relocations).toEqual([]);
    expect(JSON.parse((await cli(['why', 'pin.mmlog', '--json', '--at', String(seq + 1)], dir)).out).relocations).toEqual(all.relocations);
  });

  it('bad input: exit 2 naming the option', async () => {
    await cli(['run', 'pin.json', '--log', 'pin.mmlog'], dir);
    const past = await cli(['why', 'pin.mmlog', '--at', '999999'], dir);
    expect(past.code).toBe(2);
    expect(past.err).toMatch(/--at 999999: the log has \d+ events/);
    const none = await cli(['why', 'pin.mmlog', '--vma', '77'], dir);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--vma 77: there is no VMA 77 after \d+ events \(VMAs there: \d+\)/);
    const missing = await cli(['why', join(dir, 'nope.mmlog')], dir);
    expect(missing.code).toBe(2);
  });
});
