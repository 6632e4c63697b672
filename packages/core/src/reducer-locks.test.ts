/**
 * The reducer's locks: whatever the batching, the same states and the same refusals.
 * One batch keeps the lock taken last outside its lock table until another lock is
 * taken or the table is read (Batch.slotName); readers in the middle of a batch
 * (batchLock, batchLocks: kernel code, the checkers) must see what a commit would.
 */
import { createDraft, finishDraft } from 'immer';
import { describe, expect, it } from 'vitest';
import { E, newRawEvent, type RawEvent } from './events.js';
import { applyToDraft, batchLock, batchLocks, finishBatch, newBatch, ReplayError } from './reducer.js';
import { prng } from './sched.js';
import { emptyState, type State } from './state.js';

const EXCL = 0;
const SHARED = 1;

function ev(type: number, s = '', a = 0, b = 0): RawEvent {
  const r = newRawEvent();
  r.type = type;
  r.a = a;
  r.b = b;
  r.s = s;
  return r;
}
const acquire = (name: string, mode: number) => ev(E.LockAcquire, name, mode, 0);
const release = (name: string, mode: number) => ev(E.LockRelease, name, mode, 0);
const task = (t: number) => ev(E.TaskSwitch, '', t);

/** Each event in a batch of its own: the states after each. */
function oneByOne(events: RawEvent[]): State[] {
  let s = emptyState();
  return events.map((r, i) => {
    const d = createDraft(s);
    const b = newBatch();
    applyToDraft(d, { ...r, seq: i }, b);
    finishBatch(d, b);
    return (s = finishDraft(d) as State);
  });
}

/** The same events in one batch: the locks as a reader sees them after each, and the state at the end. */
function oneBatch(events: RawEvent[], names: string[]): { seen: Record<string, unknown>[]; all: Record<string, unknown>[]; state: State } {
  const d = createDraft(emptyState());
  const b = newBatch();
  const seen: Record<string, unknown>[] = [];
  const all: Record<string, unknown>[] = [];
  events.forEach((r, i) => {
    applyToDraft(d, { ...r, seq: i }, b);
    seen.push(Object.fromEntries(names.map((n) => [n, batchLock(d, b, n)]).filter(([, v]) => v !== undefined)));
    // batchLocks on every fifth event only: it moves the batch's last lock into the table
    if (i % 5 === 4) {
      const m = batchLocks(d, b);
      const entries = m instanceof Map ? [...m] : Object.entries(m);
      all.push(Object.fromEntries(entries.filter(([, v]) => v !== undefined)));
    }
  });
  finishBatch(d, b);
  return { seen, all, state: finishDraft(d) as State };
}

/** Random lock traffic of three tasks that never breaks the rules: nested, shared, out of order. */
function traffic(seed: number, n: number): { events: RawEvent[]; names: string[] } {
  const rnd = prng(seed);
  const names = ['mmap_lock:1', 'ptl:1:0', 'anon_vma:1', ...Array.from({ length: 6 }, (_, i) => `folio:${1024 + i}`)];
  const held = new Map<string, { mode: number; holders: number[] }>();
  const events: RawEvent[] = [];
  let cur = 0;
  for (let i = 0; i < n; i++) {
    const x = rnd();
    if (x < 0.1) {
      cur = Math.floor(rnd() * 3);
      events.push(task(cur));
      continue;
    }
    const name = names[Math.floor(rnd() * names.length)];
    const h = held.get(name);
    if (h && h.holders.includes(cur)) {
      events.push(release(name, h.mode));
      h.holders.splice(h.holders.indexOf(cur), 1);
      if (!h.holders.length) held.delete(name);
    } else if (!h) {
      const mode = rnd() < 0.4 ? SHARED : EXCL;
      events.push(acquire(name, mode));
      held.set(name, { mode, holders: [cur] });
    } else if (h.mode === SHARED && rnd() < 0.7) {
      events.push(acquire(name, SHARED));
      h.holders.push(cur);
    }
  }
  return { events, names };
}

describe('locks in one batch and in a batch per event', () => {
  it('the same state after each event, seen by batchLock and batchLocks in the middle of the batch', () => {
    for (const seed of [1, 2, 3, 4]) {
      const { events, names } = traffic(seed, 400);
      const per = oneByOne(events);
      const one = oneBatch(events, names);
      per.forEach((s, i) => expect(one.seen[i], `seed ${seed}, event ${i}`).toEqual(s.locks));
      one.all.forEach((locks, k) => expect(locks, `seed ${seed}, batchLocks after event ${k * 5 + 4}`).toEqual(per[k * 5 + 4].locks));
      expect(one.state).toEqual(per[per.length - 1]);
    }
  });

  it('a walk: each folio locked and unlocked under the page table lock', () => {
    const events = [acquire('ptl:1:0', EXCL)];
    for (let pfn = 1024; pfn < 1024 + 50; pfn++) events.push(acquire(`folio:${pfn}`, EXCL), release(`folio:${pfn}`, EXCL));
    events.push(acquire('folio:2000', EXCL));
    const one = oneBatch(events, ['ptl:1:0', 'folio:1024', 'folio:2000']);
    expect(one.seen[2]).toEqual({ 'ptl:1:0': { mode: EXCL, kind: 0, holders: [0] } });
    expect(one.seen[1]).toEqual({ 'ptl:1:0': { mode: EXCL, kind: 0, holders: [0] }, 'folio:1024': { mode: EXCL, kind: 0, holders: [0] } });
    expect(Object.keys(one.state.locks).sort()).toEqual(['folio:2000', 'ptl:1:0']);
    expect(one.state).toEqual(oneByOne(events).pop());
  });

  it('refuses what a batch per event refuses, with the same error', () => {
    const bad: RawEvent[][] = [
      // released by a task that does not hold it (the lock taken last, by another task)
      [acquire('folio:1', EXCL), task(1), release('folio:1', EXCL)],
      // taken twice exclusively (the second while the first is the batch's last)
      [acquire('folio:1', EXCL), acquire('folio:1', EXCL)],
      // shared, then exclusive
      [acquire('folio:1', SHARED), task(1), acquire('folio:1', EXCL)],
      // released twice
      [acquire('folio:1', EXCL), release('folio:1', EXCL), release('folio:1', EXCL)],
    ];
    for (const events of bad) {
      let a: unknown;
      let b: unknown;
      try {
        oneByOne(events);
      } catch (e) {
        a = e;
      }
      try {
        oneBatch(events, []);
      } catch (e) {
        b = e;
      }
      expect(a).toBeInstanceOf(ReplayError);
      expect((b as Error).message).toBe((a as Error).message);
    }
  });
});
