/*
 * mmsim-tracer: the ptrace half of `mmsim record` (perf records the syscalls and page
 * faults; this program sees what perf cannot: the address space a process gets from
 * execve() and has when it exits, and whether a clone shares its parent's mm).
 *
 *   mmsim-tracer OUT CMD [ARGS...]
 *   mmsim-tracer --snapshot OUT exec|exit PID    (one snapshot, appended: record --pid)
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
 *   G <tid> <target> <write> <base>:<len>...  the remote (process_vm_*) or own (vmsplice)
 *                                          iovecs of a call that fills or reads pages
 *                                          through GUP, read at its seccomp stop (perf
 *                                          sees only the iovec array's address)
 *   M <a line of /proc/PID/maps>           the snapshot's VMAs, in order
 *   P <first vpn hex> <pages>              a run of present pages (pagemap bit 63) of an
 *                                          anonymous VMA (no inode, not [vdso]/[vvar]) or
 *                                          of a shared memfd mapping ("/memfd:NAME", shmem)
 *                                          or SysV segment ("/SYSV<key>")
 *   S <first vpn hex> <pages>              a run of those not exclusively mapped (bit 56
 *                                          clear: the zero page, a COW-shared frame)
 *   .                                      end of the snapshot
 *   T <pid>                                the helper's own pid, first
 *   Y                                      the helper's marker call madvise(0, 0, 0): the
 *                                          snapshots after it (exit, execve, periodic) are
 *                                          placed at it in perf's stream. A periodic round
 *                                          (MMSIM_SNAPSHOT_EVERY=SECONDS) stops every
 *                                          task (SIGSTOP, held at its signal-delivery
 *                                          stop), marks, snapshots each mm whose tasks all
 *                                          stopped, and lets them run on
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
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/user.h>
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
static char *group_done;  /* by group: its exit snapshot is taken */
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
    group_done = realloc(group_done, ngroups);
    if (!group_users || !group_done) abort();
  }
  group_users[groups_used] = 0;
  group_done[groups_used] = 0;
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

static int tgid_of(pid_t tid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int tgid = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Tgid: %d", &tgid) == 1) break;
  fclose(f);
  return tgid;
}

/*
 * At tid's exit stop, after it left its group: will the group's other users die with
 * it? exit_group() (or a fatal signal) SIGKILLs the other threads, and a task killed
 * so takes no exit stop (ptrace_stop() returns at once with a fatal signal pending):
 * the last of them would leave the mm without a snapshot. True when every other user
 * is a thread of tid's process.
 */
static int group_dies_with(pid_t tid, int g, int group_exit) {
  if (!group_exit || g < 0) return 0;
  int tgid = tgid_of(tid);
  for (size_t t = 0; t < ntids; t++)
    if (group_of[t] == g + 1 && tgid_of((pid_t)t) != tgid) return 0;
  return 1;
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
    int memfd = perms[3] == 's' && (!strncmp(nm, "/memfd:", 7) || !strncmp(nm, "/SYSV", 5));
    if ((inode != 0 && !memfd) || !strncmp(nm, "[vdso]", 6) || !strncmp(nm, "[vvar", 5) || !strncmp(nm, "[vsyscall]", 10)) continue;
    if (pm >= 0) present_runs(pm, start, end);
  }
  if (maps) fclose(maps);
  if (pm >= 0) close(pm);
  fprintf(out, ".\n");
}

/*
 * The marker call: madvise(0, 0, 0) by the helper itself, which perf records in time
 * order with the tracees' events. A snapshot is read after it, so the converter places
 * it there: every event before the marker happened before the read (the snapshot's own
 * tasks are stopped; other processes run on, and their events after the marker are
 * after it in the trace too).
 */
static void marker(void) {
  fprintf(out, "Y\n");
  fflush(out);
  madvise(NULL, 0, 0);
}

static void marked_snapshot(const char *what, pid_t pid) {
  marker();
  snapshot(what, pid);
}

/* periodic snapshots: SIGALRM sets due; a round stops every task, snapshots each mm once */
static volatile sig_atomic_t due;
static void on_alarm(int sig) {
  (void)sig;
  due = 1;
}
static char *frozen; /* by tid: 1 SIGSTOP sent, 2 stopped and held */
static char *in_vfork; /* by tid: a vfork parent until PTRACE_EVENT_VFORK_DONE (a killable wait: SIGSTOP waits too) */
static int freezing; /* tasks sent SIGSTOP that have not stopped yet */

static void grow_frozen(void) {
  static size_t n;
  if (n == ntids) return;
  frozen = realloc(frozen, ntids);
  in_vfork = realloc(in_vfork, ntids);
  if (!frozen || !in_vfork) abort();
  memset(frozen + n, 0, ntids - n);
  memset(in_vfork + n, 0, ntids - n);
  n = ntids;
}

static void freeze_all(void) {
  grow_frozen();
  for (size_t t = 0; t < ntids; t++)
    if (group_of[t] && !held[t] && !in_vfork[t] && syscall(SYS_tkill, (pid_t)t, SIGSTOP) == 0) {
      frozen[t] = 1;
      freezing++;
    }
}

/* the round's tasks stopped: the marker call, one snapshot of each mm all of whose tasks
   are stopped (1: done, 2: one runs), then all run on */
static void thaw_all(void) {
  grow_frozen();
  marker();
  char *done = calloc(groups_used ? groups_used : 1, 1);
  if (!done) abort();
  for (size_t t = 0; t < ntids; t++)
    if (group_of[t] && frozen[t] != 2) done[group_of[t] - 1] = 2;
  for (size_t t = 0; t < ntids; t++) {
    if (frozen[t] != 2 || !group_of[t]) continue;
    int g = group_of[t] - 1;
    if (!done[g]) {
      done[g] = 1;
      snapshot("periodic", (pid_t)t);
    }
  }
  free(done);
  for (size_t t = 0; t < ntids; t++) {
    if (frozen[t] == 2) ptrace(PTRACE_CONT, (pid_t)t, 0, 0);
    frozen[t] = 0;
  }
}

int main(int argc, char **argv) {
  /* `mmsim-tracer --snapshot OUT exec|exit PID`: one snapshot of a (stopped) running
   * process appended to OUT, for `mmsim record --pid` (its attach and its detach) */
  if (argc == 5 && !strcmp(argv[1], "--snapshot")) {
    out = fopen(argv[2], "a");
    if (!out) {
      perror(argv[2]);
      return 2;
    }
    snapshot(argv[3], (pid_t)atoi(argv[4]));
    return fclose(out) ? 2 : 0;
  }
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
  long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACEVFORKDONE |
              PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;
  ptrace(PTRACE_SETOPTIONS, root, 0, (void *)opts);
  ptrace(PTRACE_CONT, root, 0, 0);
  join_group(root, new_group());
  fprintf(out, "T %d\n", getpid());
  const char *every = getenv("MMSIM_SNAPSHOT_EVERY");
  double secs = every ? atof(every) : 0;
  if (secs > 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{(long)secs, (long)((secs - (long)secs) * 1e6)}, {(long)secs, (long)((secs - (long)secs) * 1e6)}};
    setitimer(ITIMER_REAL, &it, NULL);
  }
  int execed = 0; /* the root's first exec: before it, the tracer's own child runs */
  int code = 0;
  for (;;) {
    if (due) {
      due = 0;
      grow_frozen();
      if (freezing) {
        /* a task did not stop within a period (a killable wait): the round goes on without it */
        freezing = 0;
        thaw_all();
      } else {
        freeze_all();
        if (!freezing) thaw_all();
      }
    }
    pid_t pid = waitpid(-1, &st, __WALL);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: every tracee is gone */
    }
    grow_tids(pid);
    grow_frozen();
    if (frozen[pid] == 1 && (WIFEXITED(st) || WIFSIGNALED(st) || (WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP && !((st >> 16) & 0xff)))) {
      /* our SIGSTOP's signal-delivery stop (held, the signal dropped), or it is gone */
      frozen[pid] = WIFSTOPPED(st) ? 2 : 0;
      if (--freezing == 0) thaw_all();
      if (WIFSTOPPED(st)) continue;
    } else if (freezing && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP && !((st >> 16) & 0xff) && group_of[pid] && !frozen[pid]) {
      /* a new task's first stop during a round: held with the others */
      frozen[pid] = 2;
      continue;
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
        case PTRACE_EVENT_VFORK_DONE:
          grow_frozen();
          in_vfork[pid] = 0;
          break;
        case PTRACE_EVENT_FORK:
        case PTRACE_EVENT_VFORK:
        case PTRACE_EVENT_CLONE: {
          pid_t child = (pid_t)msg;
          long same = syscall(SYS_kcmp, pid, child, KCMP_VM, 0, 0);
          fprintf(out, "C %d %d %s %d\n", pid, child, event == PTRACE_EVENT_FORK ? "fork" : event == PTRACE_EVENT_VFORK ? "vfork" : "clone",
                  same == 0 ? 1 : 0);
          grow_tids(pid);
          grow_tids(child);
          grow_frozen();
          if (event == PTRACE_EVENT_VFORK) in_vfork[pid] = 1;
          join_group(child, same == 0 && group_of[pid] ? group_of[pid] - 1 : new_group());
          if (held[child]) {
            held[child] = 0;
            grow_frozen();
            if (freezing) frozen[child] = 2; /* runs on with the others */
            else ptrace(PTRACE_CONT, child, 0, 0);
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
        {
          grow_tids(pid);
          int g = group_of[pid] - 1;
          struct user_regs_struct regs;
          int group_exit = (msg & 0x7f) != 0 || (ptrace(PTRACE_GETREGS, pid, 0, &regs) == 0 && regs.orig_rax == SYS_exit_group);
          int left = leave_group(pid);
          if (g >= 0 && !group_done[g] && (left == 0 || group_dies_with(pid, g, group_exit))) {
            group_done[g] = 1;
            marked_snapshot("exit", pid);
          }
        }
          break;
        case PTRACE_EVENT_SECCOMP: {
          struct __ptrace_syscall_info si; /* glibc's spelling of linux/ptrace.h's */
          if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof si, &si) <= 0 || si.op != PTRACE_SYSCALL_INFO_SECCOMP) break;
          long nr = (long)si.seccomp.nr;
          unsigned long *a = (unsigned long *)si.seccomp.args;
          if (nr == SYS_execve || nr == SYS_execveat) {
            if (execed && group_users_of(pid) == 1) marked_snapshot("execve", pid);
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
