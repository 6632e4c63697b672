/*
 * mmsim-tracer: the ptrace half of `mmsim record` (perf records the syscalls and page
 * faults; this program sees what perf cannot: the address space a process gets from
 * execve() and has when it exits, and whether a clone shares its parent's mm).
 *
 *   mmsim-tracer OUT CMD [ARGS...]
 *
 * Runs CMD traced with PTRACE_O_TRACE{FORK,VFORK,CLONE,EXEC,EXIT} (never syscall stops,
 * so the tracee runs at full speed between these events) and writes to OUT, one record
 * a line:
 *   C <parent> <child> <kind> <sharedvm>   a fork (kind fork|vfork|clone); sharedvm 1
 *                                          when kcmp(KCMP_VM) says the child uses the
 *                                          parent's mm (threads, vfork, CLONE_VM)
 *   X exec|exit|execve <pid> <start_brk>   a snapshot: the PTRACE_EVENT_EXEC stop (the
 *                                          new mm, before the first user instruction), the
 *                                          PTRACE_EVENT_EXIT stop of the last task using
 *                                          an mm (do_exit before exit_mm: the mm is whole;
 *                                          a leader that pthread_exit()s early is not the
 *                                          last), or the seccomp stop at execve() entry of
 *                                          the last task using an mm (the mm exec drops)
 *   E <tid>                                a task's exit that left its mm to others (no
 *                                          snapshot: keeps the exits of one tid in order)
 *   N <tid>                                the same for an execve() of an mm others share
 *   G <tid> <target> <write> <base>:<len>...  the remote (process_vm_*) or own (vmsplice)
 *                                          iovecs of a call that fills or reads pages
 *                                          through GUP, read at its seccomp stop (perf
 *                                          sees only the iovec array's address)
 *   M <a line of /proc/PID/maps>           the snapshot's VMAs, in order
 *   P <first vpn hex> <pages>              a run of present pages (pagemap bit 63) of an
 *                                          anonymous VMA (no inode, not [vdso]/[vvar])
 *   S <first vpn hex> <pages>              a run of those not exclusively mapped (bit 56
 *                                          clear: the zero page, a COW-shared frame)
 *   .                                      end of the snapshot
 *   R <status>                             CMD's wait status, last
 * Exits with CMD's exit code (128 + signal when it was killed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static FILE *out;

/* /proc/PID/stat field 47: start_brk (mm->brk itself is not shown anywhere) */
static void brk_of(pid_t pid, unsigned long *start_brk) {
  char path[64];
  static char buf[8192];
  *start_brk = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* comm may hold spaces */
  if (!p) return;
  p += 2; /* field 3 */
  int field = 3;
  while (*p && field < 47) {
    if (*p == ' ') field++;
    p++;
  }
  sscanf(p, "%lu", start_brk);
}

/* a run of pages written as "<tag> <first vpn hex> <pages>" once it ends */
struct run {
  char tag;
  unsigned long start, len;
};

static void run_add(struct run *r, unsigned long vpn) {
  if (r->len && r->start + r->len == vpn) {
    r->len++;
    return;
  }
  if (r->len) fprintf(out, "%c %lx %lu\n", r->tag, r->start, r->len);
  r->start = vpn;
  r->len = 1;
}

static void run_end(struct run *r) {
  if (r->len) fprintf(out, "%c %lx %lu\n", r->tag, r->start, r->len);
  r->len = 0;
}

/* present pages (bit 63) as P runs; those of them not PM_MMAP_EXCLUSIVE (bit 56: the
   zero page, a frame another mapping shares) as S runs */
static void present_runs(int pm, unsigned long start, unsigned long end) {
  static uint64_t ents[4096];
  unsigned long vpn = start >> 12, last = end >> 12;
  struct run present = {'P', 0, 0}, shared = {'S', 0, 0};
  while (vpn < last) {
    unsigned long n = last - vpn;
    if (n > 4096) n = 4096;
    ssize_t r = pread(pm, ents, n * 8, (off_t)(vpn * 8));
    if (r <= 0) break;
    n = (unsigned long)r / 8;
    for (unsigned long i = 0; i < n; i++) {
      if (!(ents[i] >> 63)) continue;
      run_add(&present, vpn + i);
      if (!((ents[i] >> 56) & 1)) run_add(&shared, vpn + i);
    }
    vpn += n;
  }
  run_end(&present);
  run_end(&shared);
}

/*
 * Which mm each task uses, as the recorded tree shares them: a task's group is its
 * parent's when kcmp(KCMP_VM) says they share the mm (threads, vfork, CLONE_VM), a new
 * one after fork or exec. The last task of a group to exit takes the exit snapshot.
 */
static int *group_of;     /* by tid: group + 1 (0: unknown) */
static int *group_users;  /* by group */
static char *held;        /* by tid: a new task stopped before its parent's clone event */
static size_t ntids, ngroups, groups_used;

static void grow_tids(pid_t tid) {
  if ((size_t)tid < ntids) return;
  size_t n = ntids ? ntids : 4096;
  while (n <= (size_t)tid) n *= 2;
  group_of = realloc(group_of, n * sizeof *group_of);
  held = realloc(held, n);
  if (!group_of || !held) abort();
  memset(group_of + ntids, 0, (n - ntids) * sizeof *group_of);
  memset(held + ntids, 0, n - ntids);
  ntids = n;
}

static int new_group(void) {
  if (groups_used == ngroups) {
    ngroups = ngroups ? ngroups * 2 : 1024;
    group_users = realloc(group_users, ngroups * sizeof *group_users);
    if (!group_users) abort();
  }
  group_users[groups_used] = 0;
  return (int)groups_used++;
}

/* tid leaves its group; returns the users left (-1: tid had none) */
static int leave_group(pid_t tid) {
  grow_tids(tid);
  int g = group_of[tid] - 1;
  group_of[tid] = 0;
  if (g < 0) return -1;
  return --group_users[g];
}

static void join_group(pid_t tid, int g) {
  grow_tids(tid);
  group_of[tid] = g + 1;
  group_users[g]++;
}

static int group_users_of(pid_t tid) {
  grow_tids(tid);
  int g = group_of[tid] - 1;
  return g < 0 ? -1 : group_users[g];
}

/*
 * seccomp: RET_TRACE (a PTRACE_EVENT_SECCOMP stop at syscall entry, before the
 * sys_enter tracepoint) for execve/execveat (the mm exec is about to drop, compared
 * whole) and for the calls whose iovecs perf cannot read; every other call is allowed
 * without a stop. Inherited across fork and exec, so the whole tree has it.
 */
static void install_filter(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 5, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 4, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_writev, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_vmsplice, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
  };
  struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
  /* root needs no PR_SET_NO_NEW_PRIVS (CAP_SYS_ADMIN); without the filter only the
     pre-exec comparison and the GUP iovecs are missing */
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) fprintf(stderr, "mmsim-tracer: no seccomp filter: %s\n", strerror(errno));
}

/* the iovec array of a call (in the caller's memory) as "base:len" pairs */
static void log_iovecs(pid_t tid, pid_t target, int write, unsigned long iov, unsigned long n) {
  static struct iovec v[1024];
  if (n > 1024) n = 1024; /* UIO_MAXIOV */
  struct iovec local = {v, n * sizeof v[0]}, remote = {(void *)iov, n * sizeof v[0]};
  ssize_t got = process_vm_readv(tid, &local, 1, &remote, 1, 0);
  fprintf(out, "G %d %d %d", tid, target, write);
  for (ssize_t i = 0; got > 0 && i < got / (ssize_t)sizeof v[0]; i++) fprintf(out, " %lx:%lx", (unsigned long)v[i].iov_base, (unsigned long)v[i].iov_len);
  fprintf(out, "\n");
}

static void snapshot(const char *what, pid_t pid) {
  char path[64];
  unsigned long sb;
  brk_of(pid, &sb);
  fprintf(out, "X %s %d %lx\n", what, pid, sb);
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  FILE *maps = fopen(path, "r");
  snprintf(path, sizeof path, "/proc/%d/pagemap", pid);
  int pm = open(path, O_RDONLY);
  static char line[8192];
  while (maps && fgets(line, sizeof line, maps)) {
    fprintf(out, "M %s", line);
    unsigned long start, end, inode;
    char perms[8], dev[16];
    unsigned long long off;
    int name = 0;
    if (sscanf(line, "%lx-%lx %7s %llx %15s %lu %n", &start, &end, perms, &off, dev, &inode, &name) < 6) continue;
    const char *nm = name ? line + name : "";
    if (inode != 0 || !strncmp(nm, "[vdso]", 6) || !strncmp(nm, "[vvar", 5) || !strncmp(nm, "[vsyscall]", 10)) continue;
    if (pm >= 0) present_runs(pm, start, end);
  }
  if (maps) fclose(maps);
  if (pm >= 0) close(pm);
  fprintf(out, ".\n");
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mmsim-tracer OUT CMD [ARGS...]\n");
    return 2;
  }
  out = fopen(argv[1], "w");
  if (!out) {
    perror(argv[1]);
    return 2;
  }
  pid_t root = fork();
  if (root < 0) {
    perror("fork");
    return 2;
  }
  if (root == 0) {
    install_filter();
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    execvp(argv[2], argv + 2);
    fprintf(stderr, "mmsim-tracer: cannot run %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int st;
  if (waitpid(root, &st, 0) < 0 || !WIFSTOPPED(st)) {
    fprintf(stderr, "mmsim-tracer: the child did not stop\n");
    return 2;
  }
  long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
              PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;
  ptrace(PTRACE_SETOPTIONS, root, 0, (void *)opts);
  ptrace(PTRACE_CONT, root, 0, 0);
  join_group(root, new_group());
  int execed = 0; /* the root's first exec: before it, the tracer's own child runs */
  int code = 0;
  for (;;) {
    pid_t pid = waitpid(-1, &st, __WALL);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: every tracee is gone */
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (pid == root) {
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        fprintf(out, "R %d\n", st);
      }
      continue;
    }
    if (!WIFSTOPPED(st)) continue;
    int sig = WSTOPSIG(st);
    int event = (st >> 16) & 0xff;
    int deliver = 0;
    if (sig == SIGTRAP && event) {
      unsigned long msg = 0;
      ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
      switch (event) {
        case PTRACE_EVENT_FORK:
        case PTRACE_EVENT_VFORK:
        case PTRACE_EVENT_CLONE: {
          pid_t child = (pid_t)msg;
          long same = syscall(SYS_kcmp, pid, child, KCMP_VM, 0, 0);
          fprintf(out, "C %d %d %s %d\n", pid, child, event == PTRACE_EVENT_FORK ? "fork" : event == PTRACE_EVENT_VFORK ? "vfork" : "clone",
                  same == 0 ? 1 : 0);
          grow_tids(pid);
          grow_tids(child);
          join_group(child, same == 0 && group_of[pid] ? group_of[pid] - 1 : new_group());
          if (held[child]) {
            held[child] = 0;
            ptrace(PTRACE_CONT, child, 0, 0);
          }
          break;
        }
        case PTRACE_EVENT_EXEC:
          /* the exec'ing thread has taken the leader's pid (msg: its old tid) */
          if ((pid_t)msg != pid) leave_group((pid_t)msg);
          leave_group(pid);
          join_group(pid, new_group());
          execed = 1;
          snapshot("exec", pid);
          break;
        case PTRACE_EVENT_EXIT:
          if (leave_group(pid) == 0) snapshot("exit", pid);
          else fprintf(out, "E %d\n", pid);
          break;
        case PTRACE_EVENT_SECCOMP: {
          struct __ptrace_syscall_info si; /* glibc's spelling of linux/ptrace.h's */
          if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof si, &si) <= 0 || si.op != PTRACE_SYSCALL_INFO_SECCOMP) break;
          long nr = (long)si.seccomp.nr;
          unsigned long *a = (unsigned long *)si.seccomp.args;
          if (nr == SYS_execve || nr == SYS_execveat) {
            if (execed && group_users_of(pid) == 1) snapshot("execve", pid);
            else if (execed) fprintf(out, "N %d\n", pid);
          } else if (nr == SYS_process_vm_readv || nr == SYS_process_vm_writev)
            log_iovecs(pid, (pid_t)a[0], nr == SYS_process_vm_writev, a[3], a[4]);
          else if (nr == SYS_vmsplice)
            log_iovecs(pid, pid, 0, a[1], a[2]);
          break;
        }
      }
    } else if (sig == SIGSTOP && pid != root && (grow_tids(pid), !group_of[pid])) {
      /* a new task's first stop before its parent's clone event: held until the event
         (kcmp needs it alive, and its exit needs its group) */
      held[pid] = 1;
      continue;
    } else if (sig == SIGSTOP || sig == SIGTRAP) {
      /* a new tracee's first stop (or a stray trap): not the program's signal */
      deliver = 0;
    } else
      deliver = sig;
    ptrace(PTRACE_CONT, pid, 0, (void *)(long)deliver);
  }
  fclose(out);
  return code;
}
