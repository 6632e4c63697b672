/**
 * The import graph of the workspace, checked on every `npm test`: each @mmsim/* import
 * declared, no import up the floors (src/floors.ts), no cycle between packages, and the
 * Nx tags saying the same as the floor table. The rules are also run on small made-up
 * workspaces, so that each is shown to catch what it is for.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FLOORS, MODULE_CYCLES_ALLOWED } from './floors.js';
import { importsOf, moduleEdges, readWorkspace, type WorkspaceImport, type WorkspaceProject } from './imports.js';
import { importCycles, moduleCycles, tagProblems, undeclaredImports, unplacedProjects, upwardImports, type Floor } from './rules.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const workspace = readWorkspace(ROOT);
const project = (name: string) => {
  const p = workspace.find((x) => x.name === name);
  if (!p) throw new Error(`no workspace project ${name}`);
  return p;
};
const shippedTargets = (name: string) => [...new Set(project(name).imports.filter((i) => !i.test).map((i) => i.target))].sort();

describe('the workspace', () => {
  it('is read whole: the model imports only core, the runner the model and the format', () => {
    expect(workspace.length).toBeGreaterThanOrEqual(FLOORS.flatMap((f) => Object.keys(f.packages)).length);
    expect(shippedTargets('@mmsim/linux')).toEqual(['@mmsim/core']);
    expect(shippedTargets('@mmsim/runner')).toEqual(['@mmsim/core', '@mmsim/linux', '@mmsim/scenario']);
  });

  it('puts every project on exactly one floor', () => {
    expect(unplacedProjects(workspace, FLOORS)).toEqual([]);
  });

  it('declares every @mmsim/* package it imports', () => {
    expect(undeclaredImports(workspace)).toEqual([]);
  });

  it('has no import up the floors', () => {
    expect(upwardImports(workspace, FLOORS)).toEqual([]);
  });

  it('has no import cycle between packages', () => {
    expect(importCycles(workspace)).toEqual([]);
  });

  it('has no module cycle at load time inside a package, but in the kernel files of the model', () => {
    const found = workspace.filter((p) => !MODULE_CYCLES_ALLOWED.has(p.name)).flatMap((p) => moduleCycles(moduleEdges(ROOT, p.rel)).map((c) => `${p.name}: ${c}`));
    expect(found).toEqual([]);
    // the runner's run.ts <-> concurrent.ts went when runStep moved to step.ts
    expect(moduleEdges(ROOT, 'packages/runner').get('packages/runner/src/concurrent.ts')).toEqual(['packages/runner/src/step.ts']);
    // the exemption is not stale: the model's files do call each other in a circle
    for (const name of MODULE_CYCLES_ALLOWED) expect(moduleCycles(moduleEdges(ROOT, project(name).rel)).length, name).toBeGreaterThan(0);
  });

  it("tags every project in Nx with its floor and its type", () => {
    expect(tagProblems(workspace, FLOORS)).toEqual([]);
  });

  it('gives every publishable package a README: what it is, install, a use, its entry points', () => {
    const publishable = workspace.filter((p) => !p.private);
    expect(publishable.length).toBeGreaterThanOrEqual(10);
    const problems = publishable.flatMap((p) => {
      const file = join(ROOT, p.rel, 'README.md');
      if (!existsSync(file)) return [`${p.rel}: no README.md`];
      const text = readFileSync(file, 'utf8');
      return [
        text.startsWith(`# ${p.name}\n`) ? '' : `${p.rel}/README.md: does not open with "# ${p.name}"`,
        new RegExp(`^npm install [^\\n]*${p.name}(\\s|$)`, 'm').test(text) ? '' : `${p.rel}/README.md: no install line`,
        text.includes(`from '${p.name}'`) || /```\w*\n(?:[^`]*\n)?mmsim \w/.test(text) ? '' : `${p.rel}/README.md: no use of ${p.name}`,
      ].filter(Boolean);
    });
    expect(problems).toEqual([]);
  });

  it('gives every publishable package a CHANGELOG whose newest entry is its version (npx changeset version)', () => {
    const problems = workspace
      .filter((p) => !p.private)
      .flatMap((p) => {
        const file = join(ROOT, p.rel, 'CHANGELOG.md');
        if (!existsSync(file)) return [`${p.rel}: no CHANGELOG.md`];
        const { version } = JSON.parse(readFileSync(join(ROOT, p.rel, 'package.json'), 'utf8')) as { version: string };
        const newest = /^## (\S+)$/m.exec(readFileSync(file, 'utf8'))?.[1];
        return newest === version ? [] : [`${p.rel}/CHANGELOG.md: newest entry ${newest}, package.json ${version}`];
      });
    expect(problems).toEqual([]);
  });
});

describe('importsOf', () => {
  it('finds static, re-exported, dynamic and type imports, subpaths as their package', () => {
    const src = [
      "import { Kernel } from '@mmsim/linux';",
      "import type { Scenario } from '@mmsim/scenario';",
      "import { type A, type B } from '@mmsim/x';",
      "export { runScenario } from '@mmsim/runner';",
      "import { VmaBench } from '@mmsim/linux/testing';",
      "const m = await import('@mmsim/bench');",
      "type D = typeof import('@mmsim/debugger');",
      "import { readFileSync } from 'node:fs';",
      "const notAnImport = '@mmsim/core';",
    ].join('\n');
    const found = importsOf(src, 'p/src/a.ts', false).map((i) => [i.target, i.kind, i.line]);
    expect(found).toEqual([
      ['@mmsim/linux', 'static', 1],
      ['@mmsim/scenario', 'type', 2],
      ['@mmsim/x', 'type', 3],
      ['@mmsim/runner', 'static', 4],
      ['@mmsim/linux', 'static', 5],
      ['@mmsim/bench', 'dynamic', 6],
      ['@mmsim/debugger', 'type', 7],
    ]);
  });
});

describe('importsOf, by path', () => {
  it('attributes a relative import that lands in another project to it, and ignores the rest', () => {
    const src = ["import { register } from '../../../apps/cli/src/commands/bench.js';", "import { own } from './own.js';"].join('\n');
    const projectAt = (spec: string) => (spec.includes('/apps/cli/') ? '@mmsim/cli' : undefined);
    expect(importsOf(src, 'tools/bench/src/a.test.ts', true, projectAt)).toEqual([
      { target: '@mmsim/cli', kind: 'static', file: 'tools/bench/src/a.test.ts', line: 1, test: true, byPath: true },
    ]);
  });

  it('the workspace read finds them (tools/bench tests the CLI command by path)', () => {
    expect(project('@mmsim/bench').imports.some((i) => i.byPath && i.target === '@mmsim/cli' && i.test)).toBe(true);
  });
});

/* ------------------------------------------------- the rules on made-up workspaces */

const TOY: Floor[] = [
  { name: 'core', sideways: false, packages: { '@t/core': 'engine' } },
  { name: 'model', sideways: false, packages: { '@t/model': 'model', '@t/format': 'format' } },
  { name: 'plugin', sideways: true, packages: { '@t/a': 'plugin', '@t/b': 'plugin' } },
  { name: 'app', sideways: true, packages: { '@t/app': 'app', '@t/tool': 'app' } },
];

function toy(name: string, imports: [string, WorkspaceImport['kind']?, boolean?][], declared: string[] = imports.map(([t]) => t), extra: Partial<WorkspaceProject> = {}): WorkspaceProject {
  return {
    name,
    rel: `packages/${name.slice(3)}`,
    private: false,
    declared: { dependencies: declared, peerDependencies: [], optionalDependencies: [], devDependencies: [] },
    tags: [],
    imports: imports.map(([target, kind = 'static', test = false], n) => ({ target, kind, test, file: `packages/${name.slice(3)}/src/index.ts`, line: n + 1 })),
    ...extra,
  };
}

describe('the rules', () => {
  it('undeclaredImports: names the file, the line and the package', () => {
    const ws = [toy('@t/app', [['@t/core'], ['@t/model']], ['@t/core']), toy('@t/core', [])];
    expect(undeclaredImports(ws)).toEqual(['packages/app/src/index.ts:2: @t/app imports @t/model, which its package.json does not declare']);
  });

  it('undeclaredImports: a publishable package may reach a private one by import() and types only', () => {
    const tool = toy('@t/tool', [], [], { private: true });
    const app = toy('@t/app', [['@t/tool', 'dynamic'], ['@t/tool', 'type'], ['@t/tool', 'static']], []);
    expect(undeclaredImports([app, tool])).toEqual(['packages/app/src/index.ts:3: @t/app imports @t/tool, which its package.json does not declare']);
    // a private importer gets no such leave: it can declare what it uses
    expect(undeclaredImports([{ ...app, private: true }, tool])).toHaveLength(3);
  });

  it('undeclaredImports: an import by path into another project is an error in shipped code, not in a test', () => {
    const byPath = (test: boolean) => toy('@t/app', [], ['@t/core'], { imports: [{ target: '@t/core', kind: 'static', file: 'packages/app/src/x.ts', line: 3, test, byPath: true }] });
    expect(undeclaredImports([byPath(false)])).toEqual([
      'packages/app/src/x.ts:3: @t/app imports @t/core by a relative path; import it by its package name (and declare it)',
    ]);
    expect(undeclaredImports([byPath(true)])).toEqual([]);
  });

  it('upwardImports: up a floor, and sideways on a floor that forbids it; tests exempt', () => {
    const ws = [
      toy('@t/core', [['@t/model']]),
      toy('@t/model', [['@t/core'], ['@t/format'], ['@t/app', 'static', true]]),
      toy('@t/a', [['@t/b'], ['@t/model']]),
    ];
    expect(upwardImports(ws, TOY)).toEqual([
      'packages/core/src/index.ts:1: @t/core (floor core) imports @t/model, a floor above (model)',
      'packages/model/src/index.ts:2: @t/model imports @t/format on its own floor (model), whose packages may not import each other',
    ]);
  });

  it('upwardImports: type imports count (an upward type is an upward dependency)', () => {
    expect(upwardImports([toy('@t/model', [['@t/a', 'type']])], TOY)).toHaveLength(1);
  });

  it('importCycles: a cycle is reported once, with the import that closes it; test imports do not make one', () => {
    const ws = [toy('@t/a', [['@t/b']]), toy('@t/b', [['@t/app']]), toy('@t/app', [['@t/a']]), toy('@t/tool', [['@t/a', 'static', true]])];
    expect(importCycles(ws)).toEqual(['@t/a -> @t/b -> @t/app -> @t/a (closed by packages/app/src/index.ts:1)']);
    expect(importCycles([toy('@t/a', [['@t/b']]), toy('@t/b', [['@t/a', 'static', true]])])).toEqual([]);
  });

  it('moduleCycles: each cycle once, whichever module it is entered by; a chain is none', () => {
    const edges = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
    ]);
    expect(moduleCycles(edges)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts']);
    expect(moduleCycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toEqual([]);
  });

  it('unplacedProjects and tagProblems: a project off the table, a tag that disagrees with it', () => {
    const ws = [toy('@t/core', [], [], { tags: ['scope:core', 'type:engine', 'publishable'] }), toy('@t/model', [], [], { tags: ['scope:app', 'type:model'] }), toy('@t/new', [])];
    expect(unplacedProjects(ws, TOY)).toEqual([
      'packages/new: @t/new is on no floor of the table; add it to FLOORS',
      ...['@t/format', '@t/a', '@t/b', '@t/app', '@t/tool'].map((n) => `${n} is in FLOORS but is no workspace project`),
    ]);
    expect(tagProblems(ws, TOY)).toEqual(['packages/model/package.json: nx.tags has ["scope:app","type:model"], the floor table says ["scope:model","type:model"]']);
  });
});
