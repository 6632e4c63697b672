import { E, EVENT_SCHEMA, TOUCH_BIT, TOUCH_NAMES, newRawEvent, toEvent, type RawEvent } from '@mmsim/core';
import { describe, expect, it } from 'vitest';
import { eventFields, matches, type EventFilter } from './event-fields.js';

const raw = (type: number, a = 0, b = 0, c = 0, d = 0, s = ''): RawEvent => ({ ...newRawEvent(), type, a, b, c, d, s });
const pick = (r: RawEvent, f: EventFilter) => matches(r, f, new Map());

describe('mmsim events: fields and filters from the schema roles', () => {
  it('--pfn picks exactly the events whose fields name that folio (the core touch table), and its lock', () => {
    for (let t = 0; t < EVENT_SCHEMA.length; t++) {
      const names = (TOUCH_NAMES[t] & TOUCH_BIT.folio) !== 0;
      // every slot holds the pfn: a type matches iff a field of it has a pfn role
      const r = { ...newRawEvent(), type: t, a: 77, b: 77, c: 77, d: 77, e: 77, f: 77, s: 'mmap_lock' };
      expect(pick(r, { pfn: 77 }), EVENT_SCHEMA[t].name).toBe(names);
    }
    expect(pick(raw(E.PageContent, 5, 1), { pfn: 5 })).toBe(true);
    expect(pick(raw(E.LockAcquire, 0, 0, 0, 0, 'folio:5'), { pfn: 5 })).toBe(true);
    expect(pick(raw(E.LockAcquire, 0, 0, 0, 0, 'folio:50'), { pfn: 5 })).toBe(false);
  });

  it('--vma: the VMA fields and the per-VMA lock; --lock: lock events only', () => {
    expect(pick(raw(E.VmaMerge, 3, 4), { vma: 4 })).toBe(true);
    expect(pick(raw(E.AvcLink, 4, 9), { vma: 9 })).toBe(false);
    expect(pick(raw(E.LockRelease, 0, 0, 0, 0, 'vma_lock:4'), { vma: 4 })).toBe(true);
    expect(pick(raw(E.Note, 4, 0, 0, 0, 'vma_lock:4'), { vma: 4 })).toBe(false);
    expect(pick(raw(E.Note, 0, 0, 0, 0, 'mmap_lock'), { lock: 'mmap_lock' })).toBe(false);
    expect(pick(raw(E.LockTryFail, 0, 0, 0, 0, 'mmap_lock:1'), { lock: 'mmap_lock' })).toBe(true);
  });

  it('--page: pud_move covers its whole PUD (it used to be taken for one PMD)', () => {
    const pud = 512 * 512;
    expect(pick(raw(E.PudMove, 1, 0, 3 * pud), { vpn: 3 * pud + 600 })).toBe(true);
    expect(pick(raw(E.PudMove, 1, 0, 3 * pud), { vpn: 4 * pud })).toBe(false);
    expect(pick(raw(E.PtMove, 1, 0, 3 * pud, 1), { vpn: 3 * pud + 600 })).toBe(false);
    expect(pick(raw(E.PtMove, 1, 0, 3 * pud, 2), { vpn: 3 * pud + 600 })).toBe(true);
  });

  it('fields are decoded by role: addresses, page offsets, flags; folio flags nobody changed left out', () => {
    expect(eventFields(toEvent(raw(E.PtAlloc, 1, 0x10000)))).toBe('mm=1 vpn=0x10000000');
    expect(eventFields(toEvent(raw(E.FolioIndex, 9, 0x20)))).toBe('pfn=9 index=0x20 (page offset)');
    expect(eventFields(toEvent(raw(E.AnonVmaCreate, 3, 0, 2)))).toBe('anonVma=av3 root=- parent=av2');
    expect(eventFields(toEvent(raw(E.Fault, 1, 0x10, 1, 0)))).toBe('mm=1 vpn=0x10000 write outcome=0');
    expect(eventFields(toEvent(raw(E.FolioFlags, 9, 0, 0)))).toBe('pfn=9');
    expect(eventFields(toEvent(raw(E.PtMove, 1, 0, 512, 2)))).toBe('mm=1 from=0x0 to=0x200000 level=pud');
    expect(eventFields(toEvent(raw(E.Note, 2, 0, 0, 0, 'hi')))).toBe('value=2 text="hi"');
  });
});
