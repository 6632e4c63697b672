/*
 * mmsim bench: the real kernel doing what the simulator benchmark does.
 *
 *   bench_helper fault  MIB REPS   mmap anonymous MIB MiB, MADV_NOHUGEPAGE, write-touch
 *                                  every 4 KiB page; times the touching
 *   bench_helper mremap MIB REPS   the same region, faulted, then
 *                                  mremap(MREMAP_MAYMOVE|MREMAP_FIXED) to a destination
 *                                  one page past a 2 MiB boundary (no PMD-level moves);
 *                                  times the mremap
 *
 * Prints one JSON object: every run's wall (CLOCK_MONOTONIC) and CPU
 * (CLOCK_PROCESS_CPUTIME_ID: user + system, so the fault handling counts) time in ns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define PMD_SIZE (2UL << 20)

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "bench_helper: %s: %s\n", what, strerror(errno));
  exit(2);
}

static uintptr_t align_up(uintptr_t x, uintptr_t a) { return (x + a - 1) & ~(a - 1); }

static void touch(char *p, size_t len) {
  for (size_t off = 0; off < len; off += PAGE) ((volatile char *)p)[off] = 1;
}

/* one run; returns wall and cpu ns of the timed part */
static void run_fault(size_t len, int64_t *wall, int64_t *cpu) {
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  if (madvise(p, len, MADV_NOHUGEPAGE)) die("madvise(MADV_NOHUGEPAGE)");
  int64_t w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  touch(p, len);
  int64_t c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID), w1 = now_ns(CLOCK_MONOTONIC);
  *wall = w1 - w0;
  *cpu = c1 - c0;
  if (munmap(p, len)) die("munmap");
}

static void run_mremap(size_t len, int64_t *wall, int64_t *cpu) {
  /* reserve room for the source, a gap and the unaligned destination */
  size_t span = 2 * len + 4 * PMD_SIZE;
  char *area = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (area == MAP_FAILED) die("mmap(reserve)");
  char *src = (char *)align_up((uintptr_t)area, PMD_SIZE);
  char *dst = (char *)align_up((uintptr_t)src + len + PMD_SIZE, PMD_SIZE) + PAGE;
  if (mmap(src, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) die("mmap(src)");
  if (madvise(src, len, MADV_NOHUGEPAGE)) die("madvise(MADV_NOHUGEPAGE)");
  touch(src, len);
  if (munmap(dst, len)) die("munmap(dst)");
  int64_t w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  void *r = mremap(src, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
  int64_t c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID), w1 = now_ns(CLOCK_MONOTONIC);
  if (r == MAP_FAILED) die("mremap");
  if (r != dst) {
    fprintf(stderr, "bench_helper: mremap returned %p, asked for %p\n", r, (void *)dst);
    exit(2);
  }
  if (((volatile char *)dst)[len - PAGE] != 1) {
    fprintf(stderr, "bench_helper: moved page lost its contents\n");
    exit(2);
  }
  *wall = w1 - w0;
  *cpu = c1 - c0;
  if (munmap(area, span)) die("munmap");
}

int main(int argc, char **argv) {
  if (argc != 4 || (strcmp(argv[1], "fault") && strcmp(argv[1], "mremap"))) {
    fprintf(stderr, "usage: %s fault|mremap MIB REPS\n", argv[0]);
    return 2;
  }
  const char *op = argv[1];
  long mib = strtol(argv[2], NULL, 10);
  long reps = strtol(argv[3], NULL, 10);
  if (mib < 1 || reps < 1 || reps > 1000) {
    fprintf(stderr, "bench_helper: bad MIB or REPS\n");
    return 2;
  }
  size_t len = (size_t)mib << 20;
  printf("{\"op\":\"%s\",\"mib\":%ld,\"pages\":%zu,\"runs\":[", op, mib, len / PAGE);
  for (long i = 0; i < reps; i++) {
    int64_t wall, cpu;
    if (op[0] == 'f') run_fault(len, &wall, &cpu);
    else run_mremap(len, &wall, &cpu);
    printf("%s{\"wallNs\":%lld,\"cpuNs\":%lld}", i ? "," : "", (long long)wall, (long long)cpu);
  }
  printf("]}\n");
  return 0;
}
