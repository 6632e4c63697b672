/* A memfd (shmem) mapped twice MAP_SHARED and shared with a fork child: every mapping
 * of the object maps the same page at an offset (shmem_fault finds it in the page
 * cache), no VMA gets an anon_vma, and a read fault maps the cached neighbours too
 * (do_fault_around). ZGC's heap is such a memfd, mapped several times. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define PAGES 256

int main(void) {
  int fd = memfd_create("mmsim-heap", 0);
  if (fd < 0 || ftruncate(fd, PAGES * PAGE)) return 1;
  char *a = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char *b = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (a == MAP_FAILED || b == MAP_FAILED) return 1;
  volatile char sink = 0;
  for (int i = 0; i < PAGES; i += 4) a[i * PAGE] = (char)i; /* writes: shmem pages allocated */
  for (int i = 0; i < PAGES / 2; i += 3) sink += b[i * PAGE]; /* reads through the other mapping */
  b[(PAGES - 1) * PAGE] = 1; /* a write through b to a page a never touched */
  /* a third mapping of half of it, at an offset */
  char *c = mmap(NULL, PAGES / 2 * PAGE, PROT_READ, MAP_SHARED, fd, PAGES / 2 * PAGE);
  if (c == MAP_FAILED) return 1;
  sink += c[5 * PAGE];
  pid_t pid = fork();
  if (pid == 0) {
    /* the child's shared VMAs start without PTEs (copy_page_range skips them) */
    for (int i = 0; i < PAGES; i += 16) sink += a[i * PAGE];
    b[2 * PAGE] = 2;
    _exit(sink == 42);
  }
  int st;
  waitpid(pid, &st, 0);
  munmap(a, PAGES / 2 * PAGE); /* half of a goes; b and c keep the pages mapped */
  return 0;
}
