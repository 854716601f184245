// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupted F_SETLKW waits across two dmfs clients (two mounts of one
 * server): no application lock may stay set at the server after its wait
 * was interrupted, also when the signal races with the grant.
 *
 * usage: plockintr FILE_ON_A FILE_ON_B [ITERS]
 *
 * A holder process on mount B holds a write lock on the file and, in each
 * round, releases it at a time T chosen by the driver, then takes it again
 * (F_SETLKW, guarded by a 5 s timer). Meanwhile a waiter on mount A waits
 * for the same lock with F_SETLKW and is interrupted near T:
 *   phase 1: by a caught SIGALRM (no SA_RESTART) at T + jitter: fcntl must
 *            return EINTR (the wait was withdrawn) or 0 (the lock was set
 *            first: the waiter owns it and unlocks it);
 *   phase 2: by SIGKILL of a waiting child process at T + jitter: a lock it
 *            was granted goes with its exit.
 * Either way the holder must get the lock back: a lock left set at the
 * server for the interrupted waiter blocks it, and is reported as a leak.
 * Finally a third party checks the lock is free, and cluster-wide.
 * Exit 0 when every check passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t fired;
static int fails;

static void on_alarm(int sig)
{
	(void)sig;
	fired = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	return ts;
}

static void sleep_until(int64_t ns)
{
	struct timespec ts = ts_of(ns);

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int setlk(int fd, int cmd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };

	return fcntl(fd, cmd, &fl);
}

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", what);
	if (!ok)
		fails++;
}

/* arm a one-shot SIGALRM at absolute monotonic time ns (0: disarm) */
static void arm(timer_t t, int64_t ns)
{
	struct itimerspec its = { .it_value = ts_of(ns) };

	timer_settime(t, TIMER_ABSTIME, &its, NULL);
}

/*
 * The waiter's alarm: at ns, near the release, then every second. A host
 * slow enough that the waiter reaches F_SETLKW only after the first one
 * (it has 14 ms) would otherwise leave it waiting for good behind the
 * holder, who waits for the next round: the wait is interrupted later.
 */
static void arm_waiter(timer_t t, int64_t ns)
{
	struct itimerspec its = { .it_value = ts_of(ns),
				  .it_interval = ts_of(1000000000) };

	timer_settime(t, TIMER_ABSTIME, &its, NULL);
}

/* holder on mount B: release at each T it is sent, take the lock back */
static void holder(const char *path, int rd, int wr)
{
	timer_t t;
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL,
				.sigev_signo = SIGALRM };
	int64_t when;
	char c;
	int fd = open(path, O_RDWR);

	if (fd < 0 || timer_create(CLOCK_MONOTONIC, &sev, &t)) {
		perror("holder: open/timer_create");
		_exit(2);
	}
	if (setlk(fd, F_SETLKW, F_WRLCK)) {
		perror("holder: first lock");
		_exit(2);
	}
	c = 'R';
	if (write(wr, &c, 1) != 1)
		_exit(2);
	while (read(rd, &when, sizeof(when)) == sizeof(when) && when) {
		sleep_until(when);
		if (setlk(fd, F_SETLK, F_UNLCK)) {
			perror("holder: unlock");
			_exit(2);
		}
		arm(t, now_ns() + 5000000000LL);
		c = setlk(fd, F_SETLKW, F_WRLCK) ? 'L' : 'K';
		arm(t, 0);
		if (write(wr, &c, 1) != 1 || c == 'L')
			_exit(c == 'L' ? 3 : 2);
	}
	setlk(fd, F_SETLK, F_UNLCK);
	close(fd);
	_exit(0);
}

/* holder's answer to one round: 0 ok, -1 it could not take the lock back */
static int round_end(int rd, const char *phase, int k, const char *outcome)
{
	struct pollfd pfd = { .fd = rd, .events = POLLIN };
	char c = 0;

	/* 10 s: also when the holder's 5 s guard cannot interrupt its wait */
	if (poll(&pfd, 1, 10000) != 1 || read(rd, &c, 1) != 1 || c != 'K') {
		printf("FAIL %s round %d (%s): the holder on B could not take the lock back within 5 s: left set at the server for the interrupted waiter\n",
		       phase, k, outcome);
		fails++;
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *pa, *pb;
	int iters, to_h[2], from_h[2], fd, k;
	int intr = 0, got = 0, raced = 0, other = 0;
	int killed_waiting = 0, killed_holding = 0;
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL,
				.sigev_signo = SIGALRM };
	pid_t hp, cp;
	timer_t t;
	char c;
	int64_t when, zero = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s FILE_ON_A FILE_ON_B [ITERS]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pa = argv[1];
	pb = argv[2];
	iters = argc > 3 ? atoi(argv[3]) : 200;
	srand(getpid());
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	fd = open(pa, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || pipe(to_h) || pipe(from_h) ||
	    timer_create(CLOCK_MONOTONIC, &sev, &t)) {
		perror("setup");
		return 2;
	}
	hp = fork();
	if (hp == 0) {
		close(fd);
		holder(pb, to_h[0], from_h[1]);
	}
	if (read(from_h[0], &c, 1) != 1 || c != 'R') {
		fprintf(stderr, "holder did not start\n");
		return 2;
	}

	/* phase 1: caught SIGALRM near the release, jitter -1 .. +6 ms */
	for (k = 0; k < iters; k++) {
		const char *outcome;
		int r, e;

		when = now_ns() + 15000000;
		if (write(to_h[1], &when, sizeof(when)) != sizeof(when))
			return 2;
		fired = 0;
		arm_waiter(t, when - 1000000 + rand() % 7000000);
		r = setlk(fd, F_SETLKW, F_WRLCK);
		e = errno;
		arm(t, 0);
		if (r == 0) {
			got++;
			raced += fired;
			outcome = fired ? "set although the signal came" : "set";
			if (setlk(fd, F_SETLK, F_UNLCK)) {
				perror("unlock");
				fails++;
			}
		} else if (e == EINTR) {
			intr++;
			outcome = "EINTR";
		} else {
			other++;
			outcome = strerror(e);
			printf("FAIL round %d: F_SETLKW: %s\n", k, outcome);
			fails++;
		}
		if (round_end(from_h[0], "SIGALRM", k, outcome))
			goto out;
	}
	printf("INFO SIGALRM: %d rounds: %d EINTR, %d set (%d of them set although the signal had come), %d other\n",
	       iters, intr, got, raced, other);
	check(intr > 0, "F_SETLKW is interrupted by a caught signal (EINTR)");
	check(other == 0, "F_SETLKW returns only 0 or EINTR");

	/* phase 2: SIGKILL of a waiting child near the release */
	for (k = 0; k < iters / 2; k++) {
		int st, p[2];

		if (pipe(p))
			return 2;
		when = now_ns() + 20000000;
		cp = fork();
		if (cp == 0) {
			int cfd = open(pa, O_RDWR);

			close(p[0]);
			if (cfd < 0 || setlk(cfd, F_SETLKW, F_WRLCK))
				_exit(1);
			c = 'G';
			if (write(p[1], &c, 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		close(p[1]);
		if (write(to_h[1], &when, sizeof(when)) != sizeof(when))
			return 2;
		sleep_until(when - 1000000 + rand() % 7000000);
		kill(cp, SIGKILL);
		waitpid(cp, &st, 0);
		if (read(p[0], &c, 1) == 1)
			killed_holding++;
		else
			killed_waiting++;
		close(p[0]);
		if (!WIFSIGNALED(st)) {
			printf("FAIL SIGKILL round %d: child exited with %d\n", k,
			       WEXITSTATUS(st));
			fails++;
		}
		if (round_end(from_h[0], "SIGKILL", k, "killed"))
			goto out;
	}
	printf("INFO SIGKILL: %d rounds: killed while waiting %d, after the lock was set %d\n",
	       iters / 2, killed_waiting, killed_holding);
	check(1, "the holder took the lock back after every interrupted wait");
out:
	if (write(to_h[1], &zero, sizeof(zero)) != sizeof(zero))
		fails++;
	if (fails)
		kill(hp, SIGKILL); /* it may be stuck waiting */
	waitpid(hp, NULL, 0);

	/* third party: the lock is free, and cluster-wide */
	{
		int fa = open(pa, O_RDWR), fb = open(pb, O_RDWR), st;

		check(fa >= 0 && fb >= 0 && setlk(fa, F_SETLK, F_WRLCK) == 0,
		      "third party on A takes the lock at once");
		cp = fork();
		if (cp == 0)
			_exit(setlk(fb, F_SETLK, F_WRLCK) == -1 &&
			      errno == EAGAIN ? 0 : 1);
		waitpid(cp, &st, 0);
		check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "while it holds it, a process on B gets EAGAIN");
		setlk(fa, F_SETLK, F_UNLCK);
		cp = fork();
		if (cp == 0)
			_exit(setlk(fb, F_SETLK, F_WRLCK) == 0 ? 0 : 1);
		waitpid(cp, &st, 0);
		check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "after its unlock, a process on B takes it");
		close(fa);
		close(fb);
	}
	close(fd);
	return fails ? 1 : 0;
}
