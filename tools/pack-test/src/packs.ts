/**
 * Packing the publishable packages without touching the working tree.
 *
 * `npm pack` runs each package's prepack hook, which rewrites its package.json (exports
 * -> dist) until postpack restores it. Done in the working tree while other Vitest
 * projects run, that would let them resolve `@mmsim/*` to dist/ for a moment. So the
 * packs happen in a mirror: a temp copy of the workspace's publishable packages (src,
 * package.json, tsconfig, README, bin), the root tsconfig/package.json and
 * tools/scripts, with a node_modules whose entries link to the real ones, except
 * `@mmsim/*` (links to the mirror's packages; private ones to the real folders, whose
 * sources tsc reads as external files) and `.cache` (the mirror's own).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface WorkspacePackage {
  name: string;
  /** e.g. packages/core */
  rel: string;
  private: boolean;
  /** @mmsim/* names it depends on (any dependency kind) */
  deps: string[];
}

export function workspacePackages(root = ROOT): WorkspacePackage[] {
  const out: WorkspacePackage[] = [];
  for (const top of ['packages', 'apps', 'tools']) {
    if (!existsSync(join(root, top))) continue;
    for (const d of readdirSync(join(root, top), { withFileTypes: true })) {
      const file = join(root, top, d.name, 'package.json');
      if (!d.isDirectory() || !existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      if (typeof pkg.name !== 'string') continue;
      const deps = new Set<string>();
      for (const f of ['dependencies', 'peerDependencies', 'devDependencies', 'optionalDependencies']) {
        for (const n of Object.keys((pkg[f] as Record<string, string> | undefined) ?? {})) if (n.startsWith('@mmsim/')) deps.add(n);
      }
      out.push({ name: pkg.name, rel: `${top}/${d.name}`, private: pkg.private === true, deps: [...deps] });
    }
  }
  return out.sort((a, b) => a.rel.localeCompare(b.rel));
}

/** The packages npm would publish: `@mmsim/*`, not private. */
export function publishablePackages(root = ROOT): WorkspacePackage[] {
  return workspacePackages(root).filter((p) => p.name.startsWith('@mmsim/') && !p.private);
}

const SKIP = new Set(['node_modules', 'dist', 'build', 'test-artifacts', '.nx', 'coverage']);

/** Copy the workspace parts packing needs into `into` (see the file comment). */
export function mirrorWorkspace(into: string, root = ROOT): void {
  mkdirSync(into, { recursive: true });
  for (const f of ['package.json', 'tsconfig.base.json']) cpSync(join(root, f), join(into, f));
  cpSync(join(root, 'tools/scripts'), join(into, 'tools/scripts'), { recursive: true });
  const all = workspacePackages(root);
  for (const p of all) {
    const from = join(root, p.rel);
    const to = join(into, p.rel);
    if (p.private) {
      // only the manifest: pack-manifest.mjs must know which names are private
      mkdirSync(to, { recursive: true });
      cpSync(join(from, 'package.json'), join(to, 'package.json'));
      continue;
    }
    cpSync(from, to, {
      recursive: true,
      filter: (src) => !SKIP.has(basename(src)) && !src.endsWith('.tgz') && !src.endsWith('package.json.prepack-orig'),
    });
    // an interrupted pack left the publish manifest in place: mirror the original
    const backup = join(from, 'package.json.prepack-orig');
    if (existsSync(backup)) cpSync(backup, join(to, 'package.json'));
  }
  const nm = join(into, 'node_modules');
  mkdirSync(join(nm, '@mmsim'), { recursive: true });
  mkdirSync(join(nm, '.cache'));
  for (const e of readdirSync(join(root, 'node_modules'))) {
    if (e === '@mmsim' || e === '.cache' || e.startsWith('.package-lock')) continue;
    symlinkSync(join(root, 'node_modules', e), join(nm, e));
  }
  for (const p of all) {
    if (!p.name.startsWith('@mmsim/')) continue;
    symlinkSync(join(p.private ? root : into, p.rel), join(nm, p.name));
  }
}
