/* A compacting heap the way the ZGC prototype used mremap(): objects live in their own
 * page ranges of a from-space; live ones are moved, faulted, into a contiguous to-space
 * with mremap(MREMAP_MAYMOVE | MREMAP_FIXED), dead ones are unmapped. Each object's
 * content is checked after its move. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#define PAGE 4096
int main(void) {
  enum { OBJS = 64, CYCLES = 3 };
  size_t sz[OBJS];
  size_t total = 0;
  for (int i = 0; i < OBJS; i++) total += (sz[i] = (size_t)(1 + i % 4) * PAGE);
  char *from = mmap(NULL, total * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (from == MAP_FAILED) return 1;
  char *obj[OBJS];
  size_t off = 0;
  for (int i = 0; i < OBJS; i++) {
    obj[i] = from + off;
    off += sz[i] * 2; /* a gap after each object: the allocator's fragmentation */
    memset(obj[i], 'a' + i % 26, sz[i]);
  }
  for (int c = 0; c < CYCLES; c++) {
    char *to = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (to == MAP_FAILED) return 1;
    size_t at = 0;
    for (int i = 0; i < OBJS; i++) {
      if (!obj[i]) continue;
      if ((i + c) % 5 == 0 && c > 0) { /* dead */
        munmap(obj[i], sz[i]);
        obj[i] = NULL;
        continue;
      }
      char *n = mremap(obj[i], sz[i], sz[i], MREMAP_MAYMOVE | MREMAP_FIXED, to + at);
      if (n == MAP_FAILED) { perror("mremap"); return 1; }
      for (size_t p = 0; p < sz[i]; p += PAGE)
        if (n[p] != 'a' + i % 26) { fprintf(stderr, "object %d changed\n", i); return 2; }
      obj[i] = n;
      at += sz[i];
    }
    munmap(to + at, total - at);
    if (c == 0) munmap(from, total * 2);
  }
  return 0;
}
