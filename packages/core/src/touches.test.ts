import { describe, expect, it } from 'vitest';
import { E, EVENT_SCHEMA, ROLE_DOC, newRawEvent, toEvent, type EventTypeName, type RawEvent } from './events.js';
import { apply } from './reducer.js';
import { emptyState } from './state.js';
import { EVENT_TOUCHES, STRUCTURE_EVENT, TOUCH_BIT, TOUCH_NAMES, TOUCH_WRITES, touchCoversVpn, touchesId, touchesOfEntry, type TouchKind } from './touches.js';

const names = (m: Uint16Array, kind: TouchKind): EventTypeName[] => EVENT_SCHEMA.filter((_, i) => m[i] & TOUCH_BIT[kind]).map((e) => e.name);

const raw = (type: number, a = 0, b = 0, c = 0, d = 0, s = ''): RawEvent => ({ ...newRawEvent(), type, a, b, c, d, s });

describe('what each event type touches, from the roles', () => {
  it('STRUCTURE_EVENT is the VMA, anon_vma, chain and mm changes, annotations excluded', () => {
    const got = EVENT_SCHEMA.filter((_, i) => STRUCTURE_EVENT[i]).map((e) => e.name);
    // the hand-written list this table replaces
    const before = [E.VmaInsert, E.VmaRemove, E.VmaAdjust, E.VmaFlags, E.VmaSetAnonVma, E.VmaSetFile, E.AnonVmaCreate, E.AnonVmaFree, E.AnonVmaCount, E.AvcLink, E.AvcUnlink, E.MmCreate, E.MmExit, E.MmWpSeq, E.VmaPolicy, E.MmMergeAny];
    expect(got.sort()).toEqual(before.map((e) => EVENT_SCHEMA[e].name).sort());
    expect(STRUCTURE_EVENT.length).toBeGreaterThanOrEqual(64);
  });

  it('folios: every folio event writes one (page_content included); maps and caches only name one', () => {
    expect(names(TOUCH_WRITES, 'folio')).toEqual([
      'folio_alloc', 'folio_free', 'folio_split', 'folio_index', 'folio_mapping', 'folio_flags', 'page_anon_exclusive', 'folio_count', 'page_content',
    ]);
    expect(names(TOUCH_NAMES, 'folio').filter((n) => !names(TOUCH_WRITES, 'folio').includes(n))).toEqual(['pte_set', 'pmd_set', 'shmem_page', 'swap_cache']);
  });

  it('VMAs: named by their changes, the chain and the split/merge annotations', () => {
    expect(names(TOUCH_NAMES, 'vma')).toEqual([
      'vma_insert', 'vma_remove', 'vma_adjust', 'vma_flags', 'vma_set_anon_vma', 'vma_set_file', 'vma_split', 'vma_merge', 'avc_link', 'avc_unlink', 'vma_policy',
    ]);
    expect(names(TOUCH_WRITES, 'vma')).not.toContain('vma_split');
  });

  it('page tables: the PTE, PMD and table writers; an mm with a page table is its owner, not a touch', () => {
    expect(names(TOUCH_WRITES, 'pte')).toEqual(['pte_set', 'pte_clear', 'pte_move', 'pte_flags', 'pte_swap']);
    expect(names(TOUCH_WRITES, 'pmd')).toEqual(['pt_alloc', 'pt_free', 'pmd_set', 'pmd_clear', 'pmd_move', 'pmd_split', 'pmd_flags']);
    expect(names(TOUCH_WRITES, 'table')).toEqual(['pt_move']);
    expect(names(TOUCH_NAMES, 'pud')).toEqual(['pud_move']);
    // and the mm fields changed by their own events: write_protect_seq, MMF_VM_MERGE_ANY
    expect(names(TOUCH_NAMES, 'mm')).toEqual(['mm_create', 'mm_exit', 'vma_insert', 'mm_wp_seq', 'mm_merge_any']);
    const pteSet = EVENT_TOUCHES[E.PteSet];
    expect(pteSet.find((t) => t.kind === 'pte')).toEqual({ kind: 'pte', slot: 1, mm: 0, aux: -1, writes: true });
  });

  it('locks, anon_vmas, shmem and swap slots', () => {
    expect(names(TOUCH_WRITES, 'lock')).toEqual(['lock_acquire', 'lock_release', 'lock_try_fail']);
    expect(names(TOUCH_WRITES, 'anonVma')).toEqual(['vma_set_anon_vma', 'anon_vma_create', 'anon_vma_free', 'anon_vma_count', 'avc_link', 'avc_unlink']);
    expect(names(TOUCH_NAMES, 'shmem')).toEqual(['vma_set_file', 'shmem_create', 'shmem_page']);
    expect(names(TOUCH_WRITES, 'slot')).toEqual(['swap_count', 'swap_cache']);
    expect(names(TOUCH_NAMES, 'slot')).toContain('pte_swap');
  });

  it('annotations name objects but write none, and the reducer indeed changes nothing for them', () => {
    const annotations = EVENT_SCHEMA.map((e, i) => [e, i] as const).filter(([e]) => 'annotation' in e);
    expect(annotations.map(([e]) => e.name)).toEqual(['vma_split', 'vma_merge', 'fault', 'note', 'pud_move']);
    for (const [e, i] of annotations) {
      expect(TOUCH_WRITES[i], e.name).toBe(0);
      const s0 = emptyState();
      const s1 = apply(s0, toEvent(raw(i, 1, 2, 3, 4, 'x')));
      expect({ ...s1, seq: 0 }, e.name).toEqual(s0);
    }
  });

  it('addresses: PTEs exactly, PMD and PUD ranges, pt_move by its level, VMA ranges and split points', () => {
    const covers = (r: RawEvent, vpn: number) => EVENT_TOUCHES[r.type].some((t) => touchCoversVpn(t, r, vpn));
    expect(covers(raw(E.PteSet, 1, 1000), 1000)).toBe(true);
    expect(covers(raw(E.PteSet, 1, 1000), 1001)).toBe(false);
    expect(covers(raw(E.PmdSet, 1, 1024), 1535)).toBe(true);
    expect(covers(raw(E.PmdSet, 1, 1024), 1536)).toBe(false);
    expect(covers(raw(E.PtMove, 1, 0, 512 * 512 * 4, 1), 600)).toBe(false);
    expect(covers(raw(E.PtMove, 1, 0, 512 * 512 * 4, 2), 600)).toBe(true);
    expect(covers(raw(E.PudMove, 1, 0, 512 * 512 * 4), 512 * 512 * 4 + 9000)).toBe(true);
    expect(covers(raw(E.VmaInsert, 7, 1, 100, 200), 199)).toBe(true);
    expect(covers(raw(E.VmaInsert, 7, 1, 100, 200), 200)).toBe(false);
    expect(covers(raw(E.VmaAdjust, 7, 100, 200), 100)).toBe(true);
    expect(covers(raw(E.VmaSplit, 7, 8, 150), 150)).toBe(true);
    expect(covers(raw(E.FolioAlloc, 150), 150)).toBe(false);
  });

  it('touchesId: by id, written or only named', () => {
    expect(touchesId(raw(E.PteSet, 1, 100, 42), 'folio', 42)).toBe(true);
    expect(touchesId(raw(E.PteSet, 1, 100, 42), 'folio', 42, true)).toBe(false);
    expect(touchesId(raw(E.VmaMerge, 3, 4), 'vma', 4)).toBe(true);
    expect(touchesId(raw(E.VmaMerge, 3, 4), 'vma', 4, true)).toBe(false);
    expect(touchesId(raw(E.AnonVmaCreate, 5, 9, 9), 'anonVma', 9)).toBe(true);
    expect(touchesId(raw(E.AnonVmaCreate, 5, 9, 9), 'anonVma', 9, true)).toBe(false);
    expect(touchesId(raw(99), 'vma', 0)).toBe(false);
  });

  it('a new entry gets its touches from its roles alone', () => {
    const t = touchesOfEntry({ roles: ['mm', 'vpn', 'pfnRef', 'count'], strRole: 'lock' });
    expect(t).toEqual([
      { kind: 'pte', slot: 1, mm: 0, aux: -1, writes: true },
      { kind: 'folio', slot: 2, mm: 0, aux: -1, writes: false },
      { kind: 'lock', slot: -1, mm: -1, aux: -1, writes: true },
    ]);
    expect(touchesOfEntry({ roles: ['vma', 'at'], annotation: true }).every((x) => !x.writes)).toBe(true);
  });
});

describe('the schema', () => {
  it('names are unique, each field has a documented role, and ids follow E', () => {
    expect(new Set(EVENT_SCHEMA.map((e) => e.name)).size).toBe(EVENT_SCHEMA.length);
    for (const e of EVENT_SCHEMA) {
      expect(e.roles.length, e.name).toBe(e.fields.length);
      for (const r of e.roles) expect(ROLE_DOC[r], `${e.name}: role ${r}`).toBeTypeOf('string');
    }
    expect(EVENT_SCHEMA[E.PageContent].name).toBe('page_content');
    expect(EVENT_SCHEMA[E.SwapCache].name).toBe('swap_cache');
  });
});
