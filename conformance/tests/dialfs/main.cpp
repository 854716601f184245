// dmmap-dialfs: a FUSE filesystem for the conformance tests. One daemon
// serves several mounts ("clients", each its own page cache) of one backing
// directory, with dials that set when a client's writes reach the others.
// See docs/dialfs.md.
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "daemon.hpp"
#include "dmmap/options.hpp"
#include "trace.hpp"

using dmmap::UsageError;
namespace fs = std::filesystem;

namespace {

struct Cli {
  fs::path store;
  std::vector<fs::path> mounts;
  dialfs::Dials dials;
  bool help = false, version = false;
};

dmmap::OptionParser make_parser(Cli& cli) {
  using namespace dialfs;
  dmmap::OptionParser p("dmmap-dialfs", "--store DIR --mount DIR [--mount DIR ...] [dials]");
  p.section("Store and clients")
      .value("--store", "DIR", "backing directory every client's files live in (must exist)",
             [&](const std::string& v) { cli.store = v; })
      .value("--mount", "DIR", "mount a client here (an existing directory); repeat for each client",
             [&](const std::string& v) { cli.mounts.emplace_back(v); });
  p.section("Dials (semantics: docs/dialfs.md)")
      .value("--publish", "POINT",
             "when a client's writes reach the store, where other clients can read them: write (a write(2) at "
             "once, mapped stores at fsync/msync or close; default), sync (fsync/msync or close), close (close only)",
             [&](const std::string& v) { cli.dials.publish = parse_publish(v); })
      .value("--notify", "on|off",
             "at each publish, drop the other clients' cached pages and attributes of the file and push a grown "
             "size (default off)",
             [&](const std::string& v) { cli.dials.notify = parse_on_off("--notify", v); })
      .value("--on-open", "keep|refresh",
             "an open keeps the client's cached pages of the file, or drops them (default refresh)",
             [&](const std::string& v) { cli.dials.keep_cache = parse_on_open(v); })
      .value("--merge", "page|bytes",
             "a page the kernel writes back reaches the store whole (page, default), or only the bytes the "
             "client changed in it since it read it (bytes)",
             [&](const std::string& v) { cli.dials.merge_bytes = parse_merge(v); })
      .value("--time-granularity", "T", "timestamps as clients see them are cut to T: 1ns (default), 10ns, ..., 1s",
             [&](const std::string& v) { cli.dials.time_granularity_ns = parse_granularity(v); })
      .value("--etxtbsy", "local|cluster",
             "a binary running on one client cannot be opened for writing, truncated or run while open for "
             "writing on another (cluster), or only on its own client (local, default)",
             [&](const std::string& v) {
               if (v != "local" && v != "cluster")
                 throw UsageError(fmt::format("--etxtbsy takes local or cluster, not '{}'", v));
               cli.dials.cluster_etxtbsy = v == "cluster";
             })
      .value("--release-wait", "T",
             "with --etxtbsy cluster: how long a conflicting handle that looks closed (its process gone, its "
             "descriptors closed) may take to be released before the conflict is refused (default 5s)",
             [&](const std::string& v) {
               try {
                 cli.dials.release_wait = dmmap::parse_duration(v);
               } catch (const UsageError& e) {
                 throw UsageError(fmt::format("--release-wait: {}", e.what()));
               }
             })
      .value("--locks", "local|cluster|off",
             "fcntl byte-range locks: each client's own (local, default), every client's, carrying the data they "
             "protect (cluster), or ENOSYS (off)",
             [&](const std::string& v) { cli.dials.locks = parse_lock_scope("--locks", v); })
      .value("--flock", "local|cluster|off", "flock(2) locks, likewise (default local)",
             [&](const std::string& v) { cli.dials.flock = parse_lock_scope("--flock", v); });
  p.section("Other")
      .flag("--trace", "one line on stderr per data request, publication and invalidation",
            [&] { dialfs::tracing = true; })
      .flag("--help", "this text", [&] { cli.help = true; })
      .flag("--version", "print the version", [&] { cli.version = true; });
  return p;
}

const char* const kSignalsText =
    "\nThe daemon runs in the foreground and prints one line once every client is mounted.\n"
    "SIGTERM, SIGINT or SIGHUP: unmount every client (lazily: files still open are served until\n"
    "closed), publish every client's pending writes, exit 0; a second signal ends it at once.\n"
    "Unmounting every client from outside ends it the same way. Exit status: 0 done, 1 a client\n"
    "could not be mounted (nothing is left mounted), 2 bad usage.\n";

bool inside(const fs::path& inner, const fs::path& outer) {
  auto rel = inner.lexically_relative(outer);
  return !rel.empty() && *rel.begin() != "..";
}

// Canonical, checked paths; throws UsageError naming the problem.
void validate(Cli& cli) {
  if (cli.store.empty()) throw UsageError("--store DIR is required");
  if (cli.mounts.empty()) throw UsageError("at least one --mount DIR is required");
  auto directory = [](const fs::path& p, const std::string& what) {
    std::error_code ec;
    if (!fs::is_directory(p, ec))
      throw UsageError(fmt::format("{} '{}' is not an existing directory", what, p.string()));
    return fs::canonical(p);
  };
  cli.store = directory(cli.store, "--store");
  std::set<fs::path> seen;
  for (auto& m : cli.mounts) {
    m = directory(m, "--mount");
    if (!seen.insert(m).second) throw UsageError(fmt::format("'{}' is given twice as --mount", m.string()));
    if (m == cli.store || inside(m, cli.store) || inside(cli.store, m))
      throw UsageError(
          fmt::format("--mount '{}' and --store '{}' must not contain each other", m.string(), cli.store.string()));
  }
}

fuse_session* new_session(dialfs::Client& client, const fs::path& store) {
  std::string fsname = "dialfs:" + store.string();
  for (char& ch : fsname)
    if (ch == ',' || ch == '\\') ch = '_';
  std::string options = "default_permissions,subtype=dmmap-dialfs,fsname=" + fsname;
  if (::geteuid() == 0) options += ",allow_other";
  const char* argv[] = {"dmmap-dialfs", "-o", options.c_str()};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  fuse_session* se = fuse_session_new(&args, &dialfs::operations(), sizeof(fuse_lowlevel_ops), &client);
  fuse_opt_free_args(&args);
  return se;
}

void serve(dialfs::Client& client, pthread_t main_thread) {
  fuse_loop_config* config = fuse_loop_cfg_create();
  // Blocking lock waits and invalidations occupy threads; the kernel must always find one free.
  fuse_loop_cfg_set_max_threads(config, 64);
  fuse_session_loop_mt(client.se, config);
  fuse_loop_cfg_destroy(config);
  client.live = false;
  dialfs::Daemon& d = *client.daemon;
  for (const dialfs::Change& change : d.store.mount_gone(client.index))
    if (d.dials.notify) d.notifier.deliver(change);
  ::pthread_kill(main_thread, SIGUSR1);
}

void unmount(dialfs::Client& client) {
  // Lazy: a client with files still open keeps being served until they are closed.
  if (client.live && ::umount2(client.mountpoint.c_str(), MNT_DETACH) != 0)
    std::fprintf(stderr, "dmmap-dialfs: unmounting %s: %s\n", client.mountpoint.c_str(), std::strerror(errno));
}

bool any_live(const dialfs::Daemon& d) {
  for (const auto& c : d.clients)
    if (c->live) return true;
  return false;
}

int run(const Cli& cli) {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&signals, s);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread inherits the mask; main sigwait()s

  dialfs::Daemon d(cli.store, cli.dials, static_cast<int>(cli.mounts.size()));
  for (std::size_t i = 0; i < cli.mounts.size(); ++i) {
    auto client = std::make_unique<dialfs::Client>();
    client->index = static_cast<int>(i);
    client->mountpoint = cli.mounts[i];
    client->daemon = &d;
    client->se = new_session(*client, cli.store);
    if (!client->se || fuse_session_mount(client->se, client->mountpoint.c_str()) != 0) {
      std::fprintf(stderr, "dmmap-dialfs: cannot mount %s (FUSE needs /dev/fuse, and root or fusermount3)\n",
                   client->mountpoint.c_str());
      if (client->se) fuse_session_destroy(client->se);
      for (auto& c : d.clients) unmount(*c);
      for (auto& c : d.clients) c->live = false;
      for (auto& c : d.clients) fuse_session_destroy(c->se);
      return 1;
    }
    client->live = true;
    d.clients.push_back(std::move(client));
  }
  const pthread_t main_thread = ::pthread_self();
  for (auto& c : d.clients) c->loop = std::thread(serve, std::ref(*c), main_thread);
  std::printf("dmmap-dialfs: serving %zu clients of %s (%s)\n", d.clients.size(), cli.store.c_str(),
              cli.dials.describe().c_str());
  std::fflush(stdout);

  bool stopping = false;
  while (any_live(d)) {
    int sig = 0;
    ::sigwait(&signals, &sig);
    if (sig == SIGUSR1) continue;  // a client's connection ended
    if (stopping) {
      std::fprintf(stderr, "dmmap-dialfs: second signal: ending with clients still in use\n");
      d.store.publish_all();
      std::_Exit(1);  // closing /dev/fuse ends the remaining connections
    }
    stopping = true;
    for (auto& c : d.clients) unmount(*c);
  }
  for (auto& c : d.clients) c->loop.join();
  d.notifier.stop();
  d.store.publish_all();
  for (auto& c : d.clients) {
    fuse_session_unmount(c->se);
    fuse_session_destroy(c->se);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  auto parser = make_parser(cli);
  try {
    parser.parse(argc, argv);
    if (cli.help) {
      std::printf("%s%s", parser.help().c_str(), kSignalsText);
      return 0;
    }
    if (cli.version) {
      std::printf("dmmap-dialfs %s\n", DMMAP_VERSION);
      return 0;
    }
    validate(cli);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "dmmap-dialfs: %s\n", e.what());
    return 2;
  }
  try {
    return run(cli);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dmmap-dialfs: %s\n", e.what());
    return 1;
  }
}
