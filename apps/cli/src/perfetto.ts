/**
 * A log as a Chrome trace (Trace Event Format, JSON) that ui.perfetto.dev and
 * chrome://tracing open. One microsecond of trace time is one event (ts = seq).
 *
 *  - per task a process "task N" with a thread "spans": syscalls and kernel functions
 *    as B/E slices (args: span id, arg0, arg1; result on close); errors, faults and
 *    notes as instant events
 *  - lock holds as X slices named after the lock, on "locks" tracks of the holding task
 *    (as many lanes as needed so every lane nests properly)
 *  - a process "machine" with counters VMAs, anon_vmas, AVCs, folios sampled at every
 *    span boundary
 */
import { EVENT_SCHEMA, type Counts, type EventLog, type EventTypeName, type RawEvent } from '@mmsim/core';
import { walkLog } from './walk.js';

type TraceEvent = Record<string, unknown>;

const MACHINE_PID = 1;
const taskPid = (t: number) => 10 + t;
const SPAN_TID = 1;
const lockTid = (lane: number) => 2 + lane;

interface Hold {
  task: number;
  lock: string;
  mode: number;
  kind: number;
  start: number;
  end: number;
  trylock: boolean;
}

export function toPerfetto(log: EventLog, meta: Record<string, unknown> = {}, onProgress?: (seq: number) => void): { traceEvents: TraceEvent[]; displayTimeUnit: string; otherData: Record<string, unknown> } {
  const ev: TraceEvent[] = [];
  const tasks = new Set<number>();
  const open = new Map<number, { id: number; name: string }[]>();
  const holding = new Map<string, Hold>();
  const holds: Hold[] = [];
  const last = { vmas: -1, anonVmas: -1, avcs: -1, folios: -1 };
  const COUNTERS: [keyof typeof last, string][] = [
    ['vmas', 'VMAs'],
    ['anonVmas', 'anon_vmas'],
    ['avcs', 'AVCs'],
    ['folios', 'folios'],
  ];
  const sample = (ts: number, c: Readonly<Record<keyof typeof last, number>>) => {
    for (const [k, name] of COUNTERS) {
      if (c[k] === last[k]) continue;
      last[k] = c[k];
      ev.push({ ph: 'C', pid: MACHINE_PID, name, ts, args: { [name]: c[k] } });
    }
  };
  sample(0, { vmas: 0, anonVmas: 0, avcs: 0, folios: 0 });

  type Handler = (r: Readonly<RawEvent>, c: Readonly<Counts>, pid: number) => void;
  const instant = (r: Readonly<RawEvent>, pid: number, name: string, cat: string, args?: Record<string, unknown>, s = 't') =>
    ev.push({ ph: 'i', s, pid, tid: SPAN_TID, ts: r.seq, name, cat, ...(args ? { args } : {}) });
  /**
   * What each event type adds to the trace: every type has an entry (null: nothing, its
   * effect shows in the counters or not at all), so a new type needs a decision here.
   */
  const HANDLERS: Record<EventTypeName, Handler | null> = {
    span_open: (r, c, pid) => {
      const st = open.get(r.task) ?? [];
      st.push({ id: r.a, name: r.s });
      open.set(r.task, st);
      ev.push({ ph: 'B', pid, tid: SPAN_TID, ts: r.seq, name: r.s, cat: r.b ? 'span' : 'syscall', args: { span: r.a, arg0: r.c, arg1: r.d } });
      sample(r.seq, c);
    },
    span_close: (r, c, pid) => {
      const st = open.get(r.task) ?? [];
      const k = st.map((f) => f.id).lastIndexOf(r.a);
      // close anything opened inside it first (keeps B/E balanced)
      while (k >= 0 && st.length > k) {
        const f = st.pop()!;
        ev.push({ ph: 'E', pid, tid: SPAN_TID, ts: r.seq, ...(f.id === r.a ? { args: { result: r.b } } : {}) });
      }
      sample(r.seq, c);
    },
    lock_acquire: (r) => {
      const h: Hold = { task: r.task, lock: r.s, mode: r.a, kind: r.b, start: r.seq, end: -1, trylock: r.c === 1 };
      holding.set(`${r.task}\u0000${r.s}`, h);
      holds.push(h);
    },
    lock_release: (r) => {
      const key = `${r.task}\u0000${r.s}`;
      const h = holding.get(key);
      if (h) {
        h.end = r.seq;
        holding.delete(key);
      }
    },
    lock_try_fail: (r, _c, pid) => instant(r, pid, `trylock failed: ${r.s}`, 'lock'),
    error: (r, _c, pid) => instant(r, pid, 'error', 'error', { message: r.s }, 'p'),
    fault: (r, _c, pid) => instant(r, pid, 'fault', 'fault', { mm: r.a, vpn: r.b, write: r.c, outcome: r.d }),
    note: (r, _c, pid) => instant(r, pid, 'note', 'note', { text: r.s, value: r.a }),
    task_switch: null,
    mm_create: null,
    mm_exit: null,
    vma_insert: null,
    vma_remove: null,
    vma_adjust: null,
    vma_flags: null,
    vma_set_anon_vma: null,
    vma_set_file: null,
    vma_policy: null,
    vma_split: null,
    vma_merge: null,
    anon_vma_create: null,
    anon_vma_free: null,
    anon_vma_count: null,
    avc_link: null,
    avc_unlink: null,
    folio_alloc: null,
    folio_free: null,
    folio_split: null,
    folio_index: null,
    folio_mapping: null,
    folio_flags: null,
    page_anon_exclusive: null,
    folio_count: null,
    pte_set: null,
    pte_clear: null,
    pte_move: null,
    pte_flags: null,
    pte_swap: null,
    pt_alloc: null,
    pt_free: null,
    pt_move: null,
    pmd_set: null,
    pmd_clear: null,
    pmd_move: null,
    pmd_split: null,
    pmd_flags: null,
    shmem_create: null,
    shmem_page: null,
    swap_count: null,
    pud_move: null,
    page_content: null,
    swap_cache: null,
    mm_wp_seq: null,
    mm_merge_any: null,
  };
  const byId = EVENT_SCHEMA.map((e) => HANDLERS[e.name]);

  walkLog(
    log,
    (r, c) => {
      tasks.add(r.task);
      byId[r.type]?.(r, c, taskPid(r.task));
    },
    { onProgress },
  );
  const end = log.length;
  for (const [t, st] of open) {
    for (; st.length; st.pop()) ev.push({ ph: 'E', pid: taskPid(t), tid: SPAN_TID, ts: end });
  }
  // lock lanes: intervals sorted by start, longest first; a lane takes an interval
  // when it nests inside (or follows) what the lane has open
  const lanesOf = new Map<number, Hold[][]>();
  const laneCount = new Map<number, number>();
  holds.sort((a, b) => a.start - b.start || (b.end < 0 ? end : b.end) - (a.end < 0 ? end : a.end));
  for (const h of holds) {
    const hEnd = h.end < 0 ? end : h.end;
    const lanes = lanesOf.get(h.task) ?? [];
    lanesOf.set(h.task, lanes);
    let lane = -1;
    for (let k = 0; k < lanes.length; k++) {
      const stack = lanes[k];
      while (stack.length && (stack[stack.length - 1].end < 0 ? end : stack[stack.length - 1].end) <= h.start) stack.pop();
      const top = stack[stack.length - 1];
      if (!top || (top.end < 0 ? end : top.end) >= hEnd) {
        lane = k;
        break;
      }
    }
    if (lane < 0) {
      lane = lanes.length;
      lanes.push([]);
    }
    lanes[lane].push(h);
    laneCount.set(h.task, Math.max(laneCount.get(h.task) ?? 0, lane + 1));
    ev.push({
      ph: 'X',
      pid: taskPid(h.task),
      tid: lockTid(lane),
      ts: h.start,
      dur: Math.max(hEnd - h.start, 0),
      name: h.lock,
      cat: 'lock',
      args: { mode: h.mode === 0 ? 'write' : 'read', kind: h.kind === 1 ? 'spin' : 'sleep', trylock: h.trylock, released: h.end >= 0 },
    });
  }
  // metadata: names and ordering of processes and threads
  const md: TraceEvent[] = [
    { ph: 'M', pid: MACHINE_PID, name: 'process_name', args: { name: 'machine (counts)' } },
    { ph: 'M', pid: MACHINE_PID, name: 'process_sort_index', args: { sort_index: 0 } },
  ];
  for (const t of [...tasks].sort((a, b) => a - b)) {
    const pid = taskPid(t);
    md.push({ ph: 'M', pid, name: 'process_name', args: { name: `task ${t}` } });
    md.push({ ph: 'M', pid, name: 'process_sort_index', args: { sort_index: 1 + t } });
    md.push({ ph: 'M', pid, tid: SPAN_TID, name: 'thread_name', args: { name: 'spans' } });
    md.push({ ph: 'M', pid, tid: SPAN_TID, name: 'thread_sort_index', args: { sort_index: 0 } });
    for (let k = 0; k < (laneCount.get(t) ?? 0); k++) {
      md.push({ ph: 'M', pid, tid: lockTid(k), name: 'thread_name', args: { name: `locks${k ? ' ' + (k + 1) : ''}` } });
      md.push({ ph: 'M', pid, tid: lockTid(k), name: 'thread_sort_index', args: { sort_index: 1 + k } });
    }
  }
  return { traceEvents: [...md, ...ev], displayTimeUnit: 'ns', otherData: { ...meta, events: log.length, timeUnit: '1 us = 1 event (ts = seq)' } };
}

/** JSON text, one trace event per line (large traces stay diffable and streamable). */
export function perfettoJson(trace: ReturnType<typeof toPerfetto>): string {
  const lines = trace.traceEvents.map((e) => JSON.stringify(e));
  return `{"displayTimeUnit":${JSON.stringify(trace.displayTimeUnit)},"otherData":${JSON.stringify(trace.otherData)},"traceEvents":[\n${lines.join(',\n')}\n]}\n`;
}
