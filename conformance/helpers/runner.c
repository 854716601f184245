/* The program the exec.* checks copy onto the filesystem under test and run.
 *
 * Built twice from this file, as version 1 and version 2, with identical
 * layout: only the immediate each page's function returns differs, so a
 * runner whose pages come partly from the old and partly from the new file
 * reports a mix instead of crashing.
 *
 *   runner once                 call every page's function, print versions
 *   runner wait READY GO        call page 0, create READY, wait for GO,
 *                               evict the running binary's pages (as memory
 *                               pressure would) and say whether they are gone,
 *                               then call the other pages: each is faulted in
 *                               afresh from the filesystem
 *   runner dlopen LIB           load LIB, use its code and writable data
 *
 * Output: first "layout: N functions on N pages of P bytes" (or, when two
 * functions share a page of the runtime page size, "layout: ..." and exit 7),
 * then one line per function, "page I version V", written unbuffered so that
 * a runner killed midway still reports what it executed. `wait` adds, before
 * the pages after GO, "evict: R of N pages still resident" (mincore) and an
 * "evict: CALL: ERROR" line for each eviction step that failed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The largest page size Linux runs with (64 KiB: arm64, ppc64): a function
 * alone in a block of it has a page of its own at any runtime page size, and
 * fault-around (64 KiB windows) never maps one page function's page while
 * another is faulted. */
#define BLOCK 65536

#ifndef RUNNER_VERSION
#error "build with -DRUNNER_VERSION=N"
#endif

/* The page functions, defined at the end of this file (after the code that
 * calls them, which is emitted first: -fno-toplevel-reorder). */
#define N_PAGES 60
enum { kPages = N_PAGES };
static int (*const pages[N_PAGES])(void);

int main(int argc, char** argv);

static uintptr_t page_of(const void* p) {
  const uintptr_t size = (uintptr_t)sysconf(_SC_PAGESIZE);
  return (uintptr_t)p & ~(size - 1);
}

/* Every page function on its own page of the runtime page size, none on the
 * page of the code that calls them; 0 when so. */
static int check_layout(void) {
  const long size = sysconf(_SC_PAGESIZE);
  for (int i = 0; i < kPages; ++i) {
    const uintptr_t p = page_of((const void*)pages[i]);
    int shared = p == page_of((const void*)main) || p == page_of((const void*)check_layout);
    for (int j = 0; j < i && !shared; ++j) shared = p == page_of((const void*)pages[j]);
    if (shared) {
      dprintf(1, "layout: page function %d shares a page of %ld bytes: rebuild with a larger BLOCK\n", i, size);
      return 7;
    }
  }
  dprintf(1, "layout: %d functions on %d pages of %ld bytes\n", kPages, kPages, size);
  return 0;
}

static void call(int i) {
  int r = pages[i]();
  dprintf(1, "page %d version %d%s\n", i, r / 1000, r % 1000 == 10 + i ? "" : " (wrong function)");
}

static int exists(const char* path) { return access(path, F_OK) == 0; }

/* Drops this process's mappings of the page functions' pages (page 0's
 * too: a mapped page pins the whole folio it belongs to) and then the page cache's pages of
 * the running binary — /proc/self/exe: the inode this process executes,
 * also after a rename put another file at its path — and reports with
 * mincore() how many are still resident. */
static void evict_self(void) {
  const uintptr_t size = (uintptr_t)sysconf(_SC_PAGESIZE);
  const uintptr_t first = page_of((const void*)pages[0]), end = page_of((const void*)pages[kPages - 1]) + size;
  if (madvise((void*)first, end - first, MADV_DONTNEED) != 0) dprintf(1, "evict: madvise: %s\n", strerror(errno));
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    dprintf(1, "evict: open /proc/self/exe: %s\n", strerror(errno));
  } else {
    /* Reading the whole file waits for the readahead still in flight from the
     * first faults: a page under I/O is locked, and eviction skips it. */
    static char buf[BLOCK];
    ssize_t n;
    off_t at = 0;
    while ((n = pread(fd, buf, sizeof buf, at)) > 0) at += n;
    if (n < 0) dprintf(1, "evict: pread: %s\n", strerror(errno));
    int err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* returns the error, sets no errno */
    if (err != 0) dprintf(1, "evict: posix_fadvise: %s\n", strerror(err));
    close(fd);
  }
  int resident = 0;
  for (int i = 1; i < kPages; ++i) {
    unsigned char in_core = 0;
    if (mincore((void*)page_of((const void*)pages[i]), 1, &in_core) != 0) {
      dprintf(1, "evict: mincore: %s\n", strerror(errno));
      return;
    }
    resident += in_core & 1;
  }
  dprintf(1, "evict: %d of %d pages still resident\n", resident, kPages - 1);
}

static int wait_mode(const char* ready, const char* go) {
  call(0);
  int fd = open(ready, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) return 3;
  close(fd);
  /* The check releases (GO) or kills every runner it started, within its
   * own deadline; a runner whose check died is orphaned and ends here. */
  const pid_t parent = getppid();
  while (!exists(go)) {
    if (getppid() != parent) return 4;
    usleep(1000);
  }
  evict_self();
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
  int bad = check_layout();
  if (bad) return bad;
  if (argc == 2 && strcmp(argv[1], "once") == 0) {
    for (int i = 0; i < kPages; ++i) call(i);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "wait") == 0) return wait_mode(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "dlopen") == 0) return dlopen_mode(argv[2]);
  dprintf(2, "usage: %s once | wait READY GO | dlopen LIB\n", argv[0]);
  return 2;
}

/* Each page function sits alone in a block of BLOCK bytes, after the
 * runner's own code, and a block apart from it. */
__attribute__((noinline, aligned(BLOCK), used)) static int page_spacer(void) { return 0; }

/* The table of page functions, built by macros, is laid out by hand. */
/* clang-format off */
#define PAGE_FN(i) \
  __attribute__((noinline, aligned(BLOCK), used)) static int page_fn_##i(void) { return RUNNER_VERSION * 1000 + i; }
#define TEN(d) PAGE_FN(d##0) PAGE_FN(d##1) PAGE_FN(d##2) PAGE_FN(d##3) PAGE_FN(d##4) \
               PAGE_FN(d##5) PAGE_FN(d##6) PAGE_FN(d##7) PAGE_FN(d##8) PAGE_FN(d##9)
TEN(1) TEN(2) TEN(3) TEN(4) TEN(5) TEN(6)
/* And a block after them: what follows .text (.fini, then the read-only data
 * the runner's own code reads) never shares a block with a page function. */
__attribute__((noinline, aligned(BLOCK), used)) static int page_spacer_end(void) { return 0; }

#define REF(i) page_fn_##i,
#define REFS(d) REF(d##0) REF(d##1) REF(d##2) REF(d##3) REF(d##4) REF(d##5) REF(d##6) REF(d##7) REF(d##8) REF(d##9)
static int (*const pages[N_PAGES])(void) = {REFS(1) REFS(2) REFS(3) REFS(4) REFS(5) REFS(6)};
/* clang-format on */
