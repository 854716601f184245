#include "outcome.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "dmmap/rank_set.hpp"

namespace dmmap::conform {
namespace {

Json strings(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (auto& s : v) a.push_back(s);
  return a;
}

std::vector<std::string> strings(const Json* j) {
  std::vector<std::string> out;
  if (j && j->is_array())
    for (auto& s : j->as_array()) out.push_back(s.as_string());
  return out;
}

}  // namespace

void RankOutcome::fail(std::string what) {
  failures.push_back(std::move(what));
  failure_times.push_back(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

Json RankOutcome::to_json() const {
  Json j = Json::object();
  j["failures"] = strings(failures);
  Json times = Json::array();
  for (double t : failure_times) times.push_back(t);
  j["failure_times"] = std::move(times);
  if (skipped) j["skipped"] = *skipped;
  if (level) j["level"] = std::string(to_string(*level));
  j["observations"] = strings(observations);
  j["notes"] = strings(notes);
  j["informational"] = strings(informational);
  j["aborted"] = aborted;
  return j;
}

RankOutcome RankOutcome::from_json(const Json& j) {
  RankOutcome o;
  o.failures = strings(j.find("failures"));
  if (auto* times = j.find("failure_times"); times && times->is_array())
    for (auto& t : times->as_array()) o.failure_times.push_back(t.as_number());
  if (auto* s = j.find("skipped")) o.skipped = s->as_string();
  if (auto* l = j.find("level")) o.level = parse_level(l->as_string());
  o.observations = strings(j.find("observations"));
  o.notes = strings(j.find("notes"));
  o.informational = strings(j.find("informational"));
  if (auto* a = j.find("aborted")) o.aborted = a->as_bool();
  return o;
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::pass: return "PASS";
    case Verdict::fail: return "FAIL";
    case Verdict::hang: return "HANG";
    case Verdict::skip: return "SKIP";
    case Verdict::info: return "INFO";
    case Verdict::expected_fail: return "XFAIL";
    case Verdict::unexpected_pass: return "XPASS";
  }
  return "?";
}

// XPASS fails the run: a known-failures list that no longer matches must be noticed.
bool counts_as_failure(Verdict v) { return v == Verdict::fail || v == Verdict::hang || v == Verdict::unexpected_pass; }

Json CheckResult::to_json() const {
  Json j = Json::object();
  j["id"] = id;
  j["verdict"] = std::string(to_string(verdict));
  if (level) j["level"] = std::string(to_string(*level));
  if (expected) j["expected"] = std::string(to_string(*expected));
  Json r = Json::array();
  for (int rank : ranks) r.push_back(rank);
  j["ranks"] = std::move(r);
  if (!roles.empty()) {
    Json ro = Json::array();
    for (int rank : roles) ro.push_back(rank);
    j["roles"] = std::move(ro);
  }
  j["message"] = message;
  j["details"] = strings(details);
  j["duration_s"] = duration_s;
  return j;
}

namespace {

// The earliest failure of any rank by its stamp ("rank R: what"); a failure
// without a stamp counts as the latest.
std::string first_failure(const std::vector<RankOutcome>& per_rank) {
  constexpr double kUnstamped = std::numeric_limits<double>::infinity();
  double first_at = kUnstamped;
  std::string first;
  for (std::size_t r = 0; r < per_rank.size(); ++r)
    for (std::size_t i = 0; i < per_rank[r].failures.size(); ++i) {
      const double at = i < per_rank[r].failure_times.size() ? per_rank[r].failure_times[i] : kUnstamped;
      if (first.empty() || at < first_at) {
        first_at = at;
        first = fmt::format("rank {}: {}", r, per_rank[r].failures[i]);
      }
    }
  return first;
}

// FAIL when any rank failed (one rank's SKIP never hides another's FAIL),
// else SKIP when any rank skipped; false when neither.
bool failed_or_skipped(CheckResult& result, const std::vector<RankOutcome>& per_rank, const std::vector<int>& failing) {
  if (!failing.empty()) {
    for (std::size_t r = 0; r < per_rank.size(); ++r)
      if (per_rank[r].skipped) result.details.push_back(fmt::format("rank {}: skipped: {}", r, *per_rank[r].skipped));
    result.verdict = Verdict::fail;
    result.ranks = failing;
    result.message = fmt::format("failed on ranks {}: {}", format_ranks(failing), first_failure(per_rank));
    return true;
  }
  for (auto& o : per_rank)
    if (o.skipped) {
      result.verdict = Verdict::skip;
      result.message = *o.skipped;
      result.details.clear();
      result.level.reset();
      return true;
    }
  return false;
}

}  // namespace

CheckResult conclude(const std::string& id, bool measures_level, Level expected,
                     const std::vector<RankOutcome>& per_rank) {
  CheckResult result;
  result.id = id;
  if (measures_level) result.expected = expected;

  std::vector<int> failing, below;
  for (std::size_t r = 0; r < per_rank.size(); ++r) {
    const auto& o = per_rank[r];
    const int rank = static_cast<int>(r);
    for (auto& f : o.failures) result.details.push_back(fmt::format("rank {}: {}", rank, f));
    for (auto& s : o.observations) result.details.push_back(fmt::format("rank {}: {}", rank, s));
    for (auto& n : o.notes) result.details.push_back(fmt::format("rank {}: {}", rank, n));
    if (!o.failures.empty()) failing.push_back(rank);
    if (o.level) {
      result.level = result.level ? std::min(*result.level, *o.level) : *o.level;
      if (*o.level < expected) below.push_back(rank);
    }
  }
  if (failed_or_skipped(result, per_rank, failing)) return result;
  if (measures_level && !result.level) {
    result.verdict = Verdict::fail;
    result.message = "no rank reported a level (the check did not run to the end)";
    return result;
  }
  if (measures_level && *result.level < expected) {
    result.verdict = Verdict::fail;
    result.ranks = below;
    result.message = fmt::format("level {} is below the expected {} on ranks {}", to_string(*result.level),
                                 to_string(expected), format_ranks(below));
    return result;
  }
  for (std::size_t r = 0; r < per_rank.size(); ++r) {
    if (per_rank[r].informational.empty()) continue;
    result.verdict = Verdict::info;
    result.message = per_rank[r].informational.front();
    for (std::size_t q = 0; q < per_rank.size(); ++q)
      for (auto& i : per_rank[q].informational) result.details.push_back(fmt::format("rank {}: {}", q, i));
    return result;
  }
  result.verdict = Verdict::pass;
  // A passing check may have passed in more than one way (exec.changed-binary:
  // ETXTBSY or the runner killed); its first note says which, on the console too.
  for (std::size_t r = 0; r < per_rank.size(); ++r)
    if (!per_rank[r].notes.empty()) {
      result.message = fmt::format("rank {}: {}", r, per_rank[r].notes.front());
      break;
    }
  return result;
}

}  // namespace dmmap::conform
