/* A million page faults in bounded memory: 64 MiB written page by page, dropped with
 * MADV_DONTNEED and written again, 64 times (16384 pages x 64 = 1,048,576 faults). */
#include <sys/mman.h>
int main(void) {
  enum { PAGES = 16384, ROUNDS = 64 };
  char *p = mmap(0, (size_t)PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  for (int r = 0; r < ROUNDS; r++) {
    for (long i = 0; i < PAGES; i++) p[i * 4096] = (char)r;
    madvise(p, (size_t)PAGES * 4096, MADV_DONTNEED);
  }
  return 0;
}
