/* A SysV shared memory segment attached twice (shmat) and shared with a fork child:
 * like a memfd, a shmem file whose pages every attachment maps (shm_fault ->
 * shmem_fault); one attachment read-only (SHM_RDONLY), one detached (shmdt) at the end. */
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define PAGES 128

int main(void) {
  int id = shmget(IPC_PRIVATE, PAGES * PAGE, IPC_CREAT | 0600);
  if (id < 0) return 1;
  char *a = shmat(id, NULL, 0);
  const char *b = shmat(id, NULL, SHM_RDONLY);
  shmctl(id, IPC_RMID, NULL); /* destroyed once the last attachment goes */
  if (a == (void *)-1 || b == (void *)-1) return 1;
  volatile char sink = 0;
  for (int i = 0; i < PAGES; i += 2) a[i * PAGE] = (char)i;
  for (int i = 0; i < PAGES; i += 5) sink += b[i * PAGE];
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 1; i < PAGES; i += 8) sink += b[i * PAGE];
    a[3 * PAGE] = 3;
    _exit(sink == 42);
  }
  int st;
  waitpid(pid, &st, 0);
  shmdt(a);
  return 0;
}
