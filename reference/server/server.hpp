// dmfsd: a single-threaded epoll event loop serving dmfs clients. Lock waits
// are state, never blocking calls: a waiting LOCK_ENQUEUE is answered when the
// lock manager grants it, while the loop keeps serving every connection
// (including the write-back WRITEs of the holders being revoked).
#pragma once
#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "admin.hpp"
#include "backing_store.hpp"
#include "glimpse_tracker.hpp"
#include "lock_manager.hpp"
#include "plock_manager.hpp"
#include "siphash.hpp"
#include "wire.hpp"

namespace dmfs {

struct Faults {
  bool no_revoke = false;            // grant without revoking conflicting holders
  bool grant_before_cancel = false;  // revoke, but grant without waiting for the cancel
  bool no_writeback = false;         // revoke with DMFS_RVF_DISCARD: no write-back asked
  bool no_etxtbsy = false;           // don't enforce cluster-wide deny-write
  bool no_dv_bump = false;           // data version never changes
  bool no_evict = false;             // never evict a holder that ignores a revoke
  bool stale_grant_attr = false;     // grant carries size/version from before the revoke
  bool no_plock = false;             // application locks never conflict
  bool ack_enospc = false;           // a WRITE refused for want of space is acknowledged (and lost)
  bool no_glimpse = false;           // GLIMPSE answered from the server's attributes alone
};

// Names, descriptions and setters of the fault switches (for --help/--fault).
struct FaultInfo {
  const char* name;
  const char* what;
  bool Faults::*flag;
};
const std::vector<FaultInfo>& fault_table();

struct ServerOptions {
  std::string root;
  std::string listen_addr = "127.0.0.1";
  uint16_t port = DMFS_DEFAULT_PORT;
  std::optional<std::string> secret;  // raw secret bytes
  std::chrono::milliseconds revoke_timeout{30000};
  std::chrono::milliseconds contention_window{2000};  // see lk::Config
  size_t max_clients = 256;
  std::chrono::milliseconds handshake_timeout{10000};  // HELLO (+AUTH) must complete within
  std::string port_file;                               // written with the bound port once listening
  std::string admin_path;                              // Unix socket of the operator's admin commands (empty: none)
  std::optional<uint64_t> capacity;                    // --capacity: bytes the store may hold (unset: no limit)
  Faults faults;
};

class Server {
 public:
  explicit Server(ServerOptions opt);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (throws std::runtime_error on failure, admin::Error
  // when the admin socket path is taken or unusable).
  void listen();
  uint16_t port() const { return port_; }
  // Serves until stop() (async-signal-safe) is called; then shuts down
  // cleanly. Returns the exit status.
  int run();
  void stop();

 private:
  enum class State { hello, auth, ready, closing };
  struct OpenRec {
    uint64_t file;
    uint32_t flags;
  };
  struct Session {
    int fd = -1;
    uint64_t id = 0;
    State state = State::hello;
    std::string name, peer;
    // output
    std::deque<std::vector<uint8_t>> out;
    size_t out_off = 0;
    size_t out_bytes = 0;
    bool want_out = false;
    bool reading = true;
    bool doomed = false;
    bool released = false;
    std::vector<uint8_t> in;
    size_t in_len = 0;
    uint8_t client_nonce[DMFS_NONCE_LEN]{};
    uint8_t server_nonce[DMFS_NONCE_LEN]{};
    std::unordered_set<uint64_t> pending_enqueues;
    std::unordered_map<uint64_t, uint64_t> page_intents;  // ENQUEUE req id -> page its grant carries
    std::unordered_set<uint64_t> pending_plocks;
    std::unordered_map<uint64_t, uint64_t> callbacks;    // callback req id -> lock handle
    std::unordered_map<uint64_t, uint64_t> glimpse_cbs;  // callback req id -> glimpse id
    std::unordered_map<uint64_t, OpenRec> opens;
    // Handles of extent locks granted to it, for the admin `clients` count: a
    // superset (cancelled ones are erased, others pruned against the lock
    // manager when counted).
    std::unordered_set<uint64_t> lock_handles;
    uint64_t next_cb = 1;
    bool answers_glimpse = false;  // DMFS_HELLO_ANSWERS_GLIMPSE
    lk::TimePoint accepted{};
  };
  struct OpenCounts {
    uint32_t exec = 0, write = 0;
  };
  // A connection to the admin socket: lines in, reply lines out.
  struct AdminConn {
    admin::Fd fd;
    std::string in, out;
    bool eof = false;      // the operator finished sending (half-close or close)
    bool closing = false;  // close once `out` is sent
    bool dead = false;     // close now
  };
  enum class EvictCause { revoke_timeout, glimpse_timeout, operator_request };

  // Epoll keys: the listening sockets and the stop eventfd have their own;
  // a client session's key is its bare fd, an admin connection's its fd with
  // kAdminTag set (fds never reach that bit).
  static constexpr uint64_t kListenKey = ~uint64_t(0);
  static constexpr uint64_t kStopKey = ~uint64_t(0) - 1;
  static constexpr uint64_t kAdminListenKey = ~uint64_t(0) - 2;
  static constexpr uint64_t kAdminTag = uint64_t(1) << 40;

  // The loop and the sessions (server.cpp).
  void accept_all();
  void on_readable(Session& s);
  void on_writable(Session& s);
  void process_input(Session& s);
  void handle(Session& s, const dmfs_hdr& h, wire::Bytes body);
  void dispatch(Session& s, const wire::ClientMsg& m);

  // One handler per request opcode, each answering with reply(): the
  // handshake in server.cpp, files in server_files.cpp, locks in
  // server_locks.cpp. CREATE/MKDIR and UNLINK/RMDIR share one.
  void op_hello(Session& s, const dmfs_hdr& h, const wire::Hello& m);
  void op_auth(Session& s, const dmfs_hdr& h, const wire::Auth& m);
  void op_bye(Session& s, const dmfs_hdr& h);
  void op_statfs(Session& s, const dmfs_hdr& h);
  void op_lookup(Session& s, const dmfs_hdr& h, const wire::NameOp& m);
  void op_getattr(Session& s, const dmfs_hdr& h, const wire::Getattr& m);
  void op_setattr(Session& s, const dmfs_hdr& h, const wire::Setattr& m);
  void op_create(Session& s, const dmfs_hdr& h, const wire::Create& m);
  void op_unlink(Session& s, const dmfs_hdr& h, const wire::NameOp& m);
  void op_rename(Session& s, const dmfs_hdr& h, const wire::Rename& m);
  void op_readdir(Session& s, const dmfs_hdr& h, const wire::Readdir& m);
  void op_open(Session& s, const dmfs_hdr& h, const wire::Open& m);
  void op_close(Session& s, const dmfs_hdr& h, const wire::Close& m);
  void op_read(Session& s, const dmfs_hdr& h, const wire::Read& m);
  void op_write(Session& s, const dmfs_hdr& h, const wire::Write& m);
  void op_fsync(Session& s, const dmfs_hdr& h, const wire::Fsync& m);
  void op_lock_enqueue(Session& s, const dmfs_hdr& h, const wire::Enqueue& m);
  void op_lock_cancel(Session& s, const dmfs_hdr& h, const wire::Cancel& m);
  void op_plock(Session& s, const dmfs_hdr& h, const wire::Plock& m);
  // GLIMPSE (server_glimpse.cpp).
  void op_glimpse(Session& s, const dmfs_hdr& h, const wire::Glimpse& m);
  void on_glimpse_answer(Session& s, const dmfs_hdr& h, const wire::CallbackAnswer& m);
  void finish_glimpse(const lk::GlimpseResult& r);
  void drop_glimpses(uint64_t client);
  void on_callback_answer(Session& s, const dmfs_hdr& h, const wire::CallbackAnswer& m);
  void start_session(Session& s, const dmfs_hello_req& r, dmfs_hello_rep& rep);
  int withdraw_request(Session& s, uint64_t req_id, lk::TimePoint now, lk::Actions& a);
  void plock_test(Session& s, const dmfs_hdr& h, const dmfs_plock_req& r);
  void forget_open(const OpenRec& o);

  // Queues bytes for the session (send_message's rest), flushing what it can.
  void send(Session& s, std::vector<uint8_t> msg);
  void send_message(Session& s, uint16_t op, uint16_t flags, uint64_t id, int32_t status,
                    std::initializer_list<wire::Bytes> parts = {});
  void reply(Session& s, const dmfs_hdr& h, int32_t status, std::initializer_list<wire::Bytes> parts = {});
  void flush(Session& s);
  void update_events(Session& s);
  void doom(Session& s, const char* why);
  void reap();
  void release_session_state(Session& s);
  void apply(lk::Actions& a);
  void send_grant(const lk::Grant& g);
  uint32_t grant_page(Session& c, const lk::Grant& g, dmfs_lock_enqueue_rep& rep);
  void send_revoke(const lk::Revoke& r);
  void apply_plock(std::vector<lk::PGrant>& g);
  void check_evictions();
  void check_handshakes();
  void evict(uint64_t client, EvictCause cause);
  // The admin socket (server_admin.cpp).
  void admin_accept();
  void admin_event(int fd, uint32_t events);
  void admin_run_lines(AdminConn& c);
  void admin_flush(AdminConn& c);
  std::string admin_command(std::string_view line);
  std::string admin_clients();
  std::string admin_evict(const std::string& arg);
  std::string admin_capacity(const std::string& arg);
  uint32_t attr_flags(uint64_t file) const;
  int get_attr(uint64_t file, dmfs_attr& a);
  Session* by_client(uint64_t client);

  ServerOptions opt_;
  std::unique_ptr<BackingStore> store_;
  lk::LockManager locks_;
  lk::PLockManager plocks_;
  lk::GlimpseTracker glimpses_;
  // The server's clock when a glimpse first saw a file's unwritten
  // modification: its mtime until a later write-back time replaces it.
  std::unordered_map<uint64_t, timespec> glimpse_mtime_;
  std::optional<AuthKey> key_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;  // eventfd
  uint16_t port_ = 0;
  uint64_t boot_id_ = 0;
  uint64_t next_client_ = 1;
  uint64_t next_open_ = 1;
  std::unordered_map<int, std::unique_ptr<Session>> sessions_;  // by fd
  std::unordered_map<uint64_t, Session*> clients_;              // by client id
  std::unordered_map<uint64_t, OpenCounts> open_counts_;
  admin::SocketFile admin_;
  std::unordered_map<int, std::unique_ptr<AdminConn>> admin_conns_;  // by fd
  // Pre-revoke attributes for the stale_grant_attr fault.
  std::unordered_map<uint64_t, dmfs_attr> stale_attr_;
  std::vector<uint8_t> io_buf_;
  lk::TimePoint last_sweep_{};
};

}  // namespace dmfs
