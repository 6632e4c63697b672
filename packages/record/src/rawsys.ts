/**
 * The syscalls through two tracepoints instead of 38: raw_syscalls:sys_enter/sys_exit
 * with a tracefs filter on the syscall number, in place of syscalls:sys_enter_X and
 * sys_exit_X for each X.
 *
 * Why: perf tears a tracepoint event down with perf_trace_event_unreg(), which waits
 * for tracepoint_synchronize_unregister() (an SRCU and an RCU grace period) once per
 * tracepoint. With 43 tracepoints that was 2-4 s of every `mmsim record`, however short
 * the command. Seven tracepoints pay it seven times.
 *
 * perf prints `NR 9 (0, 2000, 3, 22, ffffffff, 0)` and `NR 9 = 139958765428736`; the
 * per-syscall tracepoints printed the same register values as `addr: 0x0, ...` and
 * `0x7f4a...`. rawSyscall() turns the first into the second, so PerfConverter and the
 * traces it writes do not change. x86-64 only (the numbers are its syscall table);
 * elsewhere the per-syscall tracepoints stay. A 32-bit (ia32) program's syscalls come
 * with the ia32 numbers through raw_syscalls: recording one is not supported.
 */
import type { EXEC_SYSCALLS, FD_SYSCALLS, GUP_SYSCALLS, MM_SYSCALLS, SHM_SYSCALLS, VMA_FLAG_SYSCALLS } from './perf.js';

/** arch/x86/entry/syscalls/syscall_64.tbl: the syscalls PerfConverter follows */
type Followed = typeof MM_SYSCALLS | typeof FD_SYSCALLS | typeof EXEC_SYSCALLS | typeof VMA_FLAG_SYSCALLS | typeof SHM_SYSCALLS | typeof GUP_SYSCALLS;
const X86_64: Record<Followed[number], number> = {
  mmap: 9,
  munmap: 11,
  mremap: 25,
  mprotect: 10,
  pkey_mprotect: 329,
  madvise: 28,
  brk: 12,
  open: 2,
  openat: 257,
  openat2: 437,
  creat: 85,
  memfd_create: 319,
  close: 3,
  dup: 32,
  dup2: 33,
  dup3: 292,
  fcntl: 72,
  execve: 59,
  execveat: 322,
  mlock: 149,
  munlock: 150,
  mlockall: 151,
  munlockall: 152,
  mlock2: 325,
  mseal: 462,
  mbind: 237,
  prctl: 157,
  shmget: 29,
  shmat: 30,
  shmdt: 67,
  read: 0,
  pread64: 17,
  process_vm_readv: 310,
  process_vm_writev: 311,
  vmsplice: 278,
};

const BY_NR = new Map<number, string>(Object.entries(X86_64).map(([name, nr]) => [nr, name]));

/** raw_syscalls is used here (an x86-64 kernel: the numbers above are its own) */
export function rawSyscallsHere(arch: string = process.arch): boolean {
  return arch === 'x64';
}

/** perf record's event arguments for `events` (perfEvents()): `-e ... [--filter ...]` */
export function perfEventArgs(events: readonly string[], raw: boolean = rawSyscallsHere()): string[] {
  if (!raw) return ['-e', events.join(',')];
  const filter = [...BY_NR.keys()].map((nr) => `id == ${nr}`).join(' || ');
  const rest = events.filter((e) => !e.startsWith('syscalls:'));
  return ['-e', 'raw_syscalls:sys_enter', '--filter', filter, '-e', 'raw_syscalls:sys_exit', '--filter', filter, '-e', rest.join(',')];
}

const ENTER = /^NR (\d+) \(([^)]*)\)$/;
const EXIT = /^NR (\d+) = (-?\d+)$/;

/**
 * A raw_syscalls sample (`name` sys_enter or sys_exit, `rest` what perf printed after
 * it) as the per-syscall tracepoint's name and text; null for a syscall not followed.
 */
export function rawSyscall(name: string, rest: string): [string, string] | null {
  if (name === 'sys_enter') {
    const m = ENTER.exec(rest);
    const call = m && BY_NR.get(Number(m[1]));
    if (!call) return null;
    return [`sys_enter_${call}`, m[2].split(', ').map((a) => `0x${a}`).join(', ')];
  }
  const m = EXIT.exec(rest);
  const call = m && BY_NR.get(Number(m[1]));
  if (!call) return null;
  return [`sys_exit_${call}`, m[2]];
}
