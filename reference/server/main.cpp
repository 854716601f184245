// dmfsd: the dmfs reference server. See docs/dmfsd.md.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "log.hpp"
#include "server.hpp"

namespace {

dmfs::Server* g_server = nullptr;

void on_signal(int) {
  if (g_server) g_server->stop();
}

void usage(std::FILE* out) {
  std::fprintf(out,
               R"(usage: dmfsd --root DIR [options]
       dmfsd --ctl PATH COMMAND [ARG...]

dmfsd serves the dmfs reference filesystem (protocol version %u, see
docs/protocol.md) from a backing directory, with cluster-wide extent locks.

  --root DIR            backing store (created if missing); dmfsd keeps its
                        own state in DIR/.dmfsd (hidden from clients)
  --listen ADDR:PORT    address to listen on (default 127.0.0.1:%u);
                        PORT 0 picks a free port; IPv6 as [::1]:PORT
  --port-file FILE      write the bound port to FILE once listening
  --secret-file FILE    require clients to prove knowledge of this shared
                        secret in the handshake (trailing newline ignored)
  --revoke-timeout T    evict a client that has not cancelled a revoked lock
                        T after the revoke (default 30s; units ms or s,
                        plain numbers are seconds)
  --contention-window T after a revoke on a file, grants on it expand only to
                        the 1 MiB-aligned range around the request for T
                        (default 2s; 0 = always expand as far as possible)
  --max-clients N       connections served at once (default 256)
  --handshake-timeout T close connections that have not completed the
                        handshake after T (default 10s)
  --log-level LEVEL     error, warn, info (default), debug (grants, revokes),
                        trace (every request)
  --admin PATH          also listen on a Unix socket at PATH (mode 0600) for
                        operator commands, one per line: evict ID, clients,
                        help; a stale socket file at PATH is replaced, a live
                        one (another dmfsd) or a non-socket is refused (exit 2);
                        removed at exit
  --capacity BYTES      the store holds at most BYTES (allocated bytes of its
                        files): a write beyond fails with ENOSPC and statfs
                        shows the limit; for tests (admin: capacity)
  --fault NAME          fault injection: disable one protocol duty (repeat
                        for several; never in production); --list-faults
  --list-faults         list the fault-injection switches and exit
  --version             print the version and exit
  -h, --help            this text

  --ctl PATH COMMAND [ARG...]
                        client mode: send COMMAND to the admin socket PATH,
                        print the reply lines; exit 0 if the last one starts
                        with "ok", 1 with "error:", 2 if PATH cannot be
                        reached or on a usage error. Commands:
                          evict ID  evict client ID like a revoke timeout
                                    (EVICTED, close, its locks, application
                                    locks and opens released); also with
                                    --fault no-evict, which only disables the
                                    automatic eviction
                          clients   client ID peer ADDR:PORT locks N
                                    registrations M name NAME, per client
                          capacity [BYTES|+BYTES|none]  show or set
                                    --capacity (+BYTES: used now + BYTES)
                          help      the command list

SIGTERM or SIGINT: stop accepting, close every session, sync the backing
store and record a clean shutdown. Data acknowledged by FSYNC survives a
restart or crash.
)",
               DMFS_PROTO_VERSION, DMFS_DEFAULT_PORT);
}

bool parse_duration(const std::string& s, std::chrono::milliseconds& out) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || v < 0) return false;
  std::string unit(end);
  double ms;
  if (unit.empty() || unit == "s")
    ms = v * 1000;
  else if (unit == "ms")
    ms = v;
  else
    return false;
  if (ms < 1 || ms > 24 * 3600 * 1000.0) return false;
  out = std::chrono::milliseconds(static_cast<long long>(ms));
  return true;
}

bool parse_listen(const std::string& s, dmfs::ServerOptions& o) {
  std::string host = s, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return false;
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return false;
      port = s.substr(close + 2);
    }
  } else if (auto c = s.rfind(':'); c != std::string::npos) {
    host = s.substr(0, c);
    port = s.substr(c + 1);
  }
  if (!host.empty()) o.listen_addr = host;
  if (!port.empty()) {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end || p < 0 || p > 65535) return false;
    o.port = static_cast<uint16_t>(p);
  }
  return true;
}

int die(const std::string& msg) {
  std::fprintf(stderr, "dmfsd: %s (try --help)\n", msg.c_str());
  return 2;
}

// A usage error with its own message (die() adds "try --help").
struct Usage {
  std::string msg;
};

std::string read_secret(const std::string& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f) throw Usage{"cannot read secret file " + file};
  std::stringstream ss;
  ss << f.rdbuf();
  std::string secret = ss.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) throw Usage{"secret file " + file + " is empty"};
  return secret;
}

void set_fault(const std::string& name, dmfs::ServerOptions& o) {
  bool found = false;
  for (auto& f : dmfs::fault_table())
    if (name == f.name) {
      o.faults.*(f.flag) = true;
      found = true;
    }
  if (!found) throw Usage{"unknown fault '" + name + "' (see --list-faults)"};
}

// An option that takes a value: what to say when the value is missing or
// invalid, and how to apply it (false: invalid; Usage: its own message).
struct ValueOption {
  const char* name;
  const char* needs;
  bool (*apply)(const std::string& v, dmfs::ServerOptions& o);
};

const ValueOption kValueOptions[] = {
    {"--root", "--root needs a directory",
     [](const std::string& v, dmfs::ServerOptions& o) {
       o.root = v;
       return true;
     }},
    {"--listen", "--listen needs ADDR:PORT", parse_listen},
    {"--port-file", "--port-file needs a file",
     [](const std::string& v, dmfs::ServerOptions& o) {
       o.port_file = v;
       return true;
     }},
    {"--secret-file", "--secret-file needs a file",
     [](const std::string& v, dmfs::ServerOptions& o) {
       o.secret = read_secret(v);
       return true;
     }},
    {"--revoke-timeout", "--revoke-timeout needs a duration such as 30s or 500ms",
     [](const std::string& v, dmfs::ServerOptions& o) { return parse_duration(v, o.revoke_timeout); }},
    {"--contention-window", "--contention-window needs a duration such as 2s or 0",
     [](const std::string& v, dmfs::ServerOptions& o) {
       if (v != "0") return parse_duration(v, o.contention_window);
       o.contention_window = std::chrono::milliseconds(0);
       return true;
     }},
    {"--handshake-timeout", "--handshake-timeout needs a duration such as 10s",
     [](const std::string& v, dmfs::ServerOptions& o) { return parse_duration(v, o.handshake_timeout); }},
    {"--max-clients", "--max-clients needs a positive number",
     [](const std::string& v, dmfs::ServerOptions& o) {
       if (std::atol(v.c_str()) < 1) return false;
       o.max_clients = static_cast<size_t>(std::atol(v.c_str()));
       return true;
     }},
    {"--log-level", "--log-level: error|warn|info|debug|trace",
     [](const std::string& v, dmfs::ServerOptions&) {
       dmfs::log::Level l;
       if (!dmfs::log::parse_level(v, l)) return false;
       dmfs::log::set_level(l);
       return true;
     }},
    {"--admin", "--admin needs a socket path",
     [](const std::string& v, dmfs::ServerOptions& o) {
       if (v.empty()) return false;
       o.admin_path = v;
       return true;
     }},
    {"--capacity", "--capacity needs a number of bytes",
     [](const std::string& v, dmfs::ServerOptions& o) {
       auto bytes = dmfs::admin::parse_id(v);
       if (!bytes) return false;
       o.capacity = *bytes;
       return true;
     }},
    {"--fault", "--fault needs a name (see --list-faults)",
     [](const std::string& v, dmfs::ServerOptions& o) {
       set_fault(v, o);
       return true;
     }},
};

// Options that print something and exit: their exit status, or none.
std::optional<int> run_info_option(const std::string& name) {
  if (name == "-h" || name == "--help") {
    usage(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("dmfsd %s (dmfs protocol %u)\n", DMFS_VERSION_STRING, DMFS_PROTO_VERSION);
    return 0;
  }
  if (name == "--list-faults") {
    for (auto& f : dmfs::fault_table()) std::printf("%-20s %s\n", f.name, f.what);
    return 0;
  }
  return std::nullopt;
}

// Fills `opt` from the command line; an exit status when dmfsd should not
// serve (help, version, a usage error).
std::optional<int> parse_args(int argc, char** argv, dmfs::ServerOptions& opt) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string name = a.substr(0, a.find('='));
    if (auto rc = run_info_option(name)) return rc;
    if (name == "--ctl") return die("--ctl must come first: dmfsd --ctl PATH COMMAND [ARG...]");
    const ValueOption* o = nullptr;
    for (auto& c : kValueOptions)
      if (name == c.name) o = &c;
    if (!o) return die("unknown option " + a);
    std::string v;
    if (auto eq = a.find('='); eq != std::string::npos)
      v = a.substr(eq + 1);
    else if (i + 1 < argc)
      v = argv[++i];
    else
      return die(o->needs);
    try {
      if (!o->apply(v, opt)) return die(o->needs);
    } catch (const Usage& u) {
      return die(u.msg);
    }
  }
  if (opt.root.empty()) return die("--root DIR is required");
  return std::nullopt;
}

int serve(const dmfs::ServerOptions& opt) {
  signal(SIGPIPE, SIG_IGN);
  try {
    dmfs::Server server(opt);
    server.listen();
    g_server = &server;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    int rc = server.run();
    g_server = nullptr;
    return rc;
  } catch (const dmfs::admin::Error& e) {
    dmfs::log::error("{}", e.what());
    return 2;  // a refused --admin PATH is a usage error, not a failure of the server
  } catch (const std::exception& e) {
    dmfs::log::error("{}", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--ctl") == 0) {
    if (argc < 4) return die("usage: dmfsd --ctl PATH COMMAND [ARG...]");
    return dmfs::admin::run_ctl(argv[2], std::vector<std::string>(argv + 3, argv + argc));
  }
  dmfs::ServerOptions opt;
  if (auto rc = parse_args(argc, argv, opt)) return *rc;
  return serve(opt);
}
