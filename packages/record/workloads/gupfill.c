/*
 * Pages filled without a fault: process_vm_writev() into a fresh buffer of this
 * process (the kernel pins them through GUP: faultin_page, no page fault exception),
 * process_vm_readv() from a fresh one (read-faulted in: the zero page), and vmsplice()
 * of a fresh buffer into a pipe. None of the buffers is touched by the program itself.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGES 32

static char *fresh(size_t pages) {
  return mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

int main(void) {
  static char src[PAGES * 4096];
  memset(src, 7, sizeof src);
  pid_t self = getpid();
  /* writev: two remote iovecs, the second one in the middle of a second buffer */
  char *a = fresh(PAGES), *b = fresh(PAGES);
  struct iovec local = {src, sizeof src};
  struct iovec remote[2] = {{a, PAGES * 4096 / 2}, {b + 5 * 4096 + 100, PAGES * 4096 / 2}};
  if (process_vm_writev(self, &local, 1, remote, 2, 0) != (ssize_t)sizeof src) return 1;
  /* readv from a fresh buffer */
  char *c = fresh(PAGES);
  struct iovec from = {c, 8 * 4096};
  struct iovec into = {src, 8 * 4096};
  if (process_vm_readv(self, &into, 1, &from, 1, 0) != 8 * 4096) return 2;
  /* vmsplice of a fresh buffer into a pipe */
  int fds[2];
  if (pipe(fds)) return 3;
  char *d = fresh(PAGES);
  struct iovec sp = {d, 4 * 4096};
  if (vmsplice(fds[1], &sp, 1, 0) != 4 * 4096) return 4;
  return 0;
}
