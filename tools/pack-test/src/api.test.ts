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
import { join, relative } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, publishablePackages } from './packs.js';
import { readTsconfig } from './tsconfig.js';

const HERE = join(ROOT, 'tools/pack-test');
const TYPE_TESTS = join(HERE, 'src/api.test-d.ts');
const packages = publishablePackages();

let program: ts.Program;
let checker: ts.TypeChecker;

beforeAll(() => {
  const cfg = readTsconfig(join(HERE, 'tsconfig.json'));
  const roots = [...cfg.fileNames, ...packages.map((p) => join(ROOT, p.rel, 'src/index.ts'))];
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

  describe.each(packages.map((p) => [p.name, p] as const))('%s', (name, p) => {
    const short = name.replace('@mmsim/', '');

    it('exports what the snapshot lists', async () => {
      const { lines } = exportList(join(ROOT, p.rel, 'src/index.ts'));
      expect(lines.length).toBeGreaterThan(0);
      const header = `# ${name}: exports of ${relative(ROOT, join(ROOT, p.rel, 'src/index.ts'))}\n`;
      await expect(`${header}${lines.join('\n')}\n`).toMatchFileSnapshot(`./__snapshots__/exports/${short}.txt`);
    });

    it('has exactly the value exports at run time', async () => {
      const { values } = exportList(join(ROOT, p.rel, 'src/index.ts'));
      const mod = (await import(/* @vite-ignore */ name)) as Record<string, unknown>;
      expect(Object.keys(mod).sort()).toEqual(values);
    });
  });
});
