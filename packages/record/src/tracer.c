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
 *   X exec|exit <pid> <start_brk>          a snapshot: the PTRACE_EVENT_EXEC stop (the
 *                                          new mm, before the first user instruction) or
 *                                          the PTRACE_EVENT_EXIT stop of a thread-group
 *                                          leader (do_exit before exit_mm: the mm is whole)
 *   M <a line of /proc/PID/maps>           the snapshot's VMAs, in order
 *   P <first vpn hex> <pages>              a run of present pages (pagemap bit 63) of an
 *                                          anonymous VMA (no inode, not [vdso]/[vvar])
 *   .                                      end of the snapshot
 *   R <status>                             CMD's wait status, last
 * Exits with CMD's exit code (128 + signal when it was killed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kcmp.h>
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

static void present_runs(int pm, unsigned long start, unsigned long end) {
  static uint64_t ents[4096];
  unsigned long vpn = start >> 12, last = end >> 12;
  unsigned long run_start = 0, run_len = 0;
  while (vpn < last) {
    unsigned long n = last - vpn;
    if (n > 4096) n = 4096;
    ssize_t r = pread(pm, ents, n * 8, (off_t)(vpn * 8));
    if (r <= 0) break;
    n = (unsigned long)r / 8;
    for (unsigned long i = 0; i < n; i++) {
      if (ents[i] >> 63) {
        if (run_len && run_start + run_len == vpn + i) run_len++;
        else {
          if (run_len) fprintf(out, "P %lx %lu\n", run_start, run_len);
          run_start = vpn + i;
          run_len = 1;
        }
      }
    }
    vpn += n;
  }
  if (run_len) fprintf(out, "P %lx %lu\n", run_start, run_len);
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
              PTRACE_O_EXITKILL;
  ptrace(PTRACE_SETOPTIONS, root, 0, (void *)opts);
  ptrace(PTRACE_CONT, root, 0, 0);
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
          break;
        }
        case PTRACE_EVENT_EXEC:
          snapshot("exec", pid);
          break;
        case PTRACE_EVENT_EXIT:
          if (tgid_of(pid) == pid) snapshot("exit", pid);
          break;
      }
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
