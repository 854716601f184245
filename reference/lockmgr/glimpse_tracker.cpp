#include "glimpse_tracker.hpp"

#include <algorithm>

namespace dmfs::lk {

std::optional<GlimpseResult> GlimpseTracker::start(ClientId requester, uint64_t token, FileId f,
                                                   const std::vector<ClientId>& holders, TimePoint deadline,
                                                   uint64_t& id) {
  id = next_id_++;
  GlimpseResult r{requester, token, f};
  if (holders.empty()) return r;
  pending_[id] = Pending{r, std::set<ClientId>(holders.begin(), holders.end()), deadline};
  return std::nullopt;
}

std::optional<GlimpseResult> GlimpseTracker::answer(uint64_t id, ClientId holder, std::optional<GlimpseReport> report) {
  auto it = pending_.find(id);
  if (it == pending_.end() || !it->second.awaited.erase(holder)) return std::nullopt;
  GlimpseResult& r = it->second.result;
  if (report) {
    r.size = std::max(r.size, report->size);
    const auto key = std::make_pair(r.file, holder);
    if (report->mod_seq == 0) {
      seen_.erase(key);
    } else {
      r.unwritten = true;
      auto [at, fresh] = seen_.try_emplace(key, report->mod_seq);
      if (fresh || at->second != report->mod_seq) r.modified = true;
      at->second = report->mod_seq;
    }
  }
  if (!it->second.awaited.empty()) return std::nullopt;
  return finish(it);
}

GlimpseResult GlimpseTracker::finish(std::map<uint64_t, Pending>::iterator it) {
  GlimpseResult r = it->second.result;
  pending_.erase(it);
  return r;
}

std::vector<GlimpseResult> GlimpseTracker::drop_client(ClientId c) {
  std::vector<GlimpseResult> done;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.result.requester == c) {
      it = pending_.erase(it);
      continue;
    }
    it->second.awaited.erase(c);
    if (it->second.awaited.empty()) {
      done.push_back(it->second.result);
      it = pending_.erase(it);
      continue;
    }
    ++it;
  }
  std::erase_if(seen_, [c](const auto& kv) { return kv.first.second == c; });
  return done;
}

std::vector<ClientId> GlimpseTracker::expired(TimePoint now) const {
  std::set<ClientId> late;
  for (const auto& [id, p] : pending_)
    if (p.deadline <= now) late.insert(p.awaited.begin(), p.awaited.end());
  return {late.begin(), late.end()};
}

std::optional<TimePoint> GlimpseTracker::next_deadline() const {
  std::optional<TimePoint> d;
  for (const auto& [id, p] : pending_)
    if (!d || p.deadline < *d) d = p.deadline;
  return d;
}

}  // namespace dmfs::lk
