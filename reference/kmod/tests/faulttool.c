// SPDX-License-Identifier: GPL-2.0
/*
 * Data operations of the dmfs fault tests (tests/fault-*.sh), one per
 * invocation, so a shell script can interleave them across clients:
 *
 *   fill FILE OFF LEN BYTE [CHUNK]  pwrite LEN bytes BYTE at OFF in CHUNK-sized
 *                                   write() calls (default 1 MiB)
 *   check FILE OFF LEN BYTE         pread: all LEN bytes at OFF are BYTE
 *   readat FILE OFF LEN             one pread; prints "COUNT FIRSTBYTE"
 *   mapstore FILE OFF LEN BYTE      MAP_SHARED store, munmap, no msync
 *   mapload FILE OFF                MAP_SHARED load of one byte; prints it
 *   fadvise FILE OFF LEN            posix_fadvise(WILLNEED)
 *   increment FILE SECS [LOCKFILE]  read-modify-writes of the 64-bit word
 *                                   at 0 through a MAP_SHARED mapping for
 *                                   SECS s, each between flock() and
 *                                   unlock of LOCKFILE (see increment())
 *   faultmmap FILE DELAY_MS         maps FILE, says "mapped", DELAY_MS later
 *                                   faults page 0 while another thread
 *                                   times an mmap()/munmap() of anonymous
 *                                   memory (see faultmmap())
 *   mkwritemmap FILE DELAY_MS       the same for a store to page 0 after a
 *                                   load mapped it (.page_mkwrite's wait)
 *   storm FILE PAGES BYTE SECS      mapped stores and loads over PAGES pages
 *                                   for SECS s, SIGUSR1 caught (see storm())
 *   sigwrite FILE LEN BYTE SECS     write LEN bytes BYTE from 0 in steps the
 *                                   test paces, then fsync; retries the fsync
 *                                   while it fails with EINTR for SECS s
 *                                   (see sigwrite())
 *   appendstat FILE SECS            O_APPEND write()s of 1-3000 bytes for
 *                                   SECS s, each followed by fstat(): the
 *                                   size is never below what this process
 *                                   wrote (see appendstat())
 *   readtail FILE SECS              fstat() and a pread() of the last byte
 *                                   for SECS s: revokes an appender's lock
 *   storestat FILE SIZE SECS        MAP_SHARED increments of byte 0, each
 *                                   followed by fstat(), for SECS s: the
 *                                   size is never below SIZE (see
 *                                   storestat())
 *   readloop FILE OFF SECS          pread()s of the byte at OFF for SECS s:
 *                                   revokes a writer's lock over and over
 *   session FILE MAPLEN             keeps FILE open (O_RDWR) and mapped
 *                                   (MAP_SHARED, MAPLEN bytes at 0) and runs
 *                                   commands from stdin, one a line, each
 *                                   answered with one line on stdout:
 *                                   "load OFF" (the byte), "store OFF LEN
 *                                   BYTE" ("stored"), "pread OFF LEN"
 *                                   ("COUNT FIRSTBYTE"), "pwrite OFF LEN
 *                                   BYTE" (the count), "size" (fstat);
 *                                   closes the file at EOF on stdin
 *
 * BYTE is a character or a number. Exit status 0 on success, 1 with a
 * message on stderr otherwise (a signal ends the process as usual, e.g.
 * SIGBUS: status 135).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "faulttool: %s: %s\n", what, strerror(errno));
	return 1;
}

static long long num(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 0);

	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	else if (*end == 'G' || *end == 'g')
		v <<= 30;
	return v;
}

static int byte(const char *s)
{
	return s[0] && !s[1] && (s[0] < '0' || s[0] > '9') ? s[0] : (int)num(s);
}

static int fill(const char *path, long long off, long long len, int b,
		long long chunk)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	char *buf;

	if (fd < 0)
		return die("open");
	buf = malloc(chunk);
	if (!buf)
		return die("malloc");
	memset(buf, b, chunk);
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len < chunk ? len : chunk, off);

		if (n <= 0)
			return die("pwrite");
		off += n;
		len -= n;
	}
	if (close(fd))
		return die("close");
	return 0;
}

static int check(const char *path, long long off, long long len, int b)
{
	int fd = open(path, O_RDONLY);
	static char buf[1 << 20];
	long long at = off;

	if (fd < 0)
		return die("open");
	while (at < off + len) {
		long long want = off + len - at;
		ssize_t n = pread(fd, buf, want < (long long)sizeof(buf) ?
				  want : (long long)sizeof(buf), at);

		if (n < 0)
			return die("pread");
		if (n == 0) {
			fprintf(stderr, "faulttool: %s: EOF at %lld, expected %lld bytes 0x%02x from %lld\n",
				path, at, len, b, off);
			return 1;
		}
		for (ssize_t i = 0; i < n; i++) {
			if ((unsigned char)buf[i] != (unsigned char)b) {
				fprintf(stderr, "faulttool: %s: byte %lld is 0x%02x, expected 0x%02x\n",
					path, at + i, (unsigned char)buf[i], b);
				return 1;
			}
		}
		at += n;
	}
	return 0;
}

static int readat(const char *path, long long off, long long len)
{
	int fd = open(path, O_RDONLY);
	char *buf = malloc(len ? len : 1);
	ssize_t n;

	if (fd < 0 || !buf)
		return die("open");
	n = pread(fd, buf, len, off);
	if (n < 0)
		return die("pread");
	printf("%zd %d\n", n, n > 0 ? (unsigned char)buf[0] : -1);
	return 0;
}

static char *map(const char *path, long long off, long long len, int prot,
		 long long *delta)
{
	int fd = open(path, prot & PROT_WRITE ? O_RDWR : O_RDONLY);
	long long base = off & ~4095LL;
	char *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, off - base + len, prot, MAP_SHARED, fd, base);
	close(fd);
	*delta = off - base;
	return p == MAP_FAILED ? NULL : p;
}

static void on_signal(int sig)
{
	(void)sig;
}

/*
 * Takes the file's lock with a first page, says "ready" and waits for
 * SIGUSR2 (the test stops the server meanwhile), writes the rest to the
 * page cache, says "written", then fsync()s, which blocks once the socket
 * buffers are full; caught SIGUSR1s interrupt it.
 */
static int sigwrite(const char *path, long long len, int b, int secs)
{
	struct sigaction sa = { .sa_handler = on_signal };
	static char buf[1 << 20];
	sigset_t usr2, old;
	time_t until;
	long long off = 0;
	int fd, eintr = 0;

	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: EINTR is visible */
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, &old);
	memset(buf, b, sizeof(buf));
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return die("open");
	if (pwrite(fd, buf, 4096, 0) != 4096)
		return die("pwrite");
	printf("ready\n");
	fflush(stdout);
	sigsuspend(&old);
	while (off < len) {
		ssize_t n = pwrite(fd, buf, len - off < (long long)sizeof(buf) ?
				   len - off : (long long)sizeof(buf), off);

		if (n <= 0)
			return die("pwrite");
		off += n;
	}
	printf("written\n");
	fflush(stdout);
	until = time(NULL) + secs;
	while (fsync(fd)) {
		if (errno != EINTR || time(NULL) > until)
			return die("fsync");
		eintr++;
	}
	printf("fsync ok after %d EINTR\n", eintr);
	return 0;
}

static volatile sig_atomic_t signals;

static void on_storm(int sig)
{
	(void)sig;
	signals++;
}

/*
 * Increments the word at 0 of FILE through a MAP_SHARED mapping for SECS
 * seconds. When another client does the same, every load and every store
 * needs the lock the other just took. Each increment is done between
 * flock() and unlock of LOCKFILE, if given: a lock of this client's own
 * file, which serialises nothing, but puts two server round trips between
 * increments, as shared.flock-update does (where the file lock failed to
 * serialise). Updates may be lost; what is measured is that both clients
 * make progress, and how fast. Prints "COUNT increments in MS ms, longest
 * L ms" (the longest increment, lock calls included).
 */
static int increment(const char *path, int secs, const char *lockpath)
{
	volatile unsigned long long *word;
	struct timespec t0, now;
	long long delta, n = 0, ms = 0, last = 0, longest = 0;
	int lfd = -1;

	if (lockpath) {
		lfd = open(lockpath, O_RDWR | O_CREAT, 0644);
		if (lfd < 0)
			return die("open lock file");
	}
	word = (volatile unsigned long long *)map(path, 0, 8,
						 PROT_READ | PROT_WRITE,
						 &delta);
	if (!word)
		return die("mmap");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms < secs * 1000LL) {
		if (lfd >= 0 && flock(lfd, LOCK_EX))
			return die("flock");
		*word = *word + 1;
		if (lfd >= 0 && flock(lfd, LOCK_UN))
			return die("flock unlock");
		n++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - t0.tv_sec) * 1000LL +
		     (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms - last > longest)
			longest = ms - last;
		last = ms;
	}
	printf("%lld increments in %lld ms, longest %lld ms\n", n, ms,
	       longest);
	return 0;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/*
 * Appends to FILE, which only this process extends, and checks after each
 * that fstat() reports at least the size written: while readtail on
 * another client revokes the lock, a size the server sent before the
 * revoke's write-back must not undo our append. Prints "COUNT appends,
 * size SIZE"; exit 1 at the first smaller size.
 */
static int appendstat(const char *path, int secs)
{
	static char buf[3000];
	long long end = now_ms() + secs * 1000LL, n = 0;
	off_t size;
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND);

	if (fd < 0 || fstat(fd, &st))
		return die("open");
	size = st.st_size;
	memset(buf, 'a', sizeof(buf));
	while (now_ms() < end) {
		size_t len = 1 + (size_t)(n * 7919 % sizeof(buf));

		if (write(fd, buf, len) != (ssize_t)len)
			return die("write");
		size += len;
		n++;
		if (fstat(fd, &st))
			return die("fstat");
		if (st.st_size < size) {
			fprintf(stderr, "append %lld: size %lld, wrote up to %lld\n",
				n, (long long)st.st_size, (long long)size);
			return 1;
		}
	}
	printf("%lld appends, size %lld\n", n, (long long)size);
	return close(fd) ? die("close") : 0;
}

/*
 * Increments byte 0 of FILE through a shared mapping (a read-modify-write
 * instruction, which may fault as a read first) and checks after each
 * that fstat() reports at least SIZE, which another client's unwritten data
 * makes the file: while readloop on a third client revokes our lock, the
 * answer to our write-back carries the server's smaller size. Prints
 * "COUNT stores"; exit 1 at the first smaller size.
 */
static int storestat(const char *path, long long size, int secs)
{
	long long end = now_ms() + secs * 1000LL, n = 0, delta;
	char *p = map(path, 0, 1, PROT_READ | PROT_WRITE, &delta);
	int fd = open(path, O_RDONLY);
	struct stat st;

	if (!p || fd < 0)
		return die("open and map");
	while (now_ms() < end) {
		p[0]++;
		n++;
		if (fstat(fd, &st))
			return die("fstat");
		if (st.st_size < size) {
			fprintf(stderr, "store %lld: size %lld, not %lld\n",
				n, (long long)st.st_size, size);
			return 1;
		}
	}
	printf("%lld stores\n", n);
	munmap(p, 1);
	return close(fd) ? die("close") : 0;
}

/*
 * pread()s of the byte at @off of FILE for SECS s; with @off < 0 of its
 * last byte, each after an fstat() (revokes an appender's lock).
 */
static int readloop(const char *path, long long off, int secs)
{
	long long end = now_ms() + secs * 1000LL, n = 0, at = off;
	int fd = open(path, O_RDONLY);
	struct stat st;
	char c;

	if (fd < 0)
		return die("open");
	while (now_ms() < end) {
		if (off < 0) {
			if (fstat(fd, &st))
				return die("fstat");
			at = st.st_size - 1;
		}
		if (at >= 0 && pread(fd, &c, 1, at) < 0)
			return die("pread");
		n++;
	}
	printf("%lld reads\n", n);
	return close(fd) ? die("close") : 0;
}

static long long mmap_ms = -1;

/* 300 ms into the fault: how long one mmap()/munmap() of 4 KiB takes */
static void *time_mmap(void *unused)
{
	long long t0;
	void *p;

	(void)unused;
	usleep(300000);
	t0 = now_ms();
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	mmap_ms = now_ms() - t0;
	return NULL;
}

/*
 * A fault that waits for the server (the test stops it during DELAY_MS)
 * must not hold the process's mmap_lock meanwhile: another thread's mmap()
 * (which takes it for writing) goes on. With @store, the page is loaded
 * (mapped read-only under a PR lock) before the wait and the timed access
 * is a store: .page_mkwrite waits for the PW lock. Prints "fault MS mmap
 * MS".
 */
static int faultmmap(const char *path, int delay_ms, bool store)
{
	volatile char *p;
	long long delta, t0, fault;
	pthread_t th;

	p = map(path, 0, 4096, store ? PROT_READ | PROT_WRITE : PROT_READ,
		&delta);
	if (!p)
		return die("mmap");
	if (store)
		(void)p[0];
	printf("mapped\n");
	fflush(stdout);
	usleep(delay_ms * 1000);
	if (pthread_create(&th, NULL, time_mmap, NULL))
		return die("pthread_create");
	t0 = now_ms();
	if (store)
		p[0] = 1;
	else
		(void)p[0];
	fault = now_ms() - t0;
	pthread_join(th, NULL);
	printf("fault %lld mmap %lld\n", fault, mmap_ms);
	return 0;
}

/*
 * Stores and loads BYTE over the first PAGES pages of FILE through a
 * MAP_SHARED mapping for SECS seconds, with a no-op SIGUSR1 handler (no
 * SA_RESTART), while the test throws signals at it; another client does
 * the same, so every fault is contended. Prints loops and signals seen.
 */
static int storm(const char *path, int pages, int b, int secs)
{
	struct sigaction sa = { .sa_handler = on_storm };
	time_t until = time(NULL) + secs;
	long long delta, loops = 0;
	volatile char *p;
	int i;

	sigaction(SIGUSR1, &sa, NULL);
	p = (volatile char *)map(path, 0, pages * 4096LL,
				 PROT_READ | PROT_WRITE, &delta);
	if (!p)
		return die("mmap");
	while (time(NULL) < until) {
		for (i = 0; i < pages; i++) {
			p[i * 4096 + (loops & 63)] = (char)b;
			(void)p[i * 4096 + 64 + (loops & 63)];
		}
		loops++;
	}
	printf("%lld loops, %d signals\n", loops, (int)signals);
	return 0;
}

/* one command of session(); 0, or 1 after a message on stderr */
static int session_cmd(int fd, char *p, long long maplen, const char *line)
{
	char w[4][64];
	long long off, len;
	struct stat st;
	ssize_t n;
	char *buf;
	int k;

	k = sscanf(line, "%63s %63s %63s %63s", w[0], w[1], w[2], w[3]);
	off = k > 1 ? num(w[1]) : 0;
	len = k > 2 ? num(w[2]) : 0;
	if (k == 2 && !strcmp(w[0], "load") && off >= 0 && off < maplen) {
		printf("%d\n", ((volatile unsigned char *)p)[off]);
	} else if (k == 4 && !strcmp(w[0], "store") && off >= 0 && len >= 0 &&
		   off + len <= maplen) {
		memset(p + off, byte(w[3]), len);
		printf("stored\n");
	} else if ((k == 3 && !strcmp(w[0], "pread")) ||
		   (k == 4 && !strcmp(w[0], "pwrite"))) {
		buf = malloc(len ? len : 1);
		if (!buf)
			return die("malloc");
		if (k == 4)
			memset(buf, byte(w[3]), len);
		n = k == 4 ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
		if (n < 0)
			return die(w[0]);
		if (k == 4)
			printf("%zd\n", n);
		else
			printf("%zd %d\n", n, n > 0 ? (unsigned char)buf[0] : -1);
		free(buf);
	} else if (k == 1 && !strcmp(w[0], "size")) {
		if (fstat(fd, &st))
			return die("fstat");
		printf("%lld\n", (long long)st.st_size);
	} else {
		fprintf(stderr, "faulttool: session: bad command '%s'\n", line);
		return 1;
	}
	fflush(stdout);
	return 0;
}

/*
 * A client that keeps its view of FILE across other clients' operations:
 * no path walk or open() between the commands refreshes its size.
 */
static int session(const char *path, long long maplen)
{
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	char line[256];
	char *p;

	if (fd < 0)
		return die("open");
	p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return die("mmap");
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		if (session_cmd(fd, p, maplen, line))
			return 1;
	if (munmap(p, maplen))
		return die("munmap");
	return close(fd) ? die("close") : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	long long delta;
	char *p;

	if (!strcmp(cmd, "fill") && (argc == 6 || argc == 7))
		return fill(argv[2], num(argv[3]), num(argv[4]), byte(argv[5]),
			    argc == 7 ? num(argv[6]) : 1 << 20);
	if (!strcmp(cmd, "check") && argc == 6)
		return check(argv[2], num(argv[3]), num(argv[4]), byte(argv[5]));
	if (!strcmp(cmd, "readat") && argc == 5)
		return readat(argv[2], num(argv[3]), num(argv[4]));
	if (!strcmp(cmd, "mapstore") && argc == 6) {
		p = map(argv[2], num(argv[3]), num(argv[4]),
			PROT_READ | PROT_WRITE, &delta);
		if (!p)
			return die("mmap");
		memset(p + delta, byte(argv[5]), num(argv[4]));
		return munmap(p, delta + num(argv[4])) ? die("munmap") : 0;
	}
	if (!strcmp(cmd, "mapload") && argc == 4) {
		p = map(argv[2], num(argv[3]), 1, PROT_READ, &delta);
		if (!p)
			return die("mmap");
		printf("%d\n", (unsigned char)p[delta]);
		return 0;
	}
	if (!strcmp(cmd, "fadvise") && argc == 5) {
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0)
			return die("open");
		errno = posix_fadvise(fd, num(argv[3]), num(argv[4]),
				      POSIX_FADV_WILLNEED);
		return errno ? die("posix_fadvise") : 0;
	}
	if (!strcmp(cmd, "increment") && (argc == 4 || argc == 5))
		return increment(argv[2], (int)num(argv[3]),
				 argc == 5 ? argv[4] : NULL);
	if (!strcmp(cmd, "faultmmap") && argc == 4)
		return faultmmap(argv[2], (int)num(argv[3]), false);
	if (!strcmp(cmd, "mkwritemmap") && argc == 4)
		return faultmmap(argv[2], (int)num(argv[3]), true);
	if (!strcmp(cmd, "storm") && argc == 6)
		return storm(argv[2], (int)num(argv[3]), byte(argv[4]),
			     (int)num(argv[5]));
	if (!strcmp(cmd, "sigwrite") && argc == 6)
		return sigwrite(argv[2], num(argv[3]), byte(argv[4]),
				(int)num(argv[5]));
	if (!strcmp(cmd, "appendstat") && argc == 4)
		return appendstat(argv[2], (int)num(argv[3]));
	if (!strcmp(cmd, "readtail") && argc == 4)
		return readloop(argv[2], -1, (int)num(argv[3]));
	if (!strcmp(cmd, "storestat") && argc == 5)
		return storestat(argv[2], num(argv[3]), (int)num(argv[4]));
	if (!strcmp(cmd, "readloop") && argc == 5)
		return readloop(argv[2], num(argv[3]), (int)num(argv[4]));
	if (!strcmp(cmd, "session") && argc == 4)
		return session(argv[2], num(argv[3]));
	fprintf(stderr, "usage: see the comment at the top of faulttool.c\n");
	return 2;
}
