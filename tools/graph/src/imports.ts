/**
 * The @mmsim/* imports of every workspace package, read from its sources with the
 * TypeScript parser (no type checking, no resolution): static `import` and `export ...
 * from`, dynamic `import('...')` with a literal name, and `import('...')` types. Each is
 * recorded with its file and line and whether it comes from a test, so that the rules
 * in graph.test.ts can treat shipped code and tests differently.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** static: a value import or re-export; dynamic: import('...'); type: erased (import type, import('...') types) */
export type ImportKind = 'static' | 'dynamic' | 'type';

export interface WorkspaceImport {
  /** the imported package, e.g. @mmsim/linux (a subpath such as @mmsim/linux/testing counts as its package) */
  target: string;
  kind: ImportKind;
  /** path from the workspace root */
  file: string;
  line: number;
  /** a test file, or test support (src/testing/, *.test.ts, *.test-d.ts, bench/, consumer/) */
  test: boolean;
  /** written as a relative path into another project's folder ('../../../apps/cli/src/x.js'), not by package name */
  byPath?: boolean;
}

export interface WorkspaceProject {
  name: string;
  /** e.g. packages/core */
  rel: string;
  private: boolean;
  /** @mmsim/* names per dependency field */
  declared: Record<'dependencies' | 'peerDependencies' | 'optionalDependencies' | 'devDependencies', string[]>;
  tags: string[];
  imports: WorkspaceImport[];
}

export const PROJECT_GROUPS = ['packages', 'apps', 'tools'] as const;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', '.nx', 'test-artifacts', '.vite']);
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs)$/;
const TEST_FILE = /\.(test|spec)\.tsx?$|\.test-d\.ts$/;
/** folders of a project that only tests use */
const TEST_DIRS = new Set(['testing', 'bench', 'consumer', '__snapshots__']);

/** "@mmsim/linux/testing" -> "@mmsim/linux"; anything else -> undefined */
export function workspacePackageOf(spec: string): string | undefined {
  return /^(@mmsim\/[^/]+)/.exec(spec)?.[1];
}

/** `import type { A }`, `import { type A, type B }`: erased from the JavaScript */
function isTypeOnlyImport(n: ts.ImportDeclaration): boolean {
  const c = n.importClause;
  if (!c) return false; // import 'x' (side effects)
  if (c.isTypeOnly) return true;
  const named = c.namedBindings;
  return !c.name && !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

function isTypeOnlyExport(n: ts.ExportDeclaration): boolean {
  if (n.isTypeOnly) return true;
  const named = n.exportClause;
  return !!named && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

/**
 * The @mmsim/* imports of one source text. `projectAt` maps a relative specifier (resolved
 * from the file) to the project whose folder it lands in, so that an import by path into
 * another project counts too.
 */
export function importsOf(text: string, file: string, test: boolean, projectAt?: (spec: string) => string | undefined): WorkspaceImport[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: WorkspaceImport[] = [];
  const add = (spec: ts.Node, kind: ImportKind) => {
    if (!ts.isStringLiteralLike(spec)) return;
    const byPath = spec.text.startsWith('.');
    const target = byPath ? projectAt?.(spec.text) : workspacePackageOf(spec.text);
    if (target) out.push({ target, kind, file, line: sf.getLineAndCharacterOfPosition(spec.getStart(sf)).line + 1, test, ...(byPath ? { byPath } : {}) });
  };
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n)) add(n.moduleSpecifier, isTypeOnlyImport(n) ? 'type' : 'static');
    else if (ts.isExportDeclaration(n) && n.moduleSpecifier) add(n.moduleSpecifier, isTypeOnlyExport(n) ? 'type' : 'static');
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments.length > 0) add(n.arguments[0], 'dynamic');
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) add(n.argument.literal, 'type');
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function sourcesUnder(dir: string, inTestDir: boolean, out: { path: string; test: boolean }[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (SKIP_DIRS.has(e.name) || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) sourcesUnder(p, inTestDir || TEST_DIRS.has(e.name), out);
    else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) out.push({ path: p, test: inTestDir || TEST_FILE.test(e.name) });
  }
}

/** Every workspace project (a folder of packages/, apps/, tools/ with a package.json) and its imports. */
export function readWorkspace(root: string): WorkspaceProject[] {
  const out: WorkspaceProject[] = [];
  // every project's folder and name first, so that imports by path can be attributed
  const folders: [string, string][] = [];
  for (const group of PROJECT_GROUPS) {
    if (!existsSync(join(root, group))) continue;
    for (const d of readdirSync(join(root, group), { withFileTypes: true })) {
      const manifest = join(root, group, d.name, 'package.json');
      if (d.isDirectory() && existsSync(manifest)) {
        const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
        folders.push([join(root, group, d.name) + sep, String(name)]);
      }
    }
  }
  const projectOfPath = (p: string) => folders.find(([dir]) => p.startsWith(dir))?.[1];
  for (const group of PROJECT_GROUPS) {
    if (!existsSync(join(root, group))) continue;
    for (const d of readdirSync(join(root, group), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const manifest = join(root, group, d.name, 'package.json');
      if (!d.isDirectory() || !existsSync(manifest)) continue;
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`${group}/${d.name}/package.json: ${(e as Error).message}`);
      }
      const rel = `${group}/${d.name}`;
      const field = (f: string) => Object.keys((m[f] as Record<string, string> | undefined) ?? {}).filter((n) => n.startsWith('@mmsim/'));
      const files: { path: string; test: boolean }[] = [];
      sourcesUnder(join(root, rel), false, files);
      out.push({
        name: String(m.name),
        rel,
        private: m.private === true,
        declared: {
          dependencies: field('dependencies'),
          peerDependencies: field('peerDependencies'),
          optionalDependencies: field('optionalDependencies'),
          devDependencies: field('devDependencies'),
        },
        tags: ((m.nx as { tags?: string[] } | undefined)?.tags ?? []).slice(),
        imports: files
          .flatMap((f) => importsOf(readFileSync(f.path, 'utf8'), relative(root, f.path), f.test, (spec) => projectOfPath(resolve(dirname(f.path), spec))))
          .filter((i) => i.target !== m.name),
      });
    }
  }
  return out;
}

/**
 * The run-time imports between the shipped modules of one project (relative imports that
 * are not type-only, tests and test support left out): module -> modules, paths from the
 * workspace root. A cycle here is a cycle at load time.
 */
export function moduleEdges(root: string, rel: string): Map<string, string[]> {
  const files: { path: string; test: boolean }[] = [];
  sourcesUnder(join(root, rel), false, files);
  const shipped = files.filter((f) => !f.test && /\.tsx?$/.test(f.path));
  const known = new Set(shipped.map((f) => f.path));
  const edges = new Map<string, string[]>();
  for (const f of shipped) {
    const sf = ts.createSourceFile(f.path, readFileSync(f.path, 'utf8'), ts.ScriptTarget.Latest, false);
    const to: string[] = [];
    for (const st of sf.statements) {
      const spec = (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? st.moduleSpecifier.text : undefined;
      if (!spec?.startsWith('.')) continue;
      if (ts.isImportDeclaration(st) ? isTypeOnlyImport(st) : isTypeOnlyExport(st as ts.ExportDeclaration)) continue;
      const base = resolve(dirname(f.path), spec).replace(/\.js$/, '');
      const target = [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((c) => known.has(c));
      if (target) to.push(relative(root, target));
    }
    edges.set(relative(root, f.path), to);
  }
  return edges;
}
