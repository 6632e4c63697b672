/**
 * Replay an mmsim-trace/1 on the simulator, at the recorded addresses: every process's
 * whole address space (file and special mappings as VMAs of their own, brk as
 * do_brk_flags, faults in recorded order), then compare each process's layout at exit
 * with the recorded /proc/PID/maps and pagemap.
 */
import {
  E,
  VM_ACCOUNT,
  VM_DONTEXPAND,
  VM_GROWSDOWN,
  VM_IO,
  VM_LOCKED,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_SHARED,
  type KGen,
  type Plugin,
} from '@mmsim/core';
import {
  Kernel,
  brkShrink,
  doBrkFlags,
  doMadvise,
  doMmap,
  doMprotect,
  doMremap,
  doMunmap,
  dupMmap,
  exitMmap,
  errnoName,
  expandDownwards,
  madviseArgs,
  mmapArgs,
  mprotectArgs,
  mremapArgs,
  munmapArgs,
  getPte,
  getUserPages,
  isHugeZeroPmd,
  isZeroPte,
  pmdEntry,
  userAccess,
  type FaultOutcome,
} from '@mmsim/linux';
import { vmaPerms } from '@mmsim/runner';
import { MREMAP_FLAG_BITS, pagePreciseMapcount, ptePfn } from '@mmsim/core';
import { MADVISE_ADVICE } from '@mmsim/scenario';
import { moveVerdict } from '@mmsim/auto-relocate';
import { FAULT_KERNEL, FAULT_WRITE, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MAP_LOCKED, MAP_POPULATE, low32, u64Number, type MapsEntry, type U64, type Snapshot, type TraceHeader, type TraceRecord } from './format.js';
import { differingRuns, inRuns, pteRuns, toRuns, type Runs } from './present.js';
import { scanTrace } from './scan.js';
import { replayVmaFlagRecord, type VmaFlagRecord } from './flags.js';
import { TRACE_REPORT_FORMAT, countAnon, type ProcessReport, type TraceReport } from './report.js';

const PAGE = 4096;
/** consecutive faults replayed as one syscall (the engine copies a page table once per batch, not per fault) */
const FAULT_BATCH = 1024;
const MAP_SHARED = 0x01;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_GROWSDOWN = 0x100;
const MAP_NORESERVE = 0x4000;
const MAP_STACK = 0x20000;
const MAP_FIXED_NOREPLACE = 0x100000;
const SHM_RDONLY = 0o10000;
const SHM_REMAP = 0o40000;
const SHM_EXEC = 0o100000;
const ADVICE_BY_NUMBER = new Map(Object.entries(MADVISE_ADVICE).map(([name, n]) => [n, name]));

export type Policy = 'stock' | 'relocate' | 'auto';

/** One way the simulation and the recording part. */
export interface Difference {
  /** the trace line of the record where it showed */
  line: number;
  pid: number;
  what: string;
}

/** a task: the mm it uses (threads and vfork children share one) */
interface Proc {
  mm: number;
}
interface MmInfo {
  users: number;
  /** mm->brk in bytes */
  brk: number;
  /** the thread-group leader that owns it (the report's pid) */
  pid: number;
  report: ProcessReport;
}

export interface ReplayOptions {
  policy?: Policy;
  /** plugins for the policy (the caller loads them: relocate-anon, auto-relocate) */
  plugins?: (Plugin<unknown> | [Plugin<unknown>, unknown])[];
  /**
   * Keep the replay's whole event log in memory (default false: the log lets go of each
   * chunk once it is sealed, so a trace of any length replays in bounded memory; attach
   * a streaming writer in onKernel to keep the events: `mmsim trace --log`). True for
   * callers that read the log afterwards (time travel, encodeLogFile).
   */
  retainLog?: boolean;
  /** called with the kernel before the first record (attach checkers, listeners or a log writer) */
  onKernel?: (k: Kernel) => void;
  /** called at each exit snapshot, before the comparison (tests read the simulated pages here) */
  onSnapshot?: (k: Kernel, mm: number, snap: Snapshot) => void;
}

function protOf(perms: string): number {
  return (perms[0] === 'r' ? 1 : 0) | (perms[1] === 'w' ? 2 : 0) | (perms[2] === 'x' ? 4 : 0);
}

/** A shared mapping of a memfd or a SysV segment (shmem): its present pages are recorded and compared too. */
export function isMemfdEntry(e: MapsEntry): boolean {
  return e[2][3] === 's' && (e[5].startsWith('/memfd:') || e[5].startsWith('/SYSV'));
}

/** A maps entry that is neither a file nor a special mapping: [heap], [stack], [anon:...], unnamed. */
export function isAnonEntry(e: MapsEntry): boolean {
  return e[4] === '' && (e[5] === '' || e[5] === '[heap]' || e[5] === '[stack]' || e[5].startsWith('[anon:') || e[5].startsWith('[stack:'));
}

export class Replayer {
  readonly k: Kernel;
  readonly policy: Policy;
  private procs = new Map<number, Proc>();
  private mms = new Map<number, MmInfo>();
  /** trace file identity -> shmem object standing for it */
  private files = new Map<string, number>();
  /** the shmem objects that are memfds (a `memfd` record): their shared mappings' faults are modelled */
  private memfds = new Set<number>();
  /** SysV segments: shmid -> its shmem object and size in pages; object -> pages */
  private shmSegs = new Map<number, { obj: number; pages: number }>();
  private shmPages = new Map<number, number>();
  readonly differences: Difference[] = [];
  /** records the simulator does not model, by reason */
  readonly unmodelled = new Map<string, number>();
  readonly reports: ProcessReport[] = [];
  /**
   * present pages whose frame is shared (the zero page, another mm's COW frame) in one of
   * the simulation and the recording and not in the other. Advisory: other processes
   * run while the helper reads a snapshot (a parent's COW break may land in the read),
   * so this does not make the replay disagree.
   */
  readonly sharingDifferences: string[] = [];
  /** under relocate/auto: VMA boundaries that differ where what the program sees is the same */
  readonly policyEffects: string[] = [];
  /** execve()s per pid so far: the exec generation of the next mm it builds */
  private generations = new Map<number, number>();
  /** a user fault the model answered with a signal, per tid, until the recorded signal (or none) says whether the kernel did too */
  private pendingSignal = new Map<number, { out: 'SIGSEGV' | 'SIGBUS'; vpn: number; why: string }>();
  line = 0;
  faults = 0;

  /** the report of the mm whose mremap is running (relocation spans count into it) */
  private moving: ProcessReport | null = null;
  private inRelocation = false;

  private onSnapshot?: ReplayOptions['onSnapshot'];

  constructor(readonly header: TraceHeader, opts: ReplayOptions = {}) {
    this.policy = opts.policy ?? 'stock';
    this.onSnapshot = opts.onSnapshot;
    this.k = new Kernel({ config: { thp: header.thp, ...(header.config ?? {}) }, plugins: opts.plugins, retainLog: opts.retainLog ?? false });
    opts.onKernel?.(this.k);
    // relocate_anon opens when a move relocates; its :undo child means it fell back
    // (stock never relocates: no listener, faults stay cheap)
    if (this.policy !== 'stock') this.watchRelocations();
  }

  private watchRelocations(): void {
    this.k.eng.spans$.subscribe((n) => {
      if (!this.moving) return;
      if (n.name === 'relocate_anon') {
        this.inRelocation = n.phase === 'open';
        if (n.phase === 'open') this.moving.relocated++;
      } else if (n.name === 'relocate_anon_folios:undo' && n.phase === 'open') {
        this.moving.relocated--;
        this.moving.fallbacks['walk-failed'] = (this.moving.fallbacks['walk-failed'] ?? 0) + 1;
      }
    });
    this.k.eng.onRaw((r) => {
      if (this.inRelocation && r.type === E.FolioIndex && this.moving) this.moving.foliosRewritten++;
    });
  }

  private differ(pid: number, what: string): void {
    if (this.differences.length < 1000) this.differences.push({ line: this.line, pid, what });
  }
  /** a record the replay does not model, counted by reason (the report's `unmodelled`) */
  private countUnmodelled(reason: string): void {
    this.unmodelled.set(reason, (this.unmodelled.get(reason) ?? 0) + 1);
  }

  /**
   * The byte-level checks of a call (@mmsim/linux uapi.ts: the kernel's on the raw
   * 64-bit arguments) against what the kernel returned. True when the record is done:
   * the kernel failed it (the checks' errno must be the kernel's; a failure the checks
   * pass is deeper, in state the call never changed), or the checks refuse a call the
   * kernel ran (a difference). False: the call succeeded, run it with `got`'s pages.
   */
  private byteChecked(mm: number, call: string, ret: number, got: number | object): boolean {
    if (typeof got === 'number' && got !== ret) this.differ(mm, `${call}: the kernel returned ${ret < 0 ? errnoName(ret) : `0x${ret.toString(16)}`}, the simulator ${errnoName(got)}`);
    return ret < 0 || typeof got === 'number';
  }

  private fileId(key: string): number {
    let id = this.files.get(key);
    if (id === undefined) {
      id = this.k.eng.ids.shmem++;
      // the page cache of a file is outside the model: a size no fault reaches
      this.k.eng.emit(E.ShmemCreate, id, 2 ** 35);
      this.files.set(key, id);
    }
    return id;
  }

  private mmOf(tid: number): MmInfo | undefined {
    const p = this.procs.get(tid);
    return p ? this.mms.get(p.mm) : undefined;
  }

  /** the faults waiting to run as one syscall: tid, vpn, flags and line of each */
  private readonly fTid = new Float64Array(FAULT_BATCH);
  private readonly fVpn = new Float64Array(FAULT_BATCH);
  private readonly fFlags = new Float64Array(FAULT_BATCH);
  private readonly fLine = new Float64Array(FAULT_BATCH);
  private fCount = 0;

  /**
   * Run one record as a syscall of its task. Consecutive faults are batched into one
   * syscall (up to FAULT_BATCH, as the first fault's task).
   */
  apply(r: TraceRecord, line: number): void {
    if (r[0] === 'f') return this.fault(r[1], r[2], r[3], line);
    // the end record runs nothing: the readers (TraceEnd) check it
    if (r[0] === 'end') return;
    this.flushFaults();
    this.applyOne(r, line);
  }

  /** A fault record (the reader's fast path: no record array). */
  fault(tid: number, vpn: number, flags: number, line: number): void {
    const i = this.fCount++;
    this.fTid[i] = tid;
    this.fVpn[i] = vpn;
    this.fFlags[i] = flags;
    this.fLine[i] = line;
    if (this.fCount === FAULT_BATCH) this.flushFaults();
  }

  private flushFaults(): void {
    const n = this.fCount;
    if (!n) return;
    this.fCount = 0;
    const eng = this.k.eng;
    eng.setTask(this.fTid[0] % 65536);
    const res = eng.syscall('trace:faults', () => this.faultBatchBody(n));
    if (!res.ok) throw res.error instanceof Error ? res.error : new Error(String(res.error));
  }

  /** The waiting faults as one syscall body: the 'f' case of body() for each, inline (one generator per batch). */
  private *faultBatchBody(n: number): KGen<number> {
    const k = this.k;
    for (let i = 0; i < n; i++) {
      this.line = this.fLine[i];
      const tid = this.fTid[i];
      const p = this.procs.get(tid);
      const vma = p ? k.vmaAt(p.mm, this.fVpn[i]) : undefined;
      // faultBody's common case inline (an anonymous VMA holds the address): one
      // generator fewer per fault
      if (!p || !vma || vma.file) {
        yield* this.faultBody(tid, this.fVpn[i], this.fFlags[i]);
        continue;
      }
      this.faults++;
      const before = vma.anonVma;
      this.faultDone(p, before, yield* userAccess(k, p.mm, this.fVpn[i], (this.fFlags[i] & FAULT_WRITE) !== 0), tid, this.fVpn[i], this.fFlags[i]);
    }
    return 0;
  }

  /** after a fault's access: what the simulator gave, and the mm's counts once it has an anon_vma */
  private faultDone(p: Proc, before: number, out: FaultOutcome, tid: number, vpn: number, flags: number): void {
    if (out !== 'ok') this.faultSignal(tid, vpn, flags, out, `fault gave ${out} in the simulator`);
    if (!before) this.track(p.mm);
  }

  /**
   * The model answers a fault with a signal. A user-mode fault's signal is a result when
   * the recording has the kernel deliver the same one to the task (the `sig` record that
   * follows); a kernel-mode one is -EFAULT to the syscall, which a trace cannot see.
   */
  private faultSignal(tid: number, vpn: number, flags: number, out: 'SIGSEGV' | 'SIGBUS', why: string): void {
    if (flags & FAULT_KERNEL) return this.countUnmodelled(why);
    this.settleSignal(tid);
    this.pendingSignal.set(tid, { out, vpn, why });
  }

  /** the model's signal for tid that no recorded signal matched: counted as before, not modelled */
  private settleSignal(tid: number): void {
    const p = this.pendingSignal.get(tid);
    if (!p) return;
    this.pendingSignal.delete(tid);
    this.countUnmodelled(p.why);
  }

  /** a recorded SIGSEGV/SIGBUS: the model must have faulted there too */
  private signal(tid: number, signo: number, code: number): void {
    const name = signo === 11 ? 'SIGSEGV' : signo === 7 ? 'SIGBUS' : `signal ${signo}`;
    const p = this.pendingSignal.get(tid);
    this.pendingSignal.delete(tid);
    const info = this.mmOf(tid);
    if (p && p.out === name) {
      if (info) info.report.signals++;
      return;
    }
    this.differ(info?.pid ?? tid, `${name} (si_code ${code}) delivered to task ${tid}: the simulator ${p ? `gave ${p.out} at 0x${(p.vpn * PAGE).toString(16)}` : 'did not fault'}`);
    if (p) this.countUnmodelled(p.why);
  }

  private applyOne(r: TraceRecord, line: number): void {
    this.line = line;
    const tid = r[1];
    const eng = this.k.eng;
    eng.setTask(tid % 65536);
    const res = eng.syscall(`trace:${r[0]}`, () => this.body(r));
    if (!res.ok) throw res.error instanceof Error ? res.error : new Error(String(res.error));
  }

  /** One fault record: the access, as the recording's task made it. */
  private *faultBody(tid: number, vpn: number, flags: number): KGen<number> {
    const k = this.k;
    const p = this.procs.get(tid);
    if (!p) return 0;
    this.faults++;
    let vma = k.vmaAt(p.mm, vpn);
    if (!vma) {
      vma = (yield* expandDownwards(k, p.mm, vpn)) ?? undefined;
      if (!vma) {
        // a null check, a wild pointer: the kernel's answer is SIGSEGV (bad_area)
        this.faultSignal(tid, vpn, flags, 'SIGSEGV', 'fault outside every VMA');
        return 0;
      }
    }
    if (vma.file) {
      if (this.memfds.has(vma.file) && vma.flags & VM_SHARED) return yield* this.shmemFault(p, vpn, flags);
      this.countUnmodelled('fault on a file or special mapping (page cache not modelled)');
      return 0;
    }
    const before = vma.anonVma;
    this.faultDone(p, before, yield* userAccess(k, p.mm, vpn, (flags & FAULT_WRITE) !== 0), tid, vpn, flags);
    return 0;
  }

  /**
   * A fault on a shared memfd mapping: shmem_fault() in the model, the memfd's page at
   * that offset (one folio shared by every mapping of the object, no anon_vma).
   */
  private *shmemFault(p: Proc, vpn: number, flags: number): KGen<number> {
    const out = yield* userAccess(this.k, p.mm, vpn, (flags & FAULT_WRITE) !== 0);
    if (out !== 'ok') this.countUnmodelled(`fault gave ${out} in the simulator`);
    return 0;
  }

  /** one record as kernel code (internal: the syscall bodies call it) */
  *body(r: TraceRecord): KGen<number> {
    const k = this.k;
    switch (r[0]) {
      case 'f':
        return yield* this.faultBody(r[1], r[2], r[3]);
      case 'mmap': {
        const [, tid, addr, len, prot, flags64, , off, ret, file] = r;
        const p = this.procs.get(tid);
        if (!p) return 0;
        const flags = low32(flags64);
        const anon = (flags & MAP_ANONYMOUS) !== 0 || file === 0;
        const args = mmapArgs(BigInt(addr), BigInt(len), BigInt(flags64), BigInt(off));
        if (ret < 0) {
          // a file mapping's fd checks come before most byte checks: only anonymous failures compare
          if (anon) this.byteChecked(p.mm, 'mmap', ret, args);
          return 0;
        }
        if (this.byteChecked(p.mm, `mmap at 0x${ret.toString(16)}`, ret, args) || typeof args === 'number') return 0;
        if (flags & 0x40000 /* MAP_HUGETLB */) {
          this.countUnmodelled('MAP_HUGETLB');
          return 0;
        }
        const vpn = ret / PAGE;
        const pages = args.pages;
        // MAP_SHARED (1) or MAP_SHARED_VALIDATE (3); MAP_PRIVATE is 2
        const shared = (flags & 0x03) === MAP_SHARED || (flags & 0x03) === 0x03;
        const got = yield* doMmap(k, p.mm, vpn, pages, {
          prot: low32(prot) & 7,
          shared,
          fixed: (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) === MAP_FIXED,
          noreserve: (flags & MAP_NORESERVE) !== 0,
          file: anon ? 0 : this.fileId(`f${file}`),
          pgoff: anon ? undefined : args.pgoff,
          // MAP_LOCKED: calc_vm_flag_bits() gives VM_LOCKED, and doMmap populates it as vm_mmap_pgoff does
          vmFlags: (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) | (flags & MAP_STACK ? VM_NOHUGEPAGE : 0) | (flags & MAP_LOCKED ? VM_LOCKED : 0),
        });
        if (got !== vpn) this.differ(p.mm, `mmap at 0x${ret.toString(16)}: the simulator gave ${got < 0 ? `error ${got}` : `0x${(got * PAGE).toString(16)}`}`);
        else if (flags & MAP_POPULATE && !(flags & MAP_LOCKED)) yield* this.populate(p.mm, vpn, pages, (low32(prot) & 2) !== 0 && !shared);
        this.track(p.mm);
        return 0;
      }
      case 'munmap': {
        const [, tid, addr, len, ret] = r;
        const p = this.procs.get(tid);
        if (!p) return 0;
        const args = munmapArgs(BigInt(addr), BigInt(len));
        if (this.byteChecked(p.mm, `munmap(0x${addr.toString(16)})`, ret, args) || typeof args === 'number') return 0;
        const got = yield* doMunmap(k, p.mm, args.vpn, args.pages);
        if (got < 0) this.differ(p.mm, `munmap(0x${addr.toString(16)}) failed in the simulator (${got})`);
        this.track(p.mm);
        return 0;
      }
      case 'mprotect': {
        const [, tid, addr, len, prot, ret] = r;
        const p = this.procs.get(tid);
        if (!p) return 0;
        const args = mprotectArgs(BigInt(addr), BigInt(len), BigInt(prot));
        if (this.byteChecked(p.mm, `mprotect(0x${addr.toString(16)})`, ret, args) || typeof args === 'number') return 0;
        const got = yield* doMprotect(k, p.mm, args.vpn, args.pages, args.prot);
        if (got < 0) this.differ(p.mm, `mprotect(0x${addr.toString(16)}) failed in the simulator (${got})`);
        this.track(p.mm);
        return 0;
      }
      case 'madvise': {
        const [, tid, addr, len, advice, ret] = r;
        const p = this.procs.get(tid);
        if (!p) return 0;
        const populate = advice === MADV_POPULATE_READ || advice === MADV_POPULATE_WRITE;
        const name = ADVICE_BY_NUMBER.get(advice);
        // madvise_behavior_valid() comes first: only advice the model knows compares
        const args = madviseArgs(BigInt(addr), BigInt(len));
        if ((ret < 0 && !populate && !name) || this.byteChecked(p.mm, `madvise(0x${addr.toString(16)})`, ret, args) || typeof args === 'number') return 0;
        const pages = args.pages;
        if (populate) {
          // populate without faults: perf sees no page_fault_* for these, the model faults them in
          yield* this.populate(p.mm, args.vpn, pages, advice === MADV_POPULATE_WRITE);
          return 0;
        }
        if (!name) {
          this.countUnmodelled(`madvise advice ${advice} (no effect on the modelled state)`);
          return 0;
        }
        const got = yield* doMadvise(k, p.mm, args.vpn, pages, name);
        if (got < 0) this.differ(p.mm, `madvise(0x${addr.toString(16)}, ${name}) failed in the simulator (${got})`);
        this.track(p.mm);
        return 0;
      }
      case 'mremap': {
        const [, tid, addr, oldLen, newLen, flags64, newAddr, ret] = r;
        const p = this.procs.get(tid);
        if (!p) return 0;
        const args = mremapArgs(BigInt(addr), BigInt(oldLen), BigInt(newLen), BigInt(flags64), BigInt(newAddr));
        if (this.byteChecked(p.mm, `mremap(0x${addr.toString(16)})`, ret, args) || typeof args === 'number') return 0;
        const flags = args.flags;
        const moves = ret !== addr || (flags & MREMAP_FLAG_BITS.FIXED) !== 0;
        let f = flags;
        // the new_addr argument as passed (the do_mremap span shows it; ignored unless FIXED/DONTUNMAP)
        let to = typeof newAddr === 'number' ? newAddr : Number(newAddr >> 12n) * PAGE;
        // a non-FIXED move takes the recorded address: MREMAP_FIXED there (nothing is mapped there)
        if (ret !== addr && !(flags & MREMAP_FLAG_BITS.FIXED)) {
          f |= MREMAP_FLAG_BITS.FIXED | MREMAP_FLAG_BITS.MAYMOVE;
          to = ret;
        }
        const info = this.mms.get(p.mm)!;
        const verdict = moves ? moveVerdict(k, p.mm, args.addr, args.oldLen) : 'exclusive';
        const relocatedBefore = info.report.relocated;
        if (moves) {
          info.report.moves++;
          if (this.policy === 'relocate') f |= MREMAP_FLAG_BITS.RELOCATE_ANON;
          this.moving = info.report;
        }
        const got = yield* doMremap(k, p.mm, args.addr, args.oldLen, args.newLen, f, to / PAGE);
        this.moving = null;
        this.inRelocation = false;
        if (moves && this.policy !== 'stock' && info.report.relocated === relocatedBefore && !info.report.fallbacks['walk-failed']) {
          // not relocated: why (an exclusive range that was not relocated merged at its old pgoff)
          const reason = verdict === 'exclusive' ? 'merges-without-relocating' : verdict;
          info.report.fallbacks[reason] = (info.report.fallbacks[reason] ?? 0) + 1;
        }
        if (got !== ret / PAGE) this.differ(p.mm, `mremap(0x${addr.toString(16)}) returned 0x${ret.toString(16)}, the simulator ${got < 0 ? `error ${got}` : `0x${(got * PAGE).toString(16)}`}`);
        this.track(p.mm);
        return 0;
      }
      case 'brk': {
        const [, tid, , ret] = r;
        const p = this.procs.get(tid);
        if (!p) return 0;
        const info = this.mms.get(p.mm)!;
        const oldPage = Math.ceil(info.brk / PAGE);
        const newPage = Math.ceil(ret / PAGE);
        if (newPage > oldPage) {
          const got = yield* doBrkFlags(k, p.mm, oldPage, newPage - oldPage);
          if (got < 0) this.differ(p.mm, `brk(0x${ret.toString(16)}) failed in the simulator (${got})`);
        } else if (newPage < oldPage) yield* brkShrink(k, p.mm, newPage, oldPage);
        info.brk = ret;
        this.track(p.mm);
        return 0;
      }
      case 'fork': {
        const [, parent, child, , sharedVm] = r;
        const p = this.procs.get(parent);
        if (!p) return 0;
        const info = this.mms.get(p.mm)!;
        if (sharedVm) {
          info.users++;
          this.procs.set(child, { mm: p.mm });
          return 0;
        }
        const mm = k.eng.ids.mm++;
        k.eng.emit(E.MmCreate, mm, p.mm);
        yield* dupMmap(k, p.mm, mm);
        this.newMm(mm, child, info.brk, info.report.command, 0);
        this.procs.set(child, { mm });
        this.track(mm);
        return 0;
      }
      case 'exec': {
        const [, tid, snap] = r;
        yield* this.leave(tid);
        const mm = k.eng.ids.mm++;
        k.eng.emit(E.MmCreate, mm, 0);
        const generation = (this.generations.get(tid) ?? 0) + 1;
        this.generations.set(tid, generation);
        this.newMm(mm, tid, snap.startBrk, snap.maps.find((e) => e[4] !== '' && e[5] !== '')?.[5] ?? this.header.command[0] ?? '?', generation);
        this.procs.set(tid, { mm });
        yield* this.buildFromSnapshot(mm, snap, tid);
        this.track(mm);
        return 0;
      }
      case 'snap': {
        const [, tid, snap] = r;
        const p = this.procs.get(tid);
        if (!p) return 0;
        this.onSnapshot?.(this.k, p.mm, snap);
        this.compare(p.mm, snap);
        return 0;
      }
      case 'exit':
        this.settleSignal(r[1]);
        yield* this.leave(r[1]);
        return 0;
      case 'memfd':
        this.memfds.add(this.fileId(`f${r[2]}`));
        return 0;
      case 'shmget':
        this.shmget(r[5], r[3]);
        return 0;
      case 'shmat':
        return yield* this.shmat(r[1], r[2], r[4], r[5]);
      case 'shmdt':
        return yield* this.shmdt(r[1], r[2], r[3]);
      case 'mlock':
      case 'munlock':
      case 'mlockall':
      case 'munlockall':
      case 'mseal':
      case 'anon_name':
      case 'mbind':
        return yield* this.vmaFlagBody(r);
      case 'gup': {
        // pages a syscall filled or read through GUP (no fault exception to record)
        const [, tid, addr, len, write] = r;
        const p = this.procs.get(tid);
        if (!p || len <= 0) return 0;
        const first = Math.floor(addr / PAGE);
        yield* getUserPages(k, p.mm, first, Math.ceil((addr + len) / PAGE) - first, write === 1);
        this.track(p.mm);
        return 0;
      }
      case 'sig':
        this.signal(r[1], r[2], r[3]);
        return 0;
      case 'end':
        // apply() does not run it
        return 0;
    }
  }

  /** newseg() (ipc/shm.c): a segment is a shmem file of its size; shmget() of an existing key returns its shmid */
  private shmget(shmid: number, size: U64): void {
    if (shmid < 0 || this.shmSegs.has(shmid)) return;
    const obj = this.fileId(`shm${shmid}`);
    const pages = Math.ceil(u64Number(size) / PAGE);
    this.memfds.add(obj);
    // shm_vm_ops has no ->map_pages: no fault-around
    this.k.noFaultAround.add(obj);
    this.shmSegs.set(shmid, { obj, pages });
    this.shmPages.set(obj, pages);
  }

  /** do_shmat(): a MAP_SHARED mapping of the segment's file at the address the kernel returned */
  private *shmat(tid: number, shmid: number, shmflg: number, ret: number): KGen<number> {
    const p = this.procs.get(tid);
    if (!p || ret < 0) return 0;
    const seg = this.shmSegs.get(shmid);
    if (!seg || !Number.isFinite(seg.pages)) {
      this.countUnmodelled('shmat() of a SysV segment made outside the recording');
      return 0;
    }
    const vpn = ret / PAGE;
    const got = yield* doMmap(this.k, p.mm, vpn, seg.pages, {
      prot: shmflg & SHM_RDONLY ? 1 : 3 | (shmflg & SHM_EXEC ? 4 : 0),
      shared: true,
      fixed: (shmflg & SHM_REMAP) !== 0,
      noreserve: false,
      file: seg.obj,
      pgoff: 0,
    });
    if (got !== vpn) this.differ(p.mm, `shmat at 0x${ret.toString(16)}: the simulator gave ${got < 0 ? `error ${got}` : `0x${(got * PAGE).toString(16)}`}`);
    this.track(p.mm);
    return 0;
  }

  /** do_shmdt(): the segment's mapping that starts at addr (pgoff 0), its whole size */
  private *shmdt(tid: number, addr: U64, ret: number): KGen<number> {
    const p = this.procs.get(tid);
    if (!p || ret < 0 || typeof addr !== 'number') return 0;
    const vma = this.k.vmaAt(p.mm, addr / PAGE);
    const pages = vma && vma.start === addr / PAGE && vma.pgoff === 0 ? this.shmPages.get(vma.file) : undefined;
    if (pages === undefined) {
      this.countUnmodelled('shmdt() of a mapping the replay did not attach');
      return 0;
    }
    const got = yield* doMunmap(this.k, p.mm, addr / PAGE, pages);
    if (got < 0) this.differ(p.mm, `shmdt(0x${addr.toString(16)}) failed in the simulator (${got})`);
    this.track(p.mm);
    return 0;
  }

  /** A record of flags.ts: the syscall on the task's mm when it succeeded in the recording */
  private *vmaFlagBody(r: VmaFlagRecord): KGen<number> {
    const p = this.procs.get(r[1]);
    if (!p || (r.at(-1) as number) < 0) return 0;
    const out = yield* replayVmaFlagRecord(this.k, p.mm, r);
    if ('unmodelled' in out) this.countUnmodelled(out.unmodelled);
    else if (out.got < 0) this.differ(p.mm, `${out.what} failed in the simulator (${out.got})`);
    this.track(p.mm);
    return 0;
  }

  private newMm(mm: number, pid: number, brk: number, command: string, generation: number): void {
    const report: ProcessReport = {
      pid,
      command,
      generation,
      name: `${pid} ${command.split('/').pop()} #${generation}`,
      snapshots: 0,
      signals: 0,
      vmas: 0,
      anonVmas: 0,
      avcs: 0,
      peakVmas: 0,
      peakAnonVmas: 0,
      peakAvcs: 0,
      moves: 0,
      relocated: 0,
      fallbacks: {},
      foliosRewritten: 0,
      agree: null,
    };
    this.reports.push(report);
    this.mms.set(mm, { users: 1, brk, pid, report });
  }

  /** End of the trace: processes still alive (no exit recorded) keep their counts as they are. */
  finish(): void {
    this.flushFaults();
    for (const tid of [...this.pendingSignal.keys()]) this.settleSignal(tid);
    for (const mm of this.mms.keys()) this.track(mm, true);
    this.k.eng.setTask(0);
    this.k.eng.close();
  }

  /** a process leaves its mm (exit, or exec replacing it); the last one tears it down */
  private *leave(tid: number): KGen<void> {
    const p = this.procs.get(tid);
    if (!p) return;
    this.procs.delete(tid);
    const info = this.mms.get(p.mm)!;
    if (--info.users > 0) return;
    this.track(p.mm, true);
    yield* exitMmap(this.k, p.mm);
    this.mms.delete(p.mm);
  }

  /** peaks and, at the end, the final counts of an mm */
  private track(mm: number, final = false): void {
    const info = this.mms.get(mm);
    if (!info) return;
    const c = countAnon(this.k, mm);
    const r = info.report;
    r.peakVmas = Math.max(r.peakVmas, c.vmas);
    r.peakAnonVmas = Math.max(r.peakAnonVmas, c.anonVmas);
    r.peakAvcs = Math.max(r.peakAvcs, c.avcs);
    // the end counts are those of the last comparison, when there was one
    if (final && !r.snapshots) {
      r.vmas = c.vmas;
      r.anonVmas = c.anonVmas;
      r.avcs = c.avcs;
    }
  }

  private *populate(mm: number, vpn: number, pages: number, write: boolean): KGen<void> {
    for (let i = 0; i < pages; i++) {
      const v = this.k.vmaAt(mm, vpn + i);
      if (!v || v.file) continue;
      yield* userAccess(this.k, mm, vpn + i, write);
    }
  }

  /** The mm execve() built, from the exec-time snapshot: each VMA as recorded, present anon pages faulted in. */
  private *buildFromSnapshot(mm: number, snap: Snapshot, tid: number): KGen<void> {
    const k = this.k;
    for (const e of snap.maps) {
      const [start, end, perms, pgoff, file, name] = e;
      const anon = isAnonEntry(e);
      const special = !anon && file === '';
      const vmFlags =
        (name === '[stack]' ? VM_GROWSDOWN | VM_ACCOUNT : 0) | (special ? VM_DONTEXPAND | (name.startsWith('[vvar') ? VM_IO | VM_PFNMAP : 0) : 0);
      const got = yield* doMmap(k, mm, start, end - start, {
        prot: protOf(perms),
        shared: perms[3] === 's',
        fixed: true,
        noreserve: false,
        // one struct file per mapped inode per exec (the ELF loader maps a file through one open);
        // a special mapping is its own
        file: anon ? 0 : this.fileId(special ? `special:${tid}:${this.line}:${start}` : `exec:${tid}:${this.line}:${file}`),
        pgoff: anon ? undefined : pgoff,
        vmFlags,
      });
      if (got !== start) this.differ(mm, `exec layout: cannot map 0x${(start * PAGE).toString(16)} (${got})`);
    }
    for (const [first, n] of snap.present) {
      for (let v = first; v < first + n; v++) {
        const vma = k.vmaAt(mm, v);
        if (vma && !vma.file) yield* userAccess(k, mm, v, true);
      }
    }
  }

  /**
   * Compare the simulated mm with a recorded snapshot: VMA ranges and perms, then the
   * present pages of every recorded anonymous VMA; every difference is listed. Under
   * relocate or auto the VMA boundaries are the policy's to change: there the layout is
   * compared address by address (mapped or not, perms) and boundary differences alone
   * are the policy's effect (policyEffects), not a disagreement.
   */
  compare(mm: number, snap: Snapshot): void {
    const info = this.mms.get(mm);
    const k = this.k;
    const vmas = k.mm(mm).vmas.ids().map((id) => k.vma(id));
    const rec = snap.maps;
    const hex = (vpn: number) => '0x' + (vpn * PAGE).toString(16);
    const diffs: string[] = [];
    const sim: Layout = vmas.map((v) => [v.start, v.end, vmaPerms(v.flags)]);
    const real: Layout = rec.map((e) => [e[0], e[1], e[2]]);
    const sameBoundaries = sim.length === real.length && sim.every((v, i) => v[0] === real[i][0] && v[1] === real[i][1] && v[2] === real[i][2]);
    if (!sameBoundaries && this.policy === 'stock') {
      for (const d of layoutDifferences(sim, real, rec)) diffs.push(d);
    } else if (!sameBoundaries) {
      const seen = addressDifferences(sim, real);
      for (const [lo, hi, r, s2] of seen) diffs.push(`${hex(lo)}-${hex(hi)}: recorded ${r ?? 'not mapped'}, simulated ${s2 ?? 'not mapped'}`);
      if (!seen.length)
        this.policyEffects.push(`process ${snap.pid}: ${vmas.length} VMAs where the recording has ${rec.length}, every address mapped with the recorded perms (the ${this.policy} policy's boundaries)`);
    }
    // as runs: a VMA may span 2^35 pages, a snapshot may list 2^24 present ones
    const present = toRuns(snap.present);
    const shared = snap.shared && toRuns(snap.shared);
    const pages = (lo: number, hi: number) => (hi - lo === 1 ? `page ${hex(lo)}` : `pages ${hex(lo)}-${hex(hi)} (${hi - lo})`);
    for (const e of rec) {
      if (!isAnonEntry(e) && !isMemfdEntry(e)) continue;
      const where = `in ${hex(e[0])}-${hex(e[1])}${e[5] ? ' ' + e[5] : ''}`;
      const simPresent = pteRuns(k.mm(mm), e[0], e[1]);
      for (const [lo, hi, recP] of differingRuns(simPresent, present, e[0], e[1], 1000 - diffs.length))
        diffs.push(`${pages(lo, hi)} ${where}: recorded ${recP ? 'present' : 'not present'}, simulated ${recP ? 'not present' : 'present'}`);
      if (!shared) continue;
      // pages present in both: is the frame shared (the zero page, another mapping's) in both?
      for (const [lo, hi, recS] of differingRuns(sharedRuns(k, mm, simPresent, present), shared, e[0], e[1], 1000 - this.sharingDifferences.length)) {
        if (!inRunsAll(present, lo, hi) || !inRunsAll(simPresent, lo, hi)) continue;
        this.sharingDifferences.push(`line ${this.line}: process ${snap.pid}: ${pages(lo, hi)} ${where}: recorded ${recS ? 'shared' : 'exclusive'}, simulated ${recS ? 'exclusive' : 'shared'} (pagemap PM_MMAP_EXCLUSIVE)`);
      }
    }
    if (info) {
      const r = info.report;
      r.agree = r.agree !== false && !diffs.length;
      r.snapshots++;
      const c = countAnon(k, mm);
      r.vmas = c.vmas;
      r.anonVmas = c.anonVmas;
      r.avcs = c.avcs;
    }
    const at = snap.at === 'execve' ? 'at execve' : snap.at === 'periodic' ? 'mid-run (periodic snapshot)' : 'at exit';
    for (const d of diffs) this.differ(mm, `process ${snap.pid} ${at}: ${d}`);
  }
}

/**
 * The simulated pages of `simPresent` also recorded present whose frame pagemap would
 * not call exclusively mapped (pte_to_pagemap_entry: PM_MMAP_EXCLUSIVE when
 * folio_precise_page_mapcount() is 1; the zero page and the huge zero page have none).
 */
function sharedRuns(k: Kernel, mm: number, simPresent: Runs, recPresent: Runs): Runs {
  const out: Runs = [];
  for (const [lo, hi] of simPresent) {
    for (let v = lo; v < hi; v++) {
      if (!inRuns(recPresent, v) || !frameShared(k, mm, v)) continue;
      const last = out[out.length - 1];
      if (last && last[1] === v) last[1] = v + 1;
      else out.push([v, v + 1]);
    }
  }
  return out;
}

function frameShared(k: Kernel, mm: number, vpn: number): boolean {
  const e = pmdEntry(k, mm, vpn);
  let pfn: number;
  if (e && e.kind === 'huge') {
    if (isHugeZeroPmd(e)) return true;
    pfn = e.pfn + (vpn % 512);
  } else {
    const pte = getPte(k, mm, vpn);
    if (isZeroPte(pte)) return true;
    pfn = ptePfn(pte);
  }
  const f = k.eng.pageFolio(pfn);
  return !f || pagePreciseMapcount(f, pfn) !== 1;
}

/** is every page of [lo, hi) in the runs? */
function inRunsAll(r: Runs, lo: number, hi: number): boolean {
  return differingRuns([[lo, hi]], r, lo, hi, 1).length === 0;
}

/** [start, end, perms] of each VMA, in address order */
type Layout = [start: number, end: number, perms: string][];

/** stock: each VMA the simulation and the recording do not both have, in address order */
function layoutDifferences(sim: Layout, real: Layout, rec: MapsEntry[]): string[] {
  const hex = (vpn: number) => '0x' + (vpn * PAGE).toString(16);
  const text = (v: Layout[number] | undefined, name = '') => (v ? `${hex(v[0])}-${hex(v[1])} ${v[2]}${name ? ' ' + name : ''}` : '(none)');
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < sim.length || j < real.length) {
    const s = sim[i];
    const r = real[j];
    if (s && r && s[0] === r[0] && s[1] === r[1] && s[2] === r[2]) {
      i++;
      j++;
    } else if (s && r && s[0] === r[0]) out.push(`VMA ${j}: recorded ${text(r, rec[j][5])}, simulated ${text(s)}`), i++, j++;
    else if (r && (!s || r[0] < s[0])) out.push(`VMA ${j}: recorded ${text(r, rec[j][5])}, simulated ${text(s)}`), j++;
    else out.push(`VMA ${j}: recorded ${text(r, r ? rec[j][5] : '')}, simulated ${text(s)}`), i++;
  }
  return out;
}

/**
 * What a program sees at every address, VMA boundaries aside: the runs of pages where
 * the simulation and the recording differ in being mapped or in their perms, as
 * [first, end, recorded perms, simulated perms] (undefined: not mapped).
 */
function addressDifferences(sim: Layout, real: Layout): [number, number, string | undefined, string | undefined][] {
  const edges = [...new Set([...sim, ...real].flatMap((v) => [v[0], v[1]]))].sort((x, y) => x - y);
  const out: [number, number, string | undefined, string | undefined][] = [];
  let i = 0;
  let j = 0;
  for (let e = 0; e + 1 < edges.length; e++) {
    const lo = edges[e];
    while (i < sim.length && sim[i][1] <= lo) i++;
    while (j < real.length && real[j][1] <= lo) j++;
    const s = i < sim.length && sim[i][0] <= lo ? sim[i][2] : undefined;
    const r = j < real.length && real[j][0] <= lo ? real[j][2] : undefined;
    if (s === r) continue;
    const last = out[out.length - 1];
    if (last && last[1] === lo && last[2] === r && last[3] === s) last[1] = edges[e + 1];
    else out.push([lo, edges[e + 1], r, s]);
  }
  return out;
}

/** Replay a whole trace file: the report (the caller prints it). */
export async function replayTrace(
  path: string,
  opts: ReplayOptions & { onProgress?: (records: number) => void } = {},
): Promise<{ report: TraceReport; replayer: Replayer }> {
  let rp: Replayer | null = null;
  let records = 0;
  const t0 = process.hrtime.bigint();
  const progress = opts.onProgress;
  scanTrace(path, {
    header: (h) => {
      rp = new Replayer(h, opts);
    },
    fault: (tid, vpn, flags, line) => {
      rp!.fault(tid, vpn, flags, line);
      if (++records % 65536 === 0) progress?.(records);
    },
    record: (rec, line) => {
      rp!.apply(rec, line);
      if (++records % 65536 === 0) progress?.(records);
    },
  });
  const r = rp as Replayer | null;
  if (!r) throw new Error(`${path}: no header`); // scanTrace refuses a file without one
  r.finish();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const events = r.k.eng.log.length;
  const all = r.differences.map((d) => `line ${d.line}: ${d.what}`);
  const report: TraceReport = {
    format: TRACE_REPORT_FORMAT,
    trace: path,
    policy: r.policy,
    agree: r.differences.length === 0,
    firstDifference: all[0] ?? null,
    differences: all,
    policyEffects: r.policyEffects,
    sharingDifferences: r.sharingDifferences,
    events,
    replayEventsPerSec: Math.round(events / secs),
    records,
    faults: r.faults,
    faultsPerSec: Math.round(r.faults / secs),
    unmodelled: Object.fromEntries([...r.unmodelled.entries()].sort()),
    processes: r.reports,
  };
  return { report, replayer: r };
}
