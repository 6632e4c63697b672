import { describe, expect, it } from 'vitest';
import { E, EVENT_SCHEMA, TOUCH_BIT, TOUCH_WRITES, newRawEvent, type RawEvent } from '@mmsim/core';
// the CLI's filters, read as source: the agreement below is between the two apps
import { matches } from '../../../cli/src/event-fields.js';
import { writes } from './provenance.js';
import { eventRow } from './views.js';

const raw = (type: number, a = 0, b = 0, c = 0, d = 0, s = ''): RawEvent => ({ ...newRawEvent(), type, a, b, c, d, s });
/** an event of the type with every slot holding x (each field that names an object names x) */
const every = (type: number, x: number, s = ''): RawEvent => ({ ...newRawEvent(), type, a: x, b: x, c: x, d: x, e: x, f: x, s });
const cli = (r: RawEvent, f: Parameters<typeof matches>[1]) => matches(r, f, new Map());
const nameOf = (t: number) => EVENT_SCHEMA[t].name;

describe('provenance: the writers of a value, from the schema roles', () => {
  it("a folio's history is every event that writes the folio, page_content included", () => {
    for (let t = 0; t < EVENT_SCHEMA.length; t++) {
      expect(writes(every(t, 9), { kind: 'folio', pfn: 9 }), nameOf(t)).toBe((TOUCH_WRITES[t] & TOUCH_BIT.folio) !== 0);
    }
    expect(writes(raw(E.PageContent, 9, 1), { kind: 'folio', pfn: 9 })).toBe(true);
    // a PTE that maps the folio does not change it
    expect(writes(raw(E.PteSet, 1, 100, 9), { kind: 'folio', pfn: 9 })).toBe(false);
  });

  it('a PTE: its own writes, its PMD, its table moved at either level; not another mm', () => {
    const pud = 512 * 512;
    const t = { kind: 'pte', mm: 1, vpn: 3 * pud + 600 } as const;
    expect(writes(raw(E.PteSet, 1, t.vpn, 5), t)).toBe(true);
    expect(writes(raw(E.PteSet, 2, t.vpn, 5), t)).toBe(false);
    expect(writes(raw(E.PmdSet, 1, 3 * pud + 512), t)).toBe(true);
    expect(writes(raw(E.PmdSet, 1, 3 * pud), t)).toBe(false);
    // move_normal_pud moves the PMD table of the whole PUD (the old check took one PMD)
    expect(writes(raw(E.PtMove, 1, 0, 3 * pud, 2), t)).toBe(true);
    expect(writes(raw(E.PtMove, 1, 0, 3 * pud, 1), t)).toBe(false);
    // annotations write nothing
    expect(writes(raw(E.PudMove, 1, 0, 3 * pud), t)).toBe(false);
    expect(writes(raw(E.Fault, 1, t.vpn, 1, 0), t)).toBe(false);
  });

  it('field histories: index, mapping, range, anon_vma; anon_vma creation does not write its parent', () => {
    expect(writes(raw(E.FolioSplit, 4, 0), { kind: 'folio-index', pfn: 4 })).toBe(true);
    expect(writes(raw(E.FolioFlags, 4, 1, 0), { kind: 'folio-index', pfn: 4 })).toBe(false);
    expect(writes(raw(E.FolioAlloc, 4, 0), { kind: 'folio-mapping', pfn: 4 })).toBe(true);
    expect(writes(raw(E.VmaMerge, 3, 4), { kind: 'vma-range', id: 4 })).toBe(true);
    expect(writes(raw(E.VmaFlags, 4, 0), { kind: 'vma-range', id: 4 })).toBe(false);
    expect(writes(raw(E.AvcLink, 4, 7), { kind: 'vma-anon', id: 4 })).toBe(true);
    expect(writes(raw(E.AvcLink, 4, 7), { kind: 'anon-vma', id: 7 })).toBe(true);
    expect(writes(raw(E.AnonVmaCreate, 8, 7, 7), { kind: 'anon-vma', id: 7 })).toBe(false);
    expect(writes(raw(E.LockRelease, 0, 0, 0, 0, 'mmap_lock'), { kind: 'lock', name: 'mmap_lock' })).toBe(true);
    expect(writes(raw(E.Note, 0, 0, 0, 0, 'mmap_lock'), { kind: 'lock', name: 'mmap_lock' })).toBe(false);
  });
});

describe('the consumers agree on what an event touches', () => {
  it('every writer the debugger lists for a folio, a VMA, a PTE or a lock, `mmsim events` picks by the same filter', () => {
    for (let t = 0; t < EVENT_SCHEMA.length; t++) {
      const r = every(t, 600, 'ptl:600:600');
      const n = nameOf(t);
      if (writes(r, { kind: 'folio', pfn: 600 })) expect(cli(r, { pfn: 600 }), n).toBe(true);
      expect(writes(r, { kind: 'vma', id: 600 }), n).toBe(cli({ ...r, s: '' }, { vma: 600 }));
      if (writes(r, { kind: 'pte', mm: 600, vpn: 600 })) expect(cli(r, { vpn: 600 }), n).toBe(true);
      if (writes(r, { kind: 'lock', name: 'ptl:600:600' })) expect(cli(r, { lock: 'ptl:600:600' }), n).toBe(true);
    }
  });

  it("the debugger's rows show the fields of a vpn role as addresses, and no other field", () => {
    const row = (r: RawEvent) => eventRow(r, '').fields;
    expect(row(raw(E.PudMove, 1, 1, 2))).toBe('mm=1 from=0x1000 to=0x2000');
    expect(row(raw(E.PteSwap, 1, 1, 2, 0))).toBe('mm=1 vpn=0x1000 slot=2 flags=0');
    expect(row(raw(E.ShmemPage, 3, 1, 2))).toBe('shmem=3 index=1 pfn=2');
    expect(row(raw(E.VmaSplit, 3, 4, 16))).toBe('vma=3 newVma=4 at=0x10000');
  });
});
