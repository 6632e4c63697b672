/* mm syscalls with 64-bit arguments no double holds exactly (>= 2^53): what stress-ng
 * --mremap and fuzzers pass. Every call here fails in the kernel; the recorder must keep
 * the values exact and the replay must give the kernel's errno for each. The last
 * mremap moves for real with a garbage new_addr the kernel ignores (no MREMAP_FIXED). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) {
  printf("%-44s %ld (%s)\n", what, r, r == -1 ? strerror(errno) : "ok");
}

int main(void) {
  const unsigned long big = ~0UL, top = 0xfffffffffffff000UL, odd = (1UL << 53) + 1;
  char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  memset(p, 1, 1 << 20);
  show("mremap FIXED|MAYMOVE to ~0UL", (long)mremap(p, 1 << 20, 1 << 20, MREMAP_FIXED | MREMAP_MAYMOVE, (void *)big));
  show("mremap FIXED|MAYMOVE to 2^53+1", (long)mremap(p, 1 << 20, 1 << 20, MREMAP_FIXED | MREMAP_MAYMOVE, (void *)odd));
  show("mremap new_len ~0UL", (long)mremap(p, 1 << 20, big, MREMAP_MAYMOVE));
  show("mremap new_len -4096", (long)mremap(p, 1 << 20, top, MREMAP_MAYMOVE));
  show("mremap old_len ~0UL (PAGE_ALIGN wraps to 0)", (long)mremap(p, big, 1 << 21, MREMAP_MAYMOVE));
  show("mremap addr -4096", (long)mremap((void *)top, 4096, 8192, MREMAP_MAYMOVE));
  show("mremap flags 2^60", syscall(SYS_mremap, p, 1 << 20, 1 << 21, 1UL << 60, 0));
  show("munmap len -4096", munmap(p, top));
  show("munmap len ~0UL", munmap(p, big));
  show("munmap addr -4096", munmap((void *)top, 4096));
  show("mprotect len -4096", mprotect(p, top, PROT_READ));
  show("mprotect prot 2^60", syscall(SYS_mprotect, p, 4096, 1UL << 60));
  show("madvise len -4096", madvise(p, top, MADV_DONTNEED));
  show("madvise len ~0UL", madvise(p, big, MADV_DONTNEED));
  show("mmap len -4096", (long)mmap(NULL, top, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  show("mmap FIXED at -4096", (long)mmap((void *)top, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  show("mmap off -4096", (long)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, (off_t)top));
  /* succeeds: without MREMAP_FIXED the kernel ignores new_addr */
  char *q = mremap(p, 1 << 20, 1 << 21, MREMAP_MAYMOVE, (void *)big);
  show("mremap MAYMOVE, new_addr ~0UL ignored", (long)q);
  if (q == MAP_FAILED) return 1;
  memset(q + (1 << 20), 2, 1 << 20);
  /* succeeds: a hint the kernel cannot use is ignored */
  char *r = mmap((void *)top, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  show("mmap hint -4096 ignored", (long)r);
  if (r == MAP_FAILED) return 1;
  r[0] = 1;
  return 0;
}
