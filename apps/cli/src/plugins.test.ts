/**
 * `--plugin FILE` as a plugin author meets it: real spawns of bin/mmsim.mjs on plugin
 * files in temp folders that are no npm project (or a CommonJS one), with no
 * node_modules: @mmsim/* resolves from the CLI's own installation.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scenarioJson } from './testing/fixtures.js';
import { files, tmp } from './testing/harness.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/mmsim.mjs');
const dir = tmp('mmsim-plugins-');
const cjs = join(dir, 'cjs-project');
mkdirSync(cjs);

const STRATEGY = `import { definePlugin } from '@mmsim/core';
import { EPERM, MREMAP_MAYMOVE, MREMAP_STRATEGY, type MoveContext } from '@mmsim/linux';
const limit: number = 4;
export default definePlugin({
  name: 'no-big-moves',
  setup(host) {
    host.provide(MREMAP_STRATEGY, {
      name: 'no-big-moves',
      extraFlags: 0,
      checkPrepVma: ({ vrm }: MoveContext) => (vrm.flags & MREMAP_MAYMOVE && vrm.oldLen > limit ? -EPERM : 0),
    });
  },
});
`;
const CHECKER_TS = `import { E, definePlugin } from '@mmsim/core';
import { CHECKER } from '@mmsim/invariants';
export default definePlugin({
  name: 'vma-limit',
  setup(host) {
    host.provide(CHECKER, {
      name: 'vma-limit',
      create: (ctx) => ({
        onEvent(r) {
          if (r.type === E.VmaInsert && r.d - r.c > 16) ctx.report(\`VMA \${r.a} spans \${r.d - r.c} pages (limit 16)\`, { vma: [r.a] });
        },
      }),
    });
  },
});
`;
const steps = [
  { op: 'mmap', page: 0, pages: 8, prot: 'rw-' },
  { op: 'mremap', page: 0, pages: 8, flags: ['MAYMOVE', 'FIXED'], to: 20 },
  { op: 'mmap', page: 40, pages: 20, prot: 'rw-' },
  { op: 'mmap', page: 70, pages: 20, prot: 'rw-' },
];
files(dir, {
  's.json': scenarioJson(steps, { name: 's', arena: { pages: 128 } }),
  'strategy.ts': STRATEGY,
  'checker.ts': CHECKER_TS,
  'broken.ts': "import { definePlugin } from '@mmsim/core';\nexport default definePlugin({ name: 'b', setup() { const x: number = ; } });\n",
  'factory.mjs': "import { definePlugin } from '@mmsim/core';\nexport default function noBigMoves() { return definePlugin({ name: 'f', setup() {} }); }\n",
});
files(cjs, { 'package.json': '{ "name": "a-commonjs-project" }\n', 'strategy.ts': STRATEGY });

const mmsim = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });

describe('--plugin files outside any project', () => {
  it('a .ts strategy in a folder with no package.json and no node_modules', () => {
    const r = mmsim(dir, 'run', 's.json', '--plugin', './strategy.ts', '--json');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).steps[1].result).toEqual({ ok: false, errno: 'EPERM' });
  });

  it('a .ts strategy in a CommonJS project (no "type": "module")', () => {
    const r = mmsim(cjs, 'run', '../s.json', '--plugin', './strategy.ts', '--json');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).steps[1].result).toEqual({ ok: false, errno: 'EPERM' });
  });

  it('a compile error: the whole error, with file, line and column, and the line', () => {
    const r = mmsim(dir, 'run', 's.json', '--plugin', './broken.ts');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--plugin ./broken.ts: cannot load the module: cannot compile ${join(dir, 'broken.ts')}:`);
    expect(r.stderr).toMatch(/broken\.ts:2:\d+: Unexpected ";"/);
    expect(r.stderr).toContain("const x: number = ; }");
  });

  it('a factory as default export: "is it a factory? call it"', () => {
    const r = mmsim(dir, 'run', 's.json', '--plugin', './factory.mjs');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('the default export is a function (noBigMoves), not an mmsim plugin; is it a factory? call it: `export default noBigMoves()`');
  });
});

describe('a third-party checker (CHECKER) in run --check, check --plugin and bisect --plugin', () => {
  it('reports like the built-ins, grouped, exit 3', () => {
    const r = mmsim(dir, 'run', 's.json', '--plugin', './checker.ts', '--check', '--log', 's.mmlog', '-q');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/s\.json: 2 invariant violations \(1 distinct\):\n {2}\[vma-limit\] seq \d+ in step:mmap > \S+.*: VMA \d+ spans 20 pages \(limit 16\) \{"vma":\[\d+\]\} \(2 times: first at seq \d+, last at seq \d+\)/);
    expect(r.stdout).toContain('1 scenario: 0 passed, 0 with failed expectations, 2 invariant violations');

    // the log's header names the checker plugin: check loads it again without --plugin
    const plain = mmsim(dir, 'check', 's.mmlog', '--json');
    expect(plain.status).toBe(3);
    expect(plain.stdout.trim().split('\n').map((l) => JSON.parse(l).checker)).toEqual(['vma-limit', 'vma-limit']);
    const c = mmsim(dir, 'check', 's.mmlog', '--plugin', './checker.ts', '--json');
    expect(c.status).toBe(3);
    const vs = c.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(vs.map((v) => [v.checker, v.message])).toEqual([
      ['vma-limit', expect.stringMatching(/spans 20 pages/)],
      ['vma-limit', expect.stringMatching(/spans 20 pages/)],
    ]);
    const b = mmsim(dir, 'bisect', 's.mmlog', '--check', '--plugin', './checker.ts', '--json');
    expect(b.status).toBe(3);
    expect(JSON.parse(b.stdout)).toMatchObject({ seq: vs[0].seq, violation: { checker: 'vma-limit' } });
  });
});

/** budget: at most one vma_insert in a run (the issue's example of a checker plugin). */
const BUDGET = `import { E, definePlugin } from '@mmsim/core';
import { CHECKER } from '@mmsim/invariants';
export default definePlugin({
  name: 'budget',
  setup(host) {
    host.provide(CHECKER, {
      name: 'budget',
      create: (ctx) => {
        let inserts = 0;
        return { onEvent(r) { if (r.type === E.VmaInsert && ++inserts > 1) ctx.report(\`vma_insert \${inserts} is over the budget of 1\`, { vma: [r.a] }); } };
      },
    });
  },
});
`;

describe('mmsim check LOG runs the checker plugins the log header names', () => {
  const bdir = tmp('mmsim-budget-');
  files(bdir, { 's.json': scenarioJson(steps, { name: 's', arena: { pages: 128 } }), 'budget.mjs': BUDGET });

  it('run --plugin budget --check exits 3, and so does check on its log, bisect too', () => {
    const r = mmsim(bdir, 'run', 's.json', '--plugin', './budget.mjs', '--check', '--log', 'b.mmlog', '-q');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/\[budget\] seq (\d+) .*vma_insert 2 is over the budget of 1/);
    const seq = Number(/\[budget\] seq (\d+)/.exec(r.stderr)![1]);
    const c = mmsim(bdir, 'check', 'b.mmlog');
    expect(c.status).toBe(3);
    expect(c.stderr).toContain(`[budget] seq ${seq} `);
    expect(c.stdout).toMatch(/b\.mmlog: \d+ events checked, 3 violations/);
    const b = mmsim(bdir, 'bisect', 'b.mmlog', '--check', '--json');
    expect(b.status).toBe(3);
    expect(JSON.parse(b.stdout)).toMatchObject({ seq, violation: { checker: 'budget' } });
  });

  it('a header plugin file that is gone: named, put it back, exit 2', () => {
    const r = mmsim(bdir, 'run', 's.json', '--plugin', './budget.mjs', '--log', 'moved.mmlog', '-q');
    expect(r.status).toBe(0);
    renameSync(join(bdir, 'budget.mjs'), join(bdir, 'budget.mjs.away'));
    try {
      const c = mmsim(bdir, 'check', 'moved.mmlog');
      expect(c.status).toBe(2);
      expect(c.stderr).toBe(`mmsim: moved.mmlog: the log was written with plugin files that are not there: ${join(bdir, 'budget.mjs')} (plugin budget); put it back at that path to read this log\n`);
    } finally {
      renameSync(join(bdir, 'budget.mjs.away'), join(bdir, 'budget.mjs'));
    }
  });

  it('a header plugin that cannot be loaded is named, exit 2', () => {
    const r = mmsim(bdir, 'run', 's.json', '--plugin', './budget.mjs', '--log', 'gone.mmlog', '-q');
    expect(r.status).toBe(0);
    // the module is there but no longer loads: the check is refused, not run without it
    files(bdir, { 'budget.mjs': "export default { name: 'budget' };\n" });
    try {
      const c = mmsim(bdir, 'check', 'gone.mmlog');
      expect(c.status).toBe(2);
      expect(c.stderr).toContain(`gone.mmlog: the log's run used plugin budget from ${join(bdir, 'budget.mjs')}, which cannot be loaded to run its checkers:`);
      expect(c.stderr).toContain('not an mmsim plugin');
    } finally {
      files(bdir, { 'budget.mjs': BUDGET });
    }
  });
});
