/**
 * getUserPages (mm/gup.c __get_user_pages without a pin kept): what a syscall that
 * fills or reads user pages through GUP leaves in the page tables: a write faults each
 * page in writable, a read maps the zero page, a VMA without the access's permission
 * or a hole ends the walk (-EFAULT), and no folio keeps a pin.
 */
import { describe, expect, it } from 'vitest';
import { E, PTE_WRITE, pteFlags, ptePfn } from '@mmsim/core';
import { Kernel } from './kernel.js';
import { doMmap } from './mmap.js';
import { getUserPages, pinUserPages } from './gup.js';
import { getPte, isZeroPte } from './pgtable.js';

const BASE = 1 << 20;

function setup(prot = 3): Kernel {
  const k = new Kernel();
  k.eng.emit(E.MmCreate, 1, 0);
  const r = k.eng.syscall('mmap', () => doMmap(k, 1, BASE, 16, { prot, shared: false, fixed: true, noreserve: false }));
  if (!r.ok) throw r.error;
  return k;
}

function gup(k: Kernel, vpn: number, pages: number, write: boolean): number {
  const r = k.eng.syscall('gup', () => getUserPages(k, 1, vpn, pages, write));
  if (!r.ok) throw r.error;
  return r.value;
}

describe('getUserPages', () => {
  it('FOLL_WRITE faults every page of the range in writable, and leaves no pin', () => {
    const k = setup();
    expect(gup(k, BASE + 2, 4, true)).toBe(4);
    for (let v = BASE; v < BASE + 16; v++) {
      const pte = getPte(k, 1, v);
      const inRange = v >= BASE + 2 && v < BASE + 6;
      expect(pte > 0, `page ${v - BASE}`).toBe(inRange);
      if (inRange) {
        expect(pteFlags(pte) & PTE_WRITE).not.toBe(0);
        expect(k.eng.pageFolio(ptePfn(pte))!.pincount).toBe(0);
      }
    }
  });

  it('a read maps the zero page; a write after it breaks it into a folio', () => {
    const k = setup();
    expect(gup(k, BASE, 2, false)).toBe(2);
    expect(isZeroPte(getPte(k, 1, BASE))).toBe(true);
    expect(gup(k, BASE, 1, true)).toBe(1);
    expect(isZeroPte(getPte(k, 1, BASE))).toBe(false);
    expect(isZeroPte(getPte(k, 1, BASE + 1))).toBe(true);
  });

  it('ends at a hole and at a VMA without the permission (check_vma_flags: -EFAULT)', () => {
    const k = setup();
    // [BASE+14, BASE+16) mapped, then nothing: two pages walked
    expect(gup(k, BASE + 14, 4, true)).toBe(2);
    const ro = setup(1);
    expect(gup(ro, BASE, 4, true)).toBe(0);
    expect(getPte(ro, 1, BASE)).toBeLessThanOrEqual(0);
    expect(gup(ro, BASE, 4, false)).toBe(4);
  });

  it('pinUserPages still pins (the same follow_page_pte, with FOLL_PIN)', () => {
    const k = setup();
    const r = k.eng.syscall('pin', () => pinUserPages(k, 1, BASE, 1));
    expect(r.ok).toBe(true);
    expect(k.eng.pageFolio(ptePfn(getPte(k, 1, BASE)))!.pincount).toBe(1);
  });
});
