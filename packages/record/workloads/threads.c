/* Four pthreads growing buffers with realloc() in turns, writing each as it grows: one
 * mm, four glibc arenas (mmap'd heaps), big buffers moved with mremap(MREMAP_MAYMOVE). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
static void *grow(void *arg) {
  long t = (long)arg;
  char *b[4] = {0};
  for (int s = 1; s <= 32; s++)
    for (int i = 0; i < 4; i++) {
      size_t len = (size_t)s * 48 * 1024 + (size_t)(i + t) * 4096;
      b[i] = realloc(b[i], len);
      if (!b[i]) abort();
      memset(b[i], (int)(t + s), len);
    }
  for (int i = 0; i < 4; i++) free(b[i]);
  return NULL;
}
int main(void) {
  pthread_t th[4];
  for (long t = 0; t < 4; t++) pthread_create(&th[t], NULL, grow, (void *)t);
  for (int t = 0; t < 4; t++) pthread_join(th[t], NULL);
  return 0;
}
