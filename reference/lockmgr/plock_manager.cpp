#include "plock_manager.hpp"

#include <algorithm>
#include <cerrno>
#include <set>

namespace dmfs::lk {

const PLockInfo* PLockManager::first_conflict(const FileP& fp, ClientId c, uint64_t owner, uint64_t s, uint64_t e,
                                              PType t) const {
  if (cfg_.fault_ignore_conflicts || t == PType::UN) return nullptr;
  for (const auto& h : fp.held)
    if (conflicts(h, c, owner, s, e, t)) return &h;
  return nullptr;
}

// POSIX set: the owner's locks over [s, e) are replaced by the new one (or
// removed for UN); the owner's ranges of one type are kept merged.
void PLockManager::apply(FileP& fp, ClientId c, uint64_t owner, uint64_t s, uint64_t e, PType t, uint32_t pid) {
  std::vector<PLockInfo> mine, others;
  for (auto& h : fp.held) (h.client == c && h.owner == owner ? mine : others).push_back(h);
  std::vector<PLockInfo> cut;
  for (auto& h : mine) {
    if (!(h.start < e && s < h.end)) {
      cut.push_back(h);
      continue;
    }
    if (h.start < s) cut.push_back(PLockInfo{h.start, s, h.type, c, owner, h.pid});
    if (h.end > e) cut.push_back(PLockInfo{e, h.end, h.type, c, owner, h.pid});
  }
  if (t != PType::UN) cut.push_back(PLockInfo{s, e, t, c, owner, pid});
  std::sort(cut.begin(), cut.end(), [](const PLockInfo& a, const PLockInfo& b) { return a.start < b.start; });
  std::vector<PLockInfo> merged;
  for (auto& h : cut) {
    if (!merged.empty() && merged.back().type == h.type && merged.back().end >= h.start) {
      merged.back().end = std::max(merged.back().end, h.end);
      merged.back().pid = h.pid;
    } else {
      merged.push_back(h);
    }
  }
  auto& count = held_per_client_[c];
  count = count + merged.size() - mine.size();
  if (count == 0) held_per_client_.erase(c);
  others.insert(others.end(), merged.begin(), merged.end());
  fp.held = std::move(others);
}

// Would (c, owner) waiting for the holders of [s,e) close a cycle? Follows
// owner -> its waiting requests -> their conflicting holders, across files.
bool PLockManager::would_deadlock(ClientId c, uint64_t owner, const FileP& fp, uint64_t s, uint64_t e, PType t) const {
  std::vector<std::pair<ClientId, uint64_t>> todo;
  std::set<std::pair<ClientId, uint64_t>> seen;
  for (const auto& h : fp.held)
    if (conflicts(h, c, owner, s, e, t)) todo.emplace_back(h.client, h.owner);
  while (!todo.empty()) {
    auto o = todo.back();
    todo.pop_back();
    if (o == std::make_pair(c, owner)) return true;
    if (!seen.insert(o).second) continue;
    auto [lo, hi] = by_owner_.equal_range(o);
    for (auto it = lo; it != hi; ++it) {
      const Waiter* w = it->second;
      auto f = files_.find(w->key);
      if (f == files_.end()) continue;
      for (const auto& h : f->second.held)
        if (conflicts(h, w->c, w->owner, w->start, w->end, w->type)) todo.emplace_back(h.client, h.owner);
    }
  }
  return false;
}

PLockManager::Result PLockManager::request(ClientId c, uint64_t owner, FileId f, bool flock_space, uint64_t start,
                                           uint64_t end, PType type, uint32_t pid, bool wait, uint64_t token,
                                           std::vector<PGrant>& granted) {
  if (flock_space) {
    start = 0;
    end = kEOF;
  }
  Key k{f, flock_space};
  FileP& fp = files_[k];
  if (!first_conflict(fp, c, owner, start, end, type)) {
    if (type != PType::UN && held_per_client_[c] >= cfg_.max_locks_per_client) {
      gc(k);
      return Result::too_many;
    }
    apply(fp, c, owner, start, end, type, pid);
    wake(k, granted);  // an UNLCK or a downgrade may free waiters
    gc(k);
    return Result::set;
  }
  if (!wait) {
    gc(k);
    return Result::conflict;
  }
  if (would_deadlock(c, owner, fp, start, end, type)) {
    gc(k);
    return Result::deadlock;
  }
  if (waiting_per_client_[c] >= cfg_.max_waiting_per_client || by_token_.count({c, token})) {
    gc(k);
    return Result::too_many;
  }
  auto w = std::make_unique<Waiter>(Waiter{c, owner, k, start, end, type, pid, token, {}});
  w->pos = fp.waiters.insert(fp.waiters.end(), w.get());
  by_owner_.emplace(std::make_pair(c, owner), w.get());
  ++waiting_per_client_[c];
  by_token_[{c, token}] = std::move(w);
  return Result::queued;
}

PLockInfo PLockManager::test(ClientId c, uint64_t owner, FileId f, bool flock_space, uint64_t start, uint64_t end,
                             PType type) const {
  if (flock_space) {
    start = 0;
    end = kEOF;
  }
  auto it = files_.find(Key{f, flock_space});
  if (it != files_.end())
    if (const PLockInfo* h = first_conflict(it->second, c, owner, start, end, type)) return *h;
  return PLockInfo{};
}

void PLockManager::remove_waiter(Waiter* w) {
  auto f = files_.find(w->key);
  if (f != files_.end()) f->second.waiters.erase(w->pos);
  auto [lo, hi] = by_owner_.equal_range({w->c, w->owner});
  for (auto it = lo; it != hi; ++it)
    if (it->second == w) {
      by_owner_.erase(it);
      break;
    }
  auto wc = waiting_per_client_.find(w->c);
  if (wc != waiting_per_client_.end() && --wc->second == 0) waiting_per_client_.erase(wc);
  by_token_.erase({w->c, w->token});  // frees w
}

void PLockManager::wake(const Key& k, std::vector<PGrant>& granted) {
  auto f = files_.find(k);
  if (f == files_.end()) return;
  FileP& fp = f->second;
  for (auto it = fp.waiters.begin(); it != fp.waiters.end();) {
    Waiter* w = *it;
    ++it;
    if (first_conflict(fp, w->c, w->owner, w->start, w->end, w->type)) continue;
    apply(fp, w->c, w->owner, w->start, w->end, w->type, w->pid);
    granted.push_back(PGrant{w->c, w->token});
    remove_waiter(w);
  }
}

void PLockManager::gc(const Key& k) {
  auto f = files_.find(k);
  if (f != files_.end() && f->second.held.empty() && f->second.waiters.empty()) files_.erase(f);
}

int PLockManager::withdraw(ClientId c, uint64_t token, std::vector<PGrant>& granted) {
  auto it = by_token_.find({c, token});
  if (it == by_token_.end()) return -ENOLCK;
  Key k = it->second->key;
  remove_waiter(it->second.get());
  wake(k, granted);
  gc(k);
  return 0;
}

void PLockManager::drop_client(ClientId c, std::vector<PGrant>& granted) {
  std::vector<Waiter*> ws;
  for (auto& [key, w] : by_token_)
    if (key.first == c) ws.push_back(w.get());
  for (Waiter* w : ws) remove_waiter(w);
  std::vector<Key> touched;
  for (auto& [k, fp] : files_) {
    auto n = fp.held.size();
    fp.held.erase(std::remove_if(fp.held.begin(), fp.held.end(), [&](const PLockInfo& h) { return h.client == c; }),
                  fp.held.end());
    if (fp.held.size() != n) touched.push_back(k);
  }
  held_per_client_.erase(c);
  for (auto& k : touched) {
    wake(k, granted);
    gc(k);
  }
}

std::vector<PLockInfo> PLockManager::locks(FileId f, bool flock_space) const {
  auto it = files_.find(Key{f, flock_space});
  return it == files_.end() ? std::vector<PLockInfo>{} : it->second.held;
}

size_t PLockManager::waiting(FileId f, bool flock_space) const {
  auto it = files_.find(Key{f, flock_space});
  return it == files_.end() ? 0 : it->second.waiters.size();
}

}  // namespace dmfs::lk
