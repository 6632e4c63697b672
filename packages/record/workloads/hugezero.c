/* A moving mremap over a huge-zero-page PMD: MADV_HUGEPAGE on a 2 MiB-aligned range, a
 * read fault (do_huge_pmd_anonymous_page maps the huge zero page when THP is allowed and
 * use_zero_page is on), then mremap(MREMAP_MAYMOVE) to grow it where it cannot grow in
 * place. move_huge_pmd() moves the zero PMD as is (no folio, no rmap); a write after the
 * move gets a fresh THP (do_huge_zero_wp_pmd). Then the same with a partial move that
 * splits the zero PMD (__split_huge_zero_page_pmd). */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define MB (1UL << 20)

static char *aligned(size_t len) {
  char *raw = mmap(NULL, len + 2 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return NULL;
  char *p = (char *)(((uintptr_t)raw + 2 * MB - 1) & ~(2 * MB - 1));
  /* trim to exactly [p, p + len): the neighbours must not merge with it */
  if (p > raw) munmap(raw, p - raw);
  munmap(p + len, raw + len + 2 * MB - (p + len));
  return p;
}

int main(void) {
  volatile char sink = 0;
  for (int round = 0; round < 2; round++) {
    char *p = aligned(2 * MB);
    if (!p) return 1;
    madvise(p, 2 * MB, MADV_HUGEPAGE);
    sink += p[4096]; /* read: the huge zero PMD */
    /* a guard after it: growing in place is impossible, the mremap moves */
    char *guard = mmap(p + 2 * MB, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    char *q = round == 0 ? mremap(p, 2 * MB, 4 * MB, MREMAP_MAYMOVE)
                         : mremap(p + MB, MB, 3 * MB, MREMAP_MAYMOVE); /* half of it: split first */
    if (q == MAP_FAILED) return 2;
    sink += q[8192];
    q[12288] = 1; /* write: a THP (or a page) replaces the zero page */
    sink += q[3 * MB - 4096];
    if (guard != MAP_FAILED) munmap(guard, 4096);
  }
  return sink == 42;
}
