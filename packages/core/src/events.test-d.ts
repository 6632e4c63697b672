/**
 * Type-level tests of the event schema (compiled by `tsc -p tsconfig.json` and by
 * schema-types.test.ts; nothing here runs). Each `@ts-expect-error` line must fail to
 * compile: an unused one is itself an error, so these assertions cannot pass vacuously.
 */
import type { Engine } from './engine.js';
import { E, type EVENT_SCHEMA, type EmitArgs, type EnumSchemaMismatch, type SchemaEntryMismatch } from './events.js';

type Agrees<M> = [M] extends [never] ? true : false;
type Schema = typeof EVENT_SCHEMA;

/* ---- emit's arity: exactly the type's fields (then zeros to slot f and the string) ---- */

declare const eng: Engine;
eng.emit(E.PteSet, 1, 0x1000, 42, 1);
eng.emit(E.TaskSwitch, 2);
eng.emit(E.LockAcquire, 0, 1, 0, 0, 0, 0, 'mmap_lock');
eng.emit(E.Note, 7, 0, 0, 0, 0, 0, 'text');
// @ts-expect-error pte_set has four fields (mm, vpn, pfn, flags): one is missing
eng.emit(E.PteSet, 1, 0x1000, 42);
// @ts-expect-error pte_clear has two fields: a third number is one too many
eng.emit(E.PteClear, 1, 0x1000, 0);
// @ts-expect-error a string slot comes after slot f: the zeros between are required
eng.emit(E.LockRelease, 0, 1, 'mmap_lock');
// @ts-expect-error folio_free carries no string
eng.emit(E.FolioFree, 5, 0, 0, 0, 0, 0, 'x');
// @ts-expect-error a type id only known as a number is not checkable: emitRaw takes those
eng.emit(3 as number, 0, 0, 0, 0, 0, 0, '');
const args: EmitArgs<E.SpanClose> = [1, 0];
void args;

/* ---- E against the schema: both ways, by name and index ---- */

const enumAgrees: Agrees<EnumSchemaMismatch<Schema, typeof E>> = true;
void enumAgrees;

/** The schema with one more entry, as a contributor would append it. */
type Grown = readonly [...Schema, { readonly name: 'folio_lru'; readonly fields: readonly ['pfn']; readonly roles: readonly ['pfn']; readonly doc: 'x' }];
// the entry without its E member does not compile, and says which entry
const grown: EnumSchemaMismatch<Grown, typeof E> = "entry 54 'folio_lru' has no E member";
void grown;
// @ts-expect-error E without a member for the new entry disagrees with the grown schema
const grownAgrees: Agrees<EnumSchemaMismatch<Grown, typeof E>> = true;
void grownAgrees;

/** An enum whose member has the wrong value (the old way: kept in step by hand). */
enum _Shifted {
  SpanOpen = 0,
  SpanClose = 2,
}
const shifted: Agrees<EnumSchemaMismatch<readonly [Schema[0], Schema[1]], typeof _Shifted>> = false;
void shifted;
const shiftedWhy: EnumSchemaMismatch<readonly [Schema[0], Schema[1]], typeof _Shifted> = "E.SpanClose = 2 is not the index of an entry 'span_close'";
void shiftedWhy;

/* ---- entries: a role per field, strRole exactly with str ---- */

const entriesAgree: Agrees<SchemaEntryMismatch<Schema>> = true;
void entriesAgree;
type NoRole = readonly [{ readonly name: 'x'; readonly fields: readonly ['pfn', 'order']; readonly roles: readonly ['pfn']; readonly doc: '' }];
const noRole: SchemaEntryMismatch<NoRole> = "'x': 2 fields but 1 roles";
void noRole;
type NoStrRole = readonly [{ readonly name: 'y'; readonly fields: readonly []; readonly roles: readonly []; readonly str: 'lock'; readonly doc: '' }];
const noStrRole: SchemaEntryMismatch<NoStrRole> = "'y': strRole is given exactly when str is";
void noStrRole;
