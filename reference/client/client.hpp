// A small C++ client of the dmfs protocol (docs/protocol.md), used by the
// integration tests and the benchmark. Thread-safe: any number of threads may
// issue requests at once; replies are matched by request id. REVOKE callbacks
// run on a dedicated callback thread, so a handler may call the client's
// synchronous methods (write back, cancel) while other requests are in flight.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dmfs_proto.h"
#include "wire.hpp"

namespace dmfs {

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = DMFS_DEFAULT_PORT;
  std::optional<std::string> secret;
  std::string name = "libdmfs";
  uint64_t prev_client_id = 0;
  // Handshake as a client older than GLIMPSE (no DMFS_HELLO_ANSWERS_GLIMPSE).
  bool no_glimpse_answers = false;
  std::chrono::milliseconds timeout{60000};  // per request
};

struct Reply {
  int status = 0;
  dmfs_hdr hdr{};
  std::vector<uint8_t> body;
  template <typename T>
  bool get(T& out) const {
    return wire::read_fixed(wire::Bytes(body.data(), body.size()), out);
  }
};

struct DirEntryInfo {
  uint64_t id;
  std::string name;
  uint8_t type;
};

class Client {
 public:
  // Called on the callback thread for each REVOKE. Default (no handler):
  // ack and cancel at once.
  using RevokeHandler = std::function<void(Client&, uint64_t cb_id, const dmfs_revoke_cb&)>;
  // Called on the reader thread for each GLIMPSE_CB: this client's size and
  // mod_seq of the file, or nullopt (answered -ENOENT, also without a
  // handler). It must not wait for the server.
  using GlimpseHandler = std::function<std::optional<dmfs_glimpse_rep>(uint64_t file_id)>;

  // Connects and performs the handshake; throws std::runtime_error (message
  // includes the errno name) on failure. Status of a refused handshake is in
  // handshake_status() of the exception-free variant `try_connect`.
  static std::unique_ptr<Client> connect(const ClientOptions& opt);
  // As connect, but returns nullptr and sets *status (negative errno).
  static std::unique_ptr<Client> try_connect(const ClientOptions& opt, int* status);
  ~Client();

  const dmfs_hello_rep& hello() const { return hello_; }
  uint64_t client_id() const { return hello_.client_id; }
  uint64_t root() const { return hello_.root_id; }

  void set_revoke_handler(RevokeHandler h);
  void ack_revoke(uint64_t cb_id, int32_t status = 0);
  void set_glimpse_handler(GlimpseHandler h);
  // Tests of a silent holder: GLIMPSE_CB callbacks are counted, never answered.
  void ignore_glimpses() { ignore_glimpses_ = true; }

  // Every method returns 0 or a negative errno (-ENOTCONN after the
  // connection is gone, -ETIMEDOUT when no reply came in time).
  int ping();
  int statfs(dmfs_statfs_rep& out);
  int lookup(uint64_t parent, std::string_view name, dmfs_attr& out);
  int getattr(uint64_t id, dmfs_attr& out);
  // GLIMPSE: attributes with the other clients' unwritten size and mtime.
  int glimpse(uint64_t id, dmfs_attr& out);
  int setattr(const dmfs_setattr_req& r, dmfs_attr* out = nullptr);
  int truncate(uint64_t id, uint64_t size);
  int create(uint64_t parent, std::string_view name, uint32_t mode, dmfs_attr& out, bool excl = false);
  int mkdir(uint64_t parent, std::string_view name, uint32_t mode, dmfs_attr& out);
  int unlink(uint64_t parent, std::string_view name);
  int rmdir(uint64_t parent, std::string_view name);
  int rename(uint64_t oldp, std::string_view oldn, uint64_t newp, std::string_view newn, uint32_t flags = 0);
  int readdir(uint64_t dir, std::vector<DirEntryInfo>& out, uint32_t max_bytes = 4096);
  int open(uint64_t id, uint32_t flags, uint64_t& handle, dmfs_attr* attr = nullptr);
  int close(uint64_t handle);
  int read(uint64_t id, uint64_t off, uint32_t len, std::string& data, dmfs_read_rep* rep = nullptr);
  int write(uint64_t id, uint64_t off, std::string_view data, dmfs_write_rep* rep = nullptr, uint32_t flags = 0);
  int fsync(uint64_t id);
  // With DMFS_LKF_WITH_PAGE and `page`, the data the grant carries (if
  // DMFS_LGF_PAGE) is stored there.
  int lock(uint64_t id, uint64_t start, uint64_t end, uint32_t mode, uint32_t flags, dmfs_lock_enqueue_rep& out,
           std::string* page = nullptr);
  // Starts an enqueue without waiting; *req_id (for LOCK_CANCEL BY_REQID).
  std::future<Reply> lock_async(uint64_t id, uint64_t start, uint64_t end, uint32_t mode, uint32_t flags,
                                uint64_t* req_id = nullptr);
  int cancel(uint64_t handle, uint32_t flags = 0);
  // Application lock (PLOCK). For TEST, *conflict receives the reply body.
  int plock(uint64_t id, uint64_t owner, uint64_t start, uint64_t end, uint32_t type, uint32_t flags,
            dmfs_plock_rep* conflict = nullptr, uint32_t pid = 0);
  std::future<Reply> plock_async(uint64_t id, uint64_t owner, uint64_t start, uint64_t end, uint32_t type,
                                 uint32_t flags, uint64_t* req_id = nullptr);
  int bye();

  // Generic request: sends op with the given body parts, waits for the reply.
  Reply call(uint16_t op, std::initializer_list<wire::Bytes> parts);
  std::future<Reply> call_async(uint16_t op, std::initializer_list<wire::Bytes> parts, uint64_t* req_id = nullptr);
  // Sends raw bytes (for protocol-violation tests).
  bool send_raw(const void* data, size_t len);

  bool connected() const { return !closed_.load(); }
  // Reason from an EVICTED notice, or 0.
  uint32_t evicted_reason() const { return evicted_reason_.load(); }
  // Waits until the server closes the connection; false on timeout.
  bool wait_closed(std::chrono::milliseconds t);
  // Number of REVOKE callbacks received so far.
  uint64_t revokes_received() const { return revokes_.load(); }
  // Number of GLIMPSE_CB callbacks received so far.
  uint64_t glimpses_received() const { return glimpses_.load(); }
  // Abruptly closes the socket (no BYE).
  void kill();

 private:
  explicit Client(const ClientOptions& opt);
  int handshake();
  void reader();
  void callbacks();
  void answer_glimpse(uint64_t cb_id, const Reply& r);
  bool send_bytes(const std::vector<uint8_t>& m);
  int wait(std::future<Reply>& f, Reply& r);
  void fail_all(int status);

  ClientOptions opt_;
  int fd_ = -1;
  dmfs_hello_rep hello_{};
  std::atomic<uint64_t> next_id_{1};
  std::mutex send_mu_;
  std::mutex mu_;
  std::map<uint64_t, std::promise<Reply>> pending_;
  std::atomic<bool> closed_{false};
  std::atomic<uint32_t> evicted_reason_{0};
  std::atomic<uint64_t> revokes_{0};
  std::atomic<uint64_t> glimpses_{0};
  std::atomic<bool> ignore_glimpses_{false};
  std::condition_variable closed_cv_;
  // callback queue
  std::mutex cb_mu_;
  std::condition_variable cb_cv_;
  std::deque<std::pair<uint64_t, dmfs_revoke_cb>> cb_queue_;
  RevokeHandler handler_;
  GlimpseHandler glimpse_handler_;
  bool stop_cb_ = false;
  std::thread reader_thread_;
  std::thread cb_thread_;
};

}  // namespace dmfs
