/**
 * `perf script -F pid,tid,event,trace` lines of the tracepoints `mmsim record` enables,
 * turned into mmsim-trace/1 records. The converter follows the process tree (only
 * descendants of the traced command), pairs sys_enter with sys_exit per thread, gives
 * every open file description an identity (the kernel's merge compares vm_file, the
 * struct file, not the inode: two opens of one file never merge), and drops the faults
 * the kernel takes while execve() builds the new mm (the exec snapshot has their result).
 */
import { FAULT_EXEC, FAULT_KERNEL, FAULT_WRITE, low32, type Snapshot, type TraceRecord, type U64 } from './format.js';
import { rawSyscall } from './rawsys.js';
import type { GupCall, TracerLog } from './tracerlog.js';
import { vmaFlagRecord } from './flags.js';

const O_DIRECT = 0x4000;

/** The tracepoints: syscall pairs, faults, process lifetime. */
export const MM_SYSCALLS = ['mmap', 'munmap', 'mremap', 'mprotect', 'pkey_mprotect', 'madvise', 'brk'] as const;
/** fd-table syscalls, followed for file identities */
export const FD_SYSCALLS = ['open', 'openat', 'openat2', 'creat', 'memfd_create', 'close', 'dup', 'dup2', 'dup3', 'fcntl'] as const;
export const EXEC_SYSCALLS = ['execve', 'execveat'] as const;
/** SysV shared memory: segments (shmget) and their mappings (shmat, shmdt) */
export const SHM_SYSCALLS = ['shmget', 'shmat', 'shmdt'] as const;

/** syscalls that change VMA flags or merge attributes (split and merge VMAs): flags.ts turns them into records */
export const VMA_FLAG_SYSCALLS = ['mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'mseal', 'mbind', 'prctl'] as const;

/** calls that fill or read pages through GUP without a fault exception (gupCall) */
export const GUP_SYSCALLS = ['read', 'pread64', 'process_vm_readv', 'process_vm_writev', 'vmsplice'] as const;

export function perfEvents(): string[] {
  const ev: string[] = [];
  for (const s of [...MM_SYSCALLS, ...VMA_FLAG_SYSCALLS, ...FD_SYSCALLS, ...EXEC_SYSCALLS, ...SHM_SYSCALLS, ...GUP_SYSCALLS]) ev.push(`syscalls:sys_enter_${s}`, `syscalls:sys_exit_${s}`);
  ev.push('exceptions:page_fault_user', 'exceptions:page_fault_kernel', 'sched:sched_process_fork', 'sched:sched_process_exec', 'sched:sched_process_exit', 'signal:signal_deliver');
  return ev;
}

const LINE = /^\s*(\d+)\/(\d+)\s+([a-z_]+):([a-z0-9_]+):\s*(.*)$/;
const TWO64 = 2n ** 64n;

/** a hex register value as perf prints it, as a signed 64-bit number (syscall returns: -errno) */
function signed(hex: string): number {
  let v = BigInt(hex);
  if (v >= TWO64 / 2n) v -= TWO64;
  return Number(v);
}
/** an unsigned long argument, exact: a number when safe, else a bigint (mremap's new_addr ~0UL) */
function u64(hex: string): U64 {
  const v = BigInt(hex);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
/** an int argument printed as 0x%08lx of a sign-extended or 32-bit value (fd -1: 0xffffffff) */
function int32(hex: string): number {
  const v = Number(BigInt(hex) & 0xffffffffn);
  return v >= 2 ** 31 ? v - 2 ** 32 : v;
}

/** "addr: 0x00000000, len: 0x00002000, ..." -> hex strings in order */
function sysArgs(s: string): string[] {
  const out: string[] = [];
  for (const part of s.split(', ')) {
    const i = part.indexOf(': ');
    out.push(i < 0 ? part : part.slice(i + 2));
  }
  return out;
}

export interface ConvertStats {
  lines: number;
  records: number;
  faults: number;
  syscalls: number;
  /** perf's LOST records: the trace is incomplete */
  lost: number;
  /** lines perf printed that are not tracepoint samples */
  skipped: number;
}

type FdTable = Map<number, number>;

export class PerfConverter {
  readonly stats: ConvertStats = { lines: 0, records: 0, faults: 0, syscalls: 0, lost: 0, skipped: 0 };
  private tracked = new Set<number>();
  private inExec = new Set<number>();
  private pending = new Map<number, string[]>();
  private fds = new Map<number, FdTable>();
  private nextFile = 1;
  private execSeen = new Map<number, number>();
  private cloneSeen = new Map<number, number>();
  private gupSeen = new Map<number, number>();
  private round = 0;
  private gupPending = new Map<number, GupCall>();
  /** open file descriptions with O_DIRECT */
  private direct = new Set<number>();

  /** tasks known to be threads of a traced process though the tracer did not see them start (record --pid) */
  private threadsOf = new Map<number, number>();

  constructor(
    private readonly tlog: TracerLog,
    private readonly emit: (r: TraceRecord) => void,
  ) {}

  /**
   * `mmsim record --pid`: a running process joins the trace as if it had just exec'd into
   * `snap` (its layout at attach), its other threads as clones sharing its mm. `later`:
   * threads it had at detach, whose start perf saw but no tracer did.
   */
  attach(pid: number, threads: readonly number[], snap: Snapshot, later: readonly number[] = []): void {
    this.tracked.add(pid);
    this.out(['exec', pid, snap]);
    for (const t of threads) {
      if (t === pid) continue;
      this.tracked.add(t);
      this.fds.set(t, this.table(pid));
      this.out(['fork', pid, t, 'clone', 1]);
    }
    for (const t of later) this.threadsOf.set(t, pid);
  }

  /** `mmsim record --pid` detached: the process's layout then, compared by the replay (it did not exit) */
  detach(pid: number, snap: Snapshot): void {
    if (this.tracked.has(pid)) this.out(['snap', pid, snap]);
  }

  private out(r: TraceRecord): void {
    this.stats.records++;
    this.emit(r);
  }

  private table(tid: number): FdTable {
    let t = this.fds.get(tid);
    if (!t) this.fds.set(tid, (t = new Map()));
    return t;
  }

  private nth<T>(m: Map<number, T[]>, seen: Map<number, number>, tid: number): T | undefined {
    const i = seen.get(tid) ?? 0;
    seen.set(tid, i + 1);
    return m.get(tid)?.[i];
  }

  line(text: string): void {
    this.stats.lines++;
    const m = LINE.exec(text);
    if (!m) {
      if (/LOST/.test(text)) this.stats.lost++;
      else this.stats.skipped++;
      return;
    }
    const tid = Number(m[2]);
    let sys = m[3];
    let name = m[4];
    let rest = m[5];
    if (sys === 'raw_syscalls') {
      const named = rawSyscall(name, rest);
      if (!named) return;
      [sys, name, rest] = ['syscalls', ...named];
    }
    if (sys === 'sched') return this.sched(tid, name, rest);
    if (tid === this.tlog.tracer && name === 'sys_enter_madvise') return this.marked();
    if (!this.tracked.has(tid)) return;
    if (sys === 'signal') return this.signal(tid, rest);
    if (sys === 'exceptions') {
      if (this.inExec.has(tid)) return;
      const am = /address=0x([0-9a-f]+) ip=\S+ error_code=0x([0-9a-f]+)/.exec(rest);
      if (!am) return;
      const addr = parseInt(am[1], 16);
      if (addr >= 2 ** 47) return;
      const code = parseInt(am[2], 16);
      const flags = (code & 2 ? FAULT_WRITE : 0) | (name === 'page_fault_kernel' ? FAULT_KERNEL : 0) | (code & 16 ? FAULT_EXEC : 0);
      this.stats.faults++;
      this.out(['f', tid, Math.floor(addr / 4096), flags]);
      return;
    }
    if (sys !== 'syscalls') return;
    if (name.startsWith('sys_enter_')) {
      const call = name.slice(10);
      if (call === 'execve' || call === 'execveat') this.inExec.add(tid);
      else if (call === 'process_vm_readv' || call === 'process_vm_writev' || call === 'vmsplice') {
        const g = this.nth(this.tlog.gups, this.gupSeen, tid);
        if (g) this.gupPending.set(tid, g);
      }
      this.pending.set(tid, [call, ...sysArgs(rest)]);
      return;
    }
    const call = name.slice(9);
    const p = this.pending.get(tid);
    this.pending.delete(tid);
    if (call === 'execve' || call === 'execveat') {
      this.inExec.delete(tid);
      return;
    }
    if (!p || p[0] !== call) return; // the enter happened before tracking began
    this.syscall(tid, call, p.slice(1), signed(rest.trim()));
  }

  private syscall(tid: number, call: string, a: string[], ret: number): void {
    const fds = this.table(tid);
    const h = (i: number) => u64(a[i]);
    switch (call) {
      case 'mmap': {
        const fd = int32(a[4]);
        let file = 0;
        const flags = h(3);
        if (!(BigInt(a[3]) & 0x20n) /* MAP_ANONYMOUS */ && fd >= 0) {
          file = fds.get(fd) ?? 0;
          if (!file) fds.set(fd, (file = this.nextFile++)); // opened before tracking or by an untraced call
        }
        this.stats.syscalls++;
        this.out(['mmap', tid, h(0), h(1), h(2), flags, fd, h(5), ret, file]);
        return;
      }
      case 'munmap':
        this.stats.syscalls++;
        this.out(['munmap', tid, h(0), h(1), ret]);
        return;
      case 'mremap':
        this.stats.syscalls++;
        this.out(['mremap', tid, h(0), h(1), h(2), h(3), h(4), ret]);
        return;
      case 'mprotect':
      case 'pkey_mprotect':
        this.stats.syscalls++;
        this.out(['mprotect', tid, h(0), h(1), h(2), ret]);
        return;
      case 'madvise':
        this.stats.syscalls++;
        this.out(['madvise', tid, h(0), h(1), int32(a[2]), ret]);
        return;
      case 'brk':
        this.stats.syscalls++;
        this.out(['brk', tid, h(0), ret]);
        return;
      case 'shmget':
        this.stats.syscalls++;
        this.out(['shmget', tid, int32(a[0]), h(1), int32(a[2]), ret]);
        return;
      case 'shmat':
        this.stats.syscalls++;
        this.out(['shmat', tid, int32(a[0]), h(1), int32(a[2]), ret]);
        return;
      case 'shmdt':
        this.stats.syscalls++;
        this.out(['shmdt', tid, h(0), ret]);
        return;
      case 'read':
      case 'pread64':
      case 'process_vm_readv':
      case 'process_vm_writev':
      case 'vmsplice':
        return this.gupCall(tid, call, fds, a, ret);
      case 'close':
        if (ret === 0) fds.delete(int32(a[0]));
        return;
      case 'mlock':
      case 'mlock2':
      case 'munlock':
      case 'mlockall':
      case 'munlockall':
      case 'mseal':
      case 'mbind':
      case 'prctl': {
        const r = vmaFlagRecord(tid, call, a, ret);
        if (r) {
          this.stats.syscalls++;
          this.out(r);
        }
        return;
      }
      case 'dup':
      case 'dup2':
      case 'dup3':
        if (ret >= 0) this.dupFd(fds, int32(a[0]), ret);
        return;
      case 'fcntl': {
        const cmd = int32(a[1]);
        if ((cmd === 0 || cmd === 1030) && ret >= 0) this.dupFd(fds, int32(a[0]), ret); // F_DUPFD, F_DUPFD_CLOEXEC
        if (cmd === 4 && ret >= 0) this.setDirect(fds.get(int32(a[0])), h(2)); // F_SETFL
        return;
      }
      default:
        // open, openat, openat2, creat, memfd_create: a new open file description
        if (ret >= 0) {
          const id = this.nextFile++;
          fds.set(ret, id);
          this.setDirect(id, call === 'open' ? h(1) : call === 'openat' ? h(2) : 0);
          // a memfd is shmem: the replay models its pages (shmem_fault)
          if (call === 'memfd_create') this.out(['memfd', tid, id]);
        }
    }
  }

  /** an open file description's O_DIRECT, from open/openat's flags or F_SETFL (openat2's are behind a pointer) */
  private setDirect(file: number | undefined, flags: U64): void {
    if (file === undefined) return;
    if (low32(flags) & O_DIRECT) this.direct.add(file);
    else this.direct.delete(file);
  }

  /**
   * Calls that make pages present through GUP, which takes no fault exception
   * (mm/gup.c __get_user_pages -> faultin_page): a read of an O_DIRECT file DMAs into the
   * buffer's pages (pinned with FOLL_WRITE), process_vm_writev / _readv pin the target's
   * pages of its remote iovecs (the helper read them), vmsplice pins the caller's. Only
   * the bytes the call reports done are counted.
   */
  private gupCall(tid: number, call: string, fds: FdTable, a: string[], ret: number): void {
    if (ret <= 0) {
      this.gupPending.delete(tid);
      return;
    }
    if (call === 'read' || call === 'pread64') {
      const file = fds.get(int32(a[0]));
      if (file !== undefined && this.direct.has(file)) this.out(['gup', tid, Number(BigInt(a[1])), ret, 1]);
      return;
    }
    const g = this.gupPending.get(tid);
    this.gupPending.delete(tid);
    if (!g || !this.tracked.has(g.target)) return;
    let left = ret;
    for (const [base, len] of g.iovs) {
      if (left <= 0) break;
      const n = Math.min(len, left);
      left -= n;
      if (n > 0) this.out(['gup', g.target, base, n, g.write]);
    }
  }

  /** the helper's marker call: the snapshots it read after it go here (tracer.c marker()) */
  private marked(): void {
    for (const snap of this.tlog.marked[this.round++] ?? []) if (this.tracked.has(snap.pid)) this.out(['snap', snap.pid, snap]);
  }

  /** signal:signal_deliver of a SIGSEGV or SIGBUS: the kernel's answer to a fault (replay checks the model's) */
  private signal(tid: number, rest: string): void {
    const m = /sig=(\d+) errno=-?\d+ code=(-?\d+)/.exec(rest);
    if (!m) return;
    const sig = Number(m[1]);
    if (sig === 11 || sig === 7) this.out(['sig', tid, sig, Number(m[2])]);
  }

  private dupFd(fds: FdTable, from: number, to: number): void {
    let id = fds.get(from);
    if (!id) fds.set(from, (id = this.nextFile++));
    fds.set(to, id);
  }

  private sched(tid: number, name: string, rest: string): void {
    if (name === 'sched_process_fork') {
      const m = /pid=(\d+) child_comm=.* child_pid=(\d+)$/.exec(rest);
      if (!m) return;
      const parent = Number(m[1]);
      const child = Number(m[2]);
      if (!this.tracked.has(parent)) return;
      const c =
        this.nth(this.tlog.clones, this.cloneSeen, child) ??
        (this.threadsOf.has(child) ? { parent, kind: 'clone' as const, sharedVm: 1 as const } : { parent, kind: 'fork' as const, sharedVm: 0 as const });
      this.tracked.add(child);
      // threads share the fd table (CLONE_FILES goes with CLONE_VM|CLONE_THREAD); forks copy it
      const pt = this.table(parent);
      this.fds.set(child, c.kind === 'clone' && c.sharedVm ? pt : new Map(pt));
      this.out(['fork', parent, child, c.kind, c.sharedVm]);
    } else if (name === 'sched_process_exec') {
      const m = / pid=(\d+) old_pid=(\d+)$/.exec(rest);
      if (!m) return;
      const pid = Number(m[1]);
      if (!this.tracked.has(pid) && pid !== this.tlog.root) return;
      const snap = this.nth(this.tlog.execs, this.execSeen, pid);
      if (!snap) return;
      this.tracked.add(pid);
      this.inExec.delete(pid);
      // exec unshares the fd table; CLOEXEC fds close (new opens get new identities anyway)
      this.fds.set(pid, new Map(this.table(pid)));
      this.out(['exec', pid, snap]);
    } else if (name === 'sched_process_exit') {
      if (!this.tracked.has(tid)) return;
      this.out(['exit', tid]);
      this.tracked.delete(tid);
      this.fds.delete(tid);
    }
  }
}
