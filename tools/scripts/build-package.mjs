#!/usr/bin/env node
// Publishable build of one workspace package: src/ -> dist/ (ES modules, .d.ts, maps).
//
//   node tools/scripts/build-package.mjs <package dir | name | .> [--with-deps]
//
// Inside the workspace every package is source-first (exports point at src/*.ts and
// Vitest/tsx/tsc read the TypeScript directly), so dist/ is only needed for publishing.
// The compiler config is generated (node_modules/.cache/mmsim-build/) so packages need
// no tsconfig.build.json: it extends the package's own tsconfig.json, emits src/ minus
// tests into dist/, and maps each @mmsim/* dependency to that dependency's dist/*.d.ts
// (so a dependency's sources are not re-compiled into this package). Build dependencies
// first: Nx does (`dependsOn: ["^build"]`), or pass --with-deps (prepack does).
// Non-TypeScript files of src/ (e.g. kernel-oracle's oracle.c) are copied to dist/.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, findPackage, listPackages, workspaceDeps } from './lib/workspace.mjs';

const TEST_FILE = /\.(test|spec)\.[cm]?tsx?$/;

export function buildPackage(ref, { withDeps = false, quiet = false, done = new Set() } = {}) {
  const all = listPackages();
  const p = findPackage(ref, all);
  if (!p) throw new Error(`build-package: no workspace package "${ref}"`);
  if (done.has(p.name)) return;
  done.add(p.name);
  // Private workspace packages (the debugger, @mmsim/fuzz, @mmsim/bench) are never built
  // here (they are not published; the debugger's dist/ is Vite's): tsc reads their
  // sources through node_modules as external files, which it type-checks but does not emit.
  const deps = workspaceDeps(p, all)
    .map((n) => all.find((x) => x.name === n))
    .filter((d) => !d.pkg.private);
  if (withDeps) for (const d of deps) if (existsSync(join(d.dir, 'src', 'index.ts'))) buildPackage(d.dir, { withDeps, quiet, done });

  const src = join(p.dir, 'src');
  const dist = join(p.dir, 'dist');
  if (!existsSync(join(p.dir, 'tsconfig.json'))) throw new Error(`build-package: ${p.rel} has no tsconfig.json`);
  const paths = {};
  for (const d of deps) {
    paths[d.name] = [join(d.dir, 'dist', 'index.d.ts')];
    paths[`${d.name}/*`] = [join(d.dir, 'dist', '*')];
  }
  const tsconfig = {
    extends: join(p.dir, 'tsconfig.json'),
    compilerOptions: {
      noEmit: false,
      emitDeclarationOnly: false,
      rootDir: src,
      outDir: dist,
      declaration: true,
      declarationMap: true,
      sourceMap: true,
      composite: false,
      incremental: false,
      allowImportingTsExtensions: false,
      // Dependencies are seen through their dist/*.d.ts, where `export const enum`
      // (e.g. @mmsim/core's E, MappingKind) is ambient: under isolatedModules or
      // verbatimModuleSyntax, using one is error TS2748. The build turns both off so
      // tsc inlines such members; the typecheck target keeps them on.
      isolatedModules: false,
      verbatimModuleSyntax: false,
      paths,
    },
    include: [src],
    exclude: [
      join(src, '**/*.test.ts'),
      join(src, '**/*.test.tsx'),
      join(src, '**/*.test-d.ts'),
      join(src, '**/*.spec.ts'),
      join(src, '**/__fixtures__/**'),
    ],
  };
  const cacheDir = join(ROOT, 'node_modules', '.cache', 'mmsim-build');
  mkdirSync(cacheDir, { recursive: true });
  const cfg = join(cacheDir, `${p.name.replace(/[@/]/g, '_')}.tsconfig.json`);
  writeFileSync(cfg, JSON.stringify(tsconfig, null, 2));

  rmSync(dist, { recursive: true, force: true });
  const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [tsc, '-p', cfg], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) throw new Error(`build-package: tsc failed for ${p.name} (exit ${r.status}); config ${relative(ROOT, cfg)}`);
  copyAssets(src, dist);
  if (!quiet) console.log(`built ${p.name} -> ${relative(ROOT, dist)} (${Date.now() - t0} ms)`);
}

function copyAssets(from, to) {
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const a = join(from, e.name);
    const b = join(to, e.name);
    if (e.isDirectory()) {
      if (e.name === '__fixtures__' || e.name === 'node_modules') continue;
      copyAssets(a, b);
    } else if (!/\.[cm]?tsx?$/.test(e.name) && !TEST_FILE.test(e.name) && !existsSync(b)) {
      mkdirSync(to, { recursive: true });
      cpSync(a, b);
    }
  }
}

const isMain = !!process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const args = process.argv.slice(2);
  const withDeps = args.includes('--with-deps');
  const refs = args.filter((a) => !a.startsWith('--'));
  if (!refs.length) refs.push('.');
  try {
    const done = new Set();
    for (const ref of refs) buildPackage(ref, { withDeps, done });
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
