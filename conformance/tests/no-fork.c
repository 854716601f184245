// dmmap-no-fork PROGRAM ARGS...: runs PROGRAM in a process that cannot start
// another process, as under a site's seccomp policy or a process limit that
// binds (RLIMIT_NPROC does not bind root, a seccomp filter does): fork,
// vfork and clone without CLONE_THREAD fail with EPERM; clone3, whose flags a
// filter cannot read, fails with ENOSYS, so that the C library falls back to
// clone. Threads still start. For conform.no-fork (integration.sh), under
// mpirun: the launcher itself keeps forking.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NO_FORK_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NO_FORK_ARCH AUDIT_ARCH_AARCH64
#else
#error "dmmap-no-fork: add this architecture's AUDIT_ARCH"
#endif

#ifndef __NR_clone3
#define __NR_clone3 435
#endif

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RETURN(value) BPF_STMT(BPF_RET | BPF_K, (value))
#define IF_NR(nr, skip) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), (skip), 0)

// A jump's offset counts the instructions it skips.
static int deny_process_creation(void) {
  struct sock_filter filter[] = {
      LOAD(arch),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NO_FORK_ARCH, 1, 0),
      RETURN(SECCOMP_RET_KILL_PROCESS),
      LOAD(nr),
#ifdef __NR_fork
      IF_NR(__NR_fork, 8),
#else
      BPF_STMT(BPF_JMP | BPF_JA, 0),
#endif
#ifdef __NR_vfork
      IF_NR(__NR_vfork, 7),
#else
      BPF_STMT(BPF_JMP | BPF_JA, 0),
#endif
      IF_NR(__NR_clone3, 2),
      IF_NR(__NR_clone, 2),
      RETURN(SECCOMP_RET_ALLOW),
      RETURN(SECCOMP_RET_ERRNO | ENOSYS), /* clone3 */
      LOAD(args[0]),                      /* clone's flags (low half) */
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1),
      RETURN(SECCOMP_RET_ALLOW),
      RETURN(SECCOMP_RET_ERRNO | EPERM), /* fork, vfork, a process clone */
  };
  struct sock_fprog program = {
      .len = sizeof(filter) / sizeof(filter[0]),
      .filter = filter,
  };

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: dmmap-no-fork PROGRAM ARGS...\n");
    return 2;
  }
  if (deny_process_creation() != 0) {
    fprintf(stderr, "dmmap-no-fork: seccomp: %s\n", strerror(errno));
    return 1;
  }
  execv(argv[1], argv + 1);
  fprintf(stderr, "dmmap-no-fork: %s: %s\n", argv[1], strerror(errno));
  return 127;
}
