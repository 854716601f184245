// mmap-probe: an independent two-node check of what a shared filesystem
// shows one node of another node's writes - the ground truth the levels of
// dmmap-conform are compared against (docs/cluster-run.md, "Ground truth").
// It shares no code with the suite: plain C, no MPI; the two processes keep
// in step over one TCP connection.
//
//   mmap-probe lead DIR PORT [REPORT]     (on node A: listens on PORT)
//   mmap-probe follow DIR HOST PORT       (on node B: connects to HOST:PORT)
//
// DIR is the same directory of the filesystem on both nodes. Each scenario
// runs both ways (A writes, B observes; then B writes, A observes). The
// observer looks after the writer's step and a handshake over the socket
// (`strict`), again after the writer's msync/fsync (`msync`), again after
// the writer closed and the observer opened afresh (`close-to-open`);
// `none` if not even then. The lead prints one line per scenario and
// direction and writes REPORT (JSON) if given. Exit 0 when every scenario
// ran (whatever the levels), 1 on an error.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { PAGE = 4096, FILE_SIZE = 4 * PAGE, OFFSET = 100 };
enum level { NONE, CLOSE_TO_OPEN, MSYNC, STRICT };
static const char *level_name[] = {"none", "close-to-open", "msync", "strict"};

static int peer = -1;      // the TCP connection to the other node
static int is_lead;        // 1 on node A
static const char *dir;    // the directory under test
static char me[64];        // this node's hostname
static FILE *report;       // JSON report (lead only)
static int first_result = 1;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "mmap-probe (%s): ", me);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

// --- the handshake: both sides send one value and receive the other's ------
static long exchange(long mine) {
  long theirs;
  if (write(peer, &mine, sizeof mine) != sizeof mine) die("send: %s", strerror(errno));
  size_t got = 0;
  while (got < sizeof theirs) {
    ssize_t n = read(peer, (char *)&theirs + got, sizeof theirs - got);
    if (n <= 0) die("the other node went away (%s)", n ? strerror(errno) : "EOF");
    got += (size_t)n;
  }
  return theirs;
}
static void step(void) { exchange(0); }

static void connect_peer(const char *host, const char *port) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
  int one = 1;
  if (is_lead) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 1)) die("listen on %s: %s", port, strerror(errno));
    peer = accept(s, NULL, NULL);
    close(s);
  } else {
    if (getaddrinfo(host, port, &hints, &ai)) die("cannot resolve %s", host);
    for (int try = 0; try < 600; try++) {  // the lead may start later: up to 60 s
      peer = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(peer, ai->ai_addr, ai->ai_addrlen) == 0) break;
      close(peer);
      peer = -1;
      usleep(100000);
    }
    freeaddrinfo(ai);
  }
  if (peer < 0) die("no connection to the other node");
  setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// --- files --------------------------------------------------------------------
static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

static int open_file(const char *name) {
  char p[4096];
  path_of(p, sizeof p, name);
  int fd = open(p, O_RDWR);
  if (fd < 0) die("open %s: %s", p, strerror(errno));
  return fd;
}

static unsigned char *map_file(int fd) {
  void *m = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) die("mmap: %s", strerror(errno));
  return m;
}

// The lead creates NAME (zeros), both open and map it and read every page
// (so the observer's cache holds the old contents).
static void fresh_file(const char *name, int *fd, unsigned char **map) {
  if (is_lead) {
    char p[4096];
    path_of(p, sizeof p, name);
    int c = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (c < 0 || ftruncate(c, FILE_SIZE) || fsync(c)) die("create %s: %s", p, strerror(errno));
    close(c);
  }
  step();
  *fd = open_file(name);
  *map = map_file(*fd);
  volatile unsigned sum = 0;
  for (int i = 0; i < FILE_SIZE; i += 64) sum += (*map)[i];
  (void)sum;
  step();
}

static void close_file(int fd, unsigned char *map) {
  munmap(map, FILE_SIZE);
  close(fd);
}

static void result(const char *scenario, const char *writer, const char *observer, enum level l, const char *how) {
  if (!is_lead) return;
  printf("mmap-probe: %-28s %s -> %s: %s%s%s\n", scenario, writer, observer, level_name[l], how[0] ? "  " : "", how);
  if (report) {
    fprintf(report, "%s\n  {\"scenario\": \"%s\", \"writer\": \"%s\", \"observer\": \"%s\", \"level\": \"%s\", \"detail\": \"%s\"}",
            first_result ? "" : ",", scenario, writer, observer, level_name[l], how);
    first_result = 0;
  }
  fflush(stdout);
}

// --- one store -> observe scenario ---------------------------------------------
enum write_kind { W_STORE, W_PWRITE };
enum observe_kind { O_LOAD, O_PREAD, O_MTIME };

struct scenario {
  const char *name;
  enum write_kind write;
  enum observe_kind observe;
};

static int observe(const struct scenario *s, int fd, unsigned char *map, unsigned char want, const struct timespec *before) {
  unsigned char b = 0;
  struct stat st;
  switch (s->observe) {
    case O_LOAD: return map[OFFSET] == want;
    case O_PREAD: return pread(fd, &b, 1, OFFSET) == 1 && b == want;
    case O_MTIME:
      if (fstat(fd, &st)) die("fstat: %s", strerror(errno));
      return st.st_mtim.tv_sec > before->tv_sec ||
             (st.st_mtim.tv_sec == before->tv_sec && st.st_mtim.tv_nsec > before->tv_nsec);
  }
  return 0;
}

static void run_scenario(const struct scenario *s, int lead_writes, unsigned char value) {
  char name[128];
  snprintf(name, sizeof name, "probe-%s-%d", s->name, lead_writes);
  int writer = is_lead == lead_writes;
  int fd;
  unsigned char *map;
  fresh_file(name, &fd, &map);
  struct stat st;
  if (fstat(fd, &st)) die("fstat: %s", strerror(errno));
  struct timespec before = st.st_mtim;
  enum level seen = NONE;
  if (writer) {
    if (s->observe == O_MTIME) usleep(50000);  // past timestamp granularity
    if (s->write == W_STORE) {
      map[OFFSET] = value;
    } else if (pwrite(fd, &value, 1, OFFSET) != 1) {
      die("pwrite: %s", strerror(errno));
    }
  }
  step();
  if (!writer && observe(s, fd, map, value, &before)) seen = STRICT;
  step();
  if (writer && (s->write == W_STORE ? msync(map, FILE_SIZE, MS_SYNC) : fsync(fd))) die("msync/fsync: %s", strerror(errno));
  step();
  if (!writer && seen == NONE && observe(s, fd, map, value, &before)) seen = MSYNC;
  step();
  close_file(fd, map);
  step();
  if (!writer && seen == NONE) {
    fd = open_file(name);
    map = map_file(fd);
    if (observe(s, fd, map, value, &before)) seen = CLOSE_TO_OPEN;
    close_file(fd, map);
  }
  long l = exchange(writer ? -1 : (long)seen);
  if (writer) seen = (enum level)l;
  result(s->name, lead_writes ? "A" : "B", lead_writes ? "B" : "A", seen, "");
}

// --- false sharing: both nodes store their own block, pages shared ----------
enum { FS_LEN = PAGE + PAGE / 2 + 37, FS_START = 123 };

// Both blocks right as BUF shows them.
static int both_blocks(const unsigned char *buf, size_t a_off, unsigned char a, size_t b_off, unsigned char b) {
  for (size_t i = 0; i < FS_LEN; i++)
    if (buf[a_off + i] != a || buf[b_off + i] != b) return 0;
  return 1;
}

static void run_false_sharing(void) {
  int fd;
  unsigned char *map;
  fresh_file("probe-false-sharing", &fd, &map);
  const unsigned char a = 0xa1, b = 0xb2;
  const size_t a_off = FS_START, b_off = FS_START + FS_LEN;
  if (is_lead) memset(map + a_off, a, FS_LEN);
  else memset(map + b_off, b, FS_LEN);
  step();
  enum level seen = NONE;
  if (both_blocks(map, a_off, a, b_off, b)) seen = STRICT;
  step();
  if (msync(map, FILE_SIZE, MS_SYNC)) die("msync: %s", strerror(errno));
  step();
  if (seen == NONE && both_blocks(map, a_off, a, b_off, b)) seen = MSYNC;
  step();
  close_file(fd, map);
  step();
  if (seen == NONE) {
    static unsigned char buf[FILE_SIZE];
    fd = open_file("probe-false-sharing");
    if (pread(fd, buf, FILE_SIZE, 0) != FILE_SIZE) die("pread: %s", strerror(errno));
    close(fd);
    if (both_blocks(buf, a_off, a, b_off, b)) seen = CLOSE_TO_OPEN;
  }
  long other = exchange(seen);
  result("false-sharing", "A+B", "A", is_lead ? seen : (enum level)other, "");
  result("false-sharing", "A+B", "B", is_lead ? (enum level)other : seen, "");
}

// --- deny-write: a binary running on one node, opened for writing on the other
static void run_deny_write(int lead_runs) {
  char p[4096];
  path_of(p, sizeof p, "probe-sleep");
  if (is_lead && lead_runs) {
    int in = open("/bin/sleep", O_RDONLY), out = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    if (in < 0 || out < 0) die("copy /bin/sleep to %s: %s", p, strerror(errno));
    while ((n = read(in, buf, sizeof buf)) > 0)
      if (write(out, buf, (size_t)n) != n) die("write %s: %s", p, strerror(errno));
    if (fsync(out)) die("fsync %s: %s", p, strerror(errno));
    close(in);
    close(out);
  }
  step();
  int runner = is_lead == lead_runs;
  pid_t child = 0;
  if (runner) {
    child = fork();
    if (child == 0) {
      execl(p, "probe-sleep", "60", (char *)NULL);
      _exit(127);
    }
    usleep(500000);  // it has exec'ed (a failed exec exits 127 at once)
    int st;
    if (waitpid(child, &st, WNOHANG) != 0) die("%s did not start", p);
  }
  step();
  // ETXTBSY: strict; the open succeeds: close-to-open; another error: none (errno kept).
  long seen = NONE, err = 0;
  if (!runner) {
    int fd = open(p, O_WRONLY);
    if (fd < 0 && errno == ETXTBSY) {
      seen = STRICT;
    } else if (fd >= 0) {
      seen = CLOSE_TO_OPEN;
      close(fd);
    } else {
      err = errno;
    }
  }
  step();
  if (runner) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  }
  long l = exchange(runner ? -1 : seen * 1000 + err);
  if (runner) seen = l / 1000, err = l % 1000;
  char how[128] = "";
  if (seen == CLOSE_TO_OPEN) snprintf(how, sizeof how, "the write open succeeded");
  if (err) snprintf(how, sizeof how, "open: %s", strerror((int)err));
  // "writer" is the node running the binary, "observer" the one opening it for writing.
  result("exec-deny-write", lead_runs ? "A" : "B", lead_runs ? "B" : "A", (enum level)seen, how);
}

int main(int argc, char **argv) {
  gethostname(me, sizeof me - 1);
  if (argc >= 4 && strcmp(argv[1], "lead") == 0) {
    is_lead = 1;
    dir = argv[2];
    if (argc >= 5 && !(report = fopen(argv[4], "w"))) die("cannot write %s", argv[4]);
    connect_peer(NULL, argv[3]);
  } else if (argc == 5 && strcmp(argv[1], "follow") == 0) {
    dir = argv[2];
    connect_peer(argv[3], argv[4]);
  } else {
    fprintf(stderr, "usage: mmap-probe lead DIR PORT [REPORT] | mmap-probe follow DIR HOST PORT\n");
    return 2;
  }
  // Names: A is the lead's host, B the follower's.
  char other[64] = "";
  if (write(peer, me, sizeof me) != sizeof me) die("hello: %s", strerror(errno));
  for (size_t got = 0; got < sizeof other;) {
    ssize_t n = read(peer, other + got, sizeof other - got);
    if (n <= 0) die("hello: the other node went away");
    got += (size_t)n;
  }
  other[sizeof other - 1] = 0;
  if (is_lead) printf("mmap-probe: A = %s, B = %s, directory %s\n", me, other, dir);
  if (report) fprintf(report, "{\"A\": \"%s\", \"B\": \"%s\", \"dir\": \"%s\", \"results\": [", me, other, dir);

  static const struct scenario scenarios[] = {
      {"mapped-store->mapped-load", W_STORE, O_LOAD},
      {"pwrite->mapped-load", W_PWRITE, O_LOAD},
      {"mapped-store->pread", W_STORE, O_PREAD},
      {"mapped-store->mtime", W_STORE, O_MTIME},
  };
  unsigned char value = 0x40;
  for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
    run_scenario(&scenarios[i], 1, ++value);
    run_scenario(&scenarios[i], 0, ++value);
  }
  run_false_sharing();
  run_deny_write(1);
  run_deny_write(0);
  step();
  if (report) {
    fprintf(report, "\n]}\n");
    fclose(report);
  }
  return 0;
}
