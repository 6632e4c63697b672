/**
 * userAccess: the access of one page by a user task, with do_user_addr_fault() inline
 * (a hand-written iterator, not a generator). What it must keep of a generator: it
 * runs nothing until first resumed, its span opens and closes around the fault, and a
 * fault outside every VMA ends in SIGSEGV with the span closed.
 */
import { describe, expect, it } from 'vitest';
import { E, type MmEvent } from '@mmsim/core';
import { Kernel } from './kernel.js';
import { doMmap } from './mmap.js';
import { userAccess } from './fault.js';
import { getPte } from './pgtable.js';

const BASE = 1 << 20;

function setup(): Kernel {
  const k = new Kernel();
  k.eng.emit(E.MmCreate, 1, 0);
  const r = k.eng.syscall('mmap', () => doMmap(k, 1, BASE, 16, { prot: 3, shared: false, fixed: true, noreserve: false }));
  if (!r.ok) throw r.error;
  return k;
}

/** run an access as a syscall: its outcome and the events it logged (type, and the span/lock names) */
function access(k: Kernel, vpn: number, write: boolean): { out: unknown; events: string[] } {
  const from = k.eng.log.length;
  const r = k.eng.syscall('touch', () => userAccess(k, 1, vpn, write));
  if (!r.ok) throw r.error;
  const events = [...k.eng.log.events(from)].map((e: MmEvent) => {
    const x = e as { type: string; name?: string; lock?: string };
    return x.name ? `${x.type} ${x.name}` : x.lock ? `${x.type} ${x.lock.split(':')[0]}` : x.type;
  });
  return { out: r.value, events };
}

describe('userAccess', () => {
  it('does nothing until first resumed (a task made now runs later)', () => {
    const k = setup();
    const n = k.eng.log.length;
    const it = userAccess(k, 1, BASE, true);
    expect(k.eng.log.length).toBe(n);
    expect(getPte(k, 1, BASE)).toBeLessThanOrEqual(0);
    void it;
  });

  it('resumed after it returned, it stays returned and does nothing more', () => {
    const k = setup();
    const r = k.eng.syscall('touch', () => {
      const it = userAccess(k, 1, BASE + 2, true);
      const first = it.next();
      const n = k.eng.log.length;
      const again = it.next();
      expect(again).toEqual(first);
      expect(first).toEqual({ done: true, value: 'ok' });
      expect(k.eng.log.length).toBe(n);
      return userAccess(k, 1, BASE + 2, false);
    });
    expect(r.ok).toBe(true);
    expect(k.eng.log.registers.spans).toEqual({});
  });

  it('a write to a fresh page: handle_mm_fault around do_user_addr_fault, then the page is written', () => {
    const k = setup();
    const { out, events } = access(k, BASE + 3, true);
    expect(out).toBe('ok');
    expect(events).toEqual([
      'span_open touch',
      'span_open handle_mm_fault:write',
      'lock_acquire mmap_lock',
      'span_open do_anonymous_page',
      ...events.slice(4, events.indexOf('fault')),
      'fault',
      'lock_release mmap_lock',
      'span_close',
      'page_content',
      'span_close',
    ]);
    expect(events.slice(4, events.indexOf('fault'))).toContain('pte_set');
    expect(getPte(k, 1, BASE + 3)).toBeGreaterThan(0);
    // the PTE allows the next write and read: no fault, nothing logged but the syscall
    expect(access(k, BASE + 3, true).events).toEqual(['span_open touch', 'span_close']);
    expect(access(k, BASE + 3, false).events).toEqual(['span_open touch', 'span_close']);
  });

  it('outside every VMA: SIGSEGV, the fault logged as failed, every span closed', () => {
    const k = setup();
    const from = k.eng.log.length;
    const { out, events } = access(k, BASE + 100, false);
    expect(out).toBe('SIGSEGV');
    expect(events).toEqual(['span_open touch', 'span_open handle_mm_fault:read', 'lock_acquire mmap_lock', 'fault', 'lock_release mmap_lock', 'span_close', 'span_close']);
    const fault = [...k.eng.log.events(from)].find((e) => e.type === 'fault') as unknown as { outcome: number };
    expect(fault.outcome).toBe(1);
    expect(k.eng.log.registers.spans).toEqual({});
  });
});
