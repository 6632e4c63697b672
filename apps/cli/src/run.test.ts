/**
 * `mmsim run` (and the bad-input paths of scenario-reading commands) on the test
 * stand-in model, so they run whether or not @mmsim/linux is complete.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLogFile, E, Engine, PluginError } from '@mmsim/core';
import { overrideModule } from './integrations.js';
import { fakeInvariants, fakeLinux, scenarioJson } from './testing/fixtures.js';
import { cli, files, tmp } from './testing/harness.js';

const dir = tmp();
const steps = [
  { op: 'mmap', page: 0, pages: 8, prot: 'rw-' },
  { op: 'touch', page: 0, pages: 3 },
  { op: 'snapshot', label: 'touched' },
  { op: 'mmap', page: 30, pages: 2, prot: 'r--' },
];

beforeAll(() => {
  overrideModule('@mmsim/runner', fakeLinux);
  overrideModule('@mmsim/large-folio', null);
  files(dir, {
    'ok.json': scenarioJson(steps, { name: 'ok', expect: [{ snapshot: 'final', proc: 0, vmaCount: 2 }] }),
    'fails.json': scenarioJson(steps, { name: 'fails', expect: [{ snapshot: 'touched', proc: 0, vma: { contains: 1, start: 0, end: 4 } }] }),
    'other.json': scenarioJson([{ op: 'mmap', page: 5, pages: 1, prot: 'rw-' }], { name: 'other' }),
    'noperm.json': scenarioJson([{ op: 'mmap', page: 5, pages: 1, prot: '---' }], { name: 'noperm' }),
    'badstep.json': scenarioJson([steps[0], { op: 'mremap', page: 0, pages: 8, flags: ['MAYMOVE', 'FIXED'] }]),
    'badjson.json': '{ "format": "mmsim-scenario/1", ',
    'badfield.json': scenarioJson([{ op: 'touch', page: 0, pages: 1, acess: 'write' }]),
    'plugin.mjs': "export default { name: 'file-plugin', setup() {} };\n",
    'named.mjs': "export const plugin = { name: 'named-plugin', setup() {} };\n",
    'notplugin.mjs': 'export default { setup() {} };\n',
    'throws.mjs': "export default { name: 'thrower', setup() { throw new Error('no thanks'); } };\n",
  });
});
afterAll(() => {
  overrideModule('@mmsim/runner', undefined);
  overrideModule('@mmsim/large-folio', undefined);
  overrideModule('@mmsim/relocate-anon', undefined);
  overrideModule('@mmsim/invariants', undefined);
});

describe('run', () => {
  it('prints a readable summary: steps, VMA bars per snapshot, expectations', async () => {
    const r = await cli(['run', 'ok.json'], dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('scenario ok');
    expect(r.out).toMatch(/#0\s+mmap \[0, 8\) rw- private\s+ok -> page 0/);
    expect(r.out).toMatch(/#1\s+touch \[0, 3\) write\s+ok/);
    expect(r.out).toContain('snapshot "touched":');
    expect(r.out).toContain('VMAs  AAAAAAAA ~ BB');
    expect(r.out).toContain('pages ###.....');
    expect(r.out).toContain('A [0, 8) rw-p   B [30, 32) r--p');
    expect(r.out).toContain('expectations: 1/1 passed');
  });

  it('--json prints one observation per line in file order', async () => {
    const r = await cli(['run', 'ok.json', 'other.json', '--json'], dir);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => JSON.parse(l).scenario)).toEqual(['ok', 'other']);
    expect(lines[0].startsWith('{"format":"mmsim-observation/1","scenario":"ok","steps":[{"i":0,"op":"mmap","result":{"ok":true,"page":0}}')).toBe(true);
  });

  it('exits 1 when an expectation fails, and says which', async () => {
    const r = await cli(['run', 'fails.json'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('expectations: 0/1 passed');
    expect(r.out).toContain('FAIL expect[0]: snapshot "touched" proc 0: the VMA containing page 1 is [0, 8) rw-p ac, expected [0, 4)');
    const j = await cli(['run', 'fails.json', '--json'], dir);
    expect(j.code).toBe(1);
    expect(j.err).toContain('fails.json: expect[0]');
    const q = await cli(['run', 'ok.json', 'fails.json', '-q'], dir);
    expect(q.code).toBe(1);
    expect(q.out).toContain('2 scenarios: 1 passed, 1 with failed expectations');
    expect(q.out).not.toContain('scenario ok');
  });

  it('refuses a bad scenario with exit 2 naming the file, step and field, before running anything', async () => {
    const r = await cli(['run', 'ok.json', 'badstep.json', '--json'], dir);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/badstep\.json: step 1 \(mremap\): field "to"/);
    const f = await cli(['run', 'badfield.json'], dir);
    expect(f.code).toBe(2);
    expect(f.err).toMatch(/badfield\.json: step 0 \(touch\): field "acess": unknown field/);
    const j = await cli(['run', 'badjson.json'], dir);
    expect(j.code).toBe(2);
    expect(j.err).toMatch(/badjson\.json:\d+:\d+: invalid JSON/);
    const m = await cli(['run', 'missing.json'], dir);
    expect(m.code).toBe(2);
    expect(m.err).toContain('missing.json: cannot read the scenario: no such file');
  });

  it('--log writes the binary log, byte-identical across runs', async () => {
    const a = await cli(['run', 'ok.json', '--log', 'a.mmlog'], dir);
    const b = await cli(['run', 'ok.json', '--log', 'b.mmlog', '--json'], dir);
    expect(a.code + b.code).toBe(0);
    expect(a.err).toMatch(/log: .*a\.mmlog \(\d+ events\)/);
    expect(b.err).toBe('');
    const fa = readFileSync(join(dir, 'a.mmlog'));
    expect(fa.equals(readFileSync(join(dir, 'b.mmlog')))).toBe(true);
    expect(decodeLogFile(new Uint8Array(fa)).log.length).toBeGreaterThan(10);
  });

  it('--log with several files names a directory with one <name>.mmlog each', async () => {
    const r = await cli(['run', 'ok.json', 'other.json', '--log', 'logs', '-q'], dir);
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'logs', 'ok.mmlog'))).toBe(true);
    expect(existsSync(join(dir, 'logs', 'other.mmlog'))).toBe(true);
    const bad = await cli(['run', 'ok.json', 'other.json', '--log', 'one.mmlog'], dir);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--log names a directory');
  });

  it('--plugin loads a module by path (default export or export "plugin")', async () => {
    const r = await cli(['run', 'ok.json', '--plugin', './plugin.mjs', '--plugin', 'named.mjs', '--log', 'p.mmlog', '-q'], dir);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const { header } = decodeLogFile(new Uint8Array(readFileSync(join(dir, 'p.mmlog'))));
    expect(header.config.plugins).toEqual(['file-plugin', 'named-plugin']);
  });

  it('--plugin errors name the module', async () => {
    const a = await cli(['run', 'ok.json', '--plugin', './notplugin.mjs'], dir);
    expect(a.code).toBe(2);
    expect(a.err).toContain('--plugin ./notplugin.mjs: the exported value is not an mmsim plugin: a plugin needs a non-empty string name');
    const b = await cli(['run', 'ok.json', '--plugin', './nowhere.mjs'], dir);
    expect(b.code).toBe(2);
    expect(b.err).toContain('--plugin ./nowhere.mjs: cannot load the module');
    const c = await cli(['run', 'ok.json', '--plugin', '@mmsim/no-such-package'], dir);
    expect(c.code).toBe(2);
    expect(c.err).toContain('--plugin @mmsim/no-such-package: cannot load the module');
  });

  it('--check prints invariant violations to stderr and exits 3', async () => {
    overrideModule('@mmsim/invariants', fakeInvariants as unknown as Record<string, unknown>);
    const ok = await cli(['run', 'ok.json', '--check', '-q'], dir);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('0 invariant violations');
    const bad = await cli(['run', 'noperm.json', '--check'], dir);
    expect(bad.code).toBe(3);
    expect(bad.err).toMatch(/noperm\.json: 1 invariant violation:\n {2}\[vma-readable\] seq \d+ in step:mmap: vma 1 is not readable/);
    overrideModule('@mmsim/invariants', null);
    const missing = await cli(['run', 'ok.json', '--check'], dir);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--check needs the package @mmsim/invariants');
  });

  it('draws a progress bar on stderr only, never into --json stdout', async () => {
    const r = await cli(['run', 'ok.json', 'other.json', '--json'], dir, { progress: true });
    expect(r.code).toBe(0);
    expect(r.err).toContain('\r');
    expect(r.err).toMatch(/run \[#+ *\]\s+\d+%/);
    for (const l of r.out.trim().split('\n')) expect(() => JSON.parse(l)).not.toThrow();
    const quiet = await cli(['run', 'ok.json', 'other.json', '--json'], dir);
    expect(quiet.err).toBe('');
  });
});

describe('run: failures inside the simulator', () => {
  it('a plugin that throws is named (exit 4); a model crash is exit 70 naming the scenario', async () => {
    overrideModule('@mmsim/runner', fakeLinux);
    const r = await cli(['run', 'ok.json', '--plugin', './throws.mjs'], dir);
    expect(r.code).toBe(4);
    expect(r.err).toContain('plugin thrower failed in setup: no thanks');
    overrideModule('@mmsim/runner', {
      ...fakeLinux,
      runScenario: () => {
        throw new Error('BUG: vma 3 vanished');
      },
    });
    const c = await cli(['run', 'ok.json'], dir);
    overrideModule('@mmsim/runner', fakeLinux);
    expect(c.code).toBe(70);
    expect(c.err).toContain('the simulator failed on scenario ok: BUG: vma 3 vanished');
  });
});

describe('run: a plugin failure after --check found violations', () => {
  it('prints the violations found before the failure, the failure once, and exits 4', async () => {
    overrideModule('@mmsim/invariants', fakeInvariants as unknown as Record<string, unknown>);
    overrideModule('@mmsim/runner', {
      ...fakeLinux,
      runScenario: (s: Parameters<typeof fakeLinux.runScenario>[0], opts: { onKernel?: (k: { eng: Engine }) => void }) => {
        const eng = new Engine();
        opts.onKernel?.({ eng });
        eng.emit(E.MmCreate, 1, 0);
        eng.emit(E.VmaInsert, 7, 1, 0x10000000, 0x10000004, 0x10000000, 0); // not readable: flagged
        throw new PluginError('p-late', 'mremap-strategy.copyVmaAndData', new Error('gave up'));
      },
    });
    const r = await cli(['run', 'ok.json', '--check'], dir);
    overrideModule('@mmsim/runner', fakeLinux);
    expect(r.code).toBe(4);
    expect(r.err).toContain('ok.json: 1 invariant violation before the failure:');
    expect(r.err).toContain('[vma-readable] seq 1');
    expect(r.err.match(/plugin p-late failed in mremap-strategy\.copyVmaAndData: gave up/g)).toHaveLength(1);
  });
});
