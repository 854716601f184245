#include "config.hpp"

#include <fmt/format.h>
#include <ini.h>

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

#include "dmmap/options.hpp"

namespace dmmap::certify {
namespace {

struct Key {
  std::string section, name, default_value, meaning;
  std::function<void(Config&, const std::string&)> apply;  // throws UsageError for a bad value
};

bool parse_bool(const std::string& key, const std::string& v) {
  static const std::set<std::string> yes{"true", "yes", "on", "1"}, no{"false", "no", "off", "0"};
  if (yes.contains(v)) return true;
  if (no.contains(v)) return false;
  throw UsageError(fmt::format("{} takes true or false, not '{}'", key, v));
}

// A key kept as written.
Key text_key(std::string section, std::string name, std::string default_value, std::string meaning,
             std::string Config::*field) {
  return {std::move(section), std::move(name), std::move(default_value), std::move(meaning),
          [field](Config& c, const std::string& v) { c.*field = v; }};
}

Key bool_key(std::string section, std::string name, std::string default_value, std::string meaning,
             bool Config::*field) {
  return {std::move(section), name, std::move(default_value), std::move(meaning),
          [field, name](Config& c, const std::string& v) { c.*field = parse_bool(name, v); }};
}

// A whole number, at least 1.
Key count_key(std::string section, std::string name, std::string default_value, std::string meaning,
              int Config::*field) {
  return {std::move(section), name, std::move(default_value), std::move(meaning),
          [field, name](Config& c, const std::string& v) {
            c.*field = static_cast<int>(parse_count(v, name));
            if (c.*field < 1) throw UsageError(fmt::format("{} must be at least 1", name));
          }};
}

// A [bench] key is dmmap-bench's option of the same name, checked by its own parser.
Key bench_option(const std::string& name, const std::string& default_value, const std::string& meaning) {
  std::string option = "--" + name;
  std::replace(option.begin(), option.end(), '_', '-');
  return {"bench", name, default_value, meaning, [option](Config& c, const std::string& v) {
            if (v.empty()) return;  // dmmap-bench's default
            std::string flag = option, value = v;
            std::vector<char*> argv{flag.data(), flag.data(), value.data(), nullptr};
            int argc = 3;
            bench::make_parser(c.bench).parse(argc, argv.data());
          }};
}

const std::vector<Key>& keys() {
  static const std::vector<Key> table{
      text_key("global", "dir", "", "directory on the filesystem under test, the same path on every node",
               &Config::dir),
      text_key("global", "dirs", "", "P0,P1,...: rank i uses P[i mod n] (several mounts of one filesystem on one node)",
               &Config::dirs),
      text_key("global", "profile", "",
               "target profile, NAME or FILE, as dmmap-conform --profile (empty: $DMMAP_PROFILE, else auto by "
               "filesystem type)",
               &Config::profile),
      text_key("global", "hook", "",
               "target hook for the eviction checks (empty: $DMMAP_HOOK, else none and they SKIP)", &Config::hook),
      {"global", "expect", "strict", "level the filesystem must reach: strict, msync or close-to-open",
       [](Config& c, const std::string& v) {
         auto level = conform::parse_level(v);
         if (!level || *level == conform::Level::none)
           throw UsageError(fmt::format("expect takes strict, msync or close-to-open, not '{}'", v));
         c.expect = *level;
       }},
      {"global", "resultdir", ".", "where the result directory dmmap-HOST-TIME/ and its .tgz are written (rank 0)",
       [](Config& c, const std::string& v) {
         if (v.empty()) throw UsageError("resultdir is empty");
         c.resultdir = v;
       }},
      bool_key("global", "allow_control_run", "false",
               "run even with fewer than two clients (a control run; the report says so on its first line)",
               &Config::allow_control_run),
      {"global", "timeout", "60s", "longest wait at a sync point of the conformance checks before HANG",
       [](Config& c, const std::string& v) { c.timeout = parse_duration(v); }},
      text_key("conform", "filter", "",
               "check IDs to run, ':'-separated patterns, '-' before one excludes (e.g. shared.*:-shared.metadata)",
               &Config::conform_filter),
      text_key("conform", "known_failures", "", "FILE of checks known to fail here, one 'ID reason' a line",
               &Config::known_failures),
      bool_key("conform", "quick", "false", "run the smoke subset only", &Config::quick),
      {"conform", "seed", "", "seed of model.random-ops (empty: chosen at random and reported)",
       [](Config& c, const std::string& v) {
         if (!v.empty()) c.seed = static_cast<std::uint64_t>(parse_count(v, "seed"));
       }},
      count_key("conform", "ops", "1000", "operations of model.random-ops", &Config::ops),
      text_key("bench", "filter", "", "benchmarks to run, a regular expression on their names (Google Benchmark's)",
               &Config::bench_filter),
      {"bench", "min_time", "0.5", "seconds each benchmark is measured at least",
       [](Config& c, const std::string& v) {
         std::size_t used = 0;
         double seconds = -1;
         try {
           seconds = std::stod(v, &used);
         } catch (const std::exception&) {
         }
         if (used != v.size() || !(seconds > 0))
           throw UsageError(fmt::format("min_time takes a positive number of seconds, not '{}'", v));
         c.min_time = v;
       }},
      count_key("bench", "repetitions", "1", "repetitions of each benchmark (dmmap-compare wants 9 or more)",
                &Config::repetitions),
      bench_option("ranks", "", "rank counts to measure (empty: 1, 2, 4, ... and all ranks)"),
      bench_option("pages", "256", "pages per rank in the fault measurements"),
      bench_option("sizes", "4M", "bytes per rank in the throughput measurements"),
      bench_option("dirty", "1,64,4096", "pages the owner holds dirty in the revocation measurement"),
      bench_option("fault_around", "on,off", "fault measurements with fault-around (on) and/or without (off)"),
      bench_option("bind", "core", "pin each rank to a core with hwloc (core) or not (none)"),
      bench_option("timeout", "120s", "longest wait for another rank during a benchmark before HANG"),
  };
  return table;
}

const Key* find_key(const std::string& section, const std::string& name) {
  for (const Key& k : keys())
    if (k.section == section && k.name == name) return &k;
  return nullptr;
}

// What inih's handler saw: the values given, and the first error it reported.
struct Reading {
  std::vector<std::pair<const Key*, std::string>> given;
  std::string first_error;
  std::string first_error_key;
};

int on_pair(void* user, const char* section, const char* name, const char* value) {
  auto& r = *static_cast<Reading*>(user);
  auto fail = [&](std::string message) {
    if (r.first_error.empty()) {
      r.first_error = std::move(message);
      r.first_error_key = name;
    }
    return 0;
  };
  static const std::set<std::string> sections{"global", "conform", "bench"};
  if (!sections.contains(section))
    return fail(fmt::format("unknown section [{}] (sections: [global], [conform], [bench])", section));
  const Key* key = find_key(section, name);
  if (!key)
    return fail(fmt::format("unknown key '{}' in [{}] (dmmap-certify --list-options lists them)", name, section));
  for (const auto& [seen, _] : r.given)
    if (seen == key) return fail(fmt::format("'{}' is given twice in [{}]", name, section));
  try {
    Config scratch;  // the value is checked here, where inih knows its line
    key->apply(scratch, value);
  } catch (const UsageError& e) {
    return fail(fmt::format("[{}] {}: {}", section, name, e.what()));
  }
  r.given.emplace_back(key, value);
  return 1;
}

// inih returns the first bad line; our message if that line is our key's,
// else the line is not "key = value" or "[section]" at all.
std::string error_at(const std::string& text, int line, const Reading& r) {
  std::istringstream in(text);
  std::string content;
  for (int i = 0; i < line && std::getline(in, content);) ++i;
  const auto eq = content.find_first_of("=:");
  std::string key = content.substr(0, eq);
  key.erase(0, key.find_first_not_of(" \t"));
  key.erase(key.find_last_not_of(" \t") + 1);
  if (!r.first_error.empty() && eq != std::string::npos && key == r.first_error_key) return r.first_error;
  return fmt::format("not '[section]' nor 'key = value': '{}'", content);
}

}  // namespace

Config parse_config(const std::string& text, const std::string& origin) {
  // Debian's inih reads these at run time: one value a key (no continuation
  // lines), stop at the first error (the one we report), long lines whole.
  ini_allow_multiline = false;
  ini_stop_on_first_error = true;
  ini_use_stack = false;
  ini_allow_realloc = true;
  ini_max_line = 1 << 16;
  Reading reading;
  const int bad_line = ini_parse_string(text.c_str(), on_pair, &reading);
  if (bad_line < 0) throw ConfigError(fmt::format("{}: cannot read the configuration", origin));
  if (bad_line > 0) throw ConfigError(fmt::format("{}:{}: {}", origin, bad_line, error_at(text, bad_line, reading)));
  Config config;
  std::string section;
  for (const Key& key : keys()) {
    auto given = std::find_if(reading.given.begin(), reading.given.end(), [&](auto& g) { return g.first == &key; });
    const std::string value = given == reading.given.end() ? key.default_value : given->second;
    try {
      key.apply(config, value);
    } catch (const UsageError& e) {
      throw ConfigError(fmt::format("{}: [{}] {}: {}", origin, key.section, key.name, e.what()));
    }
    if (key.section != section)
      config.resolved += fmt::format("{}[{}]\n", section.empty() ? "" : "\n", section = key.section);
    config.resolved += fmt::format("{} = {}\n", key.name, value);
  }
  if (config.dir.empty() == config.dirs.empty())
    throw ConfigError(fmt::format("{}: [global] needs exactly one of dir and dirs", origin));
  return config;
}

std::string list_options() {
  std::string out, section;
  for (const Key& key : keys()) {
    if (key.section != section) out += fmt::format("{}[{}]\n", section.empty() ? "" : "\n", section = key.section);
    out += fmt::format("{:<18} = {:<10} ; {}\n", key.name, key.default_value, key.meaning);
  }
  return out;
}

}  // namespace dmmap::certify
