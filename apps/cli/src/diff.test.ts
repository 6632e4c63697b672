/**
 * `mmsim diff` and `mmsim oracle` against the running kernel. The kernel cases run
 * on the machine's own kernel: the test machines (and CI) are Linux, root, with gcc.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { OracleUnavailableError, runOnKernel } from '@mmsim/kernel-oracle';
import { parseScenario } from '@mmsim/scenario';
import { scenarioJson } from './testing/fixtures.js';
import { cli, files, spawnCli, tmp } from './testing/harness.js';

const dir = tmp();
const simple = scenarioJson(
  [
    { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
    { op: 'touch', page: 0, pages: 2 },
    { op: 'snapshot', label: 'touched' },
  ],
  { name: 'simple' },
);

beforeAll(async () => {
  files(dir, {
    'simple.json': simple,
    'simonly.json': scenarioJson([{ op: 'mmap', page: 0, pages: 4, prot: 'rw-' }, { op: 'touch', page: 0, pages: 1 }, { op: 'pin', page: 0, pages: 1 }], { name: 'simonly' }),
    // a mremap the kernel does; refuse.mjs makes the simulator's EINVAL
    'moves.json': scenarioJson(
      [
        { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
        { op: 'mremap', page: 0, pages: 4, flags: ['MAYMOVE', 'FIXED'], to: 20 },
      ],
      { name: 'moves' },
    ),
    // two adjacent mappings the kernel merges (mm/vma.c vma_merge_new_range); nomerge.mjs keeps them apart
    'adjacent.json': scenarioJson(
      [
        { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
        { op: 'mmap', page: 4, pages: 4, prot: 'rw-' },
        { op: 'touch', page: 0, pages: 2 },
        { op: 'snapshot', label: 'touched' },
      ],
      { name: 'adjacent' },
    ),
    // plugins that change what the simulator does, so that it differs from the kernel
    'refuse.mjs': `import { definePlugin } from '@mmsim/core';
import { MREMAP_STRATEGY } from '@mmsim/linux';
export default definePlugin({ name: 'refuse-moves', setup(host) {
  host.provide(MREMAP_STRATEGY, { name: 'refuse-moves', extraFlags: 0, checkPrepVma: () => -22 });
} });
`,
    'nomerge.mjs': `import { definePlugin } from '@mmsim/core';
import { MERGE_POLICY } from '@mmsim/linux';
const no = () => false;
export default definePlugin({ name: 'no-merge', setup(host) {
  host.provide(MERGE_POLICY, { name: 'no-merge', isMergeableVma: no, isMergeableAnonVma: no, canVmaMergeBefore: no, canVmaMergeAfter: no, canMergePrevAndNext: no, anonVmaCompatible: no });
} });
`,
    'bad.json': scenarioJson([{ op: 'mmap', page: 0, pages: -1, prot: 'rw-' }]),
  });
  try {
    await runOnKernel(parseScenario(simple));
  } catch (e) {
    // the suite needs the real kernel: say plainly why it cannot run here
    if (e instanceof OracleUnavailableError) throw new Error(`the kernel oracle cannot run on this machine: ${e.message}`);
    throw e;
  }
}, 120_000);

describe('diff', () => {
  it('skips scenarios with simulator-only ops with a note', async () => {
    const r = await cli(['diff', 'simonly.json'], dir);
    expect(r.out).toMatch(/simonly\.json: skipped \(step \d+: the simulator-only op "pin", which only the simulator runs\)/);
    expect(r.code).toBe(0);
  });

  it('refuses a bad scenario with exit 2', async () => {
    const r = await cli(['diff', 'bad.json'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.json: step 0 \(mmap\): field "pages"/);
  });

  it('reports "same" when the simulator agrees with the kernel', async () => {
    const r = await cli(['diff', 'simple.json', 'simonly.json'], dir);
    expect(r.out).toContain('simple.json: same');
    expect(r.out).toContain('2 scenarios: 1 same, 0 differ, 0 not comparable, 1 skipped; 0 with failed expectations');
    expect(r.err).toMatch(/kernel: Linux \S+/);
    expect(r.code).toBe(0);
  });

  it('prints the first divergence and exits 1 on a mismatch', () => {
    const r = spawnCli(['diff', 'moves.json', '--plugin', './refuse.mjs'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('moves.json: DIFFERS');
    expect(r.out).toContain('first divergence at step 1 (mremap):');
    expect(r.out).toMatch(/simulator: \{"ok":false,"errno":"EINVAL"\}/);
    expect(r.out).toMatch(/kernel \S+: \{"ok":true,"page":20\}/);
    // a step divergence: both final layouts as bars, and the summary even for one file
    expect(r.out).toMatch(/ {2}simulator, snapshot "final":\n {4}proc 0: /);
    expect(r.out).toMatch(/ {2}kernel \S+, snapshot "final":\n {4}proc 0: /);
    expect(r.out).toMatch(/VMAs {2}[A-Z]/);
    expect(r.out).toContain('1 scenario: 0 same, 1 differ, 0 not comparable, 0 skipped; 0 with failed expectations');
  });

  it('a RELOCATE scenario under the series is "not comparable", counted apart; its failed expectations are reported', async () => {
    const steps = [
      { op: 'mmap', page: 0, pages: 10, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 10 },
      { op: 'mremap', page: 5, pages: 5, flags: ['MAYMOVE', 'FIXED', 'MUST_RELOCATE_ANON'], to: 20 },
    ];
    files(dir, {
      'reloc.json': scenarioJson(steps, { name: 'reloc', expect: [{ step: 2, result: { ok: true, page: 20 } }] }),
      'reloc-stock.json': scenarioJson(steps, { name: 'reloc-stock', kernel: { relocateAnon: 'none' }, expect: [{ step: 2, result: { ok: true, page: 20 } }] }),
    });
    const r = await cli(['diff', 'reloc.json', 'simple.json'], dir);
    expect(r.out).toContain("reloc.json: not comparable: this machine's kernel lacks MREMAP_RELOCATE_ANON");
    expect(r.out).toContain('2 scenarios: 1 same, 0 differ, 1 not comparable, 0 skipped; 0 with failed expectations');
    expect(r.code).toBe(0);
    // under the stock kernel both sides say EINVAL: same, but the expectation fails, as in `run`
    const s = await cli(['diff', 'reloc-stock.json'], dir);
    expect(s.out).toContain('reloc-stock.json: same, but 1 expectation failed');
    expect(s.out).toMatch(/expectation failed \(simulator\): expect\[0\]: step 2 \(mremap\) result is \{"ok":false,"errno":"EINVAL"\}/);
    expect(s.out).toContain('hint: step 2: EINVAL because the scenario\'s "kernel": {"relocateAnon": "none"} runs the stock kernel');
    expect(s.code).toBe(1);
    const o = await cli(['oracle', 'reloc.json'], dir);
    expect(o.out).toContain("not comparable: this machine's kernel lacks MREMAP_RELOCATE_ANON; the expectations are not checked");
  });

  it('shows both VMA layouts side by side for a snapshot divergence', () => {
    const same = spawnCli(['diff', 'adjacent.json'], dir);
    expect(same.out).toContain('adjacent.json: same');
    const r = spawnCli(['diff', 'adjacent.json', '--plugin', './nomerge.mjs'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('first divergence in snapshot "touched" (#0), proc 0, at vmas[0].end:');
    expect(r.out).toContain('VMAs of proc 0:');
    expect(r.out).toMatch(/simulator\s+\| kernel/);
    expect(r.out).toMatch(/\* \[0, 4\) rw-p ac \| \[0, 8\) rw-p ac\n\s+\* \[4, 8\) rw-p ac \|/);
  });
});

describe('oracle', () => {
  it('prints kernel observations, one per line with --json', async () => {
    const r = await cli(['oracle', 'simple.json', 'simple.json', '--json'], dir);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    const o = JSON.parse(lines[0]);
    expect(o.format).toBe('mmsim-observation/1');
    expect(o.snapshots[0].procs[0].pages.map((p: { page: number }) => p.page)).toEqual([0, 1]);
    expect(r.err).toBe('');
  });

  it('reports the kernel version on stderr in human mode', async () => {
    const r = await cli(['oracle', 'simple.json'], dir);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^kernel: Linux \S+/);
    expect(r.out).toContain('snapshot "touched":');
    expect(r.out).toContain('pages ##..');
  });

  it('refuses simulator-only scenarios and bad ones', async () => {
    const r = await cli(['oracle', 'simonly.json'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/simonly\.json: cannot run on the kernel/);
    const b = await cli(['oracle', 'bad.json'], dir);
    expect(b.code).toBe(2);
    expect(b.err).toContain('field "pages"');
  });
});
