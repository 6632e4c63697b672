import { describe, expect, it } from 'vitest';
import { addr, addrAt, arenaOf, lockNameAt, lockNamesIn, rangeAt } from './addr.js';

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
});
