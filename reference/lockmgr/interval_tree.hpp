// An interval tree for extent locks: a treap ordered by (start, id), each
// node augmented with the largest `end` in its subtree. Expected O(log n)
// insert/erase, O(log n + k) overlap queries, O(log n) neighbour bounds.
// Intervals are half-open [start, end).
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

namespace dmfs::lk {

template <typename V>
class IntervalTree {
 public:
  struct Node {
    uint64_t start, end, id;
    V value;
    uint64_t max_end;
    uint32_t prio;
    Node* l = nullptr;
    Node* r = nullptr;
  };

  IntervalTree() = default;
  IntervalTree(const IntervalTree&) = delete;
  IntervalTree& operator=(const IntervalTree&) = delete;
  IntervalTree(IntervalTree&& o) noexcept : root_(o.root_), size_(o.size_), seed_(o.seed_) {
    o.root_ = nullptr;
    o.size_ = 0;
  }
  ~IntervalTree() { destroy(root_); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void insert(uint64_t start, uint64_t end, uint64_t id, V value) {
    Node* n = new Node{start, end, id, std::move(value), end, next_prio()};
    auto [a, b] = split(root_, start, id);
    root_ = merge(merge(a, n), b);
    ++size_;
  }

  // Removes the node with key (start, id); false if absent.
  bool erase(uint64_t start, uint64_t id) {
    auto [a, rest] = split(root_, start, id);
    // The smallest key of `rest` is (start,id) if present.
    bool found = false;
    if (rest) {
      Node* m = rest;
      while (m->l) m = m->l;
      if (m->start == start && m->id == id) {
        rest = remove_min(rest);
        delete m;
        found = true;
      }
    }
    root_ = merge(a, rest);
    if (found) --size_;
    return found;
  }

  // Calls f(const Node&) for each interval overlapping [s, e), in start
  // order; f returns false to stop early. Returns false if stopped.
  template <typename F>
  bool for_each_overlap(uint64_t s, uint64_t e, F&& f) const {
    return visit(root_, s, e, f);
  }

  template <typename F>
  bool for_each(F&& f) const {
    return visit(root_, 0, UINT64_MAX, f, true);
  }

  // Largest `end` among intervals with start < s; 0 if none.
  uint64_t max_end_before(uint64_t s) const {
    uint64_t best = 0;
    const Node* n = root_;
    while (n) {
      if (n->start < s) {
        // n and its whole left subtree start before s.
        if (n->end > best) best = n->end;
        if (n->l && n->l->max_end > best) best = n->l->max_end;
        n = n->r;
      } else {
        n = n->l;
      }
    }
    return best;
  }

  // Smallest `start` among intervals with start >= s; UINT64_MAX if none.
  uint64_t min_start_from(uint64_t s) const {
    uint64_t best = UINT64_MAX;
    const Node* n = root_;
    while (n) {
      if (n->start >= s) {
        if (n->start < best) best = n->start;
        n = n->l;
      } else {
        n = n->r;
      }
    }
    return best;
  }

 private:
  Node* root_ = nullptr;
  size_t size_ = 0;
  uint64_t seed_ = 0x9e3779b97f4a7c15ULL;

  uint32_t next_prio() {
    seed_ ^= seed_ << 13;
    seed_ ^= seed_ >> 7;
    seed_ ^= seed_ << 17;
    return static_cast<uint32_t>(seed_ >> 11);
  }

  static bool less(const Node* n, uint64_t start, uint64_t id) {
    return n->start < start || (n->start == start && n->id < id);
  }

  static void pull(Node* n) {
    uint64_t m = n->end;
    if (n->l && n->l->max_end > m) m = n->l->max_end;
    if (n->r && n->r->max_end > m) m = n->r->max_end;
    n->max_end = m;
  }

  // Splits into (keys < (start,id), keys >= (start,id)).
  static std::pair<Node*, Node*> split(Node* t, uint64_t start, uint64_t id) {
    if (!t) return {nullptr, nullptr};
    if (less(t, start, id)) {
      auto [a, b] = split(t->r, start, id);
      t->r = a;
      pull(t);
      return {t, b};
    }
    auto [a, b] = split(t->l, start, id);
    t->l = b;
    pull(t);
    return {a, t};
  }

  static Node* merge(Node* a, Node* b) {
    if (!a) return b;
    if (!b) return a;
    if (a->prio > b->prio) {
      a->r = merge(a->r, b);
      pull(a);
      return a;
    }
    b->l = merge(a, b->l);
    pull(b);
    return b;
  }

  static Node* remove_min(Node* t) {
    if (!t->l) return t->r;
    t->l = remove_min(t->l);
    pull(t);
    return t;
  }

  template <typename F>
  static bool visit(const Node* n, uint64_t s, uint64_t e, F& f, bool all = false) {
    if (!n) return true;
    if (!all && n->max_end <= s) return true;  // nothing here reaches s
    if (!visit(n->l, s, e, f, all)) return false;
    if (!all && n->start >= e) return true;  // this and everything right start too late
    if (all || n->end > s) {
      if (!f(*n)) return false;
    }
    return visit(n->r, s, e, f, all);
  }

  static void destroy(Node* n) {
    while (n) {
      destroy(n->l);
      Node* r = n->r;
      delete n;
      n = r;
    }
  }
};

}  // namespace dmfs::lk
