#include "dmmap/sync.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "dmmap/messages.hpp"
#include "dmmap/rank_set.hpp"

namespace dmmap {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kArriveTag = 7101;
constexpr int kReleaseTag = 7102;

// Message layout: "<phase id> <kind> <release>\n<payload...>"
std::string encode(unsigned long phase, char kind, int release, const std::string& payload) {
  return fmt::format("{} {} {}\n", phase, kind, release) + payload;
}

struct Message {
  unsigned long phase = 0;
  char kind = '?';
  int release = 0;
  std::string payload;
};

Message decode(const std::string& bytes) {
  Message m;
  auto nl = bytes.find('\n');
  std::sscanf(bytes.substr(0, nl).c_str(), "%lu %c %d", &m.phase, &m.kind, &m.release);
  if (nl != std::string::npos) m.payload = bytes.substr(nl + 1);
  return m;
}

// Receives one message from `source` with `tag`, or returns false at the deadline.
// All payloads, length-prefixed, in rank order.
std::string pack(const std::vector<std::string>& payloads) {
  std::string out;
  for (auto& p : payloads) out += fmt::format("{}:", p.size()) + p;
  return out;
}

std::vector<std::string> unpack(const std::string& bytes) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    auto colon = bytes.find(':', pos);
    std::size_t length = std::stoul(bytes.substr(pos, colon - pos));
    out.push_back(bytes.substr(colon + 1, length));
    pos = colon + 1 + length;
  }
  return out;
}

std::vector<std::string> root_only(const std::vector<std::string>& payloads) {
  std::vector<std::string> out(payloads.size());
  out.at(0) = payloads.at(0);
  return out;
}

}  // namespace

Sync::Sync(MPI_Comm comm, std::chrono::milliseconds timeout) : comm_(comm), timeout_(timeout) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

void Sync::begin_phase(std::string name) {
  phase_ = std::move(name);
  ++phase_id_;
  phase_start_ = Clock::now();
  time_limit_ = std::chrono::milliseconds(0);
  at_end_.clear();
  end_payload_.assign(static_cast<std::size_t>(size_), std::string());
}

void Sync::set_time_limit(std::chrono::milliseconds limit) {
  phase_start_ = Clock::now();
  time_limit_ = limit;
}

void Sync::throw_out_of_time() const {
  throw PhaseTimeLimit(fmt::format("'{}' ran past its time limit of {} s", phase_, time_limit_.count() / 1000.0));
}

void Sync::barrier() { exchange(kBody, {}); }

std::vector<std::string> Sync::allgather(const std::string& payload) { return exchange(kBody, payload); }

std::string Sync::broadcast(const std::string& payload_on_root) {
  return exchange(kBody, rank_ == 0 ? payload_on_root : std::string()).at(0);
}

std::vector<std::string> Sync::finish_phase(const std::string& payload, std::chrono::milliseconds patience) {
  return exchange(kEnd, payload, patience);
}

std::vector<std::string> Sync::exchange(Kind kind, const std::string& payload, std::chrono::milliseconds patience) {
  if (size_ == 1) {
    if (kind == kBody && time_limit_.count() > 0 && Clock::now() - phase_start_ > time_limit_) throw_out_of_time();
    return {payload};
  }
  return rank_ == 0 ? exchange_as_root(kind, payload) : exchange_as_member(kind, payload, patience);
}

std::vector<std::string> Sync::exchange_as_root(Kind kind, const std::string& payload) {
  if (kind == kEnd) remember_end(0, payload);
  for (;;) {
    // Collect one arrival from every rank; ranks already at the end count as arrived.
    const auto deadline = Clock::now() + timeout_;
    std::vector<std::string> payloads(static_cast<std::size_t>(size_));
    std::vector<bool> arrived(static_cast<std::size_t>(size_), false);
    payloads[0] = payload;
    arrived[0] = true;
    for (int r : at_end_) {
      arrived[static_cast<std::size_t>(r)] = true;
      payloads[static_cast<std::size_t>(r)] = end_payload_[static_cast<std::size_t>(r)];
    }
    while (std::count(arrived.begin(), arrived.end(), true) < size_) {
      std::string bytes;
      int from = -1;
      if (!receive(comm_, MPI_ANY_SOURCE, kArriveTag, deadline, bytes, &from)) {
        std::vector<int> missing;
        for (int r = 0; r < size_; ++r)
          if (!arrived[static_cast<std::size_t>(r)]) missing.push_back(r);
        throw HangError(fmt::format("'{}': ranks {} did not reach a sync point within {} s", phase_,
                                    format_ranks(missing), timeout_.count() / 1000.0),
                        missing);
      }
      Message m = decode(bytes);
      if (m.phase != phase_id_) continue;  // a straggler from an earlier, finished phase
      arrived[static_cast<std::size_t>(from)] = true;
      payloads[static_cast<std::size_t>(from)] = m.payload;
      if (m.kind == kEnd) remember_end(from, m.payload);
    }
    const bool all_ended = static_cast<int>(at_end_.size()) == size_;
    const bool someone_ended = !at_end_.empty();
    const bool out_of_time = kind == kBody && !someone_ended && time_limit_.count() > 0 &&
                             Clock::now() - phase_start_ > time_limit_;
    // Release everyone waiting inside the phase. When a rank left the phase
    // early, the others are released with `aborted` so that they skip to its
    // end; ranks already at the end wait for the real end.
    const int how = out_of_time ? kOutOfTime : someone_ended && !all_ended ? kAborted : kNormal;
    // The end of a phase gathers to rank 0: the others get rank 0's payload
    // only, so that the bytes rank 0 sends grow with the ranks, not with
    // their square.
    const std::string release = encode(phase_id_, kind, how, pack(kind == kEnd ? root_only(payloads) : payloads));
    const auto send_deadline = Clock::now() + timeout_;
    for (int r = 1; r < size_; ++r) {
      if (!all_ended && is_at_end(r)) continue;
      if (!send(comm_, r, kReleaseTag, release, send_deadline))
        throw HangError(fmt::format("'{}': rank {} stopped receiving", phase_, r), {r});
    }
    if (all_ended) {
      at_end_.clear();
      return payloads;
    }
    if (out_of_time) throw_out_of_time();
    if (!someone_ended) return payloads;
    if (kind == kBody) throw PhaseAborted(fmt::format("'{}' ended early on another rank", phase_));
    // Rank 0 is at the end itself: collect the others as they arrive there.
  }
}

void Sync::remember_end(int rank, const std::string& payload) {
  if (is_at_end(rank)) return;
  at_end_.push_back(rank);
  end_payload_[static_cast<std::size_t>(rank)] = payload;
}

bool Sync::is_at_end(int rank) const { return std::find(at_end_.begin(), at_end_.end(), rank) != at_end_.end(); }

std::vector<std::string> Sync::exchange_as_member(Kind kind, const std::string& payload,
                                                  std::chrono::milliseconds patience) {
  // Members wait longer than the root, so that the root, which can name the
  // culprit, reports a hang first.
  const auto wait = 2 * timeout_ + std::chrono::seconds(5) + patience;
  const auto deadline = Clock::now() + wait;
  if (!send(comm_, 0, kArriveTag, encode(phase_id_, kind, kNormal, payload), deadline))
    throw HangError(fmt::format("'{}': rank 0 stopped receiving", phase_), {0});
  for (;;) {
    std::string bytes;
    if (!receive(comm_, 0, kReleaseTag, deadline, bytes, nullptr, patience.count() > 0 ? kIdleBackoff : kPoliteBackoff))
      throw HangError(
          fmt::format("'{}': rank 0 did not answer within {} s", phase_, std::chrono::duration<double>(wait).count()),
          {0});
    Message m = decode(bytes);
    if (m.phase != phase_id_) continue;
    if (m.release == kOutOfTime) throw_out_of_time();
    if (m.release == kAborted) throw PhaseAborted(fmt::format("'{}' ended early on another rank", phase_));
    return unpack(m.payload);
  }
}

}  // namespace dmmap
