// Shared helpers of the workspace scripts: where the packages are and how they depend
// on each other. Plain Node (no dependencies) so it runs before `npm ci` has finished
// linking anything but node itself.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const PROJECT_DIRS = ['packages', 'apps', 'tools'];

/** @typedef {{ name: string, dir: string, rel: string, pkg: any }} WorkspacePackage */

/** Every workspace package (a folder under packages/, apps/, tools/ with a package.json). */
export function listPackages() {
  /** @type {WorkspacePackage[]} */
  const out = [];
  for (const top of PROJECT_DIRS) {
    const base = join(ROOT, top);
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base, { withFileTypes: true })) {
      if (!d.isDirectory()) continue;
      const file = join(base, d.name, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (!pkg.name) continue;
      out.push({ name: pkg.name, dir: join(base, d.name), rel: `${top}/${d.name}`, pkg });
    }
  }
  return out.sort((a, b) => a.rel.localeCompare(b.rel));
}

/** Finds a package by name, by folder (relative or absolute) or by `.` (the cwd). */
export function findPackage(ref, all = listPackages()) {
  const abs = resolve(ref);
  return all.find((p) => p.name === ref || p.dir === abs || p.rel === ref) ?? null;
}

/** Names of the workspace packages this one depends on (any dependency kind). */
export function workspaceDeps(p, all = listPackages()) {
  const names = new Set(all.map((x) => x.name));
  const deps = new Set();
  for (const field of ['dependencies', 'peerDependencies', 'devDependencies', 'optionalDependencies']) {
    for (const n of Object.keys(p.pkg[field] ?? {})) if (names.has(n) && n !== p.name) deps.add(n);
  }
  return [...deps];
}

/** Publishable: has a name in the @mmsim scope and is not private. */
export function isPublishable(p) {
  return p.name.startsWith('@mmsim/') && !p.pkg.private;
}
