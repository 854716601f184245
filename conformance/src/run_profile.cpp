#include "run_profile.hpp"

#include <fmt/format.h>

#include <sstream>

namespace dmmap::conform {
namespace {

std::string root_fs_type(const Json& environment) {
  const Json* ranks = environment.find("ranks");
  if (!ranks || !ranks->is_array() || ranks->as_array().empty()) return "?";
  const Json* fs = ranks->as_array().front().find("filesystem");
  const Json* type = fs ? fs->find("fs_type") : nullptr;
  return type && type->is_string() ? type->as_string() : "?";
}

// "NS\nHOW" on rank 0; NS is 0 when nothing was measured.
std::string encode(const GranularityMeasurement& m) {
  return fmt::format("{}\n{}", m.granularity ? m.granularity->count() : 0, m.how);
}

GranularityMeasurement decode(const std::string& text) {
  std::istringstream in(text);
  long long ns = 0;
  in >> ns;
  in.ignore(1);
  GranularityMeasurement m;
  std::getline(in, m.how);
  if (ns > 0) m.granularity = std::chrono::nanoseconds(ns);
  return m;
}

}  // namespace

std::chrono::nanoseconds RunProfile::timestamp_wait() const {
  return 2 * granularity.granularity.value_or(declared.timestamp_granularity);
}

std::optional<std::chrono::milliseconds> RunProfile::eviction_wait() const {
  if (!declared.eviction_timeout) return std::nullopt;
  return *declared.eviction_timeout + step_timeout / 2;
}

std::chrono::milliseconds RunProfile::sync_timeout() const {
  return step_timeout + declared.eviction_timeout.value_or(std::chrono::milliseconds(0));
}

Json RunProfile::to_json() const {
  Json j = declared.to_json();
  Json measured = Json::object();
  measured["timestamp_granularity_ns"] = granularity.granularity
                                             ? Json(static_cast<long long>(granularity.granularity->count()))
                                             : Json();
  measured["timestamp_granularity"] = granularity.how;
  j["measured"] = std::move(measured);
  Json waits = Json::object();
  waits["timestamp_ms"] = static_cast<double>(timestamp_wait().count()) / 1e6;
  waits["eviction_ms"] = eviction_wait() ? Json(static_cast<long long>(eviction_wait()->count())) : Json();
  waits["sync_timeout_ms"] = static_cast<long long>(sync_timeout().count());
  j["waits"] = std::move(waits);
  return j;
}

std::string RunProfile::describe() const {
  return fmt::format("profile {} ({}); timestamp granularity {}", declared.name, declared.chosen_by,
                     granularity.granularity ? granularity.how
                                             : fmt::format("not measured ({}), declared bound {} ns used",
                                                           granularity.how, declared.timestamp_granularity.count()));
}

RunProfile establish_profile(Sync& sync, const std::optional<Profile>& requested, const Json& environment,
                             const std::filesystem::path& dir_on_root, std::chrono::milliseconds step_timeout) {
  RunProfile run;
  run.step_timeout = step_timeout;
  run.declared = requested ? *requested : profile_for_fs_type(root_fs_type(environment));
  std::string measured;
  if (sync.rank() == 0) {
    try {
      measured = encode(measure_timestamp_granularity(dir_on_root, run.declared.timestamp_granularity));
    } catch (const std::exception& e) {  // the others wait at the broadcast: tell them
      measured = encode({std::nullopt, fmt::format("the measurement failed: {}", e.what())});
    }
  }
  run.granularity = decode(sync.broadcast(measured));
  return run;
}

}  // namespace dmmap::conform
