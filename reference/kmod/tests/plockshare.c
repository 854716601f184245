// SPDX-License-Identifier: GPL-2.0
/*
 * Several processes per client taking turns on one fcntl() write lock:
 * the pattern of shared.locked-update with 2 ranks per node, without MPI.
 *
 * usage: plockshare ITERS FILE...
 *
 * One process per FILE (give the same path twice for two processes on one
 * mount, i.e. one client): each maps the file and ITERS times takes a write
 * lock on its first 8 bytes (F_SETLKW), increments the counter there through
 * the mapping, and unlocks. F_SETLKW must never fail (EAGAIN included: it
 * waits), no lock call may take 30 s (an alarm, re-armed for each: with 4
 * processes on 2 clients a cycle takes ~0.2 s in the TCG guest, where
 * revocations ping-pong the page), and the final count, read under a read
 * lock, must be ITERS times the processes.
 * Exit 0 when it is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int set_lock(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_len = 8 };

	while (fcntl(fd, F_SETLKW, &fl) != 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* one process: ITERS locked increments; exit status 0 or 1 */
static int worker(const char *path, long iters, int id)
{
	volatile uint64_t *counter;
	int fd = open(path, O_RDWR);
	long i;
	int err;

	if (fd < 0) {
		fprintf(stderr, "worker %d: open %s: %s\n", id, path, strerror(errno));
		return 1;
	}
	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (counter == MAP_FAILED) {
		fprintf(stderr, "worker %d: mmap: %s\n", id, strerror(errno));
		return 1;
	}
	for (i = 0; i < iters; i++) {
		alarm(30);
		err = set_lock(fd, F_WRLCK);
		if (err) {
			fprintf(stderr, "worker %d: iteration %ld: fcntl(F_SETLKW, F_WRLCK): %s\n",
				id, i, strerror(-err));
			return 1;
		}
		*counter = *counter + 1;
		alarm(30);
		err = set_lock(fd, F_UNLCK);
		if (err) {
			fprintf(stderr, "worker %d: iteration %ld: fcntl(F_UNLCK): %s\n",
				id, i, strerror(-err));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long iters = argc > 2 ? atol(argv[1]) : 0;
	int n = argc - 2, i, status, failed = 0, fd;
	uint64_t total = 0, expected;
	pid_t pid;

	if (iters <= 0 || n < 1) {
		fprintf(stderr, "usage: plockshare ITERS FILE...\n");
		return 2;
	}
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 4096) != 0) {
		perror(argv[2]);
		return 2;
	}
	for (i = 0; i < n; i++) {
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0)
			_exit(worker(argv[i + 2], iters, i));
	}
	while (wait(&status) > 0) {
		if (WIFSIGNALED(status))
			fprintf(stderr, "a worker died of signal %d%s\n", WTERMSIG(status),
				WTERMSIG(status) == SIGALRM ? " (a lock call took 30 s)" : "");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	if (set_lock(fd, F_RDLCK) || pread(fd, &total, sizeof(total), 0) != sizeof(total)) {
		perror("reading the total");
		return 1;
	}
	set_lock(fd, F_UNLCK);
	expected = (uint64_t)iters * (uint64_t)n;
	printf("plockshare: %d processes x %ld locked increments: total %llu, expected %llu\n", n,
	       iters, (unsigned long long)total, (unsigned long long)expected);
	return failed || total != expected;
}
