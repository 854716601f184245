#include "progress.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace dmmap::certify {
namespace {

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

Progress::Progress(bool prints, RankLog& log) : prints_(prints), log_(log) {}

void Progress::phase(const std::string& name) {
  phase_ = name;
  phase_start_ = Clock::now();
  say("phase " + name);
}

void Progress::say(const std::string& text) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - run_start_).count();
  const std::string line = fmt::format("[dmmap-certify {} | {} elapsed] {}", phase_, clock_text(elapsed), text);
  log_.add(line);
  if (!prints_) return;
  fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

// `done` items of the phase are finished: they give the estimate.
void Progress::print(std::size_t n, std::size_t total, std::size_t done, const std::string& what) {
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - run_start_).count();
  const double in_phase = std::chrono::duration<double>(now - phase_start_).count();
  const std::string left = done == 0 || total < done ? "? left"
                                                     : "~" +
                                                           clock_text(in_phase / static_cast<double>(done) *
                                                                      static_cast<double>(total - done)) +
                                                           " left";
  const std::string line = fmt::format("[dmmap-certify {} {}/{} | {} elapsed, {}] {}", phase_, n, total,
                                       clock_text(elapsed), left, what);
  log_.add(line);
  if (!prints_) return;
  fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

void Progress::check_started(const conform::CheckInfo& info, std::size_t n, std::size_t total) {
  print(n, total, n - 1, info.id);
}

void Progress::check_done(const conform::CheckResult& result, std::size_t n, std::size_t total) {
  const std::string level = result.level ? " " + std::string(conform::to_string(*result.level)) : "";
  print(n, total, n,
        fmt::format("{} {}{} ({:.2f} s){}", result.id, conform::to_string(result.verdict), level, result.duration_s,
                    result.message.empty() ? "" : ": " + result.message));
}

void Progress::rank_outcome(const conform::CheckInfo& info, const conform::RankOutcome& outcome) {
  log_.add(fmt::format("{}: {}", info.id, outcome.to_json().dump()));
}

void Progress::benchmark(const std::string& name, std::size_t n, std::size_t total, std::int64_t iterations) {
  print(n, total, n - 1, fmt::format("{} ({} iteration{})", name, iterations, iterations == 1 ? "" : "s"));
}

}  // namespace dmmap::certify
