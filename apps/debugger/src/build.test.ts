/**
 * The build cache key (sourceHash) covers every workspace package the bundle can hold:
 * those the app's sources import and, transitively, those their sources import. A
 * checkout with a changed model (@mmsim/linux, the merge rules the page draws) or
 * scenario format must never be served another checkout's build.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ROOT, bundledWorkspace, sourceHash } from './build.js';

/** a workspace in a temp folder: apps/debugger and packages/<name> with the given sources, linked as node_modules/@mmsim/<name> */
function workspace(pkgs: Record<string, Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'mmsim-dbg-build-'));
  const put = (dir: string, files: Record<string, string>) => {
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), text);
    }
  };
  mkdirSync(join(root, 'node_modules/@mmsim'), { recursive: true });
  for (const [name, files] of Object.entries(pkgs)) {
    const dir = name === 'debugger' ? join(root, 'apps/debugger') : join(root, 'packages', name);
    put(dir, { 'package.json': JSON.stringify({ name: `@mmsim/${name}` }), ...files });
    symlinkSync(dir, join(root, 'node_modules/@mmsim', name));
  }
  return root;
}

describe('the debugger build cache key', () => {
  it('in this repo, holds the model and the scenario format the page bundles through its imports', () => {
    const dirs = bundledWorkspace(APP_ROOT).map((d) => d.split('/').slice(-2).join('/'));
    for (const p of ['packages/core', 'packages/linux', 'packages/scenario', 'packages/invariants']) expect(dirs).toContain(p);
    expect(dirs).not.toContain('apps/debugger');
  });

  it('changes with a source of a package imported only through another one, not with its tests or an unimported package', () => {
    const root = workspace({
      debugger: { 'src/main.tsx': "import { policy } from '@mmsim/policy';\nexport const x = policy;\n", 'index.html': '<!doctype html>' },
      policy: { 'src/index.ts': "export { model as policy } from '@mmsim/model';\n" },
      model: { 'src/index.ts': "import type { Spec } from '@mmsim/spec';\nexport const model = 1;\n", 'src/model.test.ts': "import '@mmsim/unused';\n" },
      spec: { 'src/index.ts': 'export type Spec = { pages: number };\n' },
      unused: { 'src/index.ts': 'export const u = 1;\n' },
    });
    const app = join(root, 'apps/debugger');
    expect(bundledWorkspace(app).map((d) => d.slice(root.length))).toEqual(['/packages/model', '/packages/policy', '/packages/spec']);
    const h0 = sourceHash(app);
    expect(sourceHash(app)).toBe(h0);
    // the model changed (two imports away from the app): another key
    writeFileSync(join(root, 'packages/model/src/index.ts'), "import type { Spec } from '@mmsim/spec';\nexport const model = 2;\n");
    const h1 = sourceHash(app);
    expect(h1).not.toBe(h0);
    // a type-only import counts as well (the scenario format: three imports away)
    writeFileSync(join(root, 'packages/spec/src/index.ts'), 'export type Spec = { pages: number; name: string };\n');
    const h2 = sourceHash(app);
    expect(h2).not.toBe(h1);
    // a package's exports map decides what an import reaches
    writeFileSync(join(root, 'packages/model/package.json'), JSON.stringify({ name: '@mmsim/model', exports: './src/index.ts' }));
    const h3 = sourceHash(app);
    expect(h3).not.toBe(h2);
    // neither a test file nor a package nothing imports is in the bundle
    writeFileSync(join(root, 'packages/model/src/model.test.ts'), 'export {};\n');
    writeFileSync(join(root, 'packages/unused/src/index.ts'), 'export const u = 2;\n');
    expect(sourceHash(app)).toBe(h3);
  });
});
