/**
 * The rules of the house, over the projects readWorkspace() returns. Each returns the
 * offending imports as readable lines (empty: the rule holds), so a failing test names
 * the file, the line and what to do.
 */
import type { WorkspaceImport, WorkspaceProject } from './imports.js';

/** One floor of the house: its packages may import the floors below it, not above. */
export interface Floor {
  /** also the Nx tag `scope:<name>` of its projects */
  name: string;
  /** package name -> its Nx `type:<type>` tag */
  packages: Readonly<Record<string, string>>;
  /** may its packages import each other (acyclically)? */
  sideways: boolean;
}

const where = (i: WorkspaceImport) => `${i.file}:${i.line}`;

/**
 * Every @mmsim/* import must be declared in the package.json of its project, in any
 * dependency field (tests may use devDependencies), and made by package name, not by a
 * relative path into the other project's folder (tests excepted). One exception, by rule: a
 * publishable package may use a private workspace package through a dynamic import()
 * and its types, never a static value import: an optional integration that only
 * exists in the monorepo (npm could not install it, so it cannot be declared).
 */
export function undeclaredImports(projects: readonly WorkspaceProject[]): string[] {
  const privateNames = new Set(projects.filter((p) => p.private).map((p) => p.name));
  const out: string[] = [];
  for (const p of projects) {
    const declared = new Set(Object.values(p.declared).flat());
    for (const i of p.imports) {
      if (i.byPath) {
        // a path into another project bypasses its exports and its package.json;
        // a test may do it to exercise another project's internals, shipped code may not
        if (!i.test) out.push(`${where(i)}: ${p.name} imports ${i.target} by a relative path; import it by its package name (and declare it)`);
        continue;
      }
      if (declared.has(i.target)) continue;
      if (i.kind !== 'static' && !p.private && privateNames.has(i.target)) continue;
      out.push(`${where(i)}: ${p.name} imports ${i.target}, which its package.json does not declare`);
    }
  }
  return out;
}

/** The floor of each package; a package on no floor is an error of its own (unplacedProjects). */
function floorIndex(floors: readonly Floor[]): Map<string, number> {
  const at = new Map<string, number>();
  floors.forEach((f, n) => {
    for (const name of Object.keys(f.packages)) {
      if (at.has(name)) throw new Error(`${name} is on two floors (${floors[at.get(name)!].name} and ${f.name})`);
      at.set(name, n);
    }
  });
  return at;
}

export function unplacedProjects(projects: readonly WorkspaceProject[], floors: readonly Floor[]): string[] {
  const at = floorIndex(floors);
  const names = new Set(projects.map((p) => p.name));
  return [
    ...projects.filter((p) => !at.has(p.name)).map((p) => `${p.rel}: ${p.name} is on no floor of the table; add it to FLOORS`),
    ...[...at.keys()].filter((n) => !names.has(n)).map((n) => `${n} is in FLOORS but is no workspace project`),
  ];
}

/** Imports of shipped code (tests excluded) that go up the floors, or sideways where the floor forbids it. */
export function upwardImports(projects: readonly WorkspaceProject[], floors: readonly Floor[]): string[] {
  const at = floorIndex(floors);
  const out: string[] = [];
  for (const p of projects) {
    const mine = at.get(p.name);
    if (mine === undefined) continue;
    for (const i of p.imports) {
      const theirs = at.get(i.target);
      if (i.test || theirs === undefined) continue;
      if (theirs > mine) out.push(`${where(i)}: ${p.name} (floor ${floors[mine].name}) imports ${i.target}, a floor above (${floors[theirs].name})`);
      else if (theirs === mine && !floors[mine].sideways)
        out.push(`${where(i)}: ${p.name} imports ${i.target} on its own floor (${floors[mine].name}), whose packages may not import each other`);
    }
  }
  return out;
}

/**
 * The cycles of a directed graph, each once (whatever node it is entered by), as the path
 * from its first node back to it: [a, b, a]. Depth-first from each node in sorted order,
 * so the output is deterministic.
 */
export function cyclesOf(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const out: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of [...(edges.get(n) ?? [])].sort()) {
      if (state.get(m) === 'open') {
        const cycle = stack.slice(stack.indexOf(m));
        const key = [...cycle].sort().join(' ');
        if (!seen.has(key)) {
          seen.add(key);
          out.push([...cycle, m]);
        }
      } else if (!state.has(m) && edges.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...edges.keys()].sort()) if (!state.has(n)) visit(n);
  return out;
}

/** Cycles between packages through shipped code (tests excluded), each once, as "a -> b -> a" with the import that closes it. */
export function importCycles(projects: readonly WorkspaceProject[]): string[] {
  const first = new Map<string, Map<string, WorkspaceImport>>();
  for (const p of projects) {
    const e = new Map<string, WorkspaceImport>();
    for (const i of p.imports) if (!i.test && !e.has(i.target)) e.set(i.target, i);
    first.set(p.name, e);
  }
  const edges = new Map([...first].map(([n, e]) => [n, [...e.keys()]]));
  return cyclesOf(edges).map((c) => `${c.join(' -> ')} (closed by ${where(first.get(c[c.length - 2])!.get(c[c.length - 1])!)})`);
}

/** Each project's Nx tags carry its floor (`scope:<floor>`) and its kind (`type:<type>`) as the table says, and no other scope or type. */
export function tagProblems(projects: readonly WorkspaceProject[], floors: readonly Floor[]): string[] {
  const out: string[] = [];
  for (const p of projects) {
    const f = floors.find((x) => p.name in x.packages);
    if (!f) continue;
    const want = [`scope:${f.name}`, `type:${f.packages[p.name]}`];
    const have = p.tags.filter((t) => t.startsWith('scope:') || t.startsWith('type:')).sort();
    if (JSON.stringify(have) !== JSON.stringify([...want].sort()))
      out.push(`${p.rel}/package.json: nx.tags has ${JSON.stringify(have)}, the floor table says ${JSON.stringify(want)}`);
  }
  return out;
}

/** Cycles in a module graph (moduleEdges), each once, as "a.ts -> b.ts -> a.ts". */
export function moduleCycles(edges: ReadonlyMap<string, readonly string[]>): string[] {
  return cyclesOf(edges).map((c) => c.join(' -> '));
}

/** One `@nx/enforce-module-boundaries` depConstraint (eslint.config.js). */
export interface DepConstraint {
  sourceTag: string;
  onlyDependOnLibsWithTags: string[];
  notDependOnLibsWithTags?: string[];
}

/**
 * The floor table as Nx depConstraints over the `scope:` tags: each floor may depend on
 * itself and the floors below it, and not on itself where it is not `sideways` (Nx
 * never applies a constraint to imports inside one project, and an empty list of tags
 * would allow everything); the top floor (the workspace's own checks) on anything.
 */
export function depConstraintsOf(floors: readonly Floor[]): DepConstraint[] {
  return floors.map((f, n) => {
    const own = `scope:${f.name}`;
    if (n === floors.length - 1) return { sourceTag: own, onlyDependOnLibsWithTags: ['*'] };
    const allowed = floors.slice(0, n + 1).map((g) => `scope:${g.name}`);
    return f.sideways ? { sourceTag: own, onlyDependOnLibsWithTags: allowed } : { sourceTag: own, onlyDependOnLibsWithTags: allowed, notDependOnLibsWithTags: [own] };
  });
}
