import { describe, expect, it } from 'vitest';
import { E, LogFileError, decodeLogFile, definePlugin, lookupPte, newRawEvent, ptePfn, type AnonVma, type Vma } from '@mmsim/core';
import { CHECKER, checkLog, checkersFromPlugins } from '@mmsim/invariants';
import { corruptLog, forkCowLog, raceCounterexampleLog, relocateGoldenLog, relocatePatchV1Log, relocationLog } from '../testing/engine-logs.js';
import { CheckJob } from './checks.js';
import { DebugSession, lockLaneKey, mergePairs } from './session.js';
import { indexLog } from './log-index.js';
import { linearPageIndex } from './views.js';

const golden = relocateGoldenLog();
const fork = forkCowLog();

/** the first position where some page is stale (a relocation's intermediate state) */
function firstStale(s: DebugSession): number {
  for (let p = 0; p <= s.length; p++) if (s.view(p, null).pages.some((g) => g.stale)) return p;
  return -1;
}

describe('DebugSession on engine-made logs', () => {
  const s = DebugSession.fromBytes(golden.bytes);
  const sf = DebugSession.fromBytes(fork.bytes);

  it('summarises the log: events, syscalls (one per scenario step), tasks, arena', () => {
    const sum = s.summary();
    expect(sum.events).toBe(decodeLogFile(golden.bytes).log.length);
    expect(sum.syscalls).toBe(s.tt.spanIndex().syscalls.length);
    expect(sum.syscalls).toBe(golden.scenario.steps.length);
    expect(sum.arenaBase).toBe(268435456);
    expect(sum.lockNames).toContain('mmap_lock:1');
    expect(sum.violations).toEqual([]);
  });

  it('builds the anon_vma forest of real logs, whose roots are their own parent', () => {
    const st = sf.stateAt(sf.length);
    const avs: AnonVma[] = [];
    st.anonVmas.forEach((a) => avs.push(a));
    const roots = avs.filter((a) => a.root === a.id);
    expect(roots.length).toBeGreaterThan(0);
    expect(roots.every((a) => a.parent === a.id || a.parent === 0)).toBe(true);
    const v = sf.view(sf.length, null);
    expect(v.anonVmas.map((a) => a.id).sort()).toEqual(st.anonVmas.keys().sort());
    // children come after their parent, in tree order
    const at = new Map(v.anonVmas.map((a, i) => [a.id, i]));
    for (const a of v.anonVmas) if (a.parent !== a.id && a.parent) expect(at.get(a.parent)!).toBeLessThan(at.get(a.id)!);
    expect(v.anonVmas.some((a) => a.parent !== a.id && a.parent !== 0)).toBe(true);
  });

  it('keeps counts from events alone that agree with the state at every sample', () => {
    const c = sf.summary().counts;
    expect(c.pos[c.pos.length - 1]).toBe(sf.length);
    for (let i = 0; i < c.pos.length; i++) {
      const st = sf.stateAt(c.pos[i]);
      expect([c.vmas[i], c.anonVmas[i], c.avcs[i], c.folios[i]]).toEqual([st.counts.vmas, st.counts.anonVmas, st.counts.avcs, st.counts.folios]);
    }
  });

  it('shows the final pages with their folios, index and expected index', () => {
    const v = s.view(s.length, null);
    const st = s.stateAt(s.length);
    const rows = v.pages.flatMap((p) => p.rows.map((r) => ({ ...r, vma: p.vma })));
    expect(rows.length).toBe(3);
    for (const r of rows) {
      expect(r.pfn).toBe(ptePfn(lookupPte(st.mms[1], r.vpn)));
      expect(r.pageIndex).toBe(linearPageIndex(st.vmas.get(r.vma)!, r.vpn));
      expect(r.problems).toEqual([]);
    }
  });

  it('marks a relocation\'s intermediate state as transient, with the locks covering it', () => {
    const r = relocationLog(64, 1);
    const sr = DebugSession.fromBytes(r.bytes);
    const P = firstStale(sr);
    expect(P).toBeGreaterThan(0);
    const v = sr.view(P, null);
    const row = v.pages.flatMap((p) => p.rows).find((x) => x.problems.length)!;
    expect(row.problems[0]).toMatch(/not in vma \d+'s chain|!= linear_page_index/);
    expect(row.covered.some((c) => /^anon_vma:\d+ \(write, task 0\)$/.test(c))).toBe(true);
    expect(row.covered.some((c) => c.startsWith(`folio:${row.folio} `))).toBe(true);
    expect(row.flagged).toBe('');
    expect(v.syscall!.args).toContain('MREMAP_RELOCATE_ANON');
    // the relocation ends clean
    expect(sr.view(sr.length, null).pages.every((p) => p.stale === 0)).toBe(true);
  });

  it('says why two adjacent VMAs are (not) merged, with the merge policy\'s reason', () => {
    const m = mergePairs(s.stateAt(s.length));
    expect(m.map((x) => x.reason)).toEqual([expect.stringMatching(/^flags differ: VM_READ\|VM_WRITE\|VM_ACCOUNT/), expect.stringMatching(/^anon_vma incompatible: 1 vs 2/)]);
    expect(m.every((x) => x.policy === 'linux-6.18' && !x.merge)).toBe(true);
    const mf = mergePairs(sf.stateAt(sf.length));
    expect(mf.some((x) => /VM_WIPEONFORK/.test(x.reason))).toBe(true);
  });

  it('decodes each syscall\'s arguments, MREMAP_RELOCATE_ANON flags by name', () => {
    const args = [...s.index.callArgs.values()];
    expect(args).toHaveLength(golden.scenario.steps.length);
    expect(args[args.length - 1]).toBe('mremap(page 1007 → 6, 5 pages, new 5 pages, MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_MUST_RELOCATE_ANON = 0x13) in proc 0');
  });

  it('lists the writers of a folio\'s index and a PTE, with the last one before a point', () => {
    const st = s.stateAt(s.length);
    const row = s.view(s.length, null).pages.flatMap((p) => p.rows).find((r) => r.vpn === 268435462)!;
    const h = s.history({ kind: 'folio-index', pfn: row.folio }, s.length);
    // allocated, indexed at fault, rewritten by the relocation
    expect(h.rows.map((r) => r.type)).toEqual(['folio_alloc', 'folio_index', 'folio_index']);
    expect(h.rows[2].spanName).toBe('relocate_anon_folios');
    expect(h.lastBefore).toBe(h.rows[2].seq);
    const all: Vma[] = [];
    st.vmas.forEach((v) => all.push(v));
    const at = all.find((v) => v.start <= 268435462 && v.end > 268435462)!;
    expect(h.rows[2].fields).toContain(`index=${at.pgoff + 268435462 - at.start}`);
    const before = s.history({ kind: 'folio-index', pfn: row.folio }, h.rows[2].seq);
    expect(before.lastBefore).toBe(h.rows[1].seq);
    expect(before.firstAfter).toBe(h.rows[2].seq);
    const pte = s.history({ kind: 'pte', mm: 1, vpn: 268435462 }, s.length);
    expect(pte.rows.map((r) => r.type)).toContain('pte_move');
    expect(pte.rows.every((r) => r.fields.includes('0x'))).toBe(true);
    const lock = s.history({ kind: 'lock', name: 'mmap_lock:1' }, s.length);
    expect(lock.total).toBe(lock.rows.length);
    expect(lock.rows.filter((r) => r.type === 'lock_acquire').length).toBe(lock.rows.filter((r) => r.type === 'lock_release').length);
  });

  it('searches events by type, text (hex address, lock, span) and task, both ways', () => {
    const f = s.search({ type: 'folio_index' }, 0, 1);
    const cur = s.tt.log.cursor(0);
    const r = newRawEvent();
    let n = 0;
    while (cur.next(r)) if (r.type === E.FolioIndex) n++;
    expect(n).toBeGreaterThan(3);
    expect(f.rows.length).toBe(n);
    expect(f.rows.every((r) => r.type === 'folio_index')).toBe(true);
    const addr = s.search({ text: '0x10000006000' }, 0, 1);
    expect(addr.rows.length).toBeGreaterThan(0);
    expect(addr.rows.every((r) => r.fields.includes('0x10000006000'))).toBe(true);
    const back = s.search({ text: 'relocate_anon_folios' }, s.length, -1);
    expect(back.rows[0].seq).toBeGreaterThan(back.rows[back.rows.length - 1].seq);
    expect(s.search({ text: 'relocate_anon_folios', task: 7 }, 0, 1).rows).toEqual([]);
  });

  it('groups lock lanes by class, folio locks collapsed, in order of first use', () => {
    const r = DebugSession.fromBytes(relocationLog(64, 1).bytes);
    const P = firstStale(r);
    const lanes = r.lockLanes(P, 400);
    const folio = lanes.lanes.find((l) => l.key === 'folio:*')!;
    expect(folio.count).toBeGreaterThan(10);
    expect(lanes.lanes.filter((l) => l.cls === 'folio')).toHaveLength(1);
    expect(lanes.intervals.filter((i) => i.lane === 'folio:*').every((i) => i.lock.startsWith('folio:'))).toBe(true);
    const classes = lanes.lanes.map((l) => l.cls).filter((c, i, a) => a.indexOf(c) === i);
    expect(classes[0]).toBe('mmap_lock');
    expect(lockLaneKey('ptl:1:0')).toBe('ptl:1:0');
  });

  it('draws spans per task nested by depth', () => {
    const t = s.taskTracks(s.length - 40, 80);
    expect(t.tasks).toEqual([0]);
    expect(t.bars.some((b) => b.depth === 0 && b.name === 'step:mremap')).toBe(true);
    expect(t.bars.some((b) => b.depth > 2)).toBe(true);
  });

  it('steps by event, span, syscall and violation like TimeTravel does', () => {
    const mid = Math.floor(s.length / 2);
    expect(s.step(mid, 1, 'event')).toBe(mid + 1);
    expect(s.step(mid, 1, 'syscall')).toBe(s.tt.forward(mid, 'syscall'));
    expect(s.step(mid, -1, 'span')).toBe(s.tt.back(mid, 'span'));
    const sum = s.setViolations({ violations: [5], reasons: { 5: 'outside: made up' } });
    expect(sum.violations).toEqual([5]);
    expect(s.step(0, 1, 'violation')).toBe(6);
    s.setViolations({ violations: [] });
  });
});

describe('a race\'s counterexample log', () => {
  const race = DebugSession.fromBytes(raceCounterexampleLog().bytes);

  it('names each concurrent task by what it runs (its task:<op> spans); the main task has no name', () => {
    const sum = race.summary();
    expect(sum.tasks).toEqual([0, 100, 101]);
    expect(sum.taskNames).toEqual({ 100: 'mremap', 101: 'rmap_walk' });
    // a log without a concurrent step names none
    expect(DebugSession.fromBytes(golden.bytes).summary().taskNames).toEqual({});
  });

  it('its first violation lies well before the final state the page opens at', () => {
    const job = new CheckJob(race.tt.log);
    while (!job.step(10_000));
    const sum = race.setFindings(job.findings(), job.count());
    expect(sum.violations.length).toBeGreaterThan(0);
    // what the page moves to (firstViolationPos) and what "violation ▶" from the start reaches
    expect(race.step(0, 1, 'violation')).toBe(sum.violations[0] + 1);
    expect(sum.violations[0] + 1).toBeLessThan(race.length - 10);
    // the flagged event is the mremap's, inside its relocation
    expect(race.events(sum.violations[0], 1)[0].task).toBe(100);
  });
});

describe('the checkers in the worker', () => {
  it('find what checkLog finds, in slices, and mark them on the timeline', () => {
    const bad = relocatePatchV1Log();
    const s = DebugSession.fromBytes(bad.bytes);
    const job = new CheckJob(s.tt.log);
    let slices = 0;
    while (!job.step(50)) slices++;
    expect(slices).toBeGreaterThan(3);
    const want = checkLog(decodeLogFile(bad.bytes).log, { mode: 'report' });
    expect(want.length).toBeGreaterThan(0);
    expect(job.findings().map((f) => [f.seq, f.checker, f.message])).toEqual(want.map((v) => [v.seq, v.checker, v.message]));
    const sum = s.setFindings(job.findings(), job.count());
    expect(sum.checked).toEqual({ count: want.length });
    expect(sum.violations).toEqual([...new Set(want.map((v) => v.seq))].sort((a, b) => a - b));
    expect(sum.violationReasons[want[0].seq]).toContain(`[${want[0].checker}]`);
    expect(s.view(want[0].seq + 1, null).findings[0].seq).toBe(want[0].seq);
    // the good variant: none
    const g = new CheckJob(DebugSession.fromBytes(golden.bytes).tt.log);
    while (!g.step(1000));
    expect(g.count()).toBe(0);
  });
});

describe('plugin checkers in the worker', () => {
  /** a plugin's checker (CHECKER): every VMA inserted, as `mmsim check --plugin` would run it */
  const vmaInserts = definePlugin({
    name: 'vma-inserts',
    setup(host) {
      host.provide(CHECKER, {
        name: 'vma-insert',
        create: (ctx) => ({
          onEvent(r) {
            if (r.type === E.VmaInsert) ctx.report(`VMA ${r.a} inserted`, { vma: [r.a] });
          },
        }),
      });
    },
  });

  it('run beside the built-ins, in slices, and find what checkLog finds with them', () => {
    const bad = relocatePatchV1Log();
    const log = DebugSession.fromBytes(bad.bytes).tt.log;
    const job = new CheckJob(log, { extra: checkersFromPlugins([vmaInserts]) });
    while (!job.step(50));
    const want = checkLog(decodeLogFile(bad.bytes).log, { mode: 'report', extra: checkersFromPlugins([vmaInserts]) });
    const found = job.findings();
    expect(found.map((f) => [f.seq, f.checker, f.message])).toEqual(want.map((v) => [v.seq, v.checker, v.message]));
    expect(job.count()).toBe(want.length);
    // both kinds, in the order of their events
    const inserts = found.filter((f) => f.checker === 'vma-insert');
    expect(inserts.length).toBeGreaterThan(0);
    expect(found.length).toBeGreaterThan(inserts.length);
    expect(found.map((f) => f.seq)).toEqual(found.map((f) => f.seq).sort((a, b) => a - b));
    expect(inserts[0].vmas.length).toBe(1);
  });
});

describe('damaged and large logs', () => {
  it('refuses a corrupt log with a LogFileError naming the offset, or salvages its prefix', () => {
    const bad = corruptLog(relocationLog(1024, 1).bytes);
    expect(() => DebugSession.fromBytes(bad)).toThrow(LogFileError);
    expect(() => DebugSession.fromBytes(bad)).toThrow(/byte offset \d+/);
    const s = DebugSession.fromBytes(bad, { salvage: true });
    expect(s.summary().damage!.eventsKept).toBe(s.length);
    expect(s.length).toBeGreaterThan(0);
    expect(() => DebugSession.fromBytes(new Uint8Array([1, 2, 3]))).toThrow(LogFileError);
  });

  it('indexes a large relocation and bounds what a view ships', () => {
    const bytes = relocationLog(8192, 2).bytes;
    const log = decodeLogFile(bytes).log;
    const ix = indexLog(log);
    expect(ix.counts.pos.length).toBeLessThanOrEqual(4002);
    const s = DebugSession.fromBytes(bytes);
    // mid-relocation: thousands of stale pages, a bounded number of rows
    const cur = log.cursor(0);
    const r = newRawEvent();
    let mid = -1;
    let n = 0;
    while (cur.next(r)) if (r.type === E.FolioIndex && r.span && ++n === 12000) mid = r.seq + 1;
    const v = s.view(mid, null);
    expect(v.pages.reduce((k, p) => k + p.stale, 0)).toBeGreaterThan(1000);
    expect(v.pages.reduce((k, p) => k + p.rows.length, 0)).toBeLessThanOrEqual(300);
    expect(v.lanes.intervals.length).toBeGreaterThan(0);
    expect(JSON.stringify(v).length).toBeLessThan(2_000_000);
    // the diff counts every changed folio, not a sample
    const d = s.diff(s.step(mid, -1, 'syscall'), s.step(mid, 1, 'syscall'));
    expect(d.folios.changed).toBe(8192);
    expect(d.folios.sample.changed.length).toBeLessThanOrEqual(50);
  });

  it('opens on the final state before its keyframes exist; a view before or after they are built is the same', () => {
    const bytes = relocationLog(8192, 2).bytes;
    const a = DebugSession.fromBytes(bytes);
    const b = DebugSession.fromBytes(bytes);
    // a view without its timing
    const view = (s: DebugSession, p: number) => ({ ...s.view(p, null), ms: 0 });
    expect(a.keyframesPending).toBe(true);
    const end = view(a, a.length);
    expect(a.keyframesPending).toBe(true);
    // b builds all of its keyframes in idle slices first, as the worker does
    let slices = 0;
    while (!b.buildKeyframes(1)) slices++;
    expect(slices).toBeGreaterThan(2);
    expect(b.keyframesPending).toBe(false);
    expect(view(b, b.length)).toEqual(end);
    // a seek past a's keyframes builds them up to it
    for (const p of [Math.floor(a.length * 0.7), 17, Math.floor(a.length / 3), a.length - 1]) expect(view(a, p)).toEqual(view(b, p));
  });

  it('brings the events list\'s rows around the current event with a view, kept inside the log', () => {
    const s = DebugSession.fromBytes(golden.bytes);
    const mid = Math.floor(s.length / 2);
    const v = s.view(mid, null, undefined, 48);
    // centred on the current event (seq mid-1), the same rows as an `events` request
    expect(v.around!.from).toBe(mid - 1 - 24);
    expect(v.around!.rows).toEqual(s.events(mid - 1 - 24, 48));
    expect(v.around!.rows[24].seq).toBe(mid - 1);
    // at the ends the window slides inside the log instead of shrinking
    expect(s.view(0, null, undefined, 48).around!.from).toBe(0);
    const end = s.view(s.length, null, undefined, 48).around!;
    expect(end.from).toBe(s.length - 48);
    expect(end.rows.at(-1)!.seq).toBe(s.length - 1);
    // not asked: none
    expect(s.view(mid, null).around).toBeNull();
  });
});
