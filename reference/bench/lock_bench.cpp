// dmfs-lock-bench: grant and revoke latency/throughput of dmfsd on loopback,
// with the loopback TCP round-trip time measured in the same run as the
// floor. Each dmfs benchmark reports `x_rtt` = its mean time per operation
// divided by that floor. See docs/dmfsd.md ("Performance").
//
//   dmfs-lock-bench [--dmfsd PATH] [google-benchmark flags]
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "client.hpp"
#include "dmfsd_process.hpp"

using namespace dmfs;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t P = DMFS_PAGE_SIZE;
std::string g_dmfsd = DMFSD_BIN;
std::unique_ptr<test::DmfsdProcess> g_srv;
std::string g_root;
double g_rtt_ns = 0;  // loopback TCP round trip, median

// ---- raw loopback TCP echo: the floor ----
struct Echo {
  int lfd = -1, cfd = -1, sfd = -1;
  std::thread th;
  Echo() {
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    listen(lfd, 1);
    socklen_t sl = sizeof sa;
    getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &sl);
    cfd = socket(AF_INET, SOCK_STREAM, 0);
    connect(cfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    sfd = accept(lfd, nullptr, nullptr);
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    th = std::thread([this] {
      char buf[24];
      for (;;) {
        if (recv(sfd, buf, sizeof buf, MSG_WAITALL) != sizeof buf) return;
        if (send(sfd, buf, sizeof buf, MSG_NOSIGNAL) != sizeof buf) return;
      }
    });
  }
  // One 24-byte (a dmfs header) round trip.
  void rtt() {
    char buf[24] = {};
    send(cfd, buf, sizeof buf, MSG_NOSIGNAL);
    recv(cfd, buf, sizeof buf, MSG_WAITALL);
  }
  ~Echo() {
    shutdown(cfd, SHUT_RDWR);
    th.join();
    close(cfd);
    close(sfd);
    close(lfd);
  }
};

double measure_rtt_median() {
  Echo e;
  for (int i = 0; i < 200; ++i) e.rtt();
  std::vector<double> v;
  for (int i = 0; i < 3000; ++i) {
    auto t0 = Clock::now();
    e.rtt();
    v.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
  }
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Per-operation samples of one benchmark run: mean and median are reported,
// and x_rtt = median / loopback RTT median (the floor of this run).
struct Samples {
  std::vector<double> ns;
  void add(double v) {
    if (ns.size() < 2000000) ns.push_back(v);
  }
};

void report(benchmark::State& st, double total_ns, double ops, Samples& s) {
  if (ops <= 0 || s.ns.empty()) return;
  std::nth_element(s.ns.begin(), s.ns.begin() + s.ns.size() / 2, s.ns.end());
  double med = s.ns[s.ns.size() / 2];
  st.counters["mean_ns"] = total_ns / ops;
  st.counters["median_ns"] = med;
  st.counters["x_rtt"] = g_rtt_ns > 0 ? med / g_rtt_ns : 0;
}

std::unique_ptr<Client> connect(const char* name) {
  ClientOptions o;
  o.port = g_srv->port();
  o.name = name;
  return Client::connect(o);
}

uint64_t make_file(Client& c, const std::string& name) {
  dmfs_attr a{};
  if (c.create(c.root(), name, 0644, a) != 0) throw std::runtime_error("create failed");
  return a.file_id;
}

void BM_LoopbackTcpRtt(benchmark::State& st) {
  Echo e;
  double total = 0, n = 0;
  Samples smp;
  for (auto _ : st) {
    auto t0 = Clock::now();
    e.rtt();
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    st.SetIterationTime(ns * 1e-9);
    total += ns;
    ++n;
    smp.add(ns);
  }
  report(st, total, n, smp);
}

void BM_PingRtt(benchmark::State& st) {
  auto c = connect("bench-ping");
  double total = 0, n = 0;
  Samples smp;
  for (auto _ : st) {
    auto t0 = Clock::now();
    if (c->ping()) st.SkipWithError("ping failed");
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    st.SetIterationTime(ns * 1e-9);
    total += ns;
    ++n;
    smp.add(ns);
  }
  report(st, total, n, smp);
}

// Uncontended grant: enqueue answered at once (cancel not timed).
void BM_GrantUncontended(benchmark::State& st) {
  auto c = connect("bench-grant");
  static std::atomic<int> seq{0};
  uint64_t id = make_file(*c, "grant-" + std::to_string(seq++));
  double total = 0, n = 0;
  Samples smp;
  for (auto _ : st) {
    dmfs_lock_enqueue_rep l{};
    auto t0 = Clock::now();
    if (c->lock(id, 0, P, DMFS_LOCK_PW, 0, l)) st.SkipWithError("lock failed");
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    st.SetIterationTime(ns * 1e-9);
    total += ns;
    ++n;
    smp.add(ns);
    c->cancel(l.lock_handle);
  }
  report(st, total, n, smp);
}

// Revoke hand-off: two clients take turns asking for PW on the same page;
// each request revokes the other's lock (REVOKE, ack, LOCK_CANCEL) before it
// is granted. Timed: enqueue -> grant.
void BM_RevokeHandoff(benchmark::State& st) {
  auto a = connect("bench-a"), b = connect("bench-b");
  static std::atomic<int> seq{0};
  uint64_t id = make_file(*a, "handoff-" + std::to_string(seq++));
  dmfs_lock_enqueue_rep l{};
  if (a->lock(id, 0, P, DMFS_LOCK_PW, 0, l)) {
    st.SkipWithError("initial lock failed");
    return;
  }
  Client* turn[2] = {b.get(), a.get()};
  double total = 0, n = 0;
  uint64_t k = 0;
  Samples smp;
  for (auto _ : st) {
    Client* c = turn[k++ & 1];
    auto t0 = Clock::now();
    if (c->lock(id, 0, P, DMFS_LOCK_PW, 0, l)) st.SkipWithError("lock failed");
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    st.SetIterationTime(ns * 1e-9);
    total += ns;
    ++n;
    smp.add(ns);
  }
  st.counters["revokes"] = double(a->revokes_received() + b->revokes_received());
  report(st, total, n, smp);
}

// Grant throughput: `batch` enqueues of distinct pages in flight at once
// (as a kernel client's many faulting threads), then their cancels.
void BM_GrantThroughput(benchmark::State& st) {
  const int batch = int(st.range(0));
  auto c = connect("bench-tput");
  static std::atomic<int> seq{0};
  uint64_t id = make_file(*c, "tput-" + std::to_string(seq++));
  std::vector<std::future<Reply>> fs;
  std::vector<uint64_t> handles;
  double total = 0, n = 0;
  Samples smp;
  for (auto _ : st) {
    fs.clear();
    handles.clear();
    auto t0 = Clock::now();
    for (int i = 0; i < batch; ++i)
      fs.push_back(c->lock_async(id, uint64_t(i) * P, uint64_t(i + 1) * P, DMFS_LOCK_PW, DMFS_LKF_NOEXPAND));
    for (auto& f : fs) {
      Reply r = f.get();
      dmfs_lock_enqueue_rep l{};
      if (r.status || !r.get(l)) {
        st.SkipWithError("lock failed");
        break;
      }
      handles.push_back(l.lock_handle);
    }
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    st.SetIterationTime(ns * 1e-9);
    total += ns;
    n += batch;
    smp.add(ns / batch);
    std::vector<std::future<Reply>> cs;
    for (uint64_t h : handles) {
      dmfs_lock_cancel_req q{};
      q.lock_handle = h;
      cs.push_back(c->call_async(DMFS_OP_LOCK_CANCEL, {wire::bytes_of(q)}));
    }
    for (auto& f : cs) f.get();
  }
  st.SetItemsProcessed(int64_t(n));
  report(st, total, n, smp);
}

// A READ of `bytes` (the kernel client's readahead unit is 128 KiB): what
// dmfsd and the wire cost, without the kernel client, for comparing with
// dmmap-bench's mapped reads.
void BM_Read(benchmark::State& st) {
  const auto bytes = uint32_t(st.range(0));
  auto c = connect("bench-read");
  static std::atomic<int> seq{0};
  uint64_t id = make_file(*c, "read-" + std::to_string(seq++));
  if (c->write(id, 0, std::string(bytes, 'r')) != 0) {
    st.SkipWithError("write failed");
    return;
  }
  std::string data;
  double total = 0, n = 0;
  Samples smp;
  for (auto _ : st) {
    auto t0 = Clock::now();
    if (c->read(id, 0, bytes, data) != 0 || data.size() != bytes) {
      st.SkipWithError("read failed");
      break;
    }
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    st.SetIterationTime(ns * 1e-9);
    total += ns;
    ++n;
    smp.add(ns);
  }
  st.SetBytesProcessed(int64_t(n * bytes));
  report(st, total, n, smp);
}

BENCHMARK(BM_LoopbackTcpRtt)->UseManualTime();
BENCHMARK(BM_PingRtt)->UseManualTime();
BENCHMARK(BM_GrantUncontended)->UseManualTime();
BENCHMARK(BM_RevokeHandoff)->UseManualTime();
BENCHMARK(BM_GrantThroughput)->Arg(64)->UseManualTime();
BENCHMARK(BM_Read)->Arg(4096)->Arg(128 << 10)->Arg(1 << 20)->UseManualTime();

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--dmfsd") == 0 && i + 1 < argc) {
      g_dmfsd = argv[++i];
      continue;
    }
    args.push_back(argv[i]);
  }
  int ac = int(args.size());
  benchmark::Initialize(&ac, args.data());
  if (benchmark::ReportUnrecognizedArguments(ac, args.data())) return 1;
  char tmpl[] = "/tmp/dmfs-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  g_root = tmpl;
  g_srv = std::make_unique<test::DmfsdProcess>(g_dmfsd, g_root, std::vector<std::string>{"--log-level", "warn"});
  try {
    g_srv->start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dmfs-lock-bench: %s\n", e.what());
    return 1;
  }
  g_rtt_ns = measure_rtt_median();
  benchmark::AddCustomContext("loopback_rtt_median_ns", std::to_string(g_rtt_ns));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  int rc = g_srv->stop();
  std::error_code ec;
  std::filesystem::remove_all(g_root, ec);
  return rc == 0 ? 0 : 1;
}
