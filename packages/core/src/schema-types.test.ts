/**
 * The type-level tests of events.test-d.ts compile (the typecheck target checks them
 * too; this makes `npm test` fail when one breaks): emit's arity, E against the schema,
 * a role per field.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));

it('events.test-d.ts compiles: every @ts-expect-error there is an error', () => {
  const cfg = ts.getParsedCommandLineOfConfigFile(join(HERE, '../tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!cfg) throw new Error('cannot read packages/core/tsconfig.json');
  const file = join(HERE, 'events.test-d.ts');
  const program = ts.createProgram({ rootNames: [file], options: { ...cfg.options, noEmit: true } });
  const diags = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics(program.getSourceFile(file))];
  const text = ts.formatDiagnostics(diags, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => HERE, getNewLine: () => '\n' });
  expect(text).toBe('');
}, 120_000);
