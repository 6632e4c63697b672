/**
 * Adding an event type, as the compiler sees it (CONTRIBUTING.md, "Adding an event
 * type"): the workspace's sources are compiled with events.ts edited in memory, as a
 * contributor would edit it, and each consumer that must decide something about the
 * new type fails to compile until it does. The consumers that derive everything from
 * the schema roles (the CLI's fields and filters, the debugger's provenance and rows)
 * compile unchanged and need nothing.
 */
import { realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './packs.js';
import { readTsconfig } from './tsconfig.js';

const EVENTS = 'packages/core/src/events.ts';
/** consumers with a case or a table entry per event type */
const PER_TYPE = {
  reducer: 'packages/core/src/reducer.ts',
  checkers: 'packages/invariants/src/checker.ts',
  perfetto: 'apps/cli/src/perfetto.ts',
  'debugger log index': 'apps/debugger/src/shared/log-index.ts',
} as const;
/** consumers derived from the roles: a new type needs nothing there */
const BY_ROLE = {
  touches: 'packages/core/src/touches.ts',
  'cli fields and filters': 'apps/cli/src/event-fields.ts',
  'debugger provenance': 'apps/debugger/src/shared/provenance.ts',
  'debugger rows': 'apps/debugger/src/shared/views.ts',
} as const;
const FILES = [EVENTS, ...Object.values(PER_TYPE), ...Object.values(BY_ROLE)];

let options: ts.CompilerOptions;
let eventsText: string;
let previous: ts.Program | undefined;

beforeAll(() => {
  options = { ...readTsconfig(join(ROOT, 'tsconfig.json')).options, noEmit: true };
  eventsText = ts.sys.readFile(join(ROOT, EVENTS)) ?? '';
  if (!eventsText.includes('export const EVENT_SCHEMA = [')) throw new Error(`${EVENTS}: no EVENT_SCHEMA array to edit`);
});

/** The errors of each file when events.ts reads `edited`, by workspace-relative path. */
function errorsWith(edited: string): Record<string, string[]> {
  const eventsPath = realpathSync(join(ROOT, EVENTS));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, lang, onError, create) => {
    const real = ts.sys.realpath ? ts.sys.realpath(file) : file;
    if (real === eventsPath) return ts.createSourceFile(file, edited, lang);
    return getSourceFile(file, lang, onError, create);
  };
  const program = ts.createProgram({ rootNames: FILES.map((f) => join(ROOT, f)), options, host, oldProgram: previous });
  previous = program;
  const out: Record<string, string[]> = {};
  for (const f of FILES) {
    const sf = program.getSourceFile(join(ROOT, f));
    if (!sf) throw new Error(`${f}: not in the program`);
    out[f] = program.getSemanticDiagnostics(sf).map((d) => `${relative(ROOT, d.file?.fileName ?? f)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  }
  return out;
}

/** events.ts with `entry` appended to EVENT_SCHEMA and `member` to enum E. */
function withType(entry: string | null, member: string | null): string {
  let s = eventsText;
  if (entry !== null) s = s.replace(/\n\] as const satisfies readonly SchemaEntry\[\];/, `\n  ${entry},\n] as const satisfies readonly SchemaEntry[];`);
  if (member !== null) s = s.replace(/(export enum E \{[^}]*?)\n\}/, `$1\n  ${member},\n}`);
  if (s === eventsText) throw new Error(`${EVENTS}: the edit did not apply (EVENT_SCHEMA or enum E changed shape)`);
  return s;
}

const ENTRY = "{ name: 'folio_lru', fields: ['pfn', 'gen'], roles: ['pfn', 'count'], doc: 'the folio moves to LRU generation gen' }";

describe('adding an event type', () => {
  it('as the tree is, every file compiles (so the failures below are the edit)', () => {
    const errs = errorsWith(eventsText);
    for (const f of FILES) expect(errs[f], f).toEqual([]);
  }, 180_000);

  it('the entry and its E member: each per-type consumer fails until it handles the type; the role-derived ones need nothing', () => {
    const errs = errorsWith(withType(ENTRY, 'FolioLru = 52'));
    expect(errs[EVENTS]).toEqual([]);
    for (const [what, f] of Object.entries(PER_TYPE)) {
      expect(errs[f].length, `${what} (${f}) compiles without a case for folio_lru`).toBeGreaterThan(0);
    }
    // the switches' never-typed defaults name the member, the perfetto table the name
    for (const f of [PER_TYPE.reducer, PER_TYPE.checkers, PER_TYPE['debugger log index']]) {
      expect(errs[f].join('\n'), f).toMatch(/'E\.FolioLru' is not assignable to (parameter of )?type 'never'/);
    }
    expect(errs[PER_TYPE.perfetto].join('\n')).toContain("Property 'folio_lru' is missing");
    for (const f of Object.values(BY_ROLE)) expect(errs[f], f).toEqual([]);
  }, 180_000);

  it('the entry without its E member, or the member without the entry, does not compile', () => {
    const noMember = errorsWith(withType(ENTRY, null))[EVENTS].join('\n');
    expect(noMember).toContain("entry 52 'folio_lru' has no E member");
    const noEntry = errorsWith(withType(null, 'FolioLru = 52'))[EVENTS].join('\n');
    expect(noEntry).toContain("E.FolioLru = 52 is not the index of an entry 'folio_lru'");
  }, 180_000);

  it('a field without a role, or with a role nobody knows, does not compile', () => {
    const missing = errorsWith(withType("{ name: 'folio_lru', fields: ['pfn', 'gen'], roles: ['pfn'], doc: '' }", 'FolioLru = 52'))[EVENTS].join('\n');
    expect(missing).toContain("'folio_lru': 2 fields but 1 roles");
    const unknown = errorsWith(withType("{ name: 'folio_lru', fields: ['pfn'], roles: ['lruGen'], doc: '' }", 'FolioLru = 52'))[EVENTS];
    expect(unknown.length).toBeGreaterThan(0);
  }, 180_000);

  it('a new role: every role table (touches, address roles, the CLI formats) fails until it has an entry', () => {
    const edited = eventsText.replace("  value: 'any other number", "  lruGen: 'an LRU generation',\n  value: 'any other number");
    expect(edited).not.toBe(eventsText);
    const errs = errorsWith(edited);
    expect(errs[BY_ROLE.touches].join('\n')).toContain('lruGen');
    expect(errs[BY_ROLE['cli fields and filters']].join('\n')).toContain('lruGen');
  }, 180_000);
});
