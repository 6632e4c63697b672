/**
 * The packed packages, as a plugin author outside the monorepo gets them: every
 * publishable @mmsim/* package is packed (`npm pack`, prepack/postpack hooks included,
 * in a mirror of the workspace: see packs.ts), the tarballs are installed into a fresh
 * npm project in the OS temp folder, and the files of ../consumer (a strategy plugin,
 * an invariant checker, a script using them; public imports only) are type-checked
 * against the published .d.ts and run with plain Node and through the packed CLI, also
 * as .ts files from a folder outside any npm project.
 *
 * Needs the npm registry for the third-party dependencies (immer, rxjs, commander,
 * tsx). MMSIM_KEEP_PACK_TEST=1 keeps the temp folder.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, mirrorWorkspace, packAll, publishablePackages, type Packed } from './packs.js';

const CONSUMER_FILES = join(ROOT, 'tools/pack-test/consumer');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

let tmp = '';
let app = '';
let packed: Packed[] = [];

function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd: opts.cwd ?? app,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...opts.env },
  });
}
const ok = (r: SpawnSyncReturns<string>) => {
  if (r.status !== 0) throw new Error(`exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`.slice(-4000));
  return r.stdout;
};
/** the installed bin, run as npm would (npx mmsim ... in the project) */
const mmsim = (...args: string[]) => run(process.execPath, [join(app, 'node_modules/@mmsim/cli/bin/mmsim.mjs'), ...args]);

describe('the packed packages in a fresh project outside the workspace', () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'mmsim-pack-test-'));
    const mirror = join(tmp, 'workspace');
    mirrorWorkspace(mirror);
    packed = packAll(mirror, join(tmp, 'tarballs'));
    app = join(tmp, 'app');
    cpSync(CONSUMER_FILES, app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-mmsim-plugins', private: true, type: 'module' }, null, 2));
    ok(run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => p.tarball)]));
  }, 900_000);

  afterAll(() => {
    if (tmp && process.env.MMSIM_KEEP_PACK_TEST !== '1') rmSync(tmp, { recursive: true, force: true });
    else if (tmp) console.log(`pack test: kept ${tmp}`);
  });

  it('packs every publishable package: dist and src, no tests, a publish manifest', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(publishablePackages().map((p) => p.name).sort());
    for (const p of packed) {
      expect(p.files, p.name).toContain('dist/index.js');
      expect(p.files, p.name).toContain('dist/index.d.ts');
      expect(p.files.filter((f) => /\.test\.|\.test-d\./.test(f)), p.name).toEqual([]);
      const manifest = JSON.parse(readFileSync(join(app, 'node_modules', p.name, 'package.json'), 'utf8'));
      expect(manifest.exports['.'], p.name).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
      expect(manifest.nx, p.name).toBeUndefined();
      expect(manifest.scripts?.prepack, p.name).toBeUndefined();
      expect(manifest.publishConfig, p.name).toEqual({ access: 'public' });
    }
    // the CLI's optional private packages are not in its published manifest
    const cli = JSON.parse(readFileSync(join(app, 'node_modules/@mmsim/cli/package.json'), 'utf8'));
    expect(Object.keys(cli.optionalDependencies ?? {})).toEqual([]);
  });

  it('type-checks the plugin sources against the published .d.ts (NodeNext resolution)', () => {
    const r = run(process.execPath, [TSC, '-p', 'tsconfig.json']);
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(app, 'build/max-move.js'))).toBe(true);
  });

  it('runs the strategy and the checker with the public API (runScenario, VmaBench)', () => {
    const out = JSON.parse(ok(run(process.execPath, ['build/run.js'])));
    expect(out.plugins).toEqual(['max-move', 'vma-limit']);
    // the strategy: the 4-page VMA moved, the 24-page one was refused
    expect(out.steps[2].result).toEqual({ ok: true, page: 8 });
    expect(out.steps[5].result).toEqual({ ok: false, errno: 'EPERM' });
    // one note per move, emitted inside the plugin's own span
    const mine = out.notes.filter((n: { text: string }) => n.text.includes('"plugin":"max-move"'));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ value: 4, span: 'max_move_after_move' });
    expect(JSON.parse(mine[0].text)).toMatchObject({ plugin: 'max-move', pages: 4 });
    // the checker, with the built-ins: the 24-page mmap, reported like theirs
    expect(out.violations).toHaveLength(1);
    expect(out.violations[0]).toMatchObject({ checker: 'vma-limit', spanPath: expect.arrayContaining(['step:mmap']), message: 'VMA 3 spans 24 pages (limit 16)' });
    // the strategy on a VmaBench layout
    expect(out.bench.moveA).toBe('EPERM');
    expect(out.bench.moveB).toBe(0x1a);
  });

  it('mmsim run --plugin: the step result, the expectations and the note in the log', () => {
    const r = mmsim('run', 'scenario.json', '--plugin', './build/max-move.js', '--json', '--log', 'run.mmlog');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0); // the scenario's expectations (step 5 is EPERM) hold
    const obs = JSON.parse(r.stdout);
    expect(obs.steps[5].result).toEqual({ ok: false, errno: 'EPERM' });
    const notes = ok(mmsim('events', 'run.mmlog', '--type', 'note', '--json'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.text.includes('max-move'));
    expect(notes).toHaveLength(1);
    // without the plugin the large VMA moves and the expectations fail (exit 1)
    const without = mmsim('run', 'scenario.json', '--json');
    expect(without.status).toBe(1);
    expect(JSON.parse(without.stdout).steps[5].result).toEqual({ ok: true, page: 60 });
  });

  it('mmsim run --plugin with TypeScript sources and --check: the checker reports like the built-ins, exit 3', () => {
    const r = mmsim('run', 'scenario.json', '--plugin', './max-move.ts', '--plugin', './vma-limit.ts', '--check', '-q');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/scenario\.json: 1 invariant violation:\n {2}\[vma-limit\] seq \d+ in step:mmap\b.*: VMA \d+ spans 24 pages \(limit 16\)/);
    expect(r.stdout).toContain('1 scenario: 1 passed, 0 with failed expectations, 1 invariant violation');
  });

  it('from a folder outside any project: a .ts strategy and a .ts checker, run --check, check --plugin, bisect --plugin', () => {
    // no package.json, no node_modules: @mmsim/* resolve from the CLI's installation
    const outside = join(tmp, 'outside');
    mkdirSync(outside);
    for (const f of ['max-move.ts', 'vma-limit.ts', 'scenario.json']) cpSync(join(CONSUMER_FILES, f), join(outside, f));
    const at = (...args: string[]) => run(process.execPath, [join(app, 'node_modules/@mmsim/cli/bin/mmsim.mjs'), ...args], { cwd: outside });
    const r = at('run', 'scenario.json', '--plugin', './max-move.ts', '--plugin', './vma-limit.ts', '--check', '--json', '--log', 'run.mmlog');
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout).steps[5].result).toEqual({ ok: false, errno: 'EPERM' });
    expect(r.stderr).toMatch(/\[vma-limit\] seq (\d+) .*VMA \d+ spans 24 pages \(limit 16\)/);
    const seq = Number(/\[vma-limit\] seq (\d+)/.exec(r.stderr)![1]);
    // the log alone, with the checker given again
    expect(at('check', 'run.mmlog').status).toBe(0);
    const c = at('check', 'run.mmlog', '--plugin', './vma-limit.ts', '--json');
    expect(c.status).toBe(3);
    expect(c.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ checker: 'vma-limit', seq })]);
    const b = at('bisect', 'run.mmlog', '--check', '--plugin', './vma-limit.ts');
    expect(b.status).toBe(3);
    expect(b.stdout).toContain(`first failing event: seq ${seq}`);
  });

  it('the installed CLI runs its compiled dist/, not the TypeScript sources', () => {
    const src = join(app, 'node_modules/@mmsim/cli/src');
    expect(readdirSync(src).length).toBeGreaterThan(0);
    renameSync(src, `${src}.hidden`);
    try {
      const r = mmsim('run', 'scenario.json', '--plugin', './build/max-move.js', '--json');
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout).steps[5].result).toEqual({ ok: false, errno: 'EPERM' });
    } finally {
      renameSync(`${src}.hidden`, src);
    }
  });
});
