/**
 * Footprints: write keys derived from the event schema's field names (no case per
 * event type), reads reported by the accessors themselves, and the read/write rule of
 * independence. A guard keeps model code on the accessors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACCESS, E, EVENT_SCHEMA } from '@mmsim/core';
import { Footprint, footprintHook, independent, writeKeysOf } from './footprint.js';
import { Kernel, folioOf, getPte } from '@mmsim/linux';

const keys = (type: number, a = 0, b = 0, c = 0, s = ''): string[] => {
  const out = new Set<string>();
  writeKeysOf(type, [a, b, c], s, (pfn) => 'F' + pfn, out);
  return [...out].sort();
};

function fp(r: string[], w: string[]): Footprint {
  const f = new Footprint();
  for (const k of r) f.r.add(k);
  for (const k of w) f.w.add(k);
  return f;
}

describe('write keys from the event schema', () => {
  it('PTE, folio, swap, lock and structure events name the objects their fields name', () => {
    expect(keys(E.PteSet, 1, 600, 2048)).toEqual(['F2048', 'P1:1']);
    expect(keys(E.PteMove, 1, 5, 1030)).toEqual(['P1:0', 'P1:2']);
    expect(keys(E.PteSwap, 2, 3, 7)).toEqual(['P2:0', 'S7']);
    expect(keys(E.FolioIndex, 4096, 3)).toEqual(['F4096']);
    expect(keys(E.SwapCache, 7, 4096)).toEqual(['F4096', 'S7']);
    expect(keys(E.LockAcquire, 0, 1, 0, 'ptl:1:0')).toEqual(['Lptl:1:0']);
    expect(keys(E.VmaAdjust, 3, 0, 8)).toEqual(['T']);
    expect(keys(E.MmCreate, 2, 1)).toEqual(['T']);
    expect(keys(E.AnonVmaCreate, 5, 5, 0)).toEqual(['T']);
    expect(keys(E.ShmemPage, 1, 0, 4096)).toEqual(['F4096', 'H1']);
  });

  it('annotations and span frames write nothing; an error conflicts with everything', () => {
    for (const t of [E.SpanOpen, E.SpanClose, E.TaskSwitch, E.Note, E.Fault]) expect(keys(t, 1, 2, 3), EVENT_SCHEMA[t].name).toEqual([]);
    expect(keys(E.Error, 0, 0, 0, 'boom')).toEqual(['*']);
  });

  it('every schema type has a footprint that names something, or is a named annotation', () => {
    for (let t = 0; t < EVENT_SCHEMA.length; t++) {
      const k = keys(t, 1, 2, 3, 'x');
      const local = ['span_open', 'span_close', 'task_switch', 'note', 'fault', 'pud_move'].includes(EVENT_SCHEMA[t].name);
      expect(k.length > 0 || local, EVENT_SCHEMA[t].name).toBe(true);
    }
  });

  it('a type beyond the schema (a newer log) conflicts with everything', () => {
    expect(keys(EVENT_SCHEMA.length + 3, 1, 2, 3)).toEqual(['*']);
  });
});

describe('independence', () => {
  it('two reads of the same object commute; a read and a write of it do not', () => {
    expect(independent(fp(['P1:0'], []), fp(['P1:0'], []))).toBe(true);
    expect(independent(fp(['P1:0'], []), fp([], ['P1:0']))).toBe(false);
    expect(independent(fp([], ['P1:0']), fp(['P1:0'], []))).toBe(false);
    expect(independent(fp([], ['F1024']), fp([], ['F2048']))).toBe(true);
  });

  it('a read of the raw state conflicts with any write, not with reads; a written `*` with anything', () => {
    expect(independent(fp(['*'], []), fp([], ['T']))).toBe(false);
    expect(independent(fp(['*'], []), fp(['T'], []))).toBe(true);
    expect(independent(fp([], ['*']), fp(['Lx'], []))).toBe(false);
  });
});

describe('reads report themselves', () => {
  function recorded(body: (k: Kernel) => void): Footprint {
    const k = new Kernel();
    const f = new Footprint();
    k.eng.setTouchHook(footprintHook(k.eng, () => f));
    body(k);
    k.eng.setTouchHook(null);
    return f;
  }

  it('a PTE read, a folio read, a VMA lookup, an id taken and a lock looked at', () => {
    const k0 = new Kernel();
    const mm = k0.eng.ids.mm;
    const f = recorded((k) => {
      k.eng.emit(E.MmCreate, mm, 0);
      getPte(k, mm, 1030);
      k.vmaAt(mm, 5);
      k.eng.holds('mmap_lock:1');
      k.allocPfn(0);
    });
    expect([...f.r].sort()).toEqual(['Ipfn', 'Lmmap_lock:1', 'P1:2', 'T']);
    expect([...f.w].sort()).toEqual(['Ipfn', 'T']);
    const g = recorded((k) => {
      const pfn = k.allocPfn(0);
      k.eng.emit(E.FolioAlloc, pfn, 0);
      folioOf(k, pfn);
      k.eng.noteRead(ACCESS.Swap, 9);
    });
    expect([...g.r].sort()).toEqual(['F1024', 'Ipfn', 'S9']);
  });

  it('model code reads state through the accessors, never the raw state or page tables', () => {
    const dirs = ['linux', 'relocate-anon', 'large-folio', 'auto-relocate'].map((p) => new URL(`../../${p}/src/`, import.meta.url));
    const offenders: string[] = [];
    for (const d of dirs) {
      for (const f of readdirSync(d)) {
        if (!f.endsWith('.ts') || f.endsWith('.test.ts') || f === 'kernel.ts' || f === 'observe.ts' || f === 'state-key.ts') continue;
        const text = readFileSync(new URL(f, d), 'utf8');
        for (const [i, line] of text.split('\n').entries()) if (/\bk\.s\.|\blookupPte\(|\blookupPmd\(/.test(line)) offenders.push(`${d.pathname}${f}:${i + 1}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
