/*
 * Two threads map, fill and unmap for about a second and a half: most of what they map
 * is gone by the exit. Recorded with --snapshot-every, the mm is also compared mid-run,
 * while those mappings still exist.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static void *work(void *arg) {
  long id = (long)arg;
  char *keep = NULL;
  for (int i = 0; i < 150; i++) {
    char *p = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    memset(p, (int)id + 1, 8 * 4096);
    if (keep) munmap(keep, 16 * 4096);
    keep = p;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  munmap(keep, 16 * 4096);
  return NULL;
}

int main(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, work, (void *)i);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  return 0;
}
