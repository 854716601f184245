#include "lock_manager.hpp"

#include <algorithm>
#include <cerrno>
#include <random>

namespace dmfs::lk {

const char* mode_name(Mode m) { return m == Mode::PR ? "PR" : "PW"; }

LockManager::LockManager(Config cfg) : cfg_(cfg) {
  // Handles are unique over the server's lifetime; a random high half makes
  // handles of different server runs unlikely to collide.
  std::random_device rd;
  next_handle_ = (uint64_t(rd()) << 32) | 1;
  if (next_handle_ == 0) next_handle_ = 1;
}

LockManager::~LockManager() = default;

void LockManager::conflicting_granted(FileLocks& fl, uint64_t s, uint64_t e, Mode mode, std::vector<Lock*>& out) {
  auto collect = [&](const IntervalTree<Lock*>::Node& n) {
    out.push_back(n.value);
    return true;
  };
  fl.granted[idx(Mode::PW)].for_each_overlap(s, e, collect);
  if (mode == Mode::PW) fl.granted[idx(Mode::PR)].for_each_overlap(s, e, collect);
}

bool LockManager::conflicts_waiting(FileLocks& fl, uint64_t s, uint64_t e, Mode mode) {
  auto any = [](const IntervalTree<Lock*>::Node&) { return false; };
  if (!fl.waiting[idx(Mode::PW)].for_each_overlap(s, e, any)) return true;
  if (mode == Mode::PW && !fl.waiting[idx(Mode::PR)].for_each_overlap(s, e, any)) return true;
  return false;
}

// Largest [lo, hi) containing l's request that overlaps no conflicting lock,
// granted or waiting (l itself is in no index while this runs). When a
// conflicting lock overlaps the request (only possible for waiters behind l,
// or under fault injection) the request is granted as asked.
void LockManager::compute_expansion(FileLocks& fl, Lock& l, TimePoint now, uint64_t& lo, uint64_t& hi) {
  lo = l.start;
  hi = l.end;
  if (cfg_.no_expand || (l.flags & kNoExpand)) return;
  uint64_t cap_lo = 0, cap_hi = kEOF;
  if (cfg_.contention_window.count() > 0 && cfg_.contended_granule > 0 && fl.revoked &&
      now - fl.last_revoke < cfg_.contention_window) {
    const uint64_t g = cfg_.contended_granule;
    cap_lo = l.start - l.start % g;
    cap_hi = (l.end == kEOF || l.end > kEOF - g) ? kEOF : ((l.end + g - 1) / g) * g;
  }
  uint64_t new_lo = 0, new_hi = kEOF;
  auto bound = [&](IntervalTree<Lock*>& t) -> bool {
    bool overlap = !t.for_each_overlap(l.start, l.end, [](const auto&) { return false; });
    if (overlap) return false;
    new_lo = std::max(new_lo, t.max_end_before(l.start));
    new_hi = std::min(new_hi, t.min_start_from(l.end));
    return true;
  };
  std::vector<IntervalTree<Lock*>*> trees = {&fl.granted[idx(Mode::PW)], &fl.waiting[idx(Mode::PW)]};
  if (l.mode == Mode::PW) {
    trees.push_back(&fl.granted[idx(Mode::PR)]);
    trees.push_back(&fl.waiting[idx(Mode::PR)]);
  }
  for (auto* t : trees)
    if (!bound(*t)) return;
  lo = std::min(std::max(new_lo, cap_lo), l.start);
  hi = std::max(std::min(new_hi, cap_hi), l.end);
}

void LockManager::grant(FileLocks& fl, Lock& l, TimePoint now, Actions& out) {
  const uint64_t rs = l.start, re = l.end;
  uint64_t lo, hi;
  compute_expansion(fl, l, now, lo, hi);
  l.start = lo;
  l.end = hi;
  l.granted = true;
  fl.granted[idx(l.mode)].insert(l.start, l.end, l.handle, &l);
  out.grants.push_back(Grant{l.client, l.token, l.handle, l.file, l.start, l.end, l.mode, lo != rs || hi != re});
}

void LockManager::send_revokes(FileLocks& fl, const std::vector<Lock*>& holders, const Lock& waiter, TimePoint now,
                               Actions& out) {
  for (Lock* h : holders) {
    if (h->revoking) continue;
    fl.revoked = true;
    fl.last_revoke = now;
    h->revoking = true;
    h->deadline = now + cfg_.revoke_timeout;
    revoking_.insert(h);
    out.revokes.push_back(
        Revoke{h->client, h->handle, h->file, h->start, h->end, h->mode, waiter.start, waiter.end, waiter.mode});
  }
}

LockManager::Outcome LockManager::enqueue(ClientId c, FileId f, uint64_t start, uint64_t end, Mode mode, uint32_t flags,
                                          uint64_t token, TimePoint now, Actions& out) {
  FileLocks& fl = file(f);
  std::vector<Lock*> holders;
  conflicting_granted(fl, start, end, mode, holders);
  const bool behind_waiter = conflicts_waiting(fl, start, end, mode);
  const bool clear = holders.empty() && !behind_waiter;
  if (!clear && (flags & kNoWait) && !cfg_.fault_no_revoke) {
    maybe_drop_file(f);
    return Outcome::would_block;
  }
  if (!clear && !cfg_.fault_no_revoke && !cfg_.fault_grant_before_cancel &&
      waiting_per_client_[c] >= cfg_.max_waiting_per_client) {
    maybe_drop_file(f);
    return Outcome::too_many;
  }
  if (locks_of(c) >= cfg_.max_locks_per_client) {
    maybe_drop_file(f);
    return Outcome::too_many;
  }
  auto owned = std::make_unique<Lock>();
  Lock* l = owned.get();
  l->handle = next_handle_++;
  if (l->handle == 0) l->handle = next_handle_++;
  l->client = c;
  l->file = f;
  l->start = start;
  l->end = end;
  l->mode = mode;
  l->flags = flags;
  l->token = token;
  locks_.emplace(l->handle, std::move(owned));
  by_client_[c].insert(l->handle);

  if (clear || cfg_.fault_no_revoke) {
    grant(fl, *l, now, out);
    return Outcome::granted;
  }
  if (cfg_.fault_grant_before_cancel) {
    send_revokes(fl, holders, *l, now, out);
    l->flags |= kNoExpand;
    grant(fl, *l, now, out);
    return Outcome::granted;
  }
  l->qpos = fl.queue.insert(fl.queue.end(), l);
  fl.waiting[idx(mode)].insert(start, end, l->handle, l);
  waiting_by_token_[TokenKey{c, token}] = l;
  ++waiting_per_client_[c];
  send_revokes(fl, holders, *l, now, out);
  return Outcome::queued;
}

void LockManager::remove_lock(Lock* l) {
  auto fit = files_.find(l->file);
  if (fit != files_.end()) {
    FileLocks& fl = fit->second;
    if (l->granted) {
      fl.granted[idx(l->mode)].erase(l->start, l->handle);
    } else {
      fl.waiting[idx(l->mode)].erase(l->start, l->handle);
      fl.queue.erase(l->qpos);
      waiting_by_token_.erase(TokenKey{l->client, l->token});
      auto w = waiting_per_client_.find(l->client);
      if (w != waiting_per_client_.end() && w->second > 0 && --w->second == 0) waiting_per_client_.erase(w);
    }
  }
  revoking_.erase(l);
  auto bc = by_client_.find(l->client);
  if (bc != by_client_.end()) {
    bc->second.erase(l->handle);
    if (bc->second.empty()) by_client_.erase(bc);
  }
  locks_.erase(l->handle);  // frees l
}

void LockManager::maybe_drop_file(FileId f) {
  auto it = files_.find(f);
  if (it == files_.end()) return;
  FileLocks& fl = it->second;
  if (fl.queue.empty() && fl.granted[0].empty() && fl.granted[1].empty()) files_.erase(it);
}

// Rescans f's wait queue in FIFO order: a waiter is granted when it conflicts
// with no granted lock and with no waiter ahead of it that is still blocked.
// Conflicting holders that are not yet being revoked (e.g. a lock granted
// earlier in this same scan) are revoked.
void LockManager::reprocess(FileId f, TimePoint now, Actions& out) {
  auto it = files_.find(f);
  if (it == files_.end()) return;
  FileLocks& fl = it->second;
  IntervalTree<Lock*> blocked[2];
  std::vector<Lock*> holders;
  for (auto q = fl.queue.begin(); q != fl.queue.end();) {
    Lock* w = *q;
    holders.clear();
    conflicting_granted(fl, w->start, w->end, w->mode, holders);
    bool behind = false;
    {
      auto any = [](const auto&) { return false; };
      if (!blocked[1].for_each_overlap(w->start, w->end, any)) behind = true;
      if (w->mode == Mode::PW && !blocked[0].for_each_overlap(w->start, w->end, any)) behind = true;
    }
    if (holders.empty() && !behind) {
      q = fl.queue.erase(q);
      fl.waiting[idx(w->mode)].erase(w->start, w->handle);
      waiting_by_token_.erase(TokenKey{w->client, w->token});
      auto wc = waiting_per_client_.find(w->client);
      if (wc != waiting_per_client_.end() && wc->second > 0 && --wc->second == 0) waiting_per_client_.erase(wc);
      grant(fl, *w, now, out);
      continue;
    }
    blocked[idx(w->mode)].insert(w->start, w->end, w->handle, w);
    send_revokes(fl, holders, *w, now, out);
    ++q;
  }
  maybe_drop_file(f);
}

int LockManager::cancel(ClientId c, uint64_t handle, TimePoint now, Actions& out) {
  auto it = locks_.find(handle);
  if (it == locks_.end() || it->second->client != c || !it->second->granted) return -ENOLCK;
  FileId f = it->second->file;
  remove_lock(it->second.get());
  reprocess(f, now, out);
  return 0;
}

int LockManager::withdraw(ClientId c, uint64_t token, TimePoint now, Actions& out) {
  auto it = waiting_by_token_.find(TokenKey{c, token});
  if (it == waiting_by_token_.end()) return -ENOLCK;
  FileId f = it->second->file;
  remove_lock(it->second);
  // A withdrawn waiter may have blocked waiters behind it.
  reprocess(f, now, out);
  return 0;
}

void LockManager::drop_client(ClientId c, TimePoint now, Actions& out) {
  auto bc = by_client_.find(c);
  if (bc == by_client_.end()) return;
  std::vector<uint64_t> handles(bc->second.begin(), bc->second.end());
  std::unordered_set<FileId> files;
  for (uint64_t h : handles) {
    auto it = locks_.find(h);
    if (it == locks_.end()) continue;
    files.insert(it->second->file);
    remove_lock(it->second.get());
  }
  // Deterministic order for reproducible tests.
  std::vector<FileId> fv(files.begin(), files.end());
  std::sort(fv.begin(), fv.end());
  for (FileId f : fv) reprocess(f, now, out);
}

void LockManager::prolong(ClientId c, FileId f, TimePoint now) {
  for (Lock* l : revoking_)
    if (l->client == c && l->file == f) l->deadline = now + cfg_.revoke_timeout;
}

bool LockManager::revoking(ClientId c, FileId f) const {
  for (const Lock* l : revoking_)
    if (l->client == c && l->file == f) return true;
  return false;
}

std::vector<ClientId> LockManager::expired(TimePoint now) const {
  std::vector<ClientId> v;
  if (cfg_.fault_no_evict) return v;
  for (const Lock* l : revoking_)
    if (l->deadline <= now && std::find(v.begin(), v.end(), l->client) == v.end()) v.push_back(l->client);
  std::sort(v.begin(), v.end());
  return v;
}

std::optional<TimePoint> LockManager::next_deadline() const {
  std::optional<TimePoint> best;
  if (cfg_.fault_no_evict) return best;
  for (const Lock* l : revoking_)
    if (!best || l->deadline < *best) best = l->deadline;
  return best;
}

std::vector<LockInfo> LockManager::locks(FileId f) const {
  std::vector<LockInfo> v;
  auto it = files_.find(f);
  if (it == files_.end()) return v;
  auto add = [&](const IntervalTree<Lock*>::Node& n) {
    const Lock* l = n.value;
    v.push_back(LockInfo{l->handle, l->client, l->file, l->start, l->end, l->mode, l->granted, l->revoking});
    return true;
  };
  for (int i = 0; i < 2; ++i) it->second.granted[i].for_each(add);
  for (const Lock* l : it->second.queue)
    v.push_back(LockInfo{l->handle, l->client, l->file, l->start, l->end, l->mode, false, false});
  return v;
}

size_t LockManager::granted_count(FileId f) const {
  auto it = files_.find(f);
  return it == files_.end() ? 0 : it->second.granted[0].size() + it->second.granted[1].size();
}

size_t LockManager::waiting_count(FileId f) const {
  auto it = files_.find(f);
  return it == files_.end() ? 0 : it->second.queue.size();
}

size_t LockManager::locks_of(ClientId c) const {
  auto it = by_client_.find(c);
  return it == by_client_.end() ? 0 : it->second.size();
}

bool LockManager::is_granted(uint64_t handle) const {
  auto it = locks_.find(handle);
  return it != locks_.end() && it->second->granted;
}

}  // namespace dmfs::lk
