/**
 * The event vocabulary: every mutation the simulated kernel makes is one of these.
 *
 * Events are stored compactly (see log.ts): a type id and up to six numeric slots
 * (`a`..`f`) plus, for a few types, one string. The schema below names the slots and
 * gives each a role, so the same table drives the encoder, the decoder, the typed
 * discriminated union users see, emit's argument types, what each event touches
 * (touches.ts) and how its fields are shown. Adding a type: CONTRIBUTING.md.
 *
 * Addresses are virtual page numbers (vpn = address >> PAGE_SHIFT) and physical
 * pages are pfns: a 48-bit address space stays well inside a double's integer range.
 */

/** Whether a lock sleeps (mutex, rwsem) or spins (spinlock); lockdep cares. */
export type LockKind = 'sleep' | 'spin';

/**
 * What a numeric field holds: the closed set of roles, each documented here. The roles
 * decide what an event touches (touches.ts: footprints, filters, provenance, the
 * checkers' caches) and how a field is shown (vpns as addresses, flags decoded), so a
 * new event type gets all of that from its schema entry.
 *
 * Object roles name something with an identity; `<object>Ref` is the same id where the
 * event only points at the object (stores it, says where it came from) and changes
 * nothing of it: `pte_set` maps `pfnRef`, it does not change the folio.
 */
export const ROLE_DOC = {
  span: 'a span id (0: none)',
  task: 'a simulated task (thread)',
  mm: 'an mm; with a page-table field (vpn, pmd, pud, table) it is the owner of that page table, alone it is the mm itself',
  mmRef: 'an mm the event only names (the parent at fork)',
  vma: 'a VMA the event changes or names',
  anonVma: 'an anon_vma the event changes, links or attaches',
  anonVmaRef: 'an anon_vma the event only names (root and parent at creation)',
  vpn: 'a virtual page number naming one PTE of the event\'s mm',
  pmd: 'a vpn naming the PMD covering it (a PTE table or a huge PMD: 512 pages)',
  pud: 'a vpn naming the PUD covering it (512 * 512 pages)',
  table: 'a vpn naming a page table of the level in the event\'s `level` field (1 PMD, 2 PUD)',
  level: 'a page-table level: 1 a PMD (move_normal_pmd), 2 a PUD (move_normal_pud)',
  start: 'the first vpn of a VMA\'s range',
  end: 'the vpn after a VMA\'s range',
  at: 'a vpn where a VMA is cut (a split boundary)',
  pfn: 'a page frame whose folio the event changes (the head or any page of it)',
  pfnRef: 'a page frame the event maps or caches (a PTE, a PMD, the page or swap cache)',
  shmem: 'a shmem object the event changes',
  shmemRef: 'a shmem object the event only names (a VMA\'s vm_file)',
  slot: 'a swap slot the event changes',
  slotRef: 'a swap slot the event only names (the swap entry a PTE holds)',
  pgoff: 'a page offset (vm_pgoff, folio->index, a shmem index)',
  vmFlags: 'VM_* bits of vm_flags',
  pteFlags: 'PTE (or PMD) bits',
  folioFlags: 'folio flag bits',
  count: 'a count, size, order or delta',
  code: 'a small enumerated code the event\'s doc lists (lock mode, counter, outcome...)',
  value: 'any other number (span arguments, results, a written value)',
} as const satisfies Record<string, string>;

/** The role of a numeric field (ROLE_DOC documents each). */
export type FieldRole = keyof typeof ROLE_DOC;

/** What the string slot holds: a lock's name, a span's (function's) name, free text. */
export const STR_ROLE_DOC = {
  lock: 'the name of the lock the event takes, releases or fails to take',
  name: 'the name of the kernel function or syscall of a span',
  text: 'free text (an error message, a note)',
} as const satisfies Record<string, string>;

export type StrRole = keyof typeof STR_ROLE_DOC;

interface SchemaEntry {
  readonly name: string;
  /** names of numeric slots a..f in order */
  readonly fields: readonly string[];
  /** the role of each field, in the same order (checked below: as many as fields) */
  readonly roles: readonly FieldRole[];
  /** name of the string slot, if the type carries one */
  readonly str?: string;
  /** its role (given exactly when `str` is; checked below) */
  readonly strRole?: StrRole;
  /**
   * The reducer changes no state for it: it records what happened for people and tools
   * (a split, a merge, a fault's outcome). It names objects but writes none.
   */
  readonly annotation?: true;
  /** what the event means, for `mmsim events --help` and the docs */
  readonly doc: string;
}

/**
 * The schema. The index in this array is the type id written to logs: append only,
 * never reorder (the log format version guards a change).
 */
export const EVENT_SCHEMA = [
  /* 0 */ { name: 'span_open', fields: ['span', 'parent', 'arg0', 'arg1'], roles: ['span', 'span', 'value', 'value'], str: 'name', strRole: 'name', doc: 'a kernel function or syscall starts' },
  /* 1 */ { name: 'span_close', fields: ['span', 'result'], roles: ['span', 'value'], doc: 'it returns (result 0 or -errno)' },
  /* 2 */ { name: 'task_switch', fields: ['task'], roles: ['task'], doc: 'the scheduler runs another task' },
  /* 3 */ { name: 'error', fields: ['span'], roles: ['span'], str: 'message', strRole: 'text', doc: 'a plugin or the kernel model failed; the syscall was rolled back' },
  /* 4 */ { name: 'mm_create', fields: ['mm', 'parent'], roles: ['mm', 'mmRef'], doc: 'mm_alloc (process start or fork)' },
  /* 5 */ { name: 'mm_exit', fields: ['mm'], roles: ['mm'], doc: 'exit_mmap finished, the mm is gone' },
  /* 6 */ { name: 'lock_acquire', fields: ['mode', 'kind', 'try'], roles: ['code', 'code', 'code'], str: 'lock', strRole: 'lock', doc: 'lock taken (mode 0 exclusive/write, 1 shared/read; kind 0 sleeping, 1 spinning)' },
  /* 7 */ { name: 'lock_release', fields: ['mode', 'kind'], roles: ['code', 'code'], str: 'lock', strRole: 'lock', doc: 'lock released' },
  /* 8 */ { name: 'lock_try_fail', fields: ['mode', 'kind'], roles: ['code', 'code'], str: 'lock', strRole: 'lock', doc: 'a trylock found the lock held' },
  /* 9 */ { name: 'vma_insert', fields: ['vma', 'mm', 'start', 'end', 'pgoff', 'flags'], roles: ['vma', 'mm', 'start', 'end', 'pgoff', 'vmFlags'], doc: 'vma_link / vma_iter_store of a new VMA' },
  /* 10 */ { name: 'vma_remove', fields: ['vma'], roles: ['vma'], doc: 'the VMA leaves the tree and is freed' },
  /* 11 */ { name: 'vma_adjust', fields: ['vma', 'start', 'end', 'pgoff'], roles: ['vma', 'start', 'end', 'pgoff'], doc: 'vm_start, vm_end, vm_pgoff change (split, merge, expand)' },
  /* 12 */ { name: 'vma_flags', fields: ['vma', 'flags'], roles: ['vma', 'vmFlags'], doc: 'vm_flags_reset' },
  /* 13 */ { name: 'vma_set_anon_vma', fields: ['vma', 'anonVma'], roles: ['vma', 'anonVma'], doc: 'vma->anon_vma = anon_vma' },
  /* 14 */ { name: 'vma_set_file', fields: ['vma', 'file'], roles: ['vma', 'shmemRef'], doc: 'vma->vm_file (a shmem object for shared anonymous memory)' },
  /* 15 */ { name: 'vma_split', fields: ['vma', 'newVma', 'at'], roles: ['vma', 'vma', 'at'], annotation: true, doc: '__split_vma (annotation; the state change is vma_insert/vma_adjust)' },
  /* 16 */ { name: 'vma_merge', fields: ['vma', 'other'], roles: ['vma', 'vma'], annotation: true, doc: 'a merge kept vma and absorbed other (annotation)' },
  /* 17 */ { name: 'anon_vma_create', fields: ['anonVma', 'root', 'parent'], roles: ['anonVma', 'anonVmaRef', 'anonVmaRef'], doc: 'anon_vma_alloc; refcount 1' },
  /* 18 */ { name: 'anon_vma_free', fields: ['anonVma'], roles: ['anonVma'], doc: 'the last reference went away' },
  /* 19 */ { name: 'anon_vma_count', fields: ['anonVma', 'counter', 'delta'], roles: ['anonVma', 'code', 'count'], doc: 'counter 0 refcount, 1 num_children, 2 num_active_vmas' },
  /* 20 */ { name: 'avc_link', fields: ['vma', 'anonVma'], roles: ['vma', 'anonVma'], doc: 'anon_vma_chain_link: vma joins the anon_vma interval tree' },
  /* 21 */ { name: 'avc_unlink', fields: ['vma', 'anonVma'], roles: ['vma', 'anonVma'], doc: 'the chain entry is removed' },
  /* 22 */ { name: 'folio_alloc', fields: ['pfn', 'order'], roles: ['pfn', 'count'], doc: 'a folio of 2^order pages, refcount 1' },
  /* 23 */ { name: 'folio_free', fields: ['pfn'], roles: ['pfn'], doc: 'the folio returns to the allocator' },
  /* 24 */ { name: 'folio_split', fields: ['pfn', 'newOrder'], roles: ['pfn', 'count'], doc: 'split_folio into folios of newOrder' },
  /* 25 */ { name: 'folio_index', fields: ['pfn', 'index'], roles: ['pfn', 'pgoff'], doc: 'WRITE_ONCE(folio->index, ...)' },
  /* 26 */ { name: 'folio_mapping', fields: ['pfn', 'kind', 'target'], roles: ['pfn', 'code', 'value'], doc: 'folio->mapping (kind 0 none, 1 anon_vma, 2 shmem, 3 ksm)' },
  /* 27 */ { name: 'folio_flags', fields: ['pfn', 'set', 'clear'], roles: ['pfn', 'folioFlags', 'folioFlags'], doc: 'folio flag bits set and cleared' },
  /* 28 */ { name: 'page_anon_exclusive', fields: ['pfn', 'value'], roles: ['pfn', 'value'], doc: 'SetPageAnonExclusive / ClearPageAnonExclusive of one page' },
  /* 29 */ { name: 'folio_count', fields: ['pfn', 'counter', 'delta'], roles: ['pfn', 'code', 'count'], doc: 'counter 0 refcount, 1 pincount, 2 page mapcount (pfn is the page), 3 entire mapcount' },
  /* 30 */ { name: 'pte_set', fields: ['mm', 'vpn', 'pfn', 'flags'], roles: ['mm', 'vpn', 'pfnRef', 'pteFlags'], doc: 'set_pte_at' },
  /* 31 */ { name: 'pte_clear', fields: ['mm', 'vpn'], roles: ['mm', 'vpn'], doc: 'ptep_get_and_clear' },
  /* 32 */ { name: 'pte_move', fields: ['mm', 'from', 'to'], roles: ['mm', 'vpn', 'vpn'], doc: 'move_ptes: one entry moved' },
  /* 33 */ { name: 'pte_flags', fields: ['mm', 'vpn', 'flags'], roles: ['mm', 'vpn', 'pteFlags'], doc: 'PTE permission/dirty bits change (wrprotect, mkwrite)' },
  /* 34 */ { name: 'pte_swap', fields: ['mm', 'vpn', 'slot', 'flags'], roles: ['mm', 'vpn', 'slotRef', 'pteFlags'], doc: 'a swap entry is written to the PTE' },
  /* 35 */ { name: 'pt_alloc', fields: ['mm', 'vpn'], roles: ['mm', 'pmd'], doc: '__pte_alloc: a PTE table for the PMD covering vpn' },
  /* 36 */ { name: 'pt_free', fields: ['mm', 'vpn'], roles: ['mm', 'pmd'], doc: 'the PTE table is freed (free_pgtables)' },
  /* 37 */ { name: 'pt_move', fields: ['mm', 'from', 'to', 'level'], roles: ['mm', 'table', 'table', 'level'], doc: 'move_normal_pmd (level 1) / move_normal_pud (level 2): a whole table moves' },
  /* 38 */ { name: 'pmd_set', fields: ['mm', 'vpn', 'pfn', 'flags'], roles: ['mm', 'pmd', 'pfnRef', 'pteFlags'], doc: 'set_pmd_at: a PMD-mapped THP (or the huge zero page)' },
  /* 39 */ { name: 'pmd_clear', fields: ['mm', 'vpn'], roles: ['mm', 'pmd'], doc: 'pmdp_huge_get_and_clear' },
  /* 40 */ { name: 'pmd_move', fields: ['mm', 'from', 'to'], roles: ['mm', 'pmd', 'pmd'], doc: 'move_huge_pmd' },
  /* 41 */ { name: 'pmd_split', fields: ['mm', 'vpn'], roles: ['mm', 'pmd'], doc: '__split_huge_pmd: the PMD leaf becomes a table of 512 PTEs' },
  /* 42 */ { name: 'pmd_flags', fields: ['mm', 'vpn', 'flags'], roles: ['mm', 'pmd', 'pteFlags'], doc: 'PMD permission bits change' },
  /* 43 */ { name: 'shmem_create', fields: ['shmem', 'pages'], roles: ['shmem', 'count'], doc: 'shmem_zero_setup: a shmem object of `pages` pages (i_size) backs a shared anonymous mapping' },
  /* 44 */ { name: 'shmem_page', fields: ['shmem', 'index', 'pfn'], roles: ['shmem', 'pgoff', 'pfnRef'], doc: 'the shmem page cache entry at index (pfn 0: removed)' },
  /* 45 */ { name: 'swap_count', fields: ['slot', 'delta'], roles: ['slot', 'count'], doc: 'swap_duplicate / swap_free of a swap slot' },
  /* 46 */ { name: 'fault', fields: ['mm', 'vpn', 'write', 'outcome'], roles: ['mm', 'vpn', 'code', 'code'], annotation: true, doc: 'handle_mm_fault result (annotation)' },
  /* 47 */ { name: 'note', fields: ['value'], roles: ['value'], str: 'text', strRole: 'text', annotation: true, doc: 'a free-form annotation from a plugin' },
  /* 48 */ { name: 'pud_move', fields: ['mm', 'from', 'to'], roles: ['mm', 'pud', 'pud'], annotation: true, doc: 'move_huge_pud (annotation; anonymous PUD leaves do not exist)' },
  /* 49 */ { name: 'page_content', fields: ['pfn', 'nonzero'], roles: ['pfn', 'value'], doc: 'the page now holds data (a user write) or zeroes: decides what a folio split maps to the zero page' },
  /* 50 */ { name: 'swap_cache', fields: ['slot', 'pfn'], roles: ['slot', 'pfnRef'], doc: 'the swap cache holds folio pfn for swap slot (pfn 0: removed)' },
  /* 51 */ { name: 'mm_wp_seq', fields: ['mm', 'delta'], roles: ['mm', 'count'], doc: "raw_write_seqcount_begin (+1) / _end (+1) of mm->write_protect_seq: while it is odd, and if it moved, FOLL_PIN GUP-fast backs off" },
  /* 52 */ { name: 'vma_policy', fields: ['vma', 'policy'], roles: ['vma', 'value'], doc: 'vma->vm_policy (mbind; 0: none, the task policy applies): a merge attribute, compared as mpol_equal' },
  /* 53 */ { name: 'mm_merge_any', fields: ['mm', 'on'], roles: ['mm', 'value'], doc: 'MMF_VM_MERGE_ANY of the mm set (1) or cleared (0): prctl(PR_SET_MEMORY_MERGE), or inherited at fork (mm_init, MMF_INIT_MASK); new compatible VMAs start VM_MERGEABLE while it is set' },
] as const satisfies readonly SchemaEntry[];

export type EventTypeName = (typeof EVENT_SCHEMA)[number]['name'];

/** type name -> numeric id */
export const T = Object.fromEntries(EVENT_SCHEMA.map((e, i) => [e.name, i])) as {
  readonly [K in EventTypeName]: number;
};

/**
 * Numeric type ids as constants (hot paths use these, never strings). Each member is
 * the PascalCase of its entry's name and its index; `EnumSchemaMismatch` below makes a
 * disagreement either way a compile error.
 */
export enum E {
  SpanOpen = 0,
  SpanClose = 1,
  TaskSwitch = 2,
  Error = 3,
  MmCreate = 4,
  MmExit = 5,
  LockAcquire = 6,
  LockRelease = 7,
  LockTryFail = 8,
  VmaInsert = 9,
  VmaRemove = 10,
  VmaAdjust = 11,
  VmaFlags = 12,
  VmaSetAnonVma = 13,
  VmaSetFile = 14,
  VmaSplit = 15,
  VmaMerge = 16,
  AnonVmaCreate = 17,
  AnonVmaFree = 18,
  AnonVmaCount = 19,
  AvcLink = 20,
  AvcUnlink = 21,
  FolioAlloc = 22,
  FolioFree = 23,
  FolioSplit = 24,
  FolioIndex = 25,
  FolioMapping = 26,
  FolioFlags = 27,
  PageAnonExclusive = 28,
  FolioCount = 29,
  PteSet = 30,
  PteClear = 31,
  PteMove = 32,
  PteFlags = 33,
  PteSwap = 34,
  PtAlloc = 35,
  PtFree = 36,
  PtMove = 37,
  PmdSet = 38,
  PmdClear = 39,
  PmdMove = 40,
  PmdSplit = 41,
  PmdFlags = 42,
  ShmemCreate = 43,
  ShmemPage = 44,
  SwapCount = 45,
  Fault = 46,
  Note = 47,
  PudMove = 48,
  PageContent = 49,
  SwapCache = 50,
  MmWpSeq = 51,
  VmaPolicy = 52,
  MmMergeAny = 53,
}

export const EVENT_TYPE_COUNT = EVENT_SCHEMA.length;

/* ---------- compile-time agreement of E, the roles and the schema ---------- */

/** PascalCase to snake_case: `VmaSetAnonVma` -> `vma_set_anon_vma`. */
type Snake<S extends string> = S extends `${infer C}${infer R}` ? `${C extends Lowercase<C> ? C : `_${Lowercase<C>}`}${Snake<R>}` : '';
/** The schema name an `E` member stands for. */
export type SnakeName<K extends string> = Snake<Uncapitalize<K>>;

type Indexes<S extends readonly unknown[]> = keyof S & `${number}`;
/** The index (as a string) of the entry of S named N; never when there is none. */
type IndexOfName<S extends readonly { readonly name: string }[], N> = { [I in Indexes<S>]: S[I]['name'] extends N ? I : never }[Indexes<S>];

/**
 * Why enum En disagrees with schema S, one message per disagreement (never: they agree).
 * Every member must be the index of the entry its name stands for, and every entry
 * must have a member: a new type compiles only with both.
 */
export type EnumSchemaMismatch<S extends readonly { readonly name: string }[], En extends Record<string, number | string>> =
  | { [K in keyof En & string]: `${En[K]}` extends IndexOfName<S, SnakeName<K>> ? never : `E.${K} = ${En[K]} is not the index of an entry '${SnakeName<K>}'` }[keyof En & string]
  | { [I in Indexes<S>]: S[I]['name'] extends SnakeName<keyof En & string> ? never : `entry ${I} '${S[I]['name']}' has no E member` }[Indexes<S>];

/** Why schema S's entries are malformed (never: they are not). */
export type SchemaEntryMismatch<S extends readonly SchemaEntry[]> = {
  [I in Indexes<S>]: S[I]['roles']['length'] extends S[I]['fields']['length']
    ? S[I]['fields']['length'] extends 0 | 1 | 2 | 3 | 4 | 5 | 6
      ? (S[I] extends { readonly str: string } ? 1 : 0) extends (S[I] extends { readonly strRole: StrRole } ? 1 : 0)
        ? never
        : `'${S[I]['name']}': strRole is given exactly when str is`
      : `'${S[I]['name']}': more than six numeric fields`
    : `'${S[I]['name']}': ${S[I]['fields']['length']} fields but ${S[I]['roles']['length']} roles`;
}[Indexes<S>];

/** true, or the messages of what disagrees (then this does not compile). */
type Agrees<M> = [M] extends [never] ? true : M;
const _enumAgrees: Agrees<EnumSchemaMismatch<typeof EVENT_SCHEMA, typeof E>> = true;
const _entriesAgree: Agrees<SchemaEntryMismatch<typeof EVENT_SCHEMA>> = true;

/** anon_vma_count counters */
export enum AvCounter {
  Refcount = 0,
  NumChildren = 1,
  NumActiveVmas = 2,
}

/** folio_count counters */
export enum FolioCounter {
  Refcount = 0,
  Pincount = 1,
  PageMapcount = 2,
  EntireMapcount = 3,
}

/** folio_mapping kinds */
export enum MappingKind {
  None = 0,
  Anon = 1,
  Shmem = 2,
  Ksm = 3,
}

/**
 * The mutable record the hot paths fill: one per engine/decoder, reused for every
 * event so that recording and replay allocate nothing per event.
 */
export interface RawEvent {
  type: number;
  seq: number;
  task: number;
  span: number;
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
  s: string;
}

export function newRawEvent(): RawEvent {
  return { type: 0, seq: 0, task: 0, span: 0, a: 0, b: 0, c: 0, d: 0, e: 0, f: 0, s: '' };
}

/* ---------- the typed, user-facing union, derived from the schema ---------- */

type Schema = typeof EVENT_SCHEMA;
type Entry<N extends EventTypeName> = Extract<Schema[number], { name: N }>;
type FieldsOf<N extends EventTypeName> = {
  readonly [K in Entry<N>['fields'][number]]: number;
} & (Entry<N> extends { str: infer S extends string } ? { readonly [K in S]: string } : unknown);

/** The schema entry of type id T. */
export type EntryOf<T extends E> = Schema[T];
type Numbers<F extends readonly unknown[]> = { -readonly [K in keyof F]: number };
/** Zeros after the fields up to slot f (a type with a string passes it after slot f). */
type FillSlots<T extends unknown[]> = T['length'] extends 6 ? T : FillSlots<[...T, 0]>;

/**
 * The arguments of `Engine.emit(type, ...)` for type id T: exactly its numeric fields in
 * schema order; a type with a string slot then takes zeros up to slot f and the string.
 * A call with too few or too many numbers does not compile.
 */
export type EmitArgs<T extends E> =
  EntryOf<T> extends { readonly str: string } ? [...FillSlots<Numbers<EntryOf<T>['fields']>>, s: string] : Numbers<EntryOf<T>['fields']>;

/** Envelope every event carries. */
export interface EventEnvelope {
  /** strictly increasing position in the log, from 0 */
  readonly seq: number;
  /** simulated task (thread) that emitted it */
  readonly task: number;
  /** innermost open span of that task (0: none) */
  readonly span: number;
}

export type EventOf<N extends EventTypeName> = EventEnvelope & { readonly type: N } & FieldsOf<N>;

/** Every mm mutation, as a discriminated union on `type`. */
export type MmEvent = { [N in EventTypeName]: EventOf<N> }[EventTypeName];

const SLOTS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;

/** Materialise a typed event object from the raw record (allocates: for APIs, not hot paths). */
export function toEvent(r: RawEvent): MmEvent {
  const sch = EVENT_SCHEMA[r.type] as SchemaEntry | undefined;
  if (!sch) throw new Error(`unknown event type id ${r.type} at seq ${r.seq}`);
  const o: Record<string, unknown> = { seq: r.seq, task: r.task, span: r.span, type: sch.name };
  for (let i = 0; i < sch.fields.length; i++) o[sch.fields[i]] = r[SLOTS[i]];
  if (sch.str) o[sch.str] = r.s;
  return Object.freeze(o) as unknown as MmEvent;
}

/** Fill a raw record from a typed event (for `apply(state, event)` and tests). */
export function fromEvent(ev: MmEvent, into: RawEvent = newRawEvent()): RawEvent {
  const id = (T as Record<string, number>)[ev.type];
  if (id === undefined) throw new Error(`unknown event type "${String((ev as { type: unknown }).type)}"`);
  const sch = EVENT_SCHEMA[id] as SchemaEntry;
  const src = ev as unknown as Record<string, unknown>;
  into.type = id;
  into.seq = ev.seq;
  into.task = ev.task;
  into.span = ev.span;
  for (let i = 0; i < 6; i++) {
    const f = sch.fields[i];
    into[SLOTS[i]] = f === undefined ? 0 : Number(src[f] ?? 0);
  }
  into.s = sch.str ? String(src[sch.str] ?? '') : '';
  return into;
}

export function eventTypeName(id: number): EventTypeName {
  const sch = EVENT_SCHEMA[id];
  if (!sch) throw new Error(`unknown event type id ${id}`);
  return sch.name;
}

export function eventTypeId(name: string): number {
  const id = (T as Record<string, number>)[name];
  if (id === undefined) {
    throw new Error(`unknown event type "${name}"; known: ${EVENT_SCHEMA.map((e) => e.name).join(', ')}`);
  }
  return id;
}

export function eventSchema(): readonly SchemaEntry[] {
  return EVENT_SCHEMA;
}
