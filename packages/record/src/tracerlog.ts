/**
 * The ptrace helper's log (tracer.c): clone records and exec/exit snapshots, indexed
 * by tid so the perf stream's sched_process_* events can pick them up in order.
 */
import type { MapsEntry, Snapshot } from './format.js';

export interface CloneInfo {
  parent: number;
  kind: 'fork' | 'vfork' | 'clone';
  sharedVm: 0 | 1;
}

/** the iovecs of one process_vm_readv/writev or vmsplice call, as the helper read them at its seccomp stop */
export interface GupCall {
  /** the task whose pages GUP faults in: process_vm_*'s pid argument, vmsplice's caller */
  target: number;
  /** FOLL_WRITE: process_vm_writev writes the remote pages */
  write: 0 | 1;
  /** [base, len] byte ranges, in the call's order */
  iovs: [number, number][];
}

export interface TracerLog {
  /** pid of the traced command (its first exec) */
  root: number;
  clones: Map<number, CloneInfo[]>;
  execs: Map<number, Snapshot[]>;
  /**
   * the snapshots taken after each of the helper's marker calls, in order: the exit of
   * an mm's last task, the execve() that drops an mm (`at: 'execve'`), a periodic round
   */
  marked: Snapshot[][];
  /** every snapshot other than an exec's, by pid (record --pid's detach snapshot has no marker) */
  exits: Map<number, Snapshot[]>;
  /** the helper's own pid: its marker calls madvise(0, 0, 0) place the snapshots */
  tracer?: number;
  /** process_vm_readv/writev and vmsplice calls by tid, in order */
  gups: Map<number, GupCall[]>;
  /** waitpid() status of the root, when it was reaped */
  status?: number;
}

/** One /proc/PID/maps line as a MapsEntry (pages; file is "dev:inode" or ""). */
export function parseMapsLine(line: string): MapsEntry | null {
  const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
  if (!m) return null;
  const start = parseInt(m[1], 16);
  if (start >= 2 ** 47) return null; // [vsyscall]: not a VMA of the mm (the gate area)
  const inode = m[6];
  return [start / 4096, parseInt(m[2], 16) / 4096, m[3], parseInt(m[4], 16) / 4096, inode === '0' ? '' : `${m[5]}:${inode}`, m[7]];
}

function push<T>(m: Map<number, T[]>, k: number, v: T): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

export function parseTracerLog(text: string): TracerLog {
  const log: TracerLog = { root: 0, clones: new Map(), execs: new Map(), marked: [], exits: new Map(), gups: new Map() };
  let cur: Snapshot | null = null;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const tag = line[0];
    if (tag === 'M' && cur) {
      const e = parseMapsLine(line.slice(2));
      if (e) cur.maps.push(e);
    } else if (tag === 'P' && cur) {
      const [, vpn, n] = line.split(' ');
      cur.present.push([parseInt(vpn, 16), Number(n)]);
    } else if (tag === 'S' && cur) {
      const [, vpn, n] = line.split(' ');
      cur.shared!.push([parseInt(vpn, 16), Number(n)]);
    } else if (tag === '.') cur = null;
    else if (tag === 'X') {
      const [, what, pid, sb] = line.split(' ');
      cur = { pid: Number(pid), startBrk: parseInt(sb, 16), maps: [], present: [], shared: [] };
      if (what === 'exec') {
        if (!log.root) log.root = cur.pid;
        push(log.execs, cur.pid, cur);
      } else {
        if (what === 'execve' || what === 'periodic') cur.at = what;
        log.marked[log.marked.length - 1]?.push(cur);
        push(log.exits, cur.pid, cur);
      }
    } else if (tag === 'T') log.tracer = Number(line.slice(2));
    else if (tag === 'Y') log.marked.push([]);
    else if (tag === 'G') {
      const [, tid, target, write, ...iovs] = line.split(' ');
      push(log.gups, Number(tid), {
        target: Number(target),
        write: write === '1' ? 1 : 0,
        iovs: iovs.map((v) => v.split(':').map((x) => parseInt(x, 16)) as [number, number]),
      });
    } else if (tag === 'C') {
      const [, parent, child, kind, shared] = line.split(' ');
      push(log.clones, Number(child), { parent: Number(parent), kind: kind as CloneInfo['kind'], sharedVm: shared === '1' ? 1 : 0 });
    } else if (tag === 'R') log.status = Number(line.slice(2));
  }
  return log;
}
