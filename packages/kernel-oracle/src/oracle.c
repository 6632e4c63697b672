/*
 * mmsim kernel oracle: runs one mmsim scenario on the running Linux kernel.
 *
 * Input (stdin), written by the TypeScript driver from a validated scenario:
 *   arena PAGES
 *   procs N                         (process slots 0..N-1; the driver maps scenario ids to
 *                                    slots, an exited process's slot goes to a later child)
 *   mmap I PROC PAGE PAGES PROT SHARED FIXED NORESERVE   (PROT: bit0 r, bit1 w, bit2 x)
 *   munmap I PROC PAGE PAGES
 *   mprotect I PROC PAGE PAGES PROT
 *   madvise I PROC PAGE PAGES ADVICE                     (raw MADV_* number, one of KNOWN_ADVICE)
 *   mremap I PROC PAGE PAGES NEWPAGES FLAGS TO           (raw MREMAP_* bits, TO -1 = none)
 *   touch I PROC PAGE PAGES WRITE                        (WRITE 1 = write, 0 = read)
 *   mlock I PROC PAGE PAGES FLAGS                        (mlock2(); FLAGS 1 = MLOCK_ONFAULT)
 *   munlock I PROC PAGE PAGES
 *   mlockall I PROC FLAGS                                (raw MCL_* bits)
 *   munlockall I PROC
 *   mseal I PROC PAGE PAGES
 *   anon_name I PROC PAGE PAGES NAME                     (prctl PR_SET_VMA_ANON_NAME; NAME one word)
 *   mbind I PROC PAGE PAGES MODE LO HI                   (nodemask bits 0-31 LO, 32-63 HI; maxnode 64)
 *   fork I PROC CHILD
 *   exit I PROC
 *   snapshot I                                           (every live process, ascending)
 *   prctl I PROC OPTION VALUE                            (raw PR_* number, one of KNOWN_PRCTL)
 *   end
 *
 * Output (stdout), one record a line:
 *   # free text                                          (diagnostics, ignored)
 *   R I ok | R I okp PAGE|null | R I err ENAME | R I sig SIGNAME PAGE
 *   S I                                                  snapshot of step I begins
 *   P PROC                                               one process of the snapshot
 *   V START END PERMS                                    a VMA overlapping the arena (arena pages)
 *   F [NAME...]                                          its VmFlags among observed_flags[]
 *   G PAGE PRESENT SWAPPED EXCLUSIVE PFN KPAGEFLAGS_HEX  a present or swapped arena page
 *                                                        (KPAGEFLAGS_HEX "-" if unreadable)
 *   SE I                                                 snapshot ends
 *   END
 *
 * Layout: the arena is 2 MiB aligned and has a 2 MiB PROT_NONE *shared* anonymous
 * guard mapping directly on each side. Being shmem-backed, the guards can never merge
 * with, or lend an anon_vma to, the private anonymous mappings of a scenario, and since
 * no hole is left next to the arena the kernel cannot place anything there.
 * After setup nothing is allocated: all buffers are static, output goes through
 * write(2), no stdio, no malloc.
 *
 * Processes: the controller (this program's first process) is not a scenario process.
 * It forks process 0; a scenario `fork` makes process P fork(). Every scenario process
 * waits for commands on its own pipe and reports completion on one shared pipe; they
 * write their result lines straight to stdout, one at a time. `exit` makes the process
 * _exit(); SIGCHLD is ignored so it is reaped at once, and the controller waits on a
 * pidfd until it is gone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define PAGE_SZ 4096UL
#define GUARD (2UL << 20)
#define MAX_PROCS 64

/*
 * The madvise() advice values a scenario may use (include/uapi/asm-generic/mman-common.h):
 * NORMAL 0, RANDOM 1, SEQUENTIAL 2, DONTNEED 4, FREE 8, DONTFORK 10, DOFORK 11, MERGEABLE
 * 12, UNMERGEABLE 13, HUGEPAGE 14, NOHUGEPAGE 15, DONTDUMP 16, DODUMP 17, WIPEONFORK 18,
 * KEEPONFORK 19, COLD 20, PAGEOUT 21, COLLAPSE 25. Anything else is a driver bug, refused
 * before a process starts.
 */
static const int KNOWN_ADVICE[] = { 0, 1, 2, 4, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 25 };
#ifndef SYS_mlock2
#define SYS_mlock2 325
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#define NAME_MAX_LEN 80
/* The prctl() options a scenario may use (include/uapi/linux/prctl.h): PR_SET_MEMORY_MERGE 67. */
static const int KNOWN_PRCTL[] = { 67 };
#define MAX_ARENA_PAGES 262144UL
#define MAX_CMDS 200000
#define IN_MAX (16UL << 20)

enum {
	C_MMAP = 1, C_MUNMAP, C_MPROTECT, C_MADVISE, C_MREMAP, C_TOUCH, C_FORK, C_EXIT, C_SNAP, C_QUIT,
	C_MLOCK, C_MUNLOCK, C_MLOCKALL, C_MUNLOCKALL, C_MSEAL, C_ANON_NAME, C_MBIND, C_PRCTL
};

struct cmd {
	int op;
	int idx;
	int proc;
	int pad;
	long a[6];
	char name[NAME_MAX_LEN]; /* anon_name's NAME, NUL-terminated */
};

struct reply {
	int status;
	int pid;
};

static char inbuf[IN_MAX];
static struct cmd cmds[MAX_CMDS];
static int ncmds;

static unsigned long arena_pages;
static char *arena;
static int nprocs;
static int cmd_pipe[MAX_PROCS][2];
static int done_pipe[2];
static int pidfds[MAX_PROCS];
static int live[MAX_PROCS];
static int self = -1;

static uint64_t pm[MAX_ARENA_PAGES];
static char mapsbuf[1 << 20];
static char obuf[1 << 16];
static size_t olen;

/* ------------------------------------------------------------------ output */

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(90);
		}
		p += w;
		n -= (size_t)w;
	}
}

static void flush_out(void)
{
	write_all(1, obuf, olen);
	olen = 0;
}

static void out_str(const char *s)
{
	size_t n = strlen(s);
	if (olen + n > sizeof(obuf))
		flush_out();
	memcpy(obuf + olen, s, n);
	olen += n;
}

static void out_long(long v)
{
	char tmp[32];
	int k = 31;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
	tmp[k] = 0;
	do {
		tmp[--k] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--k] = '-';
	out_str(tmp + k);
}

static void out_hex(uint64_t v)
{
	char tmp[32];
	int k = 31;
	tmp[k] = 0;
	do {
		tmp[--k] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	out_str(tmp + k);
}

static void die(const char *msg, int e)
{
	/* stderr: diagnostics for the driver */
	write_all(2, "oracle: ", 8);
	write_all(2, msg, strlen(msg));
	if (e) {
		const char *n = strerrorname_np(e);
		write_all(2, ": ", 2);
		if (n)
			write_all(2, n, strlen(n));
	}
	write_all(2, "\n", 1);
	_exit(3);
}

static void out_errno(int e)
{
	const char *n = strerrorname_np(e);
	if (n)
		out_str(n);
	else {
		out_str("E");
		out_long(e);
	}
}

static void res_head(int idx)
{
	out_str("R ");
	out_long(idx);
	out_str(" ");
}

static void res_ok(int idx)
{
	res_head(idx);
	out_str("ok\n");
}

static void res_err(int idx, int e)
{
	res_head(idx);
	out_str("err ");
	out_errno(e);
	out_str("\n");
}

/* a syscall that returns 0 or -1 with errno */
static void res_sys(int idx, long r)
{
	if (r)
		res_err(idx, errno);
	else
		res_ok(idx);
}

static void res_addr(int idx, unsigned long addr)
{
	unsigned long base = (unsigned long)arena;
	res_head(idx);
	out_str("okp ");
	if (addr >= base && addr < base + arena_pages * PAGE_SZ)
		out_long((long)((addr - base) / PAGE_SZ));
	else
		out_str("null");
	out_str("\n");
}

/* ------------------------------------------------------------------- touch */

static sigjmp_buf touch_jb;
static volatile sig_atomic_t in_touch;
static volatile sig_atomic_t touch_sig;

static void on_fault(int sig)
{
	if (in_touch) {
		touch_sig = sig;
		in_touch = 0;
		siglongjmp(touch_jb, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void do_touch(struct cmd *c)
{
	volatile long p;
	long end = c->a[0] + c->a[1];
	int write_access = (int)c->a[2];

	for (p = c->a[0]; p < end; p++) {
		volatile char *addr = arena + (unsigned long)p * PAGE_SZ;
		if (sigsetjmp(touch_jb, 1)) {
			res_head(c->idx);
			out_str("sig ");
			out_str(touch_sig == SIGBUS ? "SIGBUS" : touch_sig == SIGSEGV ? "SIGSEGV" : "SIG?");
			out_str(" ");
			out_long(p);
			out_str("\n");
			return;
		}
		in_touch = 1;
		if (write_access)
			*addr = 1;
		else
			(void)*addr;
		in_touch = 0;
	}
	res_ok(c->idx);
}

/* ---------------------------------------------------------------- snapshot */

static unsigned long parse_hex(const char **pp)
{
	const char *p = *pp;
	unsigned long v = 0;
	for (;;) {
		char ch = *p;
		int d;
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else
			break;
		v = v * 16 + (unsigned long)d;
		p++;
	}
	*pp = p;
	return v;
}

static long rel_page(unsigned long addr)
{
	long d = (long)(addr - (unsigned long)arena);
	/* addresses are page aligned, so this division is exact (also when negative) */
	return d / (long)PAGE_SZ;
}

/*
 * The VmFlags names an observation reports (OBSERVED_VMA_FLAGS in @mmsim/scenario's
 * types.ts), in the order show_smap_vma_flags() prints them.
 */
static const char *const observed_flags[] = { "lo", "sr", "rr", "dc", "lf", "ac", "nr", "wf", "dd", "hg", "nh", "mg", "sl" };

/* One line of /proc/self/smaps: a VMA header (V) or its VmFlags line (F). */
static void smaps_line(const char *p, const char *eol, unsigned long base, unsigned long top, int *in_arena)
{
	if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) {
		/* "start-end perms offset dev inode [path]", as in /proc/self/maps */
		unsigned long s, e;
		char perms[5];
		s = parse_hex(&p);
		if (*p == '-')
			p++;
		e = parse_hex(&p);
		if (*p == ' ')
			p++;
		*in_arena = s < top && e > base;
		if (!*in_arena || eol - p < 4)
			return;
		memcpy(perms, p, 4);
		perms[4] = 0;
		out_str("V ");
		out_long(rel_page(s));
		out_str(" ");
		out_long(rel_page(e));
		out_str(" ");
		out_str(perms);
		out_str("\n");
		return;
	}
	if (*in_arena && eol - p >= 8 && memcmp(p, "VmFlags:", 8) == 0) {
		size_t k;
		out_str("F");
		for (k = 0; k < sizeof(observed_flags) / sizeof(observed_flags[0]); k++) {
			const char *q;
			for (q = p + 8; q + 2 <= eol; q++)
				if (q[0] == observed_flags[k][0] && q[1] == observed_flags[k][1] && q[-1] == ' ' &&
				    (q + 2 == eol || q[2] == ' ')) {
					out_str(" ");
					out_str(observed_flags[k]);
					break;
				}
		}
		out_str("\n");
	}
}

/*
 * The arena's VMAs with their flags, from /proc/self/smaps (maps has no VmFlags). Read
 * in pieces through a static buffer: smaps is ~1.3 KiB a VMA, too big to hold whole.
 */
static void snapshot_vmas(unsigned long base, unsigned long top)
{
	int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
	size_t have = 0;
	int in_arena = 0;
	if (fd < 0)
		die("open /proc/self/smaps", errno);
	for (;;) {
		ssize_t r = read(fd, mapsbuf + have, sizeof(mapsbuf) - have);
		size_t end, off = 0;
		const char *nl;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read /proc/self/smaps", errno);
		end = have + (size_t)r;
		while ((nl = memchr(mapsbuf + off, '\n', end - off)) != NULL) {
			smaps_line(mapsbuf + off, nl, base, top, &in_arena);
			off = (size_t)(nl - mapsbuf) + 1;
		}
		if (r == 0) {
			if (off < end)
				smaps_line(mapsbuf + off, mapsbuf + end, base, top, &in_arena);
			break;
		}
		have = end - off;
		if (have == sizeof(mapsbuf))
			die("read /proc/self/smaps: a line longer than the buffer", E2BIG);
		memmove(mapsbuf, mapsbuf + off, have);
	}
	close(fd);
}

static void do_snapshot(void)
{
	unsigned long base = (unsigned long)arena, top = base + arena_pages * PAGE_SZ;
	int fd, kfd;
	unsigned long k;

	out_str("P ");
	out_long(self);
	out_str("\n");

	snapshot_vmas(base, top);

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open /proc/self/pagemap", errno);
	{
		size_t want = arena_pages * sizeof(uint64_t), got = 0;
		off_t at = (off_t)(base / PAGE_SZ) * (off_t)sizeof(uint64_t);
		while (got < want) {
			ssize_t r = pread(fd, (char *)pm + got, want - got, at + (off_t)got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				die("read /proc/self/pagemap", r < 0 ? errno : EIO);
			got += (size_t)r;
		}
	}
	close(fd);

	kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	for (k = 0; k < arena_pages; k++) {
		uint64_t e = pm[k];
		int present = (int)((e >> 63) & 1), swapped = (int)((e >> 62) & 1);
		uint64_t pfn = present ? (e & ((1ULL << 55) - 1)) : 0;
		if (!present && !swapped)
			continue;
		out_str("G ");
		out_long((long)k);
		out_str(present ? " 1" : " 0");
		out_str(swapped ? " 1" : " 0");
		out_str((e >> 56) & 1 ? " 1 " : " 0 ");
		out_long((long)pfn);
		out_str(" ");
		if (present && kfd >= 0) {
			uint64_t fl;
			if (pread(kfd, &fl, sizeof(fl), (off_t)(pfn * sizeof(uint64_t))) == (ssize_t)sizeof(fl))
				out_hex(fl);
			else
				out_str("-");
		} else {
			out_str("-");
		}
		out_str("\n");
	}
	if (kfd >= 0)
		close(kfd);
}

/* ----------------------------------------------------------- process loop */

static int prot_of(long bits)
{
	return (bits & 1 ? PROT_READ : 0) | (bits & 2 ? PROT_WRITE : 0) | (bits & 4 ? PROT_EXEC : 0);
}

static void read_exact(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(0); /* controller gone */
		got += (size_t)r;
	}
}

static void reply(int status, int pid)
{
	struct reply r = { status, pid };
	flush_out();
	write_all(done_pipe[1], (const char *)&r, sizeof(r));
}

static void proc_loop(void)
{
	for (;;) {
		struct cmd c;
		char *addr;
		unsigned long len;

		read_exact(cmd_pipe[self][0], &c, sizeof(c));
		addr = arena + (unsigned long)c.a[0] * PAGE_SZ;
		len = (unsigned long)c.a[1] * PAGE_SZ;
		switch (c.op) {
		case C_MMAP: {
			int flags = MAP_ANONYMOUS | (c.a[3] ? MAP_SHARED : MAP_PRIVATE) |
				    (c.a[4] ? MAP_FIXED : MAP_FIXED_NOREPLACE) | (c.a[5] ? MAP_NORESERVE : 0);
			void *r = mmap(addr, len, prot_of(c.a[2]), flags, -1, 0);
			if (r == MAP_FAILED)
				res_err(c.idx, errno);
			else
				res_addr(c.idx, (unsigned long)r);
			break;
		}
		case C_MUNMAP:
			if (munmap(addr, len))
				res_err(c.idx, errno);
			else
				res_ok(c.idx);
			break;
		case C_MPROTECT:
			if (mprotect(addr, len, prot_of(c.a[2])))
				res_err(c.idx, errno);
			else
				res_ok(c.idx);
			break;
		case C_MADVISE:
			if (syscall(SYS_madvise, addr, len, (int)c.a[2]))
				res_err(c.idx, errno);
			else
				res_ok(c.idx);
			break;
		case C_MREMAP: {
			unsigned long newlen = (unsigned long)c.a[2] * PAGE_SZ;
			unsigned long to = c.a[4] >= 0 ? (unsigned long)arena + (unsigned long)c.a[4] * PAGE_SZ : 0;
			long r = syscall(SYS_mremap, addr, len, newlen, (unsigned long)c.a[3], to);
			if (r == -1)
				res_err(c.idx, errno);
			else
				res_addr(c.idx, (unsigned long)r);
			break;
		}
		case C_TOUCH:
			do_touch(&c);
			break;
		case C_MLOCK:
			res_sys(c.idx, syscall(SYS_mlock2, addr, len, (int)c.a[2]));
			break;
		case C_MUNLOCK:
			res_sys(c.idx, munlock(addr, len));
			break;
		case C_MLOCKALL:
			res_sys(c.idx, mlockall((int)c.a[0]));
			break;
		case C_MUNLOCKALL:
			res_sys(c.idx, munlockall());
			break;
		case C_MSEAL:
			res_sys(c.idx, syscall(SYS_mseal, addr, len, 0UL));
			break;
		case C_MBIND: {
			unsigned long mask = (unsigned long)c.a[3] | ((unsigned long)c.a[4] << 32);
			res_sys(c.idx, syscall(SYS_mbind, addr, len, (unsigned long)c.a[2], &mask, 64UL, 0UL));
			break;
		}
		case C_ANON_NAME:
			res_sys(c.idx, prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, c.name));
			break;
		case C_FORK: {
			pid_t pid;
			flush_out();
			pid = fork();
			if (pid == 0) {
				self = (int)c.a[0];
				continue; /* the child waits on its own pipe; the parent replies */
			}
			if (pid < 0) {
				res_err(c.idx, errno);
				reply(1, -1);
			} else {
				res_ok(c.idx);
				reply(0, pid);
			}
			continue;
		}
		case C_SNAP:
			do_snapshot();
			break;
		case C_PRCTL:
			if (prctl((int)c.a[0], (unsigned long)c.a[1], 0UL, 0UL, 0UL) == -1)
				res_err(c.idx, errno);
			else
				res_ok(c.idx);
			break;
		case C_EXIT:
		case C_QUIT:
			flush_out();
			_exit(0);
		default:
			die("bad command", 0);
		}
		reply(0, 0);
	}
}

/* -------------------------------------------------------------- controller */

static int wait_pidfd(int k)
{
	struct pollfd p = { pidfds[k], POLLIN, 0 };
	for (;;) {
		int r = poll(&p, 1, -1);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static struct reply wait_done(int k)
{
	struct pollfd p[2] = { { done_pipe[0], POLLIN, 0 }, { pidfds[k], POLLIN, 0 } };
	struct reply r;
	for (;;) {
		int n = poll(p, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("poll", errno);
		if (p[0].revents & POLLIN) {
			size_t got = 0;
			while (got < sizeof(r)) {
				ssize_t x = read(done_pipe[0], (char *)&r + got, sizeof(r) - got);
				if (x < 0 && errno == EINTR)
					continue;
				if (x <= 0)
					die("done pipe closed", x < 0 ? errno : 0);
				got += (size_t)x;
			}
			return r;
		}
		if (p[1].revents)
			die("a scenario process died unexpectedly", 0);
	}
}

static void send_cmd(int k, const struct cmd *c)
{
	if (k < 0 || k >= nprocs || !live[k])
		die("command for a process that does not exist", 0);
	flush_out();
	write_all(cmd_pipe[k][1], (const char *)c, sizeof(*c));
}

static long next_long(char **pp)
{
	char *end;
	long v = strtol(*pp, &end, 10);
	if (end == *pp)
		die("bad number in script", 0);
	*pp = end;
	return v;
}

static void parse_script(size_t len)
{
	char *p = inbuf, *lim = inbuf + len;
	int have_end = 0;
	while (p < lim) {
		char *eol = memchr(p, '\n', (size_t)(lim - p));
		char word[16];
		size_t wl = 0;
		if (!eol)
			eol = lim;
		*eol = 0;
		while (*p == ' ')
			p++;
		while (p[wl] && p[wl] != ' ' && wl < sizeof(word) - 1) {
			word[wl] = p[wl];
			wl++;
		}
		word[wl] = 0;
		p += wl;
		if (wl == 0) {
		} else if (!strcmp(word, "arena")) {
			arena_pages = (unsigned long)next_long(&p);
		} else if (!strcmp(word, "procs")) {
			nprocs = (int)next_long(&p);
		} else if (!strcmp(word, "end")) {
			have_end = 1;
		} else {
			struct cmd *c;
			int na = 0, k;
			if (ncmds >= MAX_CMDS)
				die("too many steps", 0);
			c = &cmds[ncmds++];
			memset(c, 0, sizeof(*c));
			if (!strcmp(word, "mmap"))
				c->op = C_MMAP, na = 6;
			else if (!strcmp(word, "munmap"))
				c->op = C_MUNMAP, na = 2;
			else if (!strcmp(word, "mprotect"))
				c->op = C_MPROTECT, na = 3;
			else if (!strcmp(word, "madvise"))
				c->op = C_MADVISE, na = 3;
			else if (!strcmp(word, "mremap"))
				c->op = C_MREMAP, na = 5;
			else if (!strcmp(word, "touch"))
				c->op = C_TOUCH, na = 3;
			else if (!strcmp(word, "mlock"))
				c->op = C_MLOCK, na = 3;
			else if (!strcmp(word, "munlock"))
				c->op = C_MUNLOCK, na = 2;
			else if (!strcmp(word, "mlockall"))
				c->op = C_MLOCKALL, na = 1;
			else if (!strcmp(word, "munlockall"))
				c->op = C_MUNLOCKALL, na = 0;
			else if (!strcmp(word, "mseal"))
				c->op = C_MSEAL, na = 2;
			else if (!strcmp(word, "anon_name"))
				c->op = C_ANON_NAME, na = 2;
			else if (!strcmp(word, "mbind"))
				c->op = C_MBIND, na = 5;
			else if (!strcmp(word, "fork"))
				c->op = C_FORK, na = 1;
			else if (!strcmp(word, "exit"))
				c->op = C_EXIT, na = 0;
			else if (!strcmp(word, "snapshot"))
				c->op = C_SNAP, na = -1;
			else if (!strcmp(word, "prctl"))
				c->op = C_PRCTL, na = 2;
			else
				die("unknown command in script", 0);
			c->idx = (int)next_long(&p);
			if (na >= 0)
				c->proc = (int)next_long(&p);
			for (k = 0; k < na; k++)
				c->a[k] = next_long(&p);
			if (c->op == C_ANON_NAME) {
				size_t nl = 0;
				while (*p == ' ')
					p++;
				while (p[nl] && p[nl] != ' ' && nl < NAME_MAX_LEN - 1)
					nl++;
				if (nl == 0 || (p[nl] && p[nl] != ' '))
					die("bad anon_name name in script", 0);
				memcpy(c->name, p, nl);
				c->name[nl] = 0;
				p += nl;
			}
			if (c->op == C_MADVISE) {
				size_t j, n = sizeof(KNOWN_ADVICE) / sizeof(KNOWN_ADVICE[0]);
				for (j = 0; j < n && KNOWN_ADVICE[j] != c->a[2]; j++)
					;
				if (j == n)
					die("unknown madvise advice in script", 0);
			}
			if (c->op == C_PRCTL) {
				size_t j, n = sizeof(KNOWN_PRCTL) / sizeof(KNOWN_PRCTL[0]);
				for (j = 0; j < n && KNOWN_PRCTL[j] != c->a[0]; j++)
					;
				if (j == n)
					die("unknown prctl option in script", 0);
			}
		}
		p = eol + 1;
	}
	if (!have_end)
		die("script has no end line", 0);
	if (arena_pages < 1 || arena_pages > MAX_ARENA_PAGES)
		die("arena size out of range", 0);
	if (nprocs < 1 || nprocs > MAX_PROCS)
		die("procs out of range", 0);
}

static void setup_arena(void)
{
	unsigned long asz = arena_pages * PAGE_SZ;
	unsigned long total = asz + 3 * GUARD;
	char *r = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned long a, lo, hi;
	if (r == MAP_FAILED)
		die("reserve arena", errno);
	a = ((unsigned long)r + GUARD + GUARD - 1) & ~(GUARD - 1);
	lo = a - GUARD;
	hi = a + asz + GUARD;
	/* Shared anonymous PROT_NONE guards right beside the arena (replacing the reservation). */
	if (mmap((void *)lo, GUARD, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		die("low guard", errno);
	if (mmap((void *)(a + asz), GUARD, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) ==
	    MAP_FAILED)
		die("high guard", errno);
	if (munmap((void *)a, asz))
		die("unmap arena", errno);
	if (lo > (unsigned long)r && munmap(r, lo - (unsigned long)r))
		die("unmap slack", errno);
	if ((unsigned long)r + total > hi && munmap((void *)hi, (unsigned long)r + total - hi))
		die("unmap slack", errno);
	arena = (char *)a;
}

int main(void)
{
	size_t len = 0;
	int k, i;
	struct sigaction sa;

	/* the whole script first: nothing is read or allocated after the arena exists */
	for (;;) {
		ssize_t r = read(0, inbuf + len, sizeof(inbuf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read stdin", errno);
		if (r == 0)
			break;
		len += (size_t)r;
		if (len >= sizeof(inbuf) - 1)
			die("script too large", 0);
	}
	parse_script(len);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGCHLD, SIG_IGN); /* exited scenario processes are reaped at once */
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	for (k = 0; k < nprocs; k++)
		if (pipe(cmd_pipe[k]))
			die("pipe", errno);
	if (pipe(done_pipe))
		die("pipe", errno);

	setup_arena();
	out_str("# arena ");
	out_hex((unsigned long)arena);
	out_str(" pages ");
	out_long((long)arena_pages);
	out_str("\n");
	flush_out();

	{
		pid_t pid = fork();
		if (pid < 0)
			die("fork process 0", errno);
		if (pid == 0) {
			for (k = 0; k < nprocs; k++)
				close(cmd_pipe[k][1]);
			close(done_pipe[0]);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			self = 0;
			proc_loop();
			_exit(0);
		}
		for (k = 0; k < nprocs; k++)
			close(cmd_pipe[k][0]);
		close(done_pipe[1]);
		pidfds[0] = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfds[0] < 0)
			die("pidfd_open", errno);
		live[0] = 1;
	}

	for (i = 0; i < ncmds; i++) {
		struct cmd *c = &cmds[i];
		switch (c->op) {
		case C_SNAP:
			out_str("S ");
			out_long(c->idx);
			out_str("\n");
			for (k = 0; k < nprocs; k++) {
				struct cmd s;
				if (!live[k])
					continue;
				memset(&s, 0, sizeof(s));
				s.op = C_SNAP;
				s.idx = c->idx;
				s.proc = k;
				send_cmd(k, &s);
				wait_done(k);
			}
			out_str("SE ");
			out_long(c->idx);
			out_str("\n");
			break;
		case C_EXIT:
			send_cmd(c->proc, c);
			wait_pidfd(c->proc);
			close(pidfds[c->proc]);
			live[c->proc] = 0;
			res_ok(c->idx);
			break;
		case C_FORK: {
			struct reply r;
			int child = (int)c->a[0];
			if (child < 0 || child >= nprocs || live[child])
				die("bad child id", 0);
			send_cmd(c->proc, c);
			r = wait_done(c->proc);
			if (r.pid > 0) {
				pidfds[child] = (int)syscall(SYS_pidfd_open, r.pid, 0);
				if (pidfds[child] < 0)
					die("pidfd_open", errno);
				live[child] = 1;
			}
			break;
		}
		default:
			send_cmd(c->proc, c);
			wait_done(c->proc);
		}
	}

	for (k = 0; k < nprocs; k++) {
		struct cmd q;
		if (!live[k])
			continue;
		memset(&q, 0, sizeof(q));
		q.op = C_QUIT;
		send_cmd(k, &q);
		wait_pidfd(k);
		live[k] = 0;
	}
	out_str("END\n");
	flush_out();
	return 0;
}
