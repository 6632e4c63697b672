/**
 * Inferred Nx targets for every workspace package (packages/*, apps/*, tools/*):
 *
 *   typecheck  tsc -p <root>/tsconfig.json --noEmit
 *   test       vitest run --project <package name>   (the root vitest.config.ts projects)
 *   build      node tools/scripts/build-package.mjs <root>  -> <root>/dist (JS + .d.ts)
 *   lint       eslint <root>                          (the root eslint.config.js)
 *
 * A target is not inferred when the package.json has an npm script of the same name
 * (that script wins, e.g. the debugger's `vite build`), nor when its inputs are missing
 * (no tsconfig.json: no typecheck/build; no src/index.ts or "private": true: no build).
 * Caching, inputs, outputs and dependsOn come from nx.json `targetDefaults`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  createNodesFromFiles,
  type CreateNodesContext,
  type CreateNodesResult,
  type CreateNodesV2,
  type TargetConfiguration,
} from '@nx/devkit';

export interface MmsimPluginOptions {
  typecheckTargetName?: string;
  testTargetName?: string;
  buildTargetName?: string;
  lintTargetName?: string;
}

/** Top-level folders whose direct children are workspace packages. */
export const PROJECT_DIRS = ['packages', 'apps', 'tools'] as const;

interface PackageJson {
  name?: string;
  private?: boolean;
  scripts?: Record<string, string>;
}

export function inferTargets(
  projectRoot: string,
  workspaceRoot: string,
  opts: MmsimPluginOptions = {},
): Record<string, TargetConfiguration> {
  const abs = join(workspaceRoot, projectRoot);
  const pkg = JSON.parse(readFileSync(join(abs, 'package.json'), 'utf8')) as PackageJson;
  const scripts = pkg.scripts ?? {};
  const hasTsconfig = existsSync(join(abs, 'tsconfig.json'));
  const hasSrc = existsSync(join(abs, 'src'));
  const targets: Record<string, TargetConfiguration> = {};
  const add = (name: string, t: TargetConfiguration) => {
    if (!(name in scripts)) targets[name] = t;
  };

  if (hasTsconfig) {
    add(opts.typecheckTargetName ?? 'typecheck', {
      command: `tsc -p ${projectRoot}/tsconfig.json --noEmit`,
      metadata: { description: 'Type-check the package (source-first, no emit)', technologies: ['typescript'] },
    });
  }
  if (hasSrc && pkg.name) {
    add(opts.testTargetName ?? 'test', {
      command: `vitest run --project ${pkg.name} --passWithNoTests`,
      metadata: { description: `Run the Vitest project ${pkg.name} of the root vitest.config.ts`, technologies: ['vitest'] },
    });
  }
  if (hasTsconfig && !pkg.private && existsSync(join(abs, 'src', 'index.ts'))) {
    add(opts.buildTargetName ?? 'build', {
      command: `node tools/scripts/build-package.mjs ${projectRoot}`,
      metadata: {
        description: 'Compile src/ to dist/ (ES modules + .d.ts), as published; the workspace itself runs from src/',
        technologies: ['typescript'],
      },
    });
  }
  if (hasSrc) {
    add(opts.lintTargetName ?? 'lint', {
      command: `eslint ${projectRoot} --no-error-on-unmatched-pattern`,
      metadata: { description: 'ESLint (root eslint.config.js)', technologies: ['eslint'] },
    });
  }
  return targets;
}

function createNodesInternal(
  configFile: string,
  opts: MmsimPluginOptions | undefined,
  context: CreateNodesContext,
): CreateNodesResult {
  const projectRoot = dirname(configFile);
  const top = projectRoot.split('/')[0];
  if (!(PROJECT_DIRS as readonly string[]).includes(top) || projectRoot.split('/').length !== 2) return {};
  return { projects: { [projectRoot]: { targets: inferTargets(projectRoot, context.workspaceRoot, opts ?? {}) } } };
}

export const createNodesV2: CreateNodesV2<MmsimPluginOptions> = [
  '*/*/package.json',
  (configFiles, options, context) => createNodesFromFiles<MmsimPluginOptions>(createNodesInternal, configFiles, options ?? {}, context),
];
