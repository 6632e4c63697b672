/**
 * The publishing rules of CONTRIBUTING.md ("Versioning and publishing"), checked on the
 * workspace manifests without packing anything (fast; the pack test does the rest).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT, publishablePackages, workspacePackages } from './packs.js';

type Manifest = Record<string, unknown> & {
  version: string;
  scripts?: Record<string, string>;
  publishConfig?: Record<string, unknown>;
  nx?: { includedScripts?: string[] };
};
const DEP_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'] as const;

const all = workspacePackages();
const privateNames = new Set(all.filter((p) => p.private).map((p) => p.name));
const manifest = (rel: string) => JSON.parse(readFileSync(join(ROOT, rel, 'package.json'), 'utf8')) as Manifest;
const deps = (m: Manifest, field: (typeof DEP_FIELDS)[number]) => (m[field] as Record<string, string> | undefined) ?? {};

/**
 * Value imports of @mmsim/* packages in a package's published sources (tests and
 * `import type` excluded; a dynamic `import()` is an optional integration and allowed).
 */
function staticWorkspaceImports(rel: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      // __fixtures__ is test support (the build leaves it out of dist, the package's files too)
      if (e.isDirectory()) {
        if (e.name !== '__fixtures__') walk(p);
      } else if (/\.tsx?$/.test(e.name) && !/\.(test|spec)\.tsx?$/.test(e.name) && !e.name.endsWith('.test-d.ts')) {
        const sf = ts.createSourceFile(p, readFileSync(p, 'utf8'), ts.ScriptTarget.Latest, false);
        for (const st of sf.statements) {
          let spec: string | undefined;
          if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
            const c = st.importClause;
            const typeOnly =
              !!c &&
              (c.isTypeOnly ||
                (!c.name && !!c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((el) => el.isTypeOnly)));
            if (!typeOnly) spec = st.moduleSpecifier.text;
          } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) && !st.isTypeOnly) {
            const named = st.exportClause && ts.isNamedExports(st.exportClause) ? st.exportClause.elements : undefined;
            if (!named || named.some((el) => !el.isTypeOnly)) spec = st.moduleSpecifier.text;
          }
          const m = spec && /^(@mmsim\/[^/]+)/.exec(spec);
          if (m) out.set(m[1], [...(out.get(m[1]) ?? []), relative(join(ROOT, rel), p)]);
        }
      }
    }
  };
  walk(join(ROOT, rel, 'src'));
  return out;
}

/**
 * Known exceptions, each with the change that removes it. The test below fails once an
 * exception is no longer needed, so the list cannot go stale.
 */
const KNOWN_UNDECLARED: Record<string, string[]> = {
  // src/testing/engine-logs.ts runs the model to make the tests' logs; src/testing is not
  // published ("files"), so these stay dev dependencies. Removed by moving the fixtures
  // out of src/ (e.g. to apps/debugger/testing/).
  '@mmsim/debugger': ['@mmsim/relocate-anon', '@mmsim/runner'],
};

describe.each(publishablePackages().map((p) => [p.name, p] as const))('%s', (name, p) => {
  const m = manifest(p.rel);

  it('has the pack hooks, public access and no Nx targets from its scripts', () => {
    expect(m.scripts?.prepack).toBe('node ../../tools/scripts/pack-manifest.mjs prepack');
    expect(m.scripts?.postpack).toBe('node ../../tools/scripts/pack-manifest.mjs postpack');
    expect(m.publishConfig).toEqual({ access: 'public' });
    expect(m.nx?.includedScripts).toEqual([]);
  });

  it('depends on no private workspace package (Changesets refuses to run, npm cannot install it)', () => {
    for (const field of DEP_FIELDS) expect(Object.keys(deps(m, field)).filter((n) => privateNames.has(n)), field).toEqual([]);
  });

  it('declares peer ranges on @mmsim/* that survive a 0.x minor bump', () => {
    for (const [dep, range] of Object.entries(deps(m, 'peerDependencies'))) {
      if (!dep.startsWith('@mmsim/')) continue;
      const target = all.find((x) => x.name === dep);
      expect(target, `${dep} is a workspace package`).toBeDefined();
      const [major] = manifest(target!.rel).version.split('.').map(Number);
      // ^0.x.y covers one minor only: a minor bump of the peer would force a major bump here
      if (major === 0) expect(range, `${dep}`).toMatch(/^>=0\.\d+\.\d+ <1$/);
      else expect(range, `${dep}`).toMatch(new RegExp(`^(\\^${major}\\.\\d+\\.\\d+|>=${major}\\.\\d+\\.\\d+ <${major + 1})$`));
    }
  });

  it('declares every @mmsim/* package its sources import as a dependency or peer', () => {
    const declared = new Set([...Object.keys(deps(m, 'dependencies')), ...Object.keys(deps(m, 'peerDependencies'))]);
    const missing = [...staticWorkspaceImports(p.rel)].filter(([dep]) => dep !== name && !declared.has(dep));
    expect(missing.map(([dep]) => dep).sort()).toEqual((KNOWN_UNDECLARED[name] ?? []).slice().sort());
  });
});
