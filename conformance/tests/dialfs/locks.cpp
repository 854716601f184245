#include "locks.hpp"

#include <algorithm>

namespace dialfs {

namespace {

bool overlap(const LockRange& a, const LockRange& b) { return a.start <= b.end && b.start <= a.end; }

}  // namespace

std::optional<LockRange> LockTable::conflict(std::uint64_t node, const LockRange& want) const {
  auto it = ranges_.find(node);
  if (it == ranges_.end() || want.type == F_UNLCK) return std::nullopt;
  for (const LockRange& held : it->second)
    if (held.owner != want.owner && overlap(held, want) && (held.type == F_WRLCK || want.type == F_WRLCK)) return held;
  return std::nullopt;
}

void LockTable::apply(std::uint64_t node, const LockRange& want) {
  std::vector<LockRange>& ranges = ranges_[node];
  std::vector<LockRange> kept;
  for (const LockRange& held : ranges) {
    if (held.owner != want.owner || !overlap(held, want)) {
      kept.push_back(held);
      continue;
    }
    // The owner's range loses the part `want` covers; what sticks out on either side stays.
    if (held.start < want.start) {
      LockRange left = held;
      left.end = want.start - 1;
      kept.push_back(left);
    }
    if (held.end > want.end) {
      LockRange right = held;
      right.start = want.end + 1;
      kept.push_back(right);
    }
  }
  if (want.type != F_UNLCK) kept.push_back(want);
  ranges = std::move(kept);
  if (ranges.empty()) ranges_.erase(node);
}

bool LockTable::release(std::uint64_t node, const LockOwner& owner) {
  auto it = ranges_.find(node);
  if (it == ranges_.end()) return false;
  const auto removed = std::erase_if(it->second, [&](const LockRange& r) { return r.owner == owner; });
  if (it->second.empty()) ranges_.erase(it);
  return removed > 0;
}

void LockTable::release_mount(int mount) {
  for (auto it = ranges_.begin(); it != ranges_.end();) {
    std::erase_if(it->second, [&](const LockRange& r) { return r.owner.mount == mount; });
    it = it->second.empty() ? ranges_.erase(it) : std::next(it);
  }
}

}  // namespace dialfs
