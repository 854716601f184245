// dmmap-certify's INI configuration: the keys (sections [global], [conform],
// [bench]), their defaults, and the values a run resolves them to. The keys
// are a public contract for scripts: extend, never rename.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench_options.hpp"
#include "level.hpp"

namespace dmmap::certify {

struct Config {
  // [global]
  std::string dir, dirs;  // exactly one of them
  std::string profile;    // NAME or FILE of a target profile ("" none)
  std::string hook;       // target hook ("" = $DMMAP_HOOK, else none)
  conform::Level expect = conform::Level::strict;
  std::string resultdir = ".";
  bool allow_control_run = false;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // [conform]
  std::string conform_filter;
  std::string known_failures;  // FILE ("" none)
  bool quick = false;
  std::optional<std::uint64_t> seed;
  int ops = 1000;
  // [bench]: dmmap-bench's settings, and Google Benchmark's flags
  bench::CommandLine bench;
  std::string bench_filter;
  std::string min_time = "0.5";  // seconds, as --benchmark_min_time takes it
  int repetitions = 1;

  // Every key with the value in use, as INI text (written into the bundle).
  std::string resolved;
};

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses INI text (`origin` names it in messages: "FILE:LINE: ..."). Unknown
// sections and keys, repeated keys and bad values are errors naming the line.
Config parse_config(const std::string& text, const std::string& origin);

// Every key with its default and meaning, section by section (--list-options).
std::string list_options();

}  // namespace dmmap::certify
