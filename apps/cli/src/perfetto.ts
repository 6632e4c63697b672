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
import { E, type EventLog } from '@mmsim/core';
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

  walkLog(
    log,
    (r, c) => {
      const t = r.task;
      tasks.add(t);
      const pid = taskPid(t);
      switch (r.type) {
        case E.SpanOpen: {
          const st = open.get(t) ?? [];
          st.push({ id: r.a, name: r.s });
          open.set(t, st);
          ev.push({ ph: 'B', pid, tid: SPAN_TID, ts: r.seq, name: r.s, cat: r.b ? 'span' : 'syscall', args: { span: r.a, arg0: r.c, arg1: r.d } });
          sample(r.seq, c);
          break;
        }
        case E.SpanClose: {
          const st = open.get(t) ?? [];
          const k = st.map((f) => f.id).lastIndexOf(r.a);
          // close anything opened inside it first (keeps B/E balanced)
          while (k >= 0 && st.length > k) {
            const f = st.pop()!;
            ev.push({ ph: 'E', pid, tid: SPAN_TID, ts: r.seq, ...(f.id === r.a ? { args: { result: r.b } } : {}) });
          }
          sample(r.seq, c);
          break;
        }
        case E.LockAcquire: {
          const h: Hold = { task: t, lock: r.s, mode: r.a, kind: r.b, start: r.seq, end: -1, trylock: r.c === 1 };
          holding.set(`${t}\u0000${r.s}`, h);
          holds.push(h);
          break;
        }
        case E.LockRelease: {
          const key = `${t}\u0000${r.s}`;
          const h = holding.get(key);
          if (h) {
            h.end = r.seq;
            holding.delete(key);
          }
          break;
        }
        case E.LockTryFail:
          ev.push({ ph: 'i', s: 't', pid, tid: SPAN_TID, ts: r.seq, name: `trylock failed: ${r.s}`, cat: 'lock' });
          break;
        case E.Error:
          ev.push({ ph: 'i', s: 'p', pid, tid: SPAN_TID, ts: r.seq, name: 'error', cat: 'error', args: { message: r.s } });
          break;
        case E.Fault:
          ev.push({ ph: 'i', s: 't', pid, tid: SPAN_TID, ts: r.seq, name: 'fault', cat: 'fault', args: { mm: r.a, vpn: r.b, write: r.c, outcome: r.d } });
          break;
        case E.Note:
          ev.push({ ph: 'i', s: 't', pid, tid: SPAN_TID, ts: r.seq, name: 'note', cat: 'note', args: { text: r.s, value: r.a } });
          break;
      }
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
