#include "profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "dmmap/options.hpp"

namespace dmmap::conform {

const std::map<std::string, std::string>& shipped_profile_texts();  // generated from profiles/*.profile

namespace {

const std::set<std::string> kKeys = {"describes",       "fs-types", "eviction-timeout", "timestamp-granularity",
                                     "cluster-etxtbsy", "flock"};
const std::set<std::string> kRequired = {"eviction-timeout", "timestamp-granularity"};

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  const auto e = s.find_last_not_of(" \t\r");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

// "1s", "10ms", "100us", "1ns": the granularity units (parse_duration stops at ms).
std::chrono::nanoseconds parse_granularity(const std::string& text) {
  std::size_t end = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  static const std::map<std::string, long long> units = {{"s", 1000000000}, {"ms", 1000000}, {"us", 1000}, {"ns", 1}};
  const auto unit = units.find(text.substr(end));
  if (end == 0 || n <= 0 || unit == units.end())
    throw std::runtime_error(fmt::format("'{}' is not a duration such as 1s, 10ms, 100us, 1ns", text));
  return std::chrono::nanoseconds(n * unit->second);
}

void check_choice(const std::string& key, const std::string& text, std::initializer_list<std::string_view> choices) {
  if (std::find(choices.begin(), choices.end(), text) == choices.end())
    throw std::runtime_error(fmt::format("{} takes {}, not '{}'", key, fmt::join(choices, ", "), text));
}

// Interprets one declared key into the profile's typed fields.
void apply(Profile& p, const std::string& key, const std::string& text) {
  if (key == "eviction-timeout") {
    if (text == "none")
      p.eviction_timeout = std::chrono::milliseconds(0);
    else if (text != "unknown")
      p.eviction_timeout = parse_duration(text);
  } else if (key == "timestamp-granularity") {
    p.timestamp_granularity = parse_granularity(text);
  } else if (key == "cluster-etxtbsy") {
    check_choice(key, text, {"yes", "no", "unknown"});
  } else if (key == "flock") {
    check_choice(key, text, {"cluster", "local", "none", "unknown"});
  }
}

}  // namespace

Profile parse_profile(std::string_view text, const std::string& origin) {
  Profile p;
  p.name = origin;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const auto space = line.find_first_of(" \t");
    const std::string key = line.substr(0, space);
    const std::string rest = space == std::string::npos ? "" : trim(line.substr(space));
    try {
      if (!kKeys.count(key)) throw std::runtime_error(fmt::format("unknown key '{}'", key));
      if (p.values.count(key)) throw std::runtime_error(fmt::format("'{}' given twice", key));
      if (key == "describes") {
        p.describes = rest;
      } else if (key == "fs-types") {
        std::istringstream words(rest);
        for (std::string w; words >> w;) p.fs_types.push_back(w);
      } else {
        const auto gap = rest.find_first_of(" \t");
        const std::string value = rest.substr(0, gap);
        if (value.empty()) throw std::runtime_error(fmt::format("'{}' needs a value", key));
        apply(p, key, value);
        p.values[key] = {value, gap == std::string::npos ? "" : trim(rest.substr(gap))};
      }
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(fmt::format("profile {}:{}: {}", origin, number, e.what()));
    }
  }
  for (const auto& key : kRequired)
    if (!p.values.count(key)) throw std::runtime_error(fmt::format("profile {}: '{}' is missing", origin, key));
  return p;
}

Profile load_profile(const std::string& name_or_file) {
  const auto& shipped = shipped_profile_texts();
  const bool file = name_or_file.find('/') != std::string::npos ||
                    (name_or_file.size() > 8 && name_or_file.ends_with(".profile"));
  if (!file) {
    const auto it = shipped.find(name_or_file);
    if (it == shipped.end())
      throw std::runtime_error(fmt::format("--profile: no shipped profile '{}' (there are: {}; or give a file)",
                                           name_or_file, fmt::join(shipped_profile_names(), ", ")));
    Profile p = parse_profile(it->second, name_or_file);
    p.chosen_by = "--profile " + name_or_file;
    return p;
  }
  std::ifstream in(name_or_file);
  if (!in) throw std::runtime_error(fmt::format("--profile: cannot read {}", name_or_file));
  std::stringstream text;
  text << in.rdbuf();
  Profile p = parse_profile(text.str(), name_or_file);
  p.chosen_by = "--profile " + name_or_file;
  return p;
}

std::optional<Profile> requested_profile(const std::string& from_option) {
  const char* env = std::getenv("DMMAP_PROFILE");
  const std::string value = !from_option.empty() ? from_option : env ? env : "";
  if (value.empty() || value == "auto") return std::nullopt;
  try {
    Profile p = load_profile(value);
    if (from_option.empty()) p.chosen_by = "DMMAP_PROFILE=" + value;
    return p;
  } catch (const std::runtime_error& e) {
    throw UsageError(from_option.empty() ? fmt::format("DMMAP_PROFILE: {}", e.what()) : e.what());
  }
}

Profile profile_for_fs_type(const std::string& fs_type) {
  for (const auto& [name, text] : shipped_profile_texts()) {
    Profile p = parse_profile(text, name);
    if (std::find(p.fs_types.begin(), p.fs_types.end(), fs_type) != p.fs_types.end()) {
      p.chosen_by = fmt::format("filesystem type {} (--profile auto)", fs_type);
      return p;
    }
  }
  Profile p = parse_profile(shipped_profile_texts().at("unknown"), "unknown");
  p.chosen_by = fmt::format("filesystem type {}, which no profile names (--profile auto)", fs_type);
  return p;
}

std::vector<std::string> shipped_profile_names() {
  std::vector<std::string> names;
  for (const auto& [name, text] : shipped_profile_texts()) names.push_back(name);
  return names;
}

Json Profile::to_json() const {
  Json j = Json::object();
  j["name"] = name;
  j["chosen_by"] = chosen_by;
  j["describes"] = describes;
  Json declared = Json::object();
  for (const auto& [key, v] : values) {
    Json entry = Json::object();
    entry["value"] = v.text;
    entry["source"] = v.source;
    declared[key] = std::move(entry);
  }
  j["declared"] = std::move(declared);
  return j;
}

}  // namespace dmmap::conform
