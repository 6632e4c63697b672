/**
 * `mmsim run` (and the bad-input paths of scenario-reading commands) on the model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeLogFile } from '@mmsim/core';
import { parseScenario } from '@mmsim/scenario';
import { EXIT } from './context.js';
import { simulatorFailure } from './sim.js';
import { scenarioJson } from './testing/fixtures.js';
import { cli, files, spawnCli, tmp } from './testing/harness.js';

const dir = tmp();
const mmsim = (...args: string[]) => spawnCli(args, dir);
const steps = [
  { op: 'mmap', page: 0, pages: 8, prot: 'rw-' },
  { op: 'touch', page: 0, pages: 3 },
  { op: 'snapshot', label: 'touched' },
  { op: 'mmap', page: 30, pages: 2, prot: 'r--' },
];

/** A checker plugin (@mmsim/invariants' CHECKER): a VMA inserted without VM_READ is a violation. */
const READABLE = `import { E, VM_READ, definePlugin, toEvent } from '@mmsim/core';
import { CHECKER } from '@mmsim/invariants';
export default definePlugin({ name: 'vma-readable', setup(host) {
  host.provide(CHECKER, { name: 'vma-readable', create: (ctx) => ({ onEvent(raw) {
    if (raw.type !== E.VmaInsert) return;
    const ev = toEvent(raw);
    if (ev.type === 'vma_insert' && !(ev.flags & VM_READ)) ctx.report('vma ' + ev.vma + ' is not readable', { vma: [ev.vma] });
  } }) });
} });
`;

beforeAll(() => {
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
    'readable.mjs': READABLE,
    // a strategy whose checkPrepVma (the mremap, after the mmaps) throws
    'late.mjs': `import { definePlugin } from '@mmsim/core';
import { MREMAP_STRATEGY } from '@mmsim/linux';
export default definePlugin({ name: 'p-late', setup(host) {
  host.provide(MREMAP_STRATEGY, { name: 'p-late', extraFlags: 0, checkPrepVma() { throw new Error('gave up'); } });
} });
`,
    'late.json': scenarioJson(
      [
        { op: 'mmap', page: 30, pages: 2, prot: '---' },
        { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
        { op: 'touch', page: 0, pages: 4 },
        { op: 'mremap', page: 0, pages: 4, flags: ['MAYMOVE', 'FIXED'], to: 20 },
      ],
      { name: 'late' },
    ),
  });
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
    expect(r.out).toMatch(/A {2}pages \[0, 8\) .* rw-p\n\s+B {2}pages \[30, 32\) .* r--p/);
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
    const named = (header.config.plugins as { name: string; module?: string }[]).filter((p) => p.module?.endsWith('.mjs'));
    expect(named).toEqual([
      { name: 'file-plugin', version: null, options: null, module: join(dir, 'plugin.mjs') },
      { name: 'named-plugin', version: null, options: null, module: join(dir, 'named.mjs') },
    ]);
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

  it('--check prints invariant violations to stderr and exits 3', () => {
    const ok = mmsim('run', 'ok.json', '--check', '--plugin', './readable.mjs', '-q');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('0 invariant violations');
    const bad = mmsim('run', 'noperm.json', '--check', '--plugin', './readable.mjs');
    expect(bad.code).toBe(3);
    expect(bad.err).toMatch(/noperm\.json: 1 invariant violation:\n {2}\[vma-readable\] seq \d+ in step:mmap > do_mmap > __mmap_region: vma 1 is not readable/);
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
  it('a plugin that throws is named (exit 4)', async () => {
    const r = await cli(['run', 'ok.json', '--plugin', './throws.mjs'], dir);
    expect(r.code).toBe(4);
    expect(r.err).toContain('plugin thrower failed in setup: no thanks');
  });

  it('anything else the model throws is a model bug: exit 70, the scenario named, with the stack', () => {
    const scenario = parseScenario(scenarioJson(steps, { name: 'ok' }));
    const e = simulatorFailure(scenario, new Error('BUG: vma 3 vanished'));
    expect(e.exitCode).toBe(EXIT.INTERNAL);
    expect(e.exitCode).toBe(70);
    expect(e.message).toMatch(/^the simulator failed on scenario ok: BUG: vma 3 vanished\n\s+at /);
  });
});

describe('run: a plugin failure after --check found violations', () => {
  it('prints the violations found before the failure, the failure once, and exits 4', () => {
    const r = mmsim('run', 'late.json', '--check', '--plugin', './readable.mjs', '--plugin', './late.mjs');
    expect(r.code).toBe(4);
    expect(r.err).toContain('late.json: 1 invariant violation before the failure:');
    expect(r.err).toMatch(/\[vma-readable\] seq \d+ in step:mmap > do_mmap > __mmap_region: vma 1 is not readable/);
    expect(r.err.match(/plugin p-late failed in mremap-strategy\.checkPrepVma: gave up/g)).toHaveLength(1);
  });
});
