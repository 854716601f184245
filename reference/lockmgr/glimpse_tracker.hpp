// Glimpses in flight and what they conclude: pure bookkeeping for GLIMPSE
// (docs/protocol.md). A glimpse asks every other PW holder of a file for its
// size and modification counter instead of revoking it; it completes when
// each holder has answered or gone (disconnect, eviction for not answering
// by its deadline). No networking and no clock of its own: callers pass
// `now` and send what the results say.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "lock_manager.hpp"

namespace dmfs::lk {

// One holder's answer: its size of the file and its modification counter
// (0: nothing unwritten).
struct GlimpseReport {
  uint64_t size = 0;
  uint64_t mod_seq = 0;
};

// A finished glimpse: whom to answer, and what the holders reported.
struct GlimpseResult {
  ClientId requester;
  uint64_t token;  // the requester's GLIMPSE req_id
  FileId file;
  uint64_t size = 0;       // largest size reported (0 if none)
  bool unwritten = false;  // some holder has modifications not yet written back
  bool modified = false;   // ... and one of them is new since the last glimpse
};

class GlimpseTracker {
 public:
  // Starts a glimpse of `file` for the requester's request `token`, asking
  // `holders` (distinct, the requester not among them), who must answer by
  // `deadline`. With no holder it is finished at once: returned.
  std::optional<GlimpseResult> start(ClientId requester, uint64_t token, FileId f, const std::vector<ClientId>& holders,
                                     TimePoint deadline, uint64_t& id);

  // `holder`'s answer to glimpse `id` (nullopt: it knows nothing of the file).
  // The glimpse is returned once nobody else is awaited; an unknown id or
  // holder (a late answer) changes nothing.
  std::optional<GlimpseResult> answer(uint64_t id, ClientId holder, std::optional<GlimpseReport> report);

  // `c` is gone: its own glimpses are dropped, answers it owed are no longer
  // awaited. Returns the glimpses that finished.
  std::vector<GlimpseResult> drop_client(ClientId c);

  // Holders whose answer is overdue.
  std::vector<ClientId> expired(TimePoint now) const;
  std::optional<TimePoint> next_deadline() const;
  size_t in_flight() const { return pending_.size(); }

 private:
  struct Pending {
    GlimpseResult result;
    std::set<ClientId> awaited;
    TimePoint deadline;
  };
  GlimpseResult finish(std::map<uint64_t, Pending>::iterator it);

  std::map<uint64_t, Pending> pending_;
  // The last mod_seq each holder reported per file: a new one is a new
  // modification. Forgotten when a holder reports nothing unwritten.
  std::map<std::pair<FileId, ClientId>, uint64_t> seen_;
  uint64_t next_id_ = 1;
};

}  // namespace dmfs::lk
