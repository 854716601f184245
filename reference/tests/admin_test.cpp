// The operator's admin socket of dmfsd (--admin PATH, --ctl): the real
// binary, real clients, and a test-side admin client written from the
// documented line protocol (docs/dmfsd.md), independent of the server's code.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "dmfsd_fixture.hpp"

using namespace dmfs;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t P = DMFS_PAGE_SIZE;

// One connection to the admin socket.
class AdminConn {
 public:
  explicit AdminConn(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("cannot connect to " + path + ": " + std::strerror(errno));
  }
  ~AdminConn() { close(fd_); }
  AdminConn(const AdminConn&) = delete;
  AdminConn& operator=(const AdminConn&) = delete;

  bool send_raw(std::string_view b) {
    while (!b.empty()) {
      ssize_t w = ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL);
      if (w <= 0) return false;
      b.remove_prefix(size_t(w));
    }
    return true;
  }
  void shutdown_write() { shutdown(fd_, SHUT_WR); }
  // The reply lines up to and including the first starting with "ok" or
  // "error:"; what came before if the connection ends or nothing comes in t.
  std::vector<std::string> reply(std::chrono::milliseconds t = 3s) {
    std::vector<std::string> lines;
    for (;;) {
      std::string l;
      if (!next_line(l, t)) return lines;
      lines.push_back(l);
      if (l.starts_with("ok") || l.starts_with("error:")) return lines;
    }
  }
  std::vector<std::string> cmd(const std::string& line) {
    EXPECT_TRUE(send_raw(line + "\n"));
    return reply();
  }
  // True when the server closes the connection within t (data before is skipped).
  bool closed_by_server(std::chrono::milliseconds t = 2s) {
    std::string l;
    while (next_line(l, t)) {
    }
    return eof_;
  }

 private:
  bool next_line(std::string& l, std::chrono::milliseconds t) {
    auto deadline = std::chrono::steady_clock::now() + t;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return true;
      }
      if (eof_) return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, int(left.count())) <= 0) return false;
      char b[65536];
      ssize_t n = recv(fd_, b, sizeof b, 0);
      if (n <= 0)
        eof_ = true;
      else
        buf_.append(b, size_t(n));
    }
  }
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

struct RunResult {
  int status = -1;  // exit status, 128+signal, -1 if it did not finish in time
  std::string out, err;
};

class DmfsdAdmin : public test::Dmfsd {
 protected:
  std::string dir, sock;

  void SetUp() override {
    Dmfsd::SetUp();
    char tmpl[] = "/tmp/dmfs-adm-XXXXXX";  // short: sun_path has 108 bytes
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    sock = dir + "/admin.sock";
  }
  void TearDown() override {
    Dmfsd::TearDown();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void start_admin(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--admin", sock});
    start(std::move(extra));
  }
  std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  // Runs the dmfsd binary with args (stdout and stderr captured), at most 5 s.
  RunResult run(const std::vector<std::string>& args) {
    static int n = 0;
    std::string out = dir + "/out" + std::to_string(++n), err = dir + "/err" + std::to_string(n);
    pid_t pid = fork();
    if (pid == 0) {
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> av{const_cast<char*>(DMFSD_BIN)};
      for (auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
      av.push_back(nullptr);
      execv(av[0], av.data());
      _exit(127);
    }
    RunResult r;
    int st = 0;
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid, &st, WNOHANG) == pid) {
        r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (r.status == -1) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
    }
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
  // client id -> the rest of its `clients` line, parsed.
  struct ClientLine {
    std::string peer, name;
    int locks = -1, registrations = -1;
  };
  std::map<uint64_t, ClientLine> clients(AdminConn& a) {
    static const std::regex re(R"(client (\d+) peer (\S+) locks (\d+) registrations (\d+) name (.*))");
    auto lines = a.cmd("clients");
    std::map<uint64_t, ClientLine> m;
    EXPECT_FALSE(lines.empty());
    if (lines.empty()) return m;
    EXPECT_EQ(lines.back(), "ok " + std::to_string(lines.size() - 1) + " clients");
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      std::smatch sm;
      EXPECT_TRUE(std::regex_match(lines[i], sm, re)) << lines[i];
      if (sm.empty()) continue;
      m[std::stoull(sm[1])] = {sm[2], sm[5], std::stoi(sm[3]), std::stoi(sm[4])};
    }
    return m;
  }
};

using Lines = std::vector<std::string>;

// The seed HLD's recovery case at the protocol level: a client holding a PW
// lock and an application lock stops answering; the operator evicts it; the
// waiters are granted and the client learns it was evicted.
TEST_F(DmfsdAdmin, EvictHandsLocksToWaiters) {
  start_admin();  // revoke timeout 30 s: only the operator can end the wait
  auto a = connect("holder"), b = connect("waiter");
  uint64_t id = make_file(*a, "f");
  a->set_revoke_handler([](Client&, uint64_t, const dmfs_revoke_cb&) { /* frozen */ });
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  ASSERT_EQ(a->plock(id, 1, 0, 8, DMFS_PLK_WRLCK, 0), 0);
  auto lock = b->lock_async(id, 0, P, DMFS_LOCK_PW, 0);
  auto plock = b->plock_async(id, 1, 0, 8, DMFS_PLK_WRLCK, DMFS_PLKF_WAIT);
  EXPECT_EQ(lock.wait_for(200ms), std::future_status::timeout);
  EXPECT_EQ(plock.wait_for(0ms), std::future_status::timeout);
  AdminConn adm(sock);
  const std::string aid = std::to_string(a->client_id());
  EXPECT_EQ(adm.cmd("evict " + aid), Lines{"ok evicted " + aid});
  ASSERT_EQ(lock.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(lock.get().status, 0);
  ASSERT_EQ(plock.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(plock.get().status, 0);
  ASSERT_TRUE(a->wait_closed(2s));
  EXPECT_EQ(a->evicted_reason(), DMFS_EVICT_REVOKE_TIMEOUT);
  EXPECT_EQ(a->ping(), -ENOTCONN);
  EXPECT_NE(srv->log().find("warn: EVICT client " + aid), std::string::npos);
  EXPECT_NE(srv->log().find("evicted client " + aid + " by operator"), std::string::npos);
  auto m = clients(adm);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_TRUE(m.count(b->client_id()));
  // Evicting it again: it is gone.
  EXPECT_EQ(adm.cmd("evict " + aid), Lines{"error: no client " + aid});
}

TEST_F(DmfsdAdmin, EvictUnknownOrMalformedId) {
  start_admin();
  auto a = connect("A");
  AdminConn adm(sock);
  EXPECT_EQ(adm.cmd("evict 999"), Lines{"error: no client 999"});
  EXPECT_EQ(adm.cmd("evict 0"), Lines{"error: no client 0"});
  for (const char* bad : {"evict", "evict -1", "evict 1x", "evict 0x1", "evict 1 2", "evict 18446744073709551616"}) {
    auto r = adm.cmd(bad);
    ASSERT_EQ(r.size(), 1u) << bad;
    EXPECT_TRUE(r[0].starts_with("error: usage: evict ID")) << bad << " -> " << r[0];
  }
  EXPECT_EQ(a->ping(), 0);  // nobody was evicted
  EXPECT_EQ(clients(adm).size(), 1u);
}

TEST_F(DmfsdAdmin, ClientsListsConnectedClients) {
  start_admin();
  AdminConn adm(sock);
  EXPECT_EQ(adm.cmd("clients"), Lines{"ok 0 clients"});
  auto a = connect("node-a"), b = connect("node b");
  uint64_t id = make_file(*a, "bin", "#!/bin/sh\n");
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  uint64_t he = 0, hr = 0;
  ASSERT_EQ(a->open(id, DMFS_OPEN_READ | DMFS_OPEN_EXEC, he), 0);
  ASSERT_EQ(a->open(id, DMFS_OPEN_READ, hr), 0);
  auto m = clients(adm);
  ASSERT_EQ(m.size(), 2u);
  ASSERT_TRUE(m.count(a->client_id()) && m.count(b->client_id()));
  const auto& ca = m[a->client_id()];
  EXPECT_EQ(ca.locks, 1);
  EXPECT_EQ(ca.registrations, 2);
  EXPECT_EQ(ca.name, "node-a");
  EXPECT_TRUE(std::regex_match(ca.peer, std::regex(R"(127\.0\.0\.1:\d+)"))) << ca.peer;
  EXPECT_EQ(m[b->client_id()].locks, 0);
  EXPECT_EQ(m[b->client_id()].registrations, 0);
  EXPECT_EQ(m[b->client_id()].name, "node b");  // the name is the rest of the line
  // Counts follow cancels and closes.
  ASSERT_EQ(a->cancel(la.lock_handle), 0);
  ASSERT_EQ(a->close(he), 0);
  m = clients(adm);
  EXPECT_EQ(m[a->client_id()].locks, 0);
  EXPECT_EQ(m[a->client_id()].registrations, 1);
  // A lock lost to a revoke (handed to b) is no longer counted for a.
  dmfs_lock_enqueue_rep lb{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PW, 0, lb), 0);
  m = clients(adm);
  EXPECT_EQ(m[a->client_id()].locks, 0);
  EXPECT_EQ(m[b->client_id()].locks, 1);
  // A client that goes away leaves the list.
  const uint64_t bid = b->client_id();
  b.reset();
  for (int i = 0; i < 100 && clients(adm).count(bid); ++i) std::this_thread::sleep_for(10ms);
  m = clients(adm);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_FALSE(m.count(bid));
}

// The cluster-wide ETXTBSY of an evicted runner is released with it: the
// binary can be replaced (the seed HLD's case: the evicted client must then
// notice the change by the data version when it reconnects).
TEST_F(DmfsdAdmin, EvictReleasesExecRegistration) {
  start_admin();
  auto a = connect("runner"), b = connect("writer");
  uint64_t id = make_file(*a, "bin", "#!/bin/sh\n");
  uint64_t he = 0, hw = 0;
  ASSERT_EQ(a->open(id, DMFS_OPEN_READ | DMFS_OPEN_EXEC, he), 0);
  EXPECT_EQ(b->open(id, DMFS_OPEN_WRITE, hw), -ETXTBSY);
  EXPECT_EQ(b->truncate(id, 0), -ETXTBSY);
  AdminConn adm(sock);
  const std::string aid = std::to_string(a->client_id());
  ASSERT_EQ(adm.cmd("evict " + aid), Lines{"ok evicted " + aid});
  // Released before the reply was sent: no waiting needed.
  EXPECT_EQ(b->open(id, DMFS_OPEN_WRITE, hw), 0);
  dmfs_attr at{};
  ASSERT_EQ(b->getattr(id, at), 0);
  EXPECT_FALSE(at.flags & DMFS_AF_EXEC_BUSY);
  EXPECT_TRUE(a->wait_closed(2s));
}

TEST_F(DmfsdAdmin, EvictWorksUnderFaultNoEvict) {
  start_admin({"--fault", "no-evict", "--revoke-timeout", "100ms"});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  a->set_revoke_handler([](Client&, uint64_t, const dmfs_revoke_cb&) {});
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  auto f = b->lock_async(id, 0, P, DMFS_LOCK_PW, 0);
  EXPECT_EQ(f.wait_for(400ms), std::future_status::timeout);  // 4x the timeout: not evicted
  EXPECT_TRUE(a->connected());
  AdminConn adm(sock);
  const std::string aid = std::to_string(a->client_id());
  EXPECT_EQ(adm.cmd("evict " + aid), Lines{"ok evicted " + aid});
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(f.get().status, 0);
  EXPECT_TRUE(a->wait_closed(2s));
}

TEST_F(DmfsdAdmin, BadLinesAreErrorsAndTheConnectionStays) {
  start_admin();
  AdminConn adm(sock);
  auto one_error = [&](const std::string& line, const std::string& want) {
    auto r = adm.cmd(line);
    ASSERT_EQ(r.size(), 1u) << line;
    EXPECT_TRUE(r[0].starts_with(want)) << r[0];
  };
  one_error("bogus", "error: unknown command 'bogus'");
  one_error("", "error: empty command");
  one_error(" \t ", "error: empty command");
  one_error("\xff\xfe", "error: not a text line");
  one_error("help \xc0\xaf", "error: not a text line");      // overlong '/'
  one_error("help \xed\xa0\x80", "error: not a text line");  // a UTF-16 surrogate
  one_error(std::string("help\0x", 6), "error: not a text line");
  one_error("help\x1b[2J", "error: not a text line");
  one_error("help me", "error: usage: help");
  one_error("clients now", "error: usage: clients");
  one_error("EVICT 1", "error: unknown command");
  // Still usable; blanks around words and CRLF are fine; UTF-8 is text.
  auto h = adm.cmd("  help\t\r");
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h.back(), "ok");
  EXPECT_GE(h.size(), 4u);
  one_error("évincer 1", "error: unknown command 'évincer'");
  // Two commands in one write, answered in order.
  ASSERT_TRUE(adm.send_raw("clients\nevict 7\n"));
  EXPECT_EQ(adm.reply(), Lines{"ok 0 clients"});
  EXPECT_EQ(adm.reply(), Lines{"error: no client 7"});
  // A command split across writes.
  ASSERT_TRUE(adm.send_raw("cli"));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(adm.send_raw("ents\n"));
  EXPECT_EQ(adm.reply(), Lines{"ok 0 clients"});
  // A 256-byte line is a command; a longer one ends the connection.
  one_error(std::string(256, 'x'), "error: unknown command");
  ASSERT_TRUE(adm.send_raw(std::string(257, 'x') + "\nhelp\n"));
  auto r = adm.reply();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].starts_with("error: line longer than 256 bytes")) << r[0];
  EXPECT_TRUE(adm.closed_by_server());
  // Also without a newline ever coming.
  AdminConn adm2(sock);
  ASSERT_TRUE(adm2.send_raw(std::string(5000, 'y')));
  r = adm2.reply();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].starts_with("error: line longer than 256 bytes")) << r[0];
  EXPECT_TRUE(adm2.closed_by_server());
  auto c = connect();
  EXPECT_EQ(c->ping(), 0);
}

// Half-closed, abrupt, piled-up and too many admin connections: the server
// answers what it can, never blocks, and keeps serving clients.
TEST_F(DmfsdAdmin, AbusiveConnectionsNeverHurtTheServer) {
  // Whether the server has closed every admin connection it opened (its
  // debug log), within 10 s: generous, as ctest runs tests side by side and
  // a loaded host delays the server; a pass never waits that long.
  auto admin_idle = [&] {
    auto count = [&](const std::string& what) {
      std::string log = srv->log();
      size_t n = 0;
      for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
      return n;
    };
    for (int i = 0; i < 1000; ++i) {
      if (count("admin connection opened") == count("admin connection closed")) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  };
  start_admin();
  auto c = connect("bystander");
  {  // half-closed after the command, and a last line without newline
    AdminConn h(sock);
    ASSERT_TRUE(h.send_raw("clients\nhelp"));
    h.shutdown_write();
    EXPECT_EQ(h.reply().back(), "ok 1 clients");
    auto help = h.reply();
    ASSERT_FALSE(help.empty());
    EXPECT_EQ(help.back(), "ok");
    EXPECT_TRUE(h.closed_by_server());
  }
  for (int i = 0; i < 20; ++i) {  // abrupt: mid-line, or before reading the reply
    AdminConn x(sock);
    ASSERT_TRUE(x.send_raw(i % 2 ? "cli" : "help\nhelp\nhelp\n"));
  }
  // Those took slots until the server saw them go (more than 16 at once are
  // refused, see below): wait for that.
  ASSERT_TRUE(admin_idle());
  {  // 3000 commands sent without reading: ~1 MB of replies pile up
    AdminConn flood(sock);
    std::string many;
    for (int i = 0; i < 3000; ++i) many += "help\n";
    ASSERT_TRUE(flood.send_raw(many));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(c->ping(), 0);  // meanwhile everything else is served
    AdminConn other(sock);
    EXPECT_EQ(other.cmd("clients").back(), "ok 1 clients");
    int oks = 0;  // each reply within reply()'s 3 s, however loaded the host
    for (int i = 0; i < 3000; ++i) {
      auto r = flood.reply();
      if (r.empty()) break;
      oks += r.back() == "ok";
    }
    EXPECT_EQ(oks, 3000);
    EXPECT_TRUE(flood.reply(100ms).empty());  // and no more
  }
  // More connections than served at once: the surplus is told and closed.
  ASSERT_TRUE(admin_idle());
  std::vector<std::unique_ptr<AdminConn>> conns;
  for (int i = 0; i < 24; ++i) conns.push_back(std::make_unique<AdminConn>(sock));
  int served = 0, refused = 0;
  for (auto& x : conns) {
    // A refused one may be closed before the command arrives (the send may
    // fail); its notice is readable all the same.
    x->send_raw("help\n");
    auto r = x->reply();
    if (r == Lines{"error: too many admin connections"}) {
      ++refused;
      EXPECT_TRUE(x->closed_by_server());
    } else if (!r.empty() && r.back() == "ok") {
      ++served;
    }
  }
  EXPECT_EQ(served, 16);
  EXPECT_EQ(refused, 8);
  conns.clear();
  // The slots come back once those are gone.
  std::string last;
  for (int i = 0; i < 1000 && last != "ok 1 clients"; ++i) {
    AdminConn x(sock);
    auto r = x.cmd("clients");
    last = r.empty() ? "" : r.back();
    if (last != "ok 1 clients") std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(last, "ok 1 clients");
  EXPECT_EQ(c->ping(), 0);
  EXPECT_TRUE(srv->running());
}

TEST_F(DmfsdAdmin, CtlExitCodes) {
  start_admin();
  auto a = connect("A");
  const std::string aid = std::to_string(a->client_id());
  RunResult r = run({"--ctl", sock, "help"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.ends_with("\nok\n")) << r.out;
  r = run({"--ctl", sock, "clients"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("client " + aid + " peer 127.0.0.1:")) << r.out;
  EXPECT_TRUE(r.out.ends_with("\nok 1 clients\n")) << r.out;
  r = run({"--ctl", sock, "evict", "999"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "error: no client 999\n");
  r = run({"--ctl", sock, "bogus"});
  EXPECT_EQ(r.status, 1);
  r = run({"--ctl", sock, "evict", aid});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ok evicted " + aid + "\n");
  EXPECT_TRUE(a->wait_closed(2s));
  // Cannot connect, or a usage error: 2, with a message on stderr.
  r = run({"--ctl", dir + "/no-such.sock", "help"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  r = run({"--ctl", sock});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("usage"), std::string::npos) << r.err;
  r = run({"--ctl", sock, std::string(300, 'x')});
  EXPECT_EQ(r.status, 2);
  r = run({"--root", root, "--ctl", sock, "help"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--ctl must come first"), std::string::npos) << r.err;
  r = run({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--admin PATH"), std::string::npos);
  EXPECT_NE(r.out.find("--ctl PATH COMMAND"), std::string::npos);
}

TEST_F(DmfsdAdmin, StaleSocketReplacedAndRemovedAtExit) {
  {  // a socket file nobody listens on (a dmfsd that was killed -9)
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    close(fd);
  }
  ASSERT_TRUE(fs::is_socket(sock));
  start_admin();
  struct stat st {};
  ASSERT_EQ(lstat(sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  AdminConn adm(sock);
  EXPECT_EQ(adm.cmd("clients"), Lines{"ok 0 clients"});
  EXPECT_EQ(srv->stop(), 0);
  EXPECT_FALSE(fs::exists(fs::symlink_status(sock)));
  // A path that is not a socket is never replaced.
  { std::ofstream(sock) << "precious\n"; }
  RunResult r = run({"--root", root, "--listen", "127.0.0.1:0", "--admin", sock});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("is not a socket"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(sock), "precious\n");
}

TEST_F(DmfsdAdmin, LiveSocketRefused) {
  start_admin();
  const std::string root2 = dir + "/root2";
  RunResult r = run({"--root", root2, "--listen", "127.0.0.1:0", "--admin", sock});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(root2));  // refused before touching a backing store
  // The first server keeps its socket.
  AdminConn adm(sock);
  EXPECT_EQ(adm.cmd("clients"), Lines{"ok 0 clients"});
  EXPECT_EQ(srv->stop(), 0);
  EXPECT_FALSE(fs::exists(fs::symlink_status(sock)));
}

}  // namespace

namespace {
// Bytes the store's root holds (what --capacity counts: allocated blocks).
uint64_t allocated_under(const std::string& root) {
  uint64_t sum = 0;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    if (e.is_regular_file() && lstat(e.path().c_str(), &st) == 0) sum += uint64_t(st.st_blocks) * 512;
  }
  return sum;
}
}  // namespace

// --capacity and `capacity`: writes that would allocate past the limit fail
// with ENOSPC (nothing stored), overwrites of allocated bytes do not, statfs
// shows the limit; +BYTES sets it to the present use plus BYTES; none lifts it.
TEST_F(DmfsdAdmin, CapacityLimitsAllocation) {
  start_admin({"--capacity", std::to_string(64 * P)});
  auto c = connect("A");
  uint64_t id = make_file(*c, "f");
  dmfs_statfs_rep st{};
  ASSERT_EQ(c->statfs(st), 0);
  EXPECT_EQ(st.blocks * st.bsize, 64 * P - 64 * P % st.bsize);
  const std::string page(P, 'x');
  uint64_t off = 0;
  while (c->write(id, off, page) == 0 && off < 1000 * P) off += P;
  EXPECT_EQ(c->write(id, off, page), -ENOSPC);
  EXPECT_LE(allocated_under(root), 64 * P);
  EXPECT_GT(off, 0u);
  EXPECT_EQ(c->write(id, 0, page), 0) << "an overwrite of allocated bytes needs no space";
  std::string back;
  ASSERT_EQ(c->read(id, off, uint32_t(P), back), 0);
  EXPECT_EQ(back.find('x'), std::string::npos) << "the refused write stored something";
  ASSERT_EQ(c->statfs(st), 0);
  EXPECT_LT(st.bavail * st.bsize, 2 * P);

  AdminConn adm(sock);
  Lines r = adm.cmd("capacity +" + std::to_string(8 * P));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].starts_with("ok capacity ")) << r[0];
  EXPECT_EQ(c->write(id, off, page), 0);
  EXPECT_EQ(adm.cmd("capacity none"), (Lines{"ok capacity none used " + std::to_string(allocated_under(root))}));
  EXPECT_EQ(c->write(id, 2000 * P, page), 0);
  EXPECT_EQ(adm.cmd("capacity -1"), Lines{"error: usage: capacity [BYTES|+BYTES|none]"});
}
