// A target profile: what the suite cannot measure about the filesystem under
// test and must be told, each value with its source — how long the filesystem
// takes to evict a client that stopped answering, the coarsest timestamp
// granularity it may keep (the bound of the measurement), whether it claims
// cluster-wide ETXTBSY and flock. Shipped profiles are conformance/profiles/
// NAME.profile, built in; a user's file has the same format. `auto` (the
// default) takes the shipped profile whose fs-types name the filesystem.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dmmap/json.hpp"

namespace dmmap::conform {

struct Profile {
  struct Value {
    std::string text;    // as written, e.g. "90s"
    std::string source;  // why, where it is documented
  };
  std::string name;       // "nfs", or the file given
  std::string chosen_by;  // "--profile nfs", "filesystem type nfs4 (--profile auto)"
  std::string describes;
  std::vector<std::string> fs_types;
  // Unset: unknown. Zero: the filesystem holds nothing for a client ("none").
  std::optional<std::chrono::milliseconds> eviction_timeout;
  std::chrono::nanoseconds timestamp_granularity{};  // the coarsest it may keep
  std::map<std::string, Value> values;               // every declared key

  Json to_json() const;
};

// Parses a profile's text; throws std::runtime_error naming `origin`, the line
// and the problem (an unknown key, a bad value, a required key missing).
Profile parse_profile(std::string_view text, const std::string& origin);

// NAME of a shipped profile, or the path of a profile file (contains '/' or
// ends in .profile). Throws std::runtime_error.
Profile load_profile(const std::string& name_or_file);

// What the user asked for: --profile as given (`from_option`), else
// $DMMAP_PROFILE; unset for auto. Throws dmmap::UsageError naming the origin.
std::optional<Profile> requested_profile(const std::string& from_option);

// The shipped profile describing mount type `fs_type` ("unknown" if none).
Profile profile_for_fs_type(const std::string& fs_type);

std::vector<std::string> shipped_profile_names();

}  // namespace dmmap::conform
