/* The syscalls that change VMA flags, each on part of a region so that it splits, then
 * undone so that the parts merge again: mlock / mlock2(MLOCK_ONFAULT) / munlock,
 * madvise DONTDUMP and RANDOM, prctl(PR_SET_VMA_ANON_NAME) (EINVAL without
 * CONFIG_ANON_VMA_NAME), mseal and a munmap it refuses, mlockall(MCL_CURRENT | MCL_FUTURE)
 * (everything faulted in, a later mmap too, without a page fault) and munlockall, mbind
 * (MPOL_PREFERRED on node 0, then MPOL_DEFAULT). */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif
#define PG 4096L
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static void touch(char *p, long pages) {
  for (long i = 0; i < pages; i++) p[i * PG] = (char)i;
}

int main(void) {
  char *p = mmap(0, 64 * PG, RW, ANON, -1, 0);
  if (p == MAP_FAILED) return 1;
  touch(p, 8);
  if (mlock(p + 8 * PG, 8 * PG)) return 2;                          /* faults [8, 16) in: no page fault */
  if (syscall(SYS_mlock2, p + 20 * PG, 4 * PG, MLOCK_ONFAULT)) return 3;
  if (madvise(p + 28 * PG, 4 * PG, MADV_DONTDUMP)) return 4;
  if (madvise(p + 32 * PG, 4 * PG, MADV_RANDOM)) return 5;
  prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p + 36 * PG, 4 * PG, "mmsim"); /* EINVAL here */
  if (syscall(SYS_mseal, p + 44 * PG, 4 * PG, 0UL)) return 6;
  if (munmap(p + 44 * PG, PG) == 0) return 7;                       /* EPERM: sealed */
  touch(p + 16 * PG, 48);
  if (munlock(p + 8 * PG, 8 * PG)) return 8;                        /* [0, 20) merges again */
  if (madvise(p + 28 * PG, 4 * PG, MADV_DODUMP)) return 9;
  if (madvise(p + 32 * PG, 4 * PG, MADV_NORMAL)) return 10;
  unsigned long node0 = 1;
  if (syscall(SYS_mbind, p + 52 * PG, 4 * PG, 1 /* MPOL_PREFERRED */, &node0, 64UL, 0UL)) return 16;
  if (syscall(SYS_mbind, p + 56 * PG, 2 * PG, 1 /* MPOL_PREFERRED */, &node0, 64UL, 0UL)) return 17; /* merges */

  char *q = mmap(0, 32 * PG, RW, ANON, -1, 0);
  if (q == MAP_FAILED) return 11;
  if (mlockall(MCL_CURRENT | MCL_FUTURE)) return 12;                /* q is faulted in */
  char *r = mmap(0, 16 * PG, RW, ANON, -1, 0);                      /* locked and populated */
  if (r == MAP_FAILED) return 13;
  if (munlockall()) return 14;
  char *s = mmap(0, 64 * PG, RW, ANON, -1, 0);
  if (s == MAP_FAILED) return 15;
  touch(s, 64);
  if (syscall(SYS_mbind, p + 52 * PG, 2 * PG, 0 /* MPOL_DEFAULT */, 0, 0UL, 0UL)) return 18;
  return 0;
}
