/**
 * The packed packages, as a plugin author outside the monorepo gets them, made by the
 * commands of docs/writing-a-strategy-plugin.md as written (doc-commands.ts): its pack
 * block runs in a mirror of the workspace (packs.ts: the working tree is never
 * touched), its project block in an empty temp folder, so the guide cannot drift from
 * what works. Then the files of ../consumer (a strategy plugin, an invariant checker,
 * a script using them; public imports only) go into that project, the guide's project
 * blocks run there, and the files are type-checked against the published .d.ts and run
 * with plain Node and through the packed CLI, also as .ts files from a folder outside
 * any npm project.
 *
 * Needs the npm registry for the third-party dependencies (immer, rxjs, commander,
 * tsx, and the project's typescript and vitest); about 1.5 min with a warm npm cache.
 * MMSIM_KEEP_PACK_TEST=1 keeps the temp folder.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockFailure, docBlocks, runDocBlock, tarballsIn, type DocBlock, type Tarball, type Where } from './doc-commands.js';
import { ROOT, mirrorWorkspace, publishablePackages } from './packs.js';

const CONSUMER_FILES = join(ROOT, 'tools/pack-test/consumer');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

let tmp = '';
let app = '';
let tgz = '';
let packed: Tarball[] = [];
const blocks = docBlocks();
const blocksIn = (where: Where) => blocks.filter((b) => b.where === where);

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
/** run a guide block as written, or fail naming its line */
const runBlock = (b: DocBlock, cwd: string, env: Record<string, string> = {}) => {
  const r = runDocBlock(b, cwd, tgz, env);
  if (r.status !== 0) throw new Error(blockFailure(b, r));
  return r;
};

describe('the packed packages in a fresh project outside the workspace', () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'mmsim-pack-test-'));
    tgz = join(tmp, 'tgz');
    const mirror = join(tmp, 'workspace');
    mirrorWorkspace(mirror);
    const [pack, ...more] = blocksIn('the monorepo');
    const [project, ...others] = blocksIn('an empty folder');
    if (!pack || !project || more.length || others.length) throw new Error('the guide needs one pack block (run in the monorepo) and one project block (run in an empty folder)');
    // one build per package for all the packs (pack-manifest.mjs); the npm cache first
    runBlock(pack, mirror, { MMSIM_PACK_SESSION: join(tmp, 'pack-session.json') });
    packed = tarballsIn(tgz);
    const author = join(tmp, 'plugin-author');
    mkdirSync(author);
    runBlock(project, author, { npm_config_prefer_offline: 'true' });
    app = join(author, 'my-mmsim-plugins');
    cpSync(CONSUMER_FILES, app, { recursive: true });
  }, 900_000);

  afterAll(() => {
    if (tmp && process.env.MMSIM_KEEP_PACK_TEST !== '1') rmSync(tmp, { recursive: true, force: true });
    else if (tmp) console.log(`pack test: kept ${tmp}`);
  });

  it("the guide's pack command packs every publishable package, and the project installs them all", () => {
    expect(packed.map((p) => p.name).sort()).toEqual(publishablePackages().map((p) => p.name).sort());
    const pj = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
    expect(Object.keys(pj.dependencies).sort()).toEqual(packed.map((p) => p.name).sort());
    expect(Object.keys(pj.devDependencies).sort()).toEqual(['typescript', 'vitest']);
  });

  it("runs the guide's project commands as written (tsc, node build/run.js, mmsim run, mmsim events)", () => {
    const mine = blocksIn('the project');
    expect(mine.length).toBeGreaterThanOrEqual(3);
    for (const b of mine) runBlock(b, app);
    expect(existsSync(join(app, 'run.mmlog'))).toBe(true);
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
    expect(r.stdout).toContain('1 scenario: 0 passed, 0 with failed expectations, 1 invariant violation');
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
    // the log alone: its header names the checker plugin (its path), check loads it again
    const plain = at('check', 'run.mmlog', '--json');
    expect(plain.status).toBe(3);
    expect(plain.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ checker: 'vma-limit', seq })]);
    const c = at('check', 'run.mmlog', '--plugin', './vma-limit.ts', '--json');
    expect(c.status).toBe(3);
    expect(c.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ checker: 'vma-limit', seq })]);
    const b = at('bisect', 'run.mmlog', '--check', '--plugin', './vma-limit.ts');
    expect(b.status).toBe(3);
    expect(b.stdout).toContain(`first failing event: seq ${seq}`);
  });

  it('mmsim serve from the installed CLI: the page built at pack time and the log\'s meta on loopback, nothing built', async () => {
    // the published @mmsim/debugger serves its app/, built when it was packed: nothing is
    // built now (the on-demand build would fill the cache folder; the project's vitest brings a vite)
    expect(existsSync(join(app, 'node_modules/@mmsim/debugger/app/index.html'))).toBe(true);
    const cache = join(tmp, 'xdg-cache');
    const srv = spawn(process.execPath, [join(app, 'node_modules/@mmsim/cli/bin/mmsim.mjs'), 'serve', 'run.mmlog', '--port', '0'], {
      cwd: app,
      env: { ...process.env, NO_COLOR: '1', XDG_CACHE_HOME: cache },
    });
    try {
      const url = await new Promise<string>((done, fail) => {
        let out = '';
        let err = '';
        const timer = setTimeout(() => fail(new Error(`mmsim serve printed no URL in 60 s:\n${out}\n${err}`)), 60_000);
        srv.stderr.on('data', (b: Buffer) => (err += b));
        srv.stdout.on('data', (b: Buffer) => {
          out += b;
          const m = /mmsim debugger on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) {
            clearTimeout(timer);
            done(m[1]);
          }
        });
        srv.on('exit', (code) => fail(new Error(`mmsim serve exited ${code}:\n${out}\n${err}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await page.text();
      const script = /<script[^>]+src="\.?\/?([^"]+\.js)"/.exec(html);
      expect(script, html).not.toBeNull();
      expect((await fetch(new URL(script![1], url))).status).toBe(200);
      const meta = (await (await fetch(new URL('api/meta', url))).json()) as { name: string; size: number };
      expect(meta).toMatchObject({ name: 'run.mmlog', size: statSync(join(app, 'run.mmlog')).size });
      const log = await fetch(new URL('log.mmlog', url));
      expect(Buffer.from(await log.arrayBuffer()).equals(readFileSync(join(app, 'run.mmlog')))).toBe(true);
      expect(existsSync(join(cache, 'mmsim-debugger'))).toBe(false);
    } finally {
      srv.kill('SIGTERM');
      await new Promise((done) => (srv.exitCode !== null ? done(null) : srv.once('exit', done)));
    }
  });

  it('bench and fuzz, private tools of the monorepo: the installed CLI says so, exit 2', () => {
    for (const cmd of ['bench', 'fuzz']) {
      const r = mmsim(cmd);
      expect(r.status, cmd).toBe(2);
      expect(r.stderr, cmd).toContain(`mmsim ${cmd} is not part of the published CLI: @mmsim/${cmd} is a private tool of the mmsim monorepo`);
    }
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
