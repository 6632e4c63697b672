/* Grow 16 buffers with realloc() in turns, writing each as it grows: above the mmap
 * threshold glibc moves them with mremap(MREMAP_MAYMOVE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  enum { N = 16, STEPS = 24 };
  char *b[N] = {0};
  for (int s = 1; s <= STEPS; s++)
    for (int i = 0; i < N; i++) {
      size_t len = (size_t)s * 64 * 1024 + (size_t)i * 4096;
      b[i] = realloc(b[i], len);
      if (!b[i]) return 1;
      memset(b[i], i + s, len);
    }
  for (int i = 0; i < N; i++) free(b[i]);
  return 0;
}
