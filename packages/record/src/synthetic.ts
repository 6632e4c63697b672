/**
 * A synthetic but realistic mmsim-trace/1 of any length: what the replay benchmark
 * (`traceReplayFaultsPerSec`) and the bounded-memory test replay. A shell-like root
 * forks and execs a few workers; each worker, round after round, maps anonymous
 * regions and writes them page by page, grows some with mremap (in place or moved),
 * write-protects part of others (a split), drops and refaults some with
 * MADV_DONTNEED, unmaps the oldest, and now and then forks a child that writes a few
 * pages (COW) and exits. The live set stays bounded, so a longer trace is more of the
 * same, not a bigger process. The generator keeps its own model of every layout
 * (regions never touch, so nothing merges) and writes the exit snapshots from it:
 * a replay of the trace agrees.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { prng } from '@mmsim/core';
import { TRACE_FORMAT, recordLine, type MapsEntry, type Snapshot, type TraceHeader, type TraceRecord } from './format.js';

export interface SyntheticTraceOptions {
  /** page faults in the trace (at least this many; the last round finishes) */
  faults: number;
  /** worker processes (default 4) */
  workers?: number;
  /** PRNG seed (default 1): the same options give the same bytes */
  seed?: number;
}

export interface SyntheticTraceResult {
  records: number;
  faults: number;
  processes: number;
  bytes: number;
}

const PAGE = 4096;
/** a region slot: regions are at most SLOT - 1 pages, so two never touch */
const SLOT = 1024;
const SLOTS = 4096;
/** live regions a worker keeps before it unmaps the oldest */
const LIVE = 8;
const MAP_PRIVATE_ANON = 0x22;
const PROT_RW = 3;
const PROT_R = 1;
const MREMAP_MAYMOVE = 1;
const MADV_DONTNEED = 4;

interface Region {
  /** first vpn */
  start: number;
  pages: number;
  /** pages [start, start + present) are present */
  present: number;
  /** pages [start, start + roPages) were made read-only (a split region is never moved or dropped) */
  roPages: number;
}

/** what execve() gives every worker: a binary, ld.so, vvar/vdso, a stack with two pages touched */
function execMaps(pid: number): MapsEntry[] {
  const bin = 0x55550000 + pid * 16;
  const ld = 0x7f0000000 + pid * 256;
  const stack = 0x7ff000000 + pid * 256;
  const file = `fe:00:${1000 + pid}`;
  const exe = `/usr/bin/synthetic-worker`;
  return [
    [bin, bin + 1, 'r--p', 0, file, exe],
    [bin + 1, bin + 3, 'r-xp', 1, file, exe],
    [bin + 3, bin + 4, 'r--p', 3, file, exe],
    [bin + 4, bin + 5, 'rw-p', 4, file, exe],
    [ld, ld + 4, 'r--p', 0, '', '[vvar]'],
    [ld + 4, ld + 6, 'r-xp', 0, '', '[vdso]'],
    [ld + 6, ld + 7, 'r--p', 0, 'fe:00:77', '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'],
    [ld + 7, ld + 45, 'r-xp', 1, 'fe:00:77', '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'],
    [ld + 45, ld + 55, 'r--p', 39, 'fe:00:77', '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'],
    [ld + 55, ld + 57, 'rw-p', 49, 'fe:00:77', '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'],
    [stack, stack + 33, 'rw-p', 0, '', '[stack]'],
  ];
}

class Worker {
  readonly regions: Region[] = [];
  private nextSlot = 0;
  readonly base: number;
  readonly exec: MapsEntry[];
  constructor(
    readonly pid: number,
    index: number,
  ) {
    this.base = 2 ** 32 + index * SLOT * SLOTS;
    this.exec = execMaps(pid);
  }
  stackPresent(): [number, number] {
    const st = this.exec[this.exec.length - 1];
    return [st[1] - 2, 2];
  }
  slot(): number {
    for (;;) {
      const s = this.base + (this.nextSlot++ % SLOTS) * SLOT;
      if (!this.regions.some((r) => r.start === s)) return s;
    }
  }
  /** the layout as /proc/PID/maps and pagemap would show it */
  snapshot(pid: number): Snapshot {
    const maps: MapsEntry[] = [...this.exec];
    const present: [number, number][] = [this.stackPresent()];
    for (const r of this.regions) {
      if (r.roPages) maps.push([r.start, r.start + r.roPages, 'r--p', 0, '', '']);
      if (r.roPages < r.pages) maps.push([r.start + r.roPages, r.start + r.pages, 'rw-p', 0, '', '']);
      if (r.present) present.push([r.start, r.present]);
    }
    maps.sort((a, b) => a[0] - b[0]);
    present.sort((a, b) => a[0] - b[0]);
    return { pid, startBrk: (0x55550000 + this.pid * 16 + 64) * PAGE, maps, present };
  }
}

/** Write a synthetic trace to `path` (streamed: the generator's memory does not grow with it). */
export function writeSyntheticTrace(path: string, opts: SyntheticTraceOptions): SyntheticTraceResult {
  const rnd = prng(opts.seed ?? 1);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const fd = openSync(path, 'w');
  let buf = '';
  let bytes = 0;
  let records = 0;
  let faults = 0;
  const flush = () => {
    bytes += writeSync(fd, buf);
    buf = '';
  };
  const put = (r: TraceRecord) => {
    buf += recordLine(r) + '\n';
    records++;
    if (buf.length > 1 << 16) flush();
  };
  const fault = (tid: number, vpn: number, write: boolean) => {
    put(['f', tid, vpn, write ? 1 : 0]);
    faults++;
  };
  try {
    const header: TraceHeader = {
      format: TRACE_FORMAT,
      command: ['synthetic', `--faults=${opts.faults}`, `--workers=${opts.workers ?? 4}`, `--seed=${opts.seed ?? 1}`],
      kernel: '6.18.0-synthetic',
      thp: 'madvise',
      config: { faultZeroPage: false, thp: 'madvise', useZeroPage: true, maxMapCount: 65530, overcommit: 0 },
    };
    buf += JSON.stringify(header) + '\n';
    const root = 1000;
    const shell = new Worker(root, 0);
    put(['exec', root, { pid: root, startBrk: (0x55550000 + root * 16 + 64) * PAGE, maps: shell.exec, present: [shell.stackPresent()] }]);
    let nextPid = root + 1;
    const workers: Worker[] = [];
    for (let i = 0; i < (opts.workers ?? 4); i++) {
      const w = new Worker(nextPid++, i + 1);
      put(['fork', root, w.pid, 'fork', 0]);
      put(['exec', w.pid, { pid: w.pid, startBrk: (0x55550000 + w.pid * 16 + 64) * PAGE, maps: w.exec, present: [w.stackPresent()] }]);
      workers.push(w);
    }
    let processes = 1 + workers.length;
    let round = 0;
    while (faults < opts.faults) {
      const w = workers[round++ % workers.length];
      const tid = w.pid;
      // a new region, written page by page (one in eight pages read first)
      const pages = int(16, 512);
      const start = w.slot();
      put(['mmap', tid, 0, pages * PAGE, PROT_RW, MAP_PRIVATE_ANON, -1, 0, start * PAGE, 0]);
      for (let v = start; v < start + pages; v++) fault(tid, v, rnd() >= 0.125);
      const r: Region = { start, pages, present: pages, roPages: 0 };
      w.regions.push(r);
      const movable = w.regions.filter((x) => x.roPages === 0);
      const pick = movable[int(0, movable.length - 1)];
      const what = rnd();
      if (what < 0.3 && pick.pages < SLOT / 2) {
        // grow with mremap(MAYMOVE): in place (the slot has room) or moved to a fresh slot
        const grown = pick.pages + int(16, SLOT / 2 - 1);
        const to = rnd() < 0.5 ? pick.start : w.slot();
        put(['mremap', tid, pick.start * PAGE, pick.pages * PAGE, grown * PAGE, MREMAP_MAYMOVE, 0, to * PAGE]);
        // the buffer is written whole again: what was dropped, then the new tail
        for (let v = to + pick.present; v < to + grown; v++) fault(tid, v, true);
        pick.start = to;
        pick.pages = grown;
        pick.present = grown;
      } else if (what < 0.45 && pick.pages >= 4) {
        // write-protect the first part: the VMA splits in two
        const ro = int(1, pick.pages - 1);
        put(['mprotect', tid, pick.start * PAGE, ro * PAGE, PROT_R, 0]);
        pick.roPages = ro;
      } else if (what < 0.7) {
        // drop and write part of it again
        put(['madvise', tid, pick.start * PAGE, pick.pages * PAGE, MADV_DONTNEED, 0]);
        const again = int(1, pick.pages);
        for (let v = pick.start; v < pick.start + again; v++) fault(tid, v, true);
        pick.present = again;
      }
      if (w.regions.length > LIVE) {
        const old = w.regions.shift()!;
        put(['munmap', tid, old.start * PAGE, old.pages * PAGE, 0]);
      }
      if (round % 97 === 0) {
        // a short-lived fork child: writes a few of the parent's pages (COW) and exits
        const child = nextPid++;
        processes++;
        put(['fork', tid, child, 'fork', 0]);
        const target = w.regions.find((x) => x.present > 0 && x.roPages === 0);
        if (target) for (let v = target.start; v < target.start + Math.min(16, target.present); v++) fault(child, v, true);
        put(['snap', child, w.snapshot(child)]);
        put(['exit', child]);
      }
    }
    for (const w of workers) {
      put(['snap', w.pid, w.snapshot(w.pid)]);
      put(['exit', w.pid]);
    }
    put(['snap', root, { pid: root, startBrk: (0x55550000 + root * 16 + 64) * PAGE, maps: shell.exec, present: [shell.stackPresent()] }]);
    put(['exit', root]);
    // the trace is complete: the end record (not one of the records it counts)
    buf += recordLine(['end', records]) + '\n';
    flush();
    return { records, faults, processes, bytes };
  } finally {
    closeSync(fd);
  }
}
