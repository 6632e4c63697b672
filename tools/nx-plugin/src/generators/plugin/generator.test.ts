import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { pluginGenerator } from './generator';

const ROOT = resolve(__dirname, '../../../../..');

function seededTree(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('packages/core/package.json', readFileSync(join(ROOT, 'packages/core/package.json')));
  return tree;
}

describe('@mmsim/tools:plugin generator', () => {
  it('scaffolds packages/NAME with package.json, tsconfig, example plugin and test', async () => {
    const tree = seededTree();
    const cb = await pluginGenerator(tree, { name: 'relocate-anon', description: 'Moves anon pages', skipInstall: true });
    expect(cb).toBeUndefined();
    for (const f of ['package.json', 'tsconfig.json', 'README.md', 'src/index.ts', 'src/index.test.ts'])
      expect(tree.exists(`packages/relocate-anon/${f}`), f).toBe(true);
    expect(tree.exists('packages/relocate-anon/src/index.ts__template__')).toBe(false);

    const pkg = readJson(tree, 'packages/relocate-anon/package.json');
    const coreVersion = JSON.parse(readFileSync(join(ROOT, 'packages/core/package.json'), 'utf8')).version;
    expect(pkg.name).toBe('@mmsim/relocate-anon');
    expect(pkg.type).toBe('module');
    expect(pkg.peerDependencies).toEqual({ '@mmsim/core': coreVersion.startsWith('0.') ? `>=${coreVersion} <1` : `^${coreVersion}` });
    expect(pkg.exports['.']).toEqual({ types: './src/index.ts', default: './src/index.ts' });
    expect(pkg.scripts.prepack).toBe('node ../../tools/scripts/pack-manifest.mjs prepack');
    expect(pkg.description).toBe('Moves anon pages');

    expect(readJson(tree, 'packages/relocate-anon/tsconfig.json').extends).toBe('../../tsconfig.base.json');
    const index = tree.read('packages/relocate-anon/src/index.ts', 'utf8')!;
    expect(index).toContain("import { defineExtensionPoint, definePlugin } from '@mmsim/core';");
    expect(index).toContain('export const relocateAnonPlugin: Plugin<RelocateAnonOptions> = definePlugin');
    expect(index).toContain("name: '@mmsim/relocate-anon'");
    expect(index).toContain('export const RELOCATE_ANON_HOOKS');
    expect(index).not.toMatch(/<%|%>/);
    expect(tree.read('packages/relocate-anon/src/index.test.ts', 'utf8')).toContain("from './index.js'");
  });

  it('rejects names that are not kebab-case and folders that exist', async () => {
    const tree = seededTree();
    await expect(pluginGenerator(tree, { name: 'Bad_Name', skipInstall: true })).rejects.toThrow(/kebab-case/);
    await expect(pluginGenerator(tree, { name: 'core', skipInstall: true })).rejects.toThrow(/exists already/);
    await pluginGenerator(tree, { name: '@mmsim/large-folio', skipInstall: true });
    expect(readJson(tree, 'packages/large-folio/package.json').name).toBe('@mmsim/large-folio');
  });

  describe('generated package, written to a scratch copy of the workspace layout', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'mmsim-gen-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it('type-checks and its own test passes under Vitest', async () => {
      const tree = seededTree();
      await pluginGenerator(tree, { name: 'gen-smoke', skipInstall: true });
      for (const c of tree.listChanges()) {
        if (!c.path.startsWith('packages/gen-smoke/') || c.type === 'DELETE') continue;
        const to = join(scratch, c.path);
        mkdirSync(dirname(to), { recursive: true });
        writeFileSync(to, c.content!);
      }
      // the layout the package expects: ../../tsconfig.base.json and node_modules with
      // @mmsim/core (the workspace's, source-first), vitest, typescript
      writeFileSync(join(scratch, 'tsconfig.base.json'), readFileSync(join(ROOT, 'tsconfig.base.json')));
      symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'), 'dir');
      const pkgDir = join(scratch, 'packages/gen-smoke');
      const env = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', VITEST: undefined, VITEST_WORKER_ID: undefined, VITEST_POOL_ID: undefined, NODE_OPTIONS: undefined };

      const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(pkgDir, 'tsconfig.json'), '--noEmit'], {
        encoding: 'utf8',
        cwd: pkgDir,
        env,
      });
      expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
      expect(tsc.status).toBe(0);

      const vt = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', pkgDir, '--reporter', 'verbose'], {
        encoding: 'utf8',
        cwd: pkgDir,
        env,
        timeout: 120_000,
      });
      const out = `${vt.stdout}${vt.stderr}`;
      expect(out).toMatch(/Tests\s+3 passed \(3\)/);
      expect(vt.status, out).toBe(0);
    }, 180_000); // two child processes (tsc, vitest); slow on a busy 2-core machine
  });
});
