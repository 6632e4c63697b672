/*
 * SIGSEGV as a result: a JVM-like safepoint polling page (PROT_NONE; the handler makes
 * it readable, the access runs again) and a null check (a load from address 0; the
 * handler jumps past it). Both faults are the kernel's answer, recorded as signals.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *poll_page;
static sigjmp_buf null_check;
static volatile int in_null_check, polls;

static void on_segv(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)uc;
  if (in_null_check) siglongjmp(null_check, 1);
  if ((char *)si->si_addr >= poll_page && (char *)si->si_addr < poll_page + 4096) {
    polls++;
    mprotect(poll_page, 4096, PROT_READ); /* the safepoint is over */
    return;
  }
  _exit(3);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  poll_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *heap = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (int round = 0; round < 3; round++) {
    mprotect(poll_page, 4096, PROT_NONE); /* arm the safepoint */
    memset(heap + round * 4096, 1, 4096);
    (void)*(volatile char *)poll_page; /* the poll: SIGSEGV, then it reads */
  }
  in_null_check = 1;
  volatile char *null = NULL;
  if (!sigsetjmp(null_check, 1)) (void)*null;
  in_null_check = 0;
  return polls == 3 ? 0 : 1;
}
