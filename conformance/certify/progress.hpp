// Progress on stderr while dmmap-certify runs (rank 0): the phase, the check
// or benchmark, n of N, the time elapsed and an estimate of what remains
// (the phase's mean time per item so far, times the items left), e.g.
//   [dmmap-certify conformance 3/18 | 0:04 elapsed, ~0:21 left] shared.store-visible
// Every line also goes to this rank's log. Other ranks print nothing.
#pragma once

#include <chrono>
#include <string>

#include "rank_log.hpp"
#include "suite.hpp"

namespace dmmap::certify {

class Progress : public conform::SuiteObserver {
 public:
  Progress(bool prints, RankLog& log);

  // A new phase ("conformance", "benchmarks", "bundle"): its clock restarts.
  void phase(const std::string& name);
  // A line of its own within the current phase.
  void say(const std::string& text);

  void check_started(const conform::CheckInfo& info, std::size_t n, std::size_t total) override;
  void check_done(const conform::CheckResult& result, std::size_t n, std::size_t total) override;
  void rank_outcome(const conform::CheckInfo& info, const conform::RankOutcome& outcome) override;
  // A benchmark starts (or retries with more iterations).
  void benchmark(const std::string& name, std::size_t n, std::size_t total, std::int64_t iterations);

 private:
  using Clock = std::chrono::steady_clock;
  void print(std::size_t n, std::size_t total, std::size_t done, const std::string& what);

  bool prints_;
  RankLog& log_;
  std::string phase_;
  Clock::time_point run_start_ = Clock::now(), phase_start_ = Clock::now();
};

}  // namespace dmmap::certify
