// Application locks of dmfs (protocol op PLOCK): cluster-wide fcntl() record
// locks and flock() locks with Linux semantics - owners, replace/split on
// set, shared RD / exclusive WR, blocking waits in FIFO order, deadlock
// detection across files and sessions. No networking, like LockManager.
#pragma once
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "lock_manager.hpp"

namespace dmfs::lk {

enum class PType : uint32_t { UN = 0, RD = 1, WR = 2 };

struct PLockInfo {
  uint64_t start = 0, end = 0;
  PType type = PType::UN;
  ClientId client = 0;
  uint64_t owner = 0;
  uint32_t pid = 0;
};

// A waiting request that has now been set: answer token with 0.
struct PGrant {
  ClientId client;
  uint64_t token;
};

struct PConfig {
  size_t max_locks_per_client = 65536;  // held ranges
  size_t max_waiting_per_client = 1024;
  bool fault_ignore_conflicts = false;  // every lock is granted at once
};

class PLockManager {
 public:
  enum class Result { set, queued, conflict, deadlock, too_many };

  explicit PLockManager(PConfig cfg = {}) : cfg_(cfg) {}

  // Sets (or with type UN releases) [start, end) for (c, owner). In the flock
  // space the range is the whole file. With wait, a conflicting request is
  // queued (Result::queued) and later appears in `granted` with its token.
  Result request(ClientId c, uint64_t owner, FileId f, bool flock_space, uint64_t start, uint64_t end, PType type,
                 uint32_t pid, bool wait, uint64_t token, std::vector<PGrant>& granted);
  // F_GETLK: the first lock conflicting with the request, or type UN.
  PLockInfo test(ClientId c, uint64_t owner, FileId f, bool flock_space, uint64_t start, uint64_t end,
                 PType type) const;
  // Withdraws c's waiting request `token`: 0, or -ENOLCK if none.
  int withdraw(ClientId c, uint64_t token, std::vector<PGrant>& granted);
  // Releases every lock and waiting request of c.
  void drop_client(ClientId c, std::vector<PGrant>& granted);

  std::vector<PLockInfo> locks(FileId f, bool flock_space) const;
  size_t waiting(FileId f, bool flock_space) const;

 private:
  struct Key {
    FileId f;
    bool flock;
    bool operator<(const Key& o) const { return f != o.f ? f < o.f : flock < o.flock; }
  };
  struct Waiter {
    ClientId c;
    uint64_t owner;
    Key key;
    uint64_t start, end;
    PType type;
    uint32_t pid;
    uint64_t token;
    std::list<Waiter*>::iterator pos;
  };
  struct FileP {
    std::vector<PLockInfo> held;
    std::list<Waiter*> waiters;
  };

  static bool conflicts(const PLockInfo& h, ClientId c, uint64_t owner, uint64_t s, uint64_t e, PType t) {
    if (h.client == c && h.owner == owner) return false;
    if (!(h.start < e && s < h.end)) return false;
    return h.type == PType::WR || t == PType::WR;
  }
  const PLockInfo* first_conflict(const FileP& fp, ClientId c, uint64_t owner, uint64_t s, uint64_t e, PType t) const;
  void apply(FileP& fp, ClientId c, uint64_t owner, uint64_t s, uint64_t e, PType t, uint32_t pid);
  bool would_deadlock(ClientId c, uint64_t owner, const FileP& fp, uint64_t s, uint64_t e, PType t) const;
  void wake(const Key& k, std::vector<PGrant>& granted);
  void remove_waiter(Waiter* w);
  void gc(const Key& k);

  PConfig cfg_;
  std::map<Key, FileP> files_;
  std::map<std::pair<ClientId, uint64_t>, std::unique_ptr<Waiter>> by_token_;
  std::multimap<std::pair<ClientId, uint64_t>, Waiter*> by_owner_;
  std::unordered_map<ClientId, size_t> held_per_client_;
  std::unordered_map<ClientId, size_t> waiting_per_client_;
};

}  // namespace dmfs::lk
