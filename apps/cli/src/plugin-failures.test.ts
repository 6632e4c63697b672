/**
 * Plugins that throw, as `mmsim run` and `mmsim explore` report them: exit 4 with the
 * plugin and the point named wherever the throw happens (setup, a hook, a subscriber's
 * event callback, a checker's onEvent or create, inside a concurrent step), whatever is
 * thrown (a Proxy whose traps throw), no violations made up by the failure, and no
 * empty partial log. Real spawns of bin/mmsim.mjs: the plugin files import the CLI's
 * own @mmsim/core, as a plugin author's do.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scenarioJson } from './testing/fixtures.js';
import { files, tmp } from './testing/harness.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/mmsim.mjs');
const RACE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scenarios/races/relocate-vs-gup-fast.json');
const dir = tmp('mmsim-plugin-failures-');

/** A strategy whose checkPrepVma (under the mmap write lock) throws `thrown`. */
const strategy = (name: string, thrown: string) => `import { definePlugin } from '@mmsim/core';
import { MREMAP_STRATEGY } from '@mmsim/linux';
export default definePlugin({ name: '${name}', setup(host) {
  host.provide(MREMAP_STRATEGY, { name: '${name}', extraFlags: 0, checkPrepVma() { throw ${thrown}; } });
} });
`;
files(dir, {
  's.json': scenarioJson(
    [
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 4 },
      { op: 'mremap', page: 0, pages: 4, flags: ['MAYMOVE', 'FIXED'], to: 20 },
    ],
    { name: 's', arena: { pages: 64 } },
  ),
  // setup throws the first time only: a dry first call that swallowed it passed the run
  'setup-once.mjs': `import { definePlugin } from '@mmsim/core';
let calls = 0;
export default definePlugin({ name: 'setup-once', setup() { calls++; process.stderr.write('setup call ' + calls + '\\n'); if (calls === 1) throw new Error('boom in setup'); } });
`,
  'hook.mjs': strategy('hook-throw', "new Error('boom in checkPrepVma')"),
  'proxy.mjs': strategy('proxy-throw', "new Proxy({}, { get() { throw new Error('getter'); }, getPrototypeOf() { throw new Error('proto'); } })"),
  'sub.mjs': `import { definePlugin, ENGINE_SUBSCRIBER, E } from '@mmsim/core';
export default definePlugin({ name: 'sub-throw', setup(host) {
  host.provide(ENGINE_SUBSCRIBER, (eng) => { eng.onRaw((r) => { if (r.type === E.VmaInsert) throw new Error('boom in onRaw'); }); });
} });
`,
  'on-event.mjs': `import { definePlugin, E } from '@mmsim/core';
import { CHECKER } from '@mmsim/invariants';
export default definePlugin({ name: 'event-throw', setup(host) {
  host.provide(CHECKER, { name: 'event-throw', create: () => ({ onEvent(r) { if (r.type === E.VmaInsert) throw new Error('boom in onEvent'); } }) });
} });
`,
  'create.mjs': `import { definePlugin } from '@mmsim/core';
import { CHECKER } from '@mmsim/invariants';
export default definePlugin({ name: 'create-throw', setup(host) { host.provide(CHECKER, { name: 'create-throw', create() { throw new Error('boom in create'); } }); } });
`,
  'attach.mjs': `import { definePlugin, ENGINE_SUBSCRIBER } from '@mmsim/core';
export default definePlugin({ name: 'attach-throw', setup(host) { host.provide(ENGINE_SUBSCRIBER, () => { throw new Error('boom in attach'); }); } });
`,
});

const mmsim = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
const logsIn = () => readdirSync(dir).filter((f) => f.includes('.mmlog'));

describe('a plugin that throws: exit 4, the plugin and the point named', () => {
  it('setup() runs once in run, and its throw is reported, not swallowed', () => {
    const r = mmsim('run', 's.json', '--plugin', './setup-once.mjs', '-q');
    expect(r.stderr).toContain('setup call 1\n');
    expect(r.stderr).not.toContain('setup call 2');
    expect(r.stderr).toContain('mmsim: plugin setup-once failed in setup: boom in setup');
    expect(r.status).toBe(4);
  });

  it('check --plugin reports the same setup throw, exit 4', () => {
    const ok = mmsim('run', 's.json', '--log', 'plain.mmlog', '-q');
    expect(ok.status).toBe(0);
    const c = mmsim('check', 'plain.mmlog', '--plugin', './setup-once.mjs');
    expect(c.stderr).toContain('mmsim: plugin setup-once failed in setup: boom in setup');
    expect(c.status).toBe(4);
  });

  it('a hook that throws under the mmap lock: no made-up "locks still held" violation', () => {
    const r = mmsim('run', 's.json', '--plugin', './hook.mjs', '--check', '-q', '--log', 'hook.mmlog');
    expect(r.status).toBe(4);
    expect(r.stderr).toContain('step 2 (mremap): plugin hook-throw failed in mremap-strategy.checkPrepVma: boom in checkPrepVma');
    expect(r.stderr).not.toContain('locks still held');
    expect(r.stderr).not.toContain('invariant violation');
    // the partial is the writer's own exclusive temporary (PATH.<pid>.<random>.partial)
    expect(r.stderr).toMatch(/partial log kept: hook\.mmlog\.\d+\.[0-9a-f]+\.partial/);
  });

  it('a thrown Proxy whose traps throw: a clean message, exit 4, no stack', () => {
    const r = mmsim('run', 's.json', '--plugin', './proxy.mjs', '-q');
    expect(r.stderr).toBe('mmsim: scenario s: step 2 (mremap): plugin proxy-throw failed in mremap-strategy.checkPrepVma: a value whose properties throw when read (not an Error)\n');
    expect(r.status).toBe(4);
  });

  it("a throw in a subscriber's attach or a checker's create leaves no partial log and no advice to salvage it", () => {
    for (const [file, point] of [
      ['attach.mjs', 'plugin attach-throw failed in engine-attach: boom in attach'],
      ['create.mjs', 'plugin create-throw failed in invariant-checker.create: boom in create'],
    ]) {
      const r = mmsim('run', 's.json', '--plugin', `./${file}`, '--check', '-q', '--log', 'early.mmlog');
      expect(r.status, file).toBe(4);
      expect(r.stderr, file).toContain(point);
      expect(r.stderr, file).toContain('s.json: no log written (the run failed before its first event); early.mmlog was not replaced');
      expect(r.stderr, file).not.toContain('salvage');
      expect(existsSync(join(dir, 'early.mmlog.partial')), file).toBe(false);
    }
    expect(logsIn().filter((f) => f.startsWith('early'))).toEqual([]);
  });
});

describe('under explore and in a concurrent step: the same exit as run (4)', () => {
  it.each([
    ['sub.mjs', 'step 0 (mmap): plugin sub-throw failed in event callback (engine.onRaw): boom in onRaw'],
    ['on-event.mjs', 'step 0 (mmap): plugin event-throw failed in invariant-checker (checker event-throw, onEvent): boom in onEvent'],
    ['hook.mjs', 'step 2 (concurrent): plugin hook-throw failed in mremap-strategy.checkPrepVma: boom in checkPrepVma'],
    ['proxy.mjs', 'step 2 (concurrent): plugin proxy-throw failed in mremap-strategy.checkPrepVma: a value whose properties throw when read (not an Error)'],
  ])('explore --plugin %s', (file, message) => {
    const r = mmsim('explore', RACE, '--plugin', `./${file}`, '--bound', '1');
    expect(r.stderr).toBe(`mmsim: scenario relocate-vs-gup-fast: ${message}\n`);
    expect(r.status).toBe(4);
    expect(r.stdout).toBe('');
  });

  it('run of a concurrent step whose task hits the throwing hook: a plugin failure, not a violation', () => {
    const r = mmsim('run', RACE, '--plugin', './hook.mjs', '--check', '-q');
    expect(r.stderr).toContain('mmsim: scenario relocate-vs-gup-fast: step 2 (concurrent): plugin hook-throw failed in mremap-strategy.checkPrepVma: boom in checkPrepVma');
    expect(r.stderr).not.toContain('invariant violation');
    expect(r.status).toBe(4);
  });
});
