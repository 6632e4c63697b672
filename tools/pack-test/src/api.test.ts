/**
 * The public API surface of every publishable package, as its src/index.ts exports it.
 *
 *  - The export list (name and kind: class, function, const, enum, interface, type...;
 *    `type-only` when a value is exported with `export type`) is compared with a
 *    snapshot per package in __snapshots__/exports/, so adding, removing or retyping an
 *    export is a visible, reviewed change. After an intended change:
 *      npx vitest run --project @mmsim/pack-test api -u
 *  - The runtime module has exactly the value exports of that list.
 *  - api.test-d.ts holds type assertions (expectTypeOf, @ts-expect-error) about the
 *    key types plugin authors use: Plugin, MmEvent narrowing, MremapStrategy,
 *    Scenario/Observation. The typecheck target checks it; this test also compiles it,
 *    so `npm test` fails when one of them breaks.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, publishablePackages } from './packs.js';
import { readTsconfig } from './tsconfig.js';

const HERE = join(ROOT, 'tools/pack-test');
const TYPE_TESTS = join(HERE, 'src/api.test-d.ts');
const packages = publishablePackages();

/** Each entry point a package exports: "." (src/index.ts) and subpaths such as @mmsim/linux/testing. */
interface EntryPoint {
  /** the import specifier: @mmsim/linux, @mmsim/linux/testing */
  spec: string;
  /** the snapshot's name: linux, linux-testing */
  short: string;
  /** the source file, absolute */
  file: string;
}

function entryPoints(p: { name: string; rel: string }): EntryPoint[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, p.rel, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
  const out: EntryPoint[] = [];
  for (const [key, target] of Object.entries(pkg.exports ?? { '.': './src/index.ts' })) {
    // "./package.json" and blocked patterns ("./internal/*": null) are no API
    const types = typeof target === 'string' ? target : (target as { types?: string } | null)?.types;
    if (!types || key.includes('*') || !types.endsWith('.ts')) continue;
    const sub = key === '.' ? '' : key.slice(2);
    out.push({ spec: sub ? `${p.name}/${sub}` : p.name, short: `${p.name.replace('@mmsim/', '')}${sub ? `-${sub.replace(/\//g, '-')}` : ''}`, file: join(ROOT, p.rel, types) });
  }
  return out;
}
const entries = packages.flatMap(entryPoints);

let program: ts.Program;
let checker: ts.TypeChecker;

beforeAll(() => {
  const cfg = readTsconfig(join(HERE, 'tsconfig.json'));
  const roots = [...cfg.fileNames, ...entries.map((e) => e.file)];
  program = ts.createProgram({ rootNames: roots, options: { ...cfg.options, noEmit: true } });
  checker = program.getTypeChecker();
}, 120_000);

function kindOf(sym: ts.Symbol): string {
  const f = sym.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Enum) return f & ts.SymbolFlags.ConstEnum ? 'const enum' : 'enum';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Variable) {
    const decl = sym.valueDeclaration;
    const list = decl && ts.isVariableDeclaration(decl) ? decl.parent : undefined;
    return list && ts.isVariableDeclarationList(list) && list.flags & ts.NodeFlags.Const ? 'const' : 'let';
  }
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Module) return 'namespace';
  return `flags ${f}`;
}

const isTypeOnlyExport = (d: ts.Declaration) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly);

/** `name: kind` per export, sorted; `type-only` marks a value exported with `export type`. */
function exportList(indexFile: string): { lines: string[]; values: string[] } {
  const sf = program.getSourceFile(indexFile);
  if (!sf) throw new Error(`${indexFile} is not in the program`);
  const mod = checker.getSymbolAtLocation(sf);
  if (!mod) return { lines: [], values: [] };
  const lines: string[] = [];
  const values: string[] = [];
  for (const s of checker.getExportsOfModule(mod)) {
    let typeOnly = false;
    let target = s;
    for (let i = 0; target.flags & ts.SymbolFlags.Alias && i < 10; i++) {
      if (target.declarations?.some(isTypeOnlyExport)) typeOnly = true;
      target = checker.getImmediateAliasedSymbol(target) ?? checker.getAliasedSymbol(target);
    }
    const kind = kindOf(target);
    const isValue = (target.flags & ts.SymbolFlags.Value) !== 0 && !typeOnly && kind !== 'const enum';
    if (isValue) values.push(s.name);
    lines.push(`${s.name}: ${typeOnly && target.flags & ts.SymbolFlags.Value ? 'type-only ' : ''}${kind}`);
  }
  return { lines: lines.sort(), values: values.sort() };
}

describe('public API surface', () => {
  it('the type assertions of api.test-d.ts compile', () => {
    const diags = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics(program.getSourceFile(TYPE_TESTS))];
    const text = ts.formatDiagnostics(diags, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => '\n',
    });
    expect(text).toBe('');
  });

  it('covers every package, and subpath exports too (@mmsim/linux/testing)', () => {
    expect(new Set(entries.filter((e) => !e.spec.slice('@mmsim/'.length).includes('/')).map((e) => e.spec))).toEqual(new Set(packages.map((p) => p.name)));
    expect(entries.map((e) => e.spec)).toContain('@mmsim/linux/testing');
  });

  describe.each(entries.map((e) => [e.spec, e] as const))('%s', (spec, e) => {
    it('exports what the snapshot lists', async () => {
      const { lines } = exportList(e.file);
      expect(lines.length).toBeGreaterThan(0);
      const header = `# ${spec}: exports of ${relative(ROOT, e.file)}\n`;
      await expect(`${header}${lines.join('\n')}\n`).toMatchFileSnapshot(`./__snapshots__/exports/${e.short}.txt`);
    });

    it('has exactly the value exports at run time', async () => {
      const { values } = exportList(e.file);
      const mod = (await import(/* @vite-ignore */ spec)) as Record<string, unknown>;
      expect(Object.keys(mod).sort()).toEqual(values);
    });
  });
});
