// The dmfs extent-lock manager: per-file PR/PW extent locks with Lustre-style
// grant expansion, revoke requests to conflicting holders, per-file FIFO
// fairness, and revoke deadlines (eviction). No networking and no clock of its
// own: callers pass `now` and turn the returned Actions into messages.
#pragma once
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "interval_tree.hpp"

namespace dmfs::lk {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using ClientId = uint64_t;
using FileId = uint64_t;

inline constexpr uint64_t kEOF = UINT64_MAX;

enum class Mode : uint32_t { PR = 1, PW = 2 };
const char* mode_name(Mode m);

// PR/PR share; everything else conflicts.
constexpr bool compatible(Mode a, Mode b) { return a == Mode::PR && b == Mode::PR; }
constexpr bool overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2) { return s1 < e2 && s2 < e1; }

enum : uint32_t {
  kNoExpand = 0x1,  // DMFS_LKF_NOEXPAND
  kNoWait = 0x2,    // DMFS_LKF_NOWAIT
};

struct Grant {
  ClientId client;
  uint64_t token;  // the request's token (the ENQUEUE req_id)
  uint64_t handle;
  FileId file;
  uint64_t start, end;
  Mode mode;
  bool expanded;
};

struct Revoke {
  ClientId client;  // holder
  uint64_t handle;
  FileId file;
  uint64_t start, end;  // the holder's extent
  Mode mode;
  uint64_t conflict_start, conflict_end;
  Mode conflict_mode;
};

// Grants must be delivered before revokes (a revoke may target a lock granted
// in the same batch).
struct Actions {
  std::vector<Grant> grants;
  std::vector<Revoke> revokes;
  bool empty() const { return grants.empty() && revokes.empty(); }
  void clear() {
    grants.clear();
    revokes.clear();
  }
};

struct Config {
  std::chrono::milliseconds revoke_timeout{30000};
  size_t max_waiting_per_client = 1024;    // waiting requests of one client
  size_t max_locks_per_client = 1u << 20;  // granted + waiting locks of one client
  // Fault injection (each disables one duty; see docs/dmfsd.md).
  bool fault_no_revoke = false;            // grant over conflicting holders, revoke nobody
  bool fault_grant_before_cancel = false;  // revoke, but grant without waiting for cancels
  bool fault_no_evict = false;             // never evict a holder that ignores a revoke
  bool no_expand = false;                  // policy: never expand grants
  // Contention: for this long after a revoke on a file, grants on it expand
  // at most to `contended_granule`-aligned bounds around the request, so
  // clients working on disjoint parts of a shared file stop revoking each
  // other's whole-file locks (Lustre limits expansion of contended
  // resources the same way). 0 disables.
  std::chrono::milliseconds contention_window{2000};
  uint64_t contended_granule = 1u << 20;
};

struct LockInfo {
  uint64_t handle;
  ClientId client;
  FileId file;
  uint64_t start, end;
  Mode mode;
  bool granted;
  bool revoking;
};

class LockManager {
 public:
  enum class Outcome { granted, queued, would_block, too_many };

  explicit LockManager(Config cfg = {});
  ~LockManager();
  LockManager(const LockManager&) = delete;
  LockManager& operator=(const LockManager&) = delete;

  const Config& config() const { return cfg_; }

  // Asks for [start, end) in `mode` (a valid extent: start < end). Grants go
  // to actions.grants (also an immediate one: Outcome::granted), revokes of
  // conflicting holders to actions.revokes. `token` identifies the request for
  // the caller and for withdraw(); it must be unique among the client's
  // waiting requests.
  Outcome enqueue(ClientId c, FileId f, uint64_t start, uint64_t end, Mode mode, uint32_t flags, uint64_t token,
                  TimePoint now, Actions& out);

  // Releases a granted lock of client c. 0, or -ENOLCK if c has no such
  // granted lock. Waiters that become grantable are granted.
  int cancel(ClientId c, uint64_t handle, TimePoint now, Actions& out);

  // Withdraws c's waiting request `token`. 0, or -ENOLCK if not waiting.
  int withdraw(ClientId c, uint64_t token, TimePoint now, Actions& out);

  // Drops every granted and waiting lock of c (disconnect or eviction).
  void drop_client(ClientId c, TimePoint now, Actions& out);

  // Restarts the revoke deadlines of c's locks on f that are being revoked
  // (the holder is writing back).
  void prolong(ClientId c, FileId f, TimePoint now);

  // True while one of c's locks on f is being revoked.
  bool revoking(ClientId c, FileId f) const;

  // Clients holding a lock whose revoke deadline has passed.
  std::vector<ClientId> expired(TimePoint now) const;
  std::optional<TimePoint> next_deadline() const;

  // Introspection (tests, logs).
  std::vector<LockInfo> locks(FileId f) const;
  size_t granted_count(FileId f) const;
  size_t waiting_count(FileId f) const;
  size_t total_locks() const { return locks_.size(); }
  bool is_granted(uint64_t handle) const;

 private:
  struct Lock {
    uint64_t handle;
    ClientId client;
    FileId file;
    uint64_t start, end;  // granted extent, or the request while waiting
    Mode mode;
    uint32_t flags;
    uint64_t token;
    bool granted = false;
    bool revoking = false;
    TimePoint deadline{};
    std::list<Lock*>::iterator qpos;  // valid while waiting
  };
  struct FileLocks {
    IntervalTree<Lock*> granted[2];  // index: PR 0, PW 1
    IntervalTree<Lock*> waiting[2];
    std::list<Lock*> queue;   // FIFO of waiting requests
    bool revoked = false;     // a revoke was sent ...
    TimePoint last_revoke{};  // ... last at this time
  };
  struct TokenKey {
    ClientId c;
    uint64_t t;
    bool operator==(const TokenKey&) const = default;
  };
  struct TokenHash {
    size_t operator()(const TokenKey& k) const { return std::hash<uint64_t>()(k.c * 0x9e3779b97f4a7c15ULL ^ k.t); }
  };

  static int idx(Mode m) { return m == Mode::PR ? 0 : 1; }

  // Conflicting granted locks overlapping [s,e) for `mode`.
  void conflicting_granted(FileLocks& fl, uint64_t s, uint64_t e, Mode mode, std::vector<Lock*>& out);
  bool conflicts_waiting(FileLocks& fl, uint64_t s, uint64_t e, Mode mode);
  void compute_expansion(FileLocks& fl, Lock& l, TimePoint now, uint64_t& lo, uint64_t& hi);
  void grant(FileLocks& fl, Lock& l, TimePoint now, Actions& out);
  void send_revokes(FileLocks& fl, const std::vector<Lock*>& holders, const Lock& waiter, TimePoint now, Actions& out);
  void remove_lock(Lock* l);  // from every index; frees it
  void reprocess(FileId f, TimePoint now, Actions& out);
  FileLocks& file(FileId f) { return files_[f]; }
  void maybe_drop_file(FileId f);

  Config cfg_;
  uint64_t next_handle_;
  std::unordered_map<uint64_t, std::unique_ptr<Lock>> locks_;  // by handle
  std::unordered_map<FileId, FileLocks> files_;
  std::unordered_map<ClientId, std::unordered_set<uint64_t>> by_client_;
  std::unordered_map<TokenKey, Lock*, TokenHash> waiting_by_token_;
  std::unordered_map<ClientId, size_t> waiting_per_client_;
  size_t locks_of(ClientId c) const;
  std::unordered_set<Lock*> revoking_;
};

}  // namespace dmfs::lk
