/*
 * An O_DIRECT read into a fresh buffer: the block layer DMAs into pages it pinned
 * through GUP (iov_iter_extract_pages -> pin_user_pages_fast, FOLL_WRITE), so the buffer
 * becomes present without a page fault exception. The file is written first (buffered,
 * fsync'd) in the current directory (tmpfs has no O_DIRECT), then read back directly.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 64

int main(void) {
  char name[64];
  snprintf(name, sizeof name, "odirect-%d.tmp", getpid());
  static char data[PAGES * 4096];
  memset(data, 5, sizeof data);
  int fd = open(name, O_CREAT | O_TRUNC | O_WRONLY, 0600);
  if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data || fsync(fd)) return 1;
  close(fd);
  fd = open(name, O_RDONLY | O_DIRECT);
  unlink(name);
  if (fd < 0) return 2;
  char *buf = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  /* half the file, then the rest into the buffer's second half via pread */
  if (read(fd, buf, PAGES * 4096 / 2) != PAGES * 4096 / 2) return 3;
  if (pread(fd, buf + PAGES * 4096 / 2, PAGES * 4096 / 2, PAGES * 4096 / 2) != PAGES * 4096 / 2) return 4;
  close(fd);
  return 0;
}
