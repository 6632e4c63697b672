/**
 * Kernel profiles end to end on the real model (@mmsim/linux, @mmsim/relocate-anon,
 * @mmsim/large-folio): the default profile, the scenario's kernel block, the options
 * over it, the log header that records them, and logs whose plugins are missing.
 */
import { readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeLogFile, encodeLogFile } from '@mmsim/core';
import { DEFAULT_PROFILE } from '@mmsim/runner';
import { RELOCATE_ANON_VARIANTS } from '@mmsim/relocate-anon';
import { DEFAULT_KERNEL_SETTINGS } from './profile.js';
import { cli, files, tmp } from './testing/harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const RELOCATE = join(ROOT, 'scenarios/golden/relocate-anon');
const goldens = readdirSync(RELOCATE)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => join(RELOCATE, f));
const single = join(RELOCATE, 'mremap_relocate_anon_single_fork.json');
const dir = tmp();

// MUST_RELOCATE_ANON on a faulted VMA: EINVAL on the stock kernel, ok with the series
const mustMove = (kernel?: Record<string, unknown>, expectResult: unknown = { ok: true, page: 20 }) =>
  JSON.stringify({
    format: 'mmsim-scenario/1',
    name: 'must-move',
    arena: { pages: 32 },
    ...(kernel ? { kernel } : {}),
    steps: [
      { op: 'mmap', page: 0, pages: 10, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 10 },
      { op: 'mremap', page: 5, pages: 5, flags: ['MAYMOVE', 'FIXED', 'MUST_RELOCATE_ANON'], to: 20 },
    ],
    expect: [{ step: 2, result: expectResult }],
  });

describe('the default profile is 6.18.y with the series', () => {
  it('the relocate-anon goldens pass with no flag, under the checkers too', async () => {
    const r = await cli(['run', ...goldens, '-q', '--check'], dir);
    expect(r.out).toContain(`${goldens.length} scenarios: ${goldens.length} passed, 0 with failed expectations, 0 invariant violations`);
    expect(r.code).toBe(0);
  });

  it('--relocate-variant none is the stock kernel: MUST_RELOCATE_ANON is EINVAL, with a hint naming the option', async () => {
    const r = await cli(['run', single, '--relocate-variant', 'none'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/error EINVAL/);
    expect(r.out).toContain('kernel: Linux 6.18.y (stock: no MREMAP_RELOCATE_ANON), THP madvise');
    expect(r.out).toMatch(/hint: step 4: EINVAL because --relocate-variant none runs the stock kernel, which has no MUST_RELOCATE_ANON; --relocate-variant fixed/);
  });

  it('every variant, bug-* included, is selectable and recorded with its options', async () => {
    for (const v of Object.keys(RELOCATE_ANON_VARIANTS)) {
      const r = await cli(['run', single, '-q', '--relocate-variant', v, '--log', `v-${v}.mmlog`], dir);
      expect(r.code, `${v}: ${r.err}`).toBeLessThan(2);
      const { header } = decodeLogFile(new Uint8Array(readFileSync(join(dir, `v-${v}.mmlog`))));
      expect(header.config.plugins).toContainEqual({ name: '@mmsim/relocate-anon', version: '0.1.0', options: { variant: v }, module: '@mmsim/relocate-anon' });
    }
  });

  it('bad option values are errors naming the option', async () => {
    const bad: [string[], RegExp][] = [
      [['--relocate-variant', 'v9'], /--relocate-variant: must be one of "none", "fixed", "wp-seq", "patch-v1", .*got string "v9"/],
      [['--large-folio', 'maybe'], /--large-folio must be "on" or "off"/],
      [['--thp', 'sometimes'], /--thp: must be one of "always", "madvise", "never"/],
      [['--mthp', '4,x'], /--mthp: must be an order in \[1, 8\]/],
      [['--mthp', '9'], /--mthp: must be an order in \[1, 8\]/],
    ];
    for (const [opts, re] of bad) {
      const r = await cli(['run', single, ...opts], dir);
      expect(r.code, opts.join(' ')).toBe(2);
      expect(r.err).toMatch(re);
    }
  });

  it("a scenario's variant relocate-anon does not have is bad input naming it and the known ones", async () => {
    files(dir, { 'v2.json': mustMove({ relocateAnon: 'v2' }) });
    const r = await cli(['run', 'v2.json'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/scenario must-move: relocateAnon "v2": unknown variant "v2"; choose one of fixed, wp-seq, patch-v1, /);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it("the CLI's default settings are the model's DEFAULT_PROFILE", () => {
    expect(DEFAULT_KERNEL_SETTINGS).toEqual(DEFAULT_PROFILE);
  });
});

describe("a scenario's kernel block decides, an option overrides it and says so", () => {
  it('the block alone turns the series off or on', async () => {
    files(dir, {
      'stock.json': mustMove({ relocateAnon: 'none' }, { ok: false, errno: 'EINVAL' }),
      'series.json': mustMove({ relocateAnon: 'patch-v1' }),
      'plain.json': mustMove(),
    });
    const r = await cli(['run', 'stock.json', 'series.json', 'plain.json', '-q'], dir);
    expect(r.out).toContain('3 scenarios: 3 passed, 0 with failed expectations');
    const s = await cli(['run', 'stock.json'], dir);
    expect(s.out).toContain('hint: step 2: EINVAL because the scenario\'s "kernel": {"relocateAnon": "none"} runs the stock kernel');
  });

  it('an option over the block is named in the output, and wins', async () => {
    const r = await cli(['run', 'stock.json', '--relocate-variant', 'fixed'], dir);
    expect(r.code).toBe(1); // the block's expectation (EINVAL) no longer holds
    expect(r.out).toContain('note: --relocate-variant fixed overrides the scenario\'s kernel.relocateAnon "none"');
    expect(r.out).toContain('kernel: Linux 6.18.y + MREMAP_RELOCATE_ANON (fixed), large folios, THP madvise');
  });

  it('the header round-trips the profile, where each setting came from, and the scenario', async () => {
    files(dir, { 'k.json': mustMove({ relocateAnon: 'bug-skip-swap', mthp: [4], thp: 'always' }) });
    const r = await cli(['run', 'k.json', '--large-folio', 'off', '--log', 'k.mmlog', '-q'], dir);
    expect(r.code).toBe(0);
    const { header } = decodeLogFile(new Uint8Array(readFileSync(join(dir, 'k.mmlog'))));
    expect(header.config.profile).toEqual({ relocateAnon: 'bug-skip-swap', largeFolio: false, mthp: [4], thp: 'always' });
    expect(header.config.profileFrom).toEqual({ relocateAnon: 'scenario', largeFolio: 'option', mthp: 'scenario', thp: 'scenario' });
    expect(header.config.kernel).toMatchObject({ thp: 'always', mthpOrders: [4] });
    expect((header.config.scenarioSpec as { kernel: unknown }).kernel).toEqual({ relocateAnon: 'bug-skip-swap', mthp: [4], thp: 'always' });
    expect((header.config.plugins as { name: string }[]).map((p) => p.name)).toEqual(['@mmsim/linux/merge-policy', '@mmsim/relocate-anon']);
    // later commands need no options: replay says what ran
    const rep = await cli(['replay', 'k.mmlog'], dir);
    expect(rep.code).toBe(0);
    expect(rep.out).toContain('kernel: Linux 6.18.y + MREMAP_RELOCATE_ANON (bug-skip-swap), without its large-folio extension, THP always, mTHP orders 4');
    expect(rep.out).toContain('plugins: @mmsim/linux/merge-policy@0.1.0, @mmsim/relocate-anon@0.1.0 {"variant":"bug-skip-swap"}');
  });
});

describe('a log whose plugins are not installed is refused', () => {
  it('replay, inspect, check, bisect and serve name the missing package', async () => {
    const r = await cli(['run', single, '--log', 'lf.mmlog', '-q'], dir);
    expect(r.code).toBe(0);
    // the log of a run whose large-folio plugin came from a package this install lacks
    const { log, header } = decodeLogFile(new Uint8Array(readFileSync(join(dir, 'lf.mmlog'))));
    const plugins = (header.config.plugins as { name: string; module?: string }[]).map((p) =>
      p.name === '@mmsim/large-folio' ? { ...p, name: '@mmsim/huge-folio', module: '@mmsim/huge-folio' } : p,
    );
    expect(plugins.map((p) => p.name)).toContain('@mmsim/huge-folio');
    writeFileSync(join(dir, 'hf.mmlog'), encodeLogFile(log, { ...header, config: { ...header.config, plugins } }));
    for (const cmd of [['replay'], ['inspect', '--at', '5'], ['check'], ['bisect', '--check'], ['serve']]) {
      const x = await cli([cmd[0], 'hf.mmlog', ...cmd.slice(1)], dir);
      expect(x.code, cmd[0]).toBe(2);
      expect(x.err).toContain('hf.mmlog: the log was written with plugins that are not installed here: @mmsim/huge-folio (plugin @mmsim/huge-folio 0.1.0)');
      expect(x.err).toContain('npm install @mmsim/huge-folio');
    }
  });

  it('a --plugin module recorded by its path is refused once the file is gone', async () => {
    files(dir, { 'mine.mjs': "export default { name: 'mine', version: '2.0.0', setup() {} };\n" });
    expect((await cli(['run', single, '--plugin', './mine.mjs', '--log', 'mine.mmlog', '-q'], dir)).code).toBe(0);
    const { header } = decodeLogFile(new Uint8Array(readFileSync(join(dir, 'mine.mmlog'))));
    expect(header.config.plugins).toContainEqual({ name: 'mine', version: '2.0.0', options: null, module: join(dir, 'mine.mjs') });
    expect((await cli(['replay', 'mine.mmlog', '--json'], dir)).code).toBe(0);
    unlinkSync(join(dir, 'mine.mjs'));
    const x = await cli(['replay', 'mine.mmlog'], dir);
    expect(x.code).toBe(2);
    expect(x.err).toContain(`${join(dir, 'mine.mjs')} (plugin mine 2.0.0)`);
  });
});

describe('--help describes the profiles', () => {
  it('run --help lists none and every variant in one line each', async () => {
    const r = await cli(['run', '--help'], dir);
    expect(r.out).toContain('Kernel profiles:');
    expect(r.out).toMatch(/none\s+the stock 6\.18 kernel: mremap\(\) flags 8 and 16/);
    for (const [v, what] of Object.entries(RELOCATE_ANON_VARIANTS)) expect(r.out).toContain(`${v.padEnd(25)}  ${what}`);
  });
});
