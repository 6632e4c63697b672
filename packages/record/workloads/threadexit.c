/*
 * The thread-group leader calls pthread_exit() at once; its threads do all the work
 * (mmap, faults, mremap, munmap) and the last one ends the process. The mm is compared
 * when its last task exits, not at the leader's exit (which would see none of it).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define THREADS 4
#define PAGES 64

static void *work(void *arg) {
  long id = (long)arg;
  usleep(20000); /* after the leader's exit */
  for (int round = 0; round < 8; round++) {
    size_t len = PAGES * 4096;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    for (size_t i = 0; i < len; i += 4096) p[i] = (char)(id + round);
    char *q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) return NULL;
    memset(q + len, 1, len / 2);
    if (round % 2) munmap(q, 2 * len); /* half of them stay to the end */
  }
  return NULL;
}

int main(void) {
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, work, (void *)i);
  pthread_exit(NULL); /* the process lives on in its threads */
}
