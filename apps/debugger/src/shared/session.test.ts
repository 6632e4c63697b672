import { describe, expect, it } from 'vitest';
import { LogFileError, decodeLogFile, lookupPte, ptePfn } from '@mmsim/core';
import { buildDemoLog, buildLargeLog, corruptLog } from '../testing/gen.js';
import { DebugSession, indexLog } from './session.js';
import { linearPageIndex } from './views.js';

const demo = buildDemoLog();

describe('DebugSession on the demo log', () => {
  const s = DebugSession.fromBytes(demo.bytes);

  it('summarises the log: events, syscalls, tasks, violations', () => {
    const sum = s.summary();
    expect(sum.events).toBe(demo.facts.events);
    expect(sum.tasks).toEqual([1, 2, 3]);
    expect(sum.violations).toEqual([demo.facts.errorSeq]);
    expect(sum.violationReasons[demo.facts.errorSeq]).toMatch(/strict-unmap/);
    expect(sum.syscalls).toBe(s.tt.spanIndex().syscalls.length);
    expect(sum.lockNames).toContain('mmap_lock:1');
  });

  it('keeps counts from events alone that agree with the state at every sample', () => {
    const c = s.summary().counts;
    expect(c.pos[0]).toBe(0);
    expect(c.pos[c.pos.length - 1]).toBe(s.length);
    for (let i = 0; i < c.pos.length; i++) {
      const st = s.stateAt(c.pos[i]);
      expect([c.vmas[i], c.anonVmas[i], c.avcs[i], c.folios[i]]).toEqual([st.counts.vmas, st.counts.anonVmas, st.counts.avcs, st.counts.folios]);
    }
  });

  it('views the final state: VMAs, pages with stale ones flagged, forest, no locks', () => {
    const v = s.view(s.length, null);
    const st = s.stateAt(s.length);
    expect(v.mms.map((m) => m.id)).toEqual([1, 2]);
    expect(v.mms[0].vmas.map((x) => x.id)).toEqual([2, 1]); // vma 1 moved above vma 2
    expect(v.mms[0].vmas[1]).toMatchObject({ start: 8192, end: 8192 + 64, pgoff: 4096, root: 1 });
    const p1 = v.pages.find((p) => p.vma === 1)!;
    expect(p1.present).toBe(8);
    expect(p1.stale).toBe(2);
    const bad = p1.rows.filter((r) => r.problems.length);
    expect(bad.map((r) => r.pfn).sort()).toEqual([demo.facts.badIndexPfn, demo.facts.badMappingPfn].sort());
    expect(bad.find((r) => r.pfn === demo.facts.badIndexPfn)!.problems[0]).toMatch(/index 9999 != linear_page_index/);
    expect(bad.find((r) => r.pfn === demo.facts.badMappingPfn)!.problems[0]).toMatch(/anon_vma 2 not in vma 1's chain/);
    const good = p1.rows.find((r) => !r.problems.length)!;
    expect(good.pfn).toBe(ptePfn(lookupPte(st.mms[1], good.vpn)));
    expect(good.pageIndex).toBe(linearPageIndex(st.vmas.get(1)!, good.vpn));
    expect(v.anonVmas.map((a) => [a.id, a.parent])).toEqual([
      [1, 0],
      [2, 1],
    ]);
    expect(v.anonVmas[0]).toMatchObject({ numChildren: 1, refcount: 2 });
    expect(v.locks).toEqual([]);
    expect(v.counts.errors).toBe(1);
  });

  it('shows locks held mid-syscall, per task, and lock lanes around the point', () => {
    // find a point where task 2 or 3 holds a lock during the interleaved faults
    let pos = -1;
    for (let p = 0; p <= s.length; p++) {
      const st = s.stateAt(p);
      const held = Object.values(st.locks).some((l) => l.holders.includes(2)) && Object.values(st.locks).some((l) => l.holders.includes(3));
      if (held) {
        pos = p;
        break;
      }
    }
    expect(pos).toBeGreaterThan(0);
    const v = s.view(pos, null, 100);
    expect(v.locks.some((l) => l.holders.includes(2))).toBe(true);
    const t2 = v.tasks.find((t) => t.task === 2)!;
    expect(t2.locks.length).toBeGreaterThan(0);
    expect(t2.spans[0].name).toBe('page_fault');
    expect(v.lanes.from).toBeLessThanOrEqual(pos);
    expect(v.lanes.to).toBeGreaterThanOrEqual(pos);
    expect(v.lanes.intervals.some((i) => i.task === 3 && i.start < pos && i.end >= pos)).toBe(true);
  });

  it('diffs VMA sets against a pinned point: split and merge annotated', () => {
    const ix = s.tt.spanIndex();
    // pinned before the first mprotect, now right after it: vma 1 resized, vma 5 added
    const mprotect = [...ix.syscalls].filter((q) => s.events(q, 1)[0].fields.includes('"mprotect"'));
    const a = mprotect[0];
    const b = s.step(a + 1, 1, 'syscall') - 1;
    const v = s.view(b, a);
    const kinds = Object.fromEntries(v.vmaDiff!.entries.map((e) => [e.id, e.kind]));
    expect(kinds).toEqual({ 1: 'resized', 5: 'added' });
    expect(v.vmaDiff!.entries.find((e) => e.id === 5)!.notes[0]).toMatch(/split from #1/);
    // after the second mprotect vma 5 is gone again and vma 1 absorbed it
    const v2 = s.view(s.step(mprotect[1] + 1, 1, 'syscall') - 1, b);
    const e1 = v2.vmaDiff!.entries.find((e) => e.id === 1)!;
    expect(e1.kind).toBe('resized');
    expect(e1.notes.join()).toMatch(/absorbed #5/);
    expect(v2.vmaDiff!.entries.find((e) => e.id === 5)!.kind).toBe('removed');
  });

  it('steps by event, span, syscall and violation like TimeTravel does', () => {
    const mid = Math.floor(s.length / 2);
    expect(s.step(mid, 1, 'event')).toBe(mid + 1);
    expect(s.step(mid, -1, 'event')).toBe(mid - 1);
    expect(s.step(mid, 1, 'syscall')).toBe(s.tt.forward(mid, 'syscall'));
    expect(s.step(mid, -1, 'span')).toBe(s.tt.back(mid, 'span'));
    expect(s.step(0, 1, 'violation')).toBe(demo.facts.errorSeq + 1);
    expect(s.step(s.length, -1, 'violation')).toBe(demo.facts.errorSeq + 1);
    expect(s.step(demo.facts.errorSeq + 1, 1, 'violation')).toBe(demo.facts.errorSeq + 1);
    const sum = s.setViolations({ violations: [5], reasons: { 5: 'checker: made up' } });
    expect(sum.violations).toEqual([5, demo.facts.errorSeq]);
    expect(s.step(0, 1, 'violation')).toBe(6);
    s.setViolations({ violations: [] });
  });

  it('lists events with span names and fields', () => {
    const rows = s.events(0, 5);
    expect(rows.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(rows[0].type).toBe('task_switch');
    expect(rows[1]).toMatchObject({ type: 'span_open' });
    expect(rows[1].fields).toContain('name="execve"');
    expect(rows[2]).toMatchObject({ type: 'mm_create', spanName: 'execve', fields: 'mm=1 parent=0' });
    expect(s.events(s.length - 2, 10)).toHaveLength(2);
  });

  it('summarises a diff of two points', () => {
    const d = s.diff(0, s.length);
    expect(d.vmas.added.sort()).toEqual([1, 2, 3, 4]);
    expect(d.anonVmas.added.sort()).toEqual([1, 2]);
    expect(d.folios.added).toBe(s.stateAt(s.length).counts.folios);
    expect(d.ptes.count).toBeGreaterThan(8);
    expect(d.mms.added).toEqual([1, 2]);
  });
});

describe('damaged and large logs', () => {
  it('refuses a corrupt log with a LogFileError naming the offset, or salvages its prefix', () => {
    const big = buildLargeLog(20_000);
    const bad = corruptLog(big);
    expect(() => DebugSession.fromBytes(bad)).toThrow(LogFileError);
    expect(() => DebugSession.fromBytes(bad)).toThrow(/byte offset \d+/);
    const s = DebugSession.fromBytes(bad, { salvage: true });
    expect(s.summary().damage!.eventsKept).toBe(s.length);
    expect(s.length).toBeGreaterThan(0);
    expect(() => DebugSession.fromBytes(new Uint8Array([1, 2, 3]))).toThrow(/bad magic/);
  });

  it('indexes a large log and bounds what a view ships', () => {
    const bytes = buildLargeLog(200_000);
    const log = decodeLogFile(bytes).log;
    const ix = indexLog(log);
    expect(ix.counts.pos.length).toBeLessThanOrEqual(4002);
    const s = DebugSession.fromBytes(bytes);
    const v = s.view(Math.floor(s.length * 0.7), null);
    const rows = v.pages.reduce((n, p) => n + p.rows.length, 0);
    expect(rows).toBeLessThanOrEqual(2000);
    expect(v.lanes.intervals.length).toBeGreaterThan(0);
    expect(JSON.stringify(v).length).toBeLessThan(2_000_000);
  });
});
