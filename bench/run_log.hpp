// What rank 0 remembers about every benchmark run: the merged histogram
// behind each reported row (keyed by the run_id counter the row carries),
// and progress lines on stderr for long runs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "histogram.hpp"

namespace dmmap::bench {

class RunLog {
 public:
  // Benchmark `n` of `total` (1-based) runs `iterations` iterations.
  using Listener =
      std::function<void(const std::string& name, std::size_t n, std::size_t total, std::int64_t iterations)>;

  explicit RunLog(bool prints_progress) : prints_progress_(prints_progress) {}
  // Progress goes to `listener` instead of dmmap-bench's own lines (dmmap-certify).
  void set_listener(Listener listener) { listener_ = std::move(listener); }

  // Identical sequence on every rank: runs happen in the same order everywhere.
  unsigned next_id() { return ++last_id_; }
  void set_total(std::size_t benchmarks) { total_ = benchmarks; }
  // "[dmmap-bench 3/24] read_fault/cached/... (trying 1000 iterations)"
  void progress(const std::string& name, std::int64_t iterations);

  void store(unsigned id, const Histogram& histogram) { histograms_[id] = histogram; }
  const Histogram* find(unsigned id) const;

 private:
  bool prints_progress_;
  unsigned last_id_ = 0;
  std::size_t total_ = 0, started_ = 0;
  std::string current_;
  Listener listener_;
  std::map<unsigned, Histogram> histograms_;
};

}  // namespace dmmap::bench
