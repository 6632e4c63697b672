/**
 * `npx nx g @mmsim/tools:plugin NAME` — scaffolds packages/NAME as the publishable
 * workspace package @mmsim/NAME: source-first package.json (peer dependency on
 * @mmsim/core, the prepack/postpack publish hooks), tsconfig.json, README.md,
 * src/index.ts with a `definePlugin` example that provides an extension point of its
 * own, and src/index.test.ts that registers it in a PluginRegistry.
 *
 * Nx infers the new project's typecheck/test/build/lint targets (tools/nx-plugin), and
 * the root vitest.config.ts picks up its tests (projects: packages/*). Afterwards npm
 * install runs (unless --skipInstall) so node_modules/@mmsim/NAME and package-lock.json
 * know the new workspace; CI's `npm ci` fails on a lockfile that does not.
 */
import { join } from 'node:path';
import {
  type GeneratorCallback,
  type Tree,
  generateFiles,
  installPackagesTask,
  names,
  readJson,
  writeJson,
} from '@nx/devkit';
import type { PluginGeneratorSchema } from './schema';

export const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export interface NormalizedOptions {
  name: string;
  packageName: string;
  projectRoot: string;
  description: string;
  /** RelocateAnon */
  className: string;
  /** relocateAnon */
  propertyName: string;
  /** RELOCATE_ANON_HOOKS */
  constName: string;
  coreRange: string;
}

export function normalizeOptions(tree: Tree, o: PluginGeneratorSchema): NormalizedOptions {
  const name = (o.name ?? '').trim().replace(/^@mmsim\//, '');
  if (!NAME_PATTERN.test(name)) throw new Error(`plugin name "${o.name}" must be kebab-case (e.g. relocate-anon)`);
  const projectRoot = `${o.directory ?? 'packages'}/${name}`;
  if (tree.exists(projectRoot) && tree.children(projectRoot).length)
    throw new Error(`${projectRoot} exists already; pick another name or remove it`);
  const n = names(name);
  const corePkg = 'packages/core/package.json';
  const coreVersion = tree.exists(corePkg) ? (readJson(tree, corePkg).version as string) : '0.1.0';
  return {
    name,
    packageName: `@mmsim/${name}`,
    projectRoot,
    description: o.description?.trim() || `mmsim plugin ${name}`,
    className: n.className,
    propertyName: n.propertyName,
    constName: `${n.constantName}_HOOKS`,
    // a 0.x core: a range that a minor bump of core does not leave (onlyUpdatePeerDependentsWhenOutOfRange)
    coreRange: coreVersion.startsWith('0.') ? `>=${coreVersion} <1` : `^${coreVersion}`,
  };
}

export async function pluginGenerator(tree: Tree, schema: PluginGeneratorSchema): Promise<GeneratorCallback | void> {
  const o = normalizeOptions(tree, schema);
  const depth = o.projectRoot.split('/').length;
  generateFiles(tree, join(__dirname, 'files'), o.projectRoot, {
    ...o,
    offsetFromRoot: '../'.repeat(depth),
    template: '',
  });
  writeJson(tree, `${o.projectRoot}/package.json`, {
    name: o.packageName,
    version: '0.1.0',
    description: o.description,
    type: 'module',
    license: 'MIT',
    exports: {
      '.': { types: './src/index.ts', default: './src/index.ts' },
      './internal/*': null,
      './package.json': './package.json',
    },
    files: ['src', '!src/**/*.test.ts'],
    sideEffects: false,
    scripts: {
      prepack: `node ${'../'.repeat(depth)}tools/scripts/pack-manifest.mjs prepack`,
      postpack: `node ${'../'.repeat(depth)}tools/scripts/pack-manifest.mjs postpack`,
    },
    nx: { tags: ['publishable', 'scope:plugin', 'type:plugin'], includedScripts: [] },
    publishConfig: { access: 'public' },
    peerDependencies: { '@mmsim/core': o.coreRange },
    devDependencies: { '@mmsim/core': '*' },
  });
  if (schema.skipInstall) return;
  return () => installPackagesTask(tree, true);
}

export default pluginGenerator;
