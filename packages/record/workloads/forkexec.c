/*
 * fork, then the child fills memory of its own (the fork copy's mm) and execs this
 * program again with an argument; the exec'd program fills a little and exits. The
 * child's pre-exec mm is compared at its execve(), the exec'd one at its exit: three
 * mms, two of them with the child's pid (exec generations 0 and 1).
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void fill(size_t pages, int c) {
  char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) memset(p, c, pages * 4096);
}

int main(int argc, char **argv) {
  if (argc > 1) {
    fill(16, 3); /* the exec'd program */
    return 0;
  }
  fill(32, 1);
  pid_t c = fork();
  if (c == 0) {
    fill(48, 2); /* only the fork copy's mm has these: gone at exec */
    execl("/proc/self/exe", argv[0], "child", (char *)NULL);
    _exit(127);
  }
  int st;
  waitpid(c, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
