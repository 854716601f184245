/* The program the exec.* checks copy onto the filesystem under test and run.
 *
 * Built twice from this file, as version 1 and version 2, with identical
 * layout: only the immediate each page's function returns differs, so a
 * runner whose pages come partly from the old and partly from the new file
 * reports a mix instead of crashing.
 *
 *   runner once                 call every page's function, print versions
 *   runner wait READY GO        call page 0, create READY, wait for GO,
 *                               evict this binary's unmapped page-cache
 *                               pages (as memory pressure would), then call
 *                               the other pages: each is faulted in afresh
 *   runner dlopen LIB           load LIB, use its code and writable data
 *
 * Output: one line per function, "page I version V", written unbuffered so
 * that a runner killed midway still reports what it executed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef RUNNER_VERSION
#error "build with -DRUNNER_VERSION=N"
#endif

/* The table of page functions, built by macros, is laid out by hand. */
/* clang-format off */
#define PAGE_FN(i) \
  __attribute__((noinline, aligned(4096), used)) static int page_fn_##i(void) { return RUNNER_VERSION * 1000 + i; }
#define TEN(d) PAGE_FN(d##0) PAGE_FN(d##1) PAGE_FN(d##2) PAGE_FN(d##3) PAGE_FN(d##4) \
               PAGE_FN(d##5) PAGE_FN(d##6) PAGE_FN(d##7) PAGE_FN(d##8) PAGE_FN(d##9)
TEN(1) TEN(2) TEN(3) TEN(4) TEN(5) TEN(6)

#define REF(i) page_fn_##i,
#define REFS(d) REF(d##0) REF(d##1) REF(d##2) REF(d##3) REF(d##4) REF(d##5) REF(d##6) REF(d##7) REF(d##8) REF(d##9)
static int (*const pages[])(void) = {REFS(1) REFS(2) REFS(3) REFS(4) REFS(5) REFS(6)};
/* clang-format on */
enum { kPages = sizeof pages / sizeof pages[0] };

static void call(int i) {
  int r = pages[i]();
  dprintf(1, "page %d version %d%s\n", i, r / 1000, r % 1000 == 10 + i ? "" : " (wrong function)");
}

static int exists(const char* path) { return access(path, F_OK) == 0; }

static int wait_mode(const char* self, const char* ready, const char* go) {
  call(0);
  int fd = open(ready, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) return 3;
  close(fd);
  for (int i = 0; !exists(go); ++i) {
    if (i > 60000) return 4; /* ~60 s: the check gave up */
    usleep(1000);
  }
  int self_fd = open(self, O_RDONLY);
  if (self_fd >= 0) {
    posix_fadvise(self_fd, 0, 0, POSIX_FADV_DONTNEED);
    close(self_fd);
  }
  for (int i = 1; i < kPages; ++i) call(i);
  return 0;
}

static int dlopen_mode(const char* lib) {
  void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    dprintf(1, "dlopen failed: %s\n", dlerror());
    return 5;
  }
  int (*bump)(void) = (int (*)(void))dlsym(h, "dmmap_testlib_bump");
  const char* (*name)(void) = (const char* (*)(void))dlsym(h, "dmmap_testlib_name");
  if (!bump || !name) return 6;
  int a = bump(), b = bump();
  dprintf(1, "lib %s counter %d %d\n", name(), a, b);
  dlclose(h);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "once") == 0) {
    for (int i = 0; i < kPages; ++i) call(i);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "wait") == 0) return wait_mode(argv[0], argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "dlopen") == 0) return dlopen_mode(argv[2]);
  dprintf(2, "usage: %s once | wait READY GO | dlopen LIB\n", argv[0]);
  return 2;
}
