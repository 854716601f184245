// tcp-rtt: the node-to-node TCP round trip, the floor under every
// cross-node latency dmmap-bench reports in the virtual cluster
// (docs/bench.md, "Across two nodes").
//
//   tcp-rtt serve PORT                 echo one byte back per byte, until EOF
//   tcp-rtt measure HOST PORT [N]      N round trips (default 2000) of one byte
//
// `measure` prints the median, p90, p99, min and max in microseconds, and
// `rtt_median_us=...` on a line of its own. Exit 1 on an error.
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "tcp-rtt: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int serve(int port) {
  int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 4)) die("listen");
  int c = accept(s, NULL, NULL);
  if (c < 0) die("accept");
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char b;
  while (read(c, &b, 1) == 1)
    if (write(c, &b, 1) != 1) die("write");
  return 0;
}

static int measure(const char *host, const char *port, int n) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
  if (getaddrinfo(host, port, &hints, &ai)) {
    fprintf(stderr, "tcp-rtt: cannot resolve %s\n", host);
    return 1;
  }
  int one = 1, s = -1;
  for (int try = 0; try < 100 && s < 0; try++) {  // the server may start a moment later
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, ai->ai_addr, ai->ai_addrlen)) {
      close(s);
      s = -1;
      usleep(100000);
    }
  }
  if (s < 0) die("connect");
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  double *us = calloc((size_t)n, sizeof *us);
  char b = 'x';
  for (int i = 0; i < n; i++) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1) die("round trip");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    us[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
  }
  qsort(us, (size_t)n, sizeof *us, cmp);
  printf("tcp-rtt to %s: %d round trips: median %.1f us, p90 %.1f us, p99 %.1f us, min %.1f us, max %.1f us\n", host, n,
         us[n / 2], us[n * 9 / 10], us[n * 99 / 100], us[0], us[n - 1]);
  printf("rtt_median_us=%.1f\n", us[n / 2]);
  free(us);
  freeaddrinfo(ai);
  close(s);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]));
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "measure") == 0)
    return measure(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 2000);
  fprintf(stderr, "usage: tcp-rtt serve PORT | tcp-rtt measure HOST PORT [N]\n");
  return 2;
}
