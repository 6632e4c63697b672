import { describe, expect, it } from 'vitest';
import { addr, addrAt, addressesIn, arenaOf, lockNameAt, lockNamesIn, rangeAt } from './addr.js';

describe('one address convention', () => {
  const arena = arenaOf({ config: { arenaBase: 0x10000000, arenaPages: 64 } });
  it('byte addresses in lowercase hex (vpn * 4096), the arena page beside them', () => {
    expect(addr(0x10000028)).toBe('0x10000028000');
    expect(addrAt(0x10000028, arena)).toBe('0x10000028000 (page 40)');
    expect(addrAt(0x7f0000000, arena)).toBe('0x7f0000000000');
    expect(rangeAt(0x10000028, 0x1000002c, arena)).toBe('[0x10000028000, 0x1000002c000) pages [40, 44)');
    expect(arenaOf({ config: {} })).toBeUndefined();
  });
  it('lock names that carry vpns, alone or inside a message', () => {
    expect(lockNameAt('ptl:1:268435968')).toBe('ptl:1:0x10000200000');
    expect(lockNameAt('mmap_lock:1')).toBe('mmap_lock:1');
    expect(lockNamesIn('folio:1025 taken while holding spinlock ptl:1:268435968 and pmd_lock:2:0')).toBe(
      'folio:1025 taken while holding spinlock ptl:1:0x10000200000 and pmd_lock:2:0x0',
    );
  });
  it('checker messages: vpns, VMA ranges and starts in hex with arena pages, other numbers left alone', () => {
    expect(addressesIn('folio 1024 (anon_vma 2) is mapped at vpn 268435462 in vma 3 [268435460, 268435464) whose anon_vma chain [1, 2] does not link anon_vma 2', arena)).toBe(
      'folio 1024 (anon_vma 2) is mapped at 0x10000006000 (page 6) in vma 3 [0x10000004000, 0x10000008000) pages [4, 8) whose anon_vma chain [1, 2] does not link anon_vma 2',
    );
    expect(addressesIn('vma 4 of mm 1 is empty or inverted: [268435470, 268435460)', arena)).toBe('vma 4 of mm 1 is empty or inverted: [0x1000000e000, 0x10000004000) pages [14, 4)');
    expect(addressesIn('linear_page_index is 9 (vma pgoff 4, start 268435460)', undefined)).toBe('linear_page_index is 9 (vma pgoff 4, start 0x10000004000)');
    expect(addressesIn('write at vpn 7 of mm 1 without its page table lock ptl:1:0', undefined)).toBe('write at 0x7000 of mm 1 without its page table lock ptl:1:0x0');
  });
});
