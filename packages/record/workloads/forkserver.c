/* A fork server: a parent with a warm heap forks a worker per request; each worker
 * writes part of the shared state (COW), moves it with mremap, maps its own scratch
 * memory and exits. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
  size_t len = 64 * 4096;
  char *state = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (state == MAP_FAILED) return 1;
  memset(state, 1, len);
  for (int r = 0; r < 6; r++) {
    pid_t p = fork();
    if (p < 0) return 1;
    if (p == 0) {
      for (size_t i = (size_t)r * 4096; i < len; i += 6 * 4096) state[i] = (char)r;
      /* the worker moves the shared state into its own arena: its folios are COW-shared
       * with the parent, so neither relocate nor auto may relocate them */
      char *arena = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (arena == MAP_FAILED || mremap(state, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, arena) == MAP_FAILED) _exit(1);
      state = arena;
      char *scratch = malloc(256 * 1024);
      memset(scratch, r, 256 * 1024);
      _exit(scratch[100] == r ? 0 : 1);
    }
    int st;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) return 1;
    state[r * 4096] = 2;
  }
  return 0;
}
