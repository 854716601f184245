// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of the dmfs client across two mounts (two clients) of one
 * dmfsd: usage: mmtest DIR_A DIR_B [iterations]
 * Prints PASS/FAIL lines; exit status 0 if all pass.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int failures; /* survives siglongjmp (step 5) */
/* evaluates cond exactly once: it is often the operation under test */
#define CHECK(cond, ...) do { \
	int ok_ = !!(cond); \
	int errno_ = errno; \
	if (ok_) { \
		printf("PASS "); printf(__VA_ARGS__); printf("\n"); \
	} else { \
		failures++; \
		fprintf(stderr, "FAIL(stderr) "); fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n"); \
		printf("FAIL "); printf(__VA_ARGS__); \
		printf(" (errno %d %s)\n", errno_, strerror(errno_)); \
	} \
	fflush(stdout); } while (0)

static char pa[4096], pb[4096];
static const long PG = 4096;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *map(const char *path, int prot, int flags, size_t len)
{
	int fd = open(path, O_RDWR);
	void *p;

	if (fd < 0)
		return MAP_FAILED;
	p = mmap(NULL, len, prot, flags, fd, 0);
	close(fd);
	return p;
}

static sigjmp_buf jb;
static void on_sigbus(int sig) { siglongjmp(jb, sig); }

int main(int argc, char **argv)
{
	int iters = argc > 3 ? atoi(argv[3]) : 1000;
	size_t len = 16 * PG;
	int fd, i, bad;
	double t0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DIR_A DIR_B [iterations]\n", argv[0]);
		return 2;
	}
	snprintf(pa, sizeof(pa), "%s/mmtest.dat", argv[1]);
	snprintf(pb, sizeof(pb), "%s/mmtest.dat", argv[2]);

	/* 1. namespace + write()/read() across clients */
	fd = open(pa, O_CREAT | O_TRUNC | O_RDWR, 0644);
	CHECK(fd >= 0, "create on A");
	{
		char buf[16 * 4096];

		memset(buf, 'a', sizeof(buf));
		CHECK(write(fd, buf, sizeof(buf)) == sizeof(buf), "write 64 KiB on A");
		close(fd);
		fd = open(pb, O_RDONLY);
		CHECK(fd >= 0, "file visible on B");
		memset(buf, 0, sizeof(buf));
		CHECK(read(fd, buf, sizeof(buf)) == sizeof(buf) && buf[0] == 'a' &&
		      buf[sizeof(buf) - 1] == 'a', "B reads what A wrote (no fsync)");
		close(fd);
	}

	/* 2. MAP_SHARED coherence, alternating writers */
	{
		volatile uint32_t *ma = map(pa, PROT_READ | PROT_WRITE, MAP_SHARED, len);
		volatile uint32_t *mb = map(pb, PROT_READ | PROT_WRITE, MAP_SHARED, len);

		CHECK(ma != MAP_FAILED && mb != MAP_FAILED, "map shared on A and B");
		bad = 0;
		t0 = now();
		for (i = 1; i <= iters; i++) {
			size_t off = (i % 16) * (PG / 4) + (i % 7);

			ma[off] = i;
			if (mb[off] != (uint32_t)i)
				bad++;
			mb[off + 1] = i * 3;
			if (ma[off + 1] != (uint32_t)i * 3)
				bad++;
		}
		CHECK(bad == 0, "MAP_SHARED: %d round trips A->B->A, %d stale (%.1f us/round trip)",
		      iters, bad, (now() - t0) * 1e6 / iters);

		/* 3. MAP_PRIVATE COW pages survive revokes */
		{
			volatile char *pb_priv = map(pb, PROT_READ | PROT_WRITE, MAP_PRIVATE, len);
			volatile char *ca = (volatile char *)ma;

			pb_priv[0] = 'P';      /* COW copy of page 0 on B */
			ca[0] = 'S';           /* A writes page 0: revokes B's lock */
			ca[PG] = 'T';
			CHECK(pb_priv[0] == 'P', "MAP_PRIVATE copied byte survives remote write");
			printf("INFO uncopied private page sees remote write: %s\n",
			       pb_priv[PG] == 'T' ? "yes" : "no");
			CHECK(((volatile char *)mb)[0] == 'S', "B's shared map sees A's store");
			munmap((void *)pb_priv, len);
		}

		/* 4. read() into a buffer that is a dmfs mapping (tree-lock case) */
		{
			int fa = open(pa, O_RDONLY);
			ssize_t n;

			alarm(60);
			/*
			 * Same client: the read's PR and the buffer's PW
			 * would conflict on the server; no lock is held while
			 * the buffer faults. (Client A reading into client B's
			 * mapping in ONE process can livelock by design: each
			 * revokes the other; real nodes never share a process.)
			 */
			munmap((void *)mb, len);
			mb = map(pb, PROT_READ, MAP_SHARED, len);
			n = pread(fa, (void *)ma + 8 * PG, 4 * PG, 0);
			CHECK(n == 4 * PG, "read() on A into A's mapping of the same file");
			n = pwrite(open(pa, O_WRONLY), (void *)ma, 2 * PG, 12 * PG);
			CHECK(n == 2 * PG, "write() on A from A's mapping of the same file");
			CHECK(((volatile char *)mb)[12 * PG] == 'S' &&
			      ((volatile char *)mb)[8 * PG] == 'S',
			      "B's mapping sees both");
			alarm(0);
			close(fa);
		}
		munmap((void *)ma, len);
		munmap((void *)mb, len);
	}

	/* 5. truncation by another client gives SIGBUS beyond EOF */
	{
		volatile char *m = map(pa, PROT_READ, MAP_SHARED, len);
		volatile int got = 0;

		signal(SIGBUS, on_sigbus);
		CHECK(truncate(pb, PG) == 0, "truncate on B");
		if (sigsetjmp(jb, 1) == 0)
			(void)m[2 * PG];
		else
			got = 1;
		CHECK(got, "SIGBUS on A beyond the EOF B set");
		munmap((void *)m, len);
	}
	CHECK(unlink(pb) == 0, "unlink on B");
	CHECK(access(pa, F_OK) != 0 && errno == ENOENT, "gone on A");
	printf("%s: %d failure(s)\n", argv[0], failures);
	return failures ? 1 : 0;
}
