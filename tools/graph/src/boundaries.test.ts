/**
 * The floors as ESLint enforces them: `@nx/enforce-module-boundaries` (eslint.config.js),
 * whose depConstraints say over the Nx `scope:` tags what FLOORS says over the package
 * names. Run here with that rule alone over the shipped sources of every project, so
 * that `npm test` fails on an import across a floor, and shown to report one.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLOORS } from './floors.js';
import { depConstraintsOf } from './rules.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const RULE = '@nx/enforce-module-boundaries';

let eslint: ESLint;

beforeAll(async () => {
  // The rule reads Nx's cached project graph and, without one, skips every file with
  // only a warning: compute it first (in this process; a fresh clone has none).
  process.env.NX_DAEMON = 'false';
  const { createProjectGraphAsync } = await import('@nx/devkit');
  await createProjectGraphAsync({ exitOnError: false });
  // that rule alone, and without the type information the switch rule asks for
  eslint = new ESLint({
    cwd: ROOT,
    ruleFilter: ({ ruleId }) => ruleId === RULE,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  });
});

/** The boundary rule's messages for a source text as if it were the file `at` (from the root). */
async function lintAs(at: string, text: string): Promise<string[]> {
  const [r] = await eslint.lintText(text, { filePath: `${ROOT}${at}` });
  return r.messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
}

describe('@nx/enforce-module-boundaries', () => {
  it('is configured with the constraints of the floor table', async () => {
    const config = (await eslint.calculateConfigForFile(`${ROOT}packages/core/src/index.ts`)) as { rules: Record<string, unknown[]> };
    const [severity, options] = config.rules[RULE];
    expect(severity).toBe(2);
    expect((options as { depConstraints: unknown }).depConstraints).toEqual(depConstraintsOf(FLOORS));
  });

  it('finds no import across the floors in the shipped sources', async () => {
    const results = await eslint.lintFiles(['packages', 'apps', 'tools']);
    const linted = results.filter((r) => !r.messages.some((m) => m.message.startsWith('File ignored')));
    expect(linted.length).toBeGreaterThan(200);
    const found = results.flatMap((r) => r.messages.map((m) => `${r.filePath.slice(ROOT.length)}:${m.line}: ${m.message}`));
    expect(found).toEqual([]);
  });

  it('reports an import up a floor, sideways on a floor that forbids it, and by path', async () => {
    // (the model's package, not the oracle, imports the model: no cycle hides the floor)
    const up = await lintAs('packages/linux/src/probe.ts', "import { runOnKernel } from '@mmsim/kernel-oracle';\nexport const r = runOnKernel;\n");
    expect(up).toEqual([`${RULE}: A project tagged with "scope:model" can only depend on libs tagged with "scope:core", "scope:model"`]);
    const typeOnly = await lintAs('packages/linux/src/probe.ts', "import type { RunOptions } from '@mmsim/kernel-oracle';\nexport type R = RunOptions;\n");
    expect(typeOnly).toHaveLength(1);
    const sideways = await lintAs('packages/linux/src/probe.ts', "import { parseScenario } from '@mmsim/scenario';\nexport const p = parseScenario;\n");
    expect(sideways).toEqual([`${RULE}: A project tagged with "scope:model" can not depend on libs tagged with "scope:model"\n\nViolation detected in:\n- @mmsim/scenario`]);
    // into core, which everything imports: a cycle, reported as one
    const intoCore = await lintAs('packages/core/src/probe.ts', "import { Kernel } from '@mmsim/linux';\nexport const k = Kernel;\n");
    expect(intoCore).toHaveLength(1);
    expect(intoCore[0]).toMatch(/Circular dependency between "@mmsim\/core" and "@mmsim\/linux"/);
    const byPath = await lintAs('packages/runner/src/probe.ts', "export { Kernel } from '../../linux/src/kernel.js';\n");
    expect(byPath).toEqual([`${RULE}: Projects cannot be imported by a relative or absolute path, and must begin with a npm scope`]);
    const dynamic = await lintAs('packages/invariants/src/probe.ts', "export const cli = () => import('@mmsim/cli');\n");
    expect(dynamic).toHaveLength(1);
  });

  it('lets an import down the floors, and sideways on a floor that allows it, through', async () => {
    expect(await lintAs('packages/runner/src/probe.ts', "import { Kernel } from '@mmsim/linux';\nimport { parseScenario } from '@mmsim/scenario';\nexport const k = [Kernel, parseScenario];\n")).toEqual([]);
    expect(await lintAs('packages/large-folio/src/probe.ts', "import { relocateAnonPlugin } from '@mmsim/relocate-anon';\nexport const r = relocateAnonPlugin;\n")).toEqual([]);
    // tests may import any package their project declares
    expect(await lintAs('packages/core/src/probe.test.ts', "import { Kernel } from '@mmsim/linux';\nexport const k = Kernel;\n")).toEqual([]);
  });
});
