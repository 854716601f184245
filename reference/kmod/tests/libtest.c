// SPDX-License-Identifier: GPL-2.0
/*
 * usage: libtest LIBRARY
 * dlopen()s LIBRARY (as ld.so maps a shared library: executable), calls its
 * f1, prints "ready F1", waits for SIGUSR1, calls f2 (on another page, so
 * it is faulted in only now) and prints "f2 F2". A process whose library
 * changed meanwhile must get SIGBUS there rather than run the new f2.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>

static void on_usr1(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int (*f1)(void), (*f2)(void);
	sigset_t usr1, old;
	void *lib;

	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
		return 2;
	}
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	lib = dlopen(argv[1], RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "libtest: %s\n", dlerror());
		return 1;
	}
	f1 = (int (*)(void))dlsym(lib, "dmfs_libver_f1");
	f2 = (int (*)(void))dlsym(lib, "dmfs_libver_f2");
	if (!f1 || !f2) {
		fprintf(stderr, "libtest: %s\n", dlerror());
		return 1;
	}
	printf("ready %d\n", f1());
	fflush(stdout);
	sigsuspend(&old);
	printf("f2 %d\n", f2());
	return 0;
}
