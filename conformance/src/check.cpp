#include "check.hpp"

#include <algorithm>

namespace dmmap::conform {
namespace {

std::vector<CheckInfo>& registry() {
  static std::vector<CheckInfo> checks;
  return checks;
}

// The catalog reads in the order of the seed HLD's use cases.
int family_rank(const std::string& id) {
  static const std::vector<std::string> order = {"exec", "shared", "private", "io", "race", "model"};
  auto family = id.substr(0, id.find('.'));
  auto it = std::find(order.begin(), order.end(), family);
  return static_cast<int>(it - order.begin());
}

bool declared(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

CheckRegistration::CheckRegistration(CheckInfo info) { registry().push_back(std::move(info)); }

const std::vector<CheckInfo>& catalog() {
  auto& checks = registry();
  std::stable_sort(checks.begin(), checks.end(), [](const CheckInfo& a, const CheckInfo& b) {
    return std::make_pair(family_rank(a.id), a.id) < std::make_pair(family_rank(b.id), b.id);
  });
  return checks;
}

CheckContext::CheckContext(Sync& sync, const CheckInfo& info, std::filesystem::path dir, Level expected,
                           RunParams params, std::map<std::string, std::filesystem::path> helpers, RankOutcome& outcome)
    : sync_(sync),
      info_(info),
      dir_(std::move(dir)),
      expected_(expected),
      params_(std::move(params)),
      helpers_(std::move(helpers)),
      outcome_(outcome) {}

const std::filesystem::path& CheckContext::helper(const std::string& name) const {
  auto it = helpers_.find(name);
  if (it == helpers_.end())
    throw std::logic_error(info_.id + " runs helper " + name + " without declaring it in .helpers");
  return it->second;
}

bool CheckContext::all(bool value) {
  auto votes = sync_.allgather(value ? "1" : "0");
  return std::all_of(votes.begin(), votes.end(), [](const std::string& v) { return v == "1"; });
}

void CheckContext::reached(Level level, const std::string& what) {
  outcome_.level = outcome_.level ? std::min(*outcome_.level, level) : level;
  outcome_.observations.push_back(what + ": " + std::string(to_string(level)));
}

void CheckContext::note(const std::string& text) { outcome_.notes.push_back(text); }

void CheckContext::informational(const std::string& text) { outcome_.informational.push_back(text); }

HookResult CheckContext::hook(int rank, const std::string& action) {
  if (!declared(info_.hook_actions, action))
    throw std::logic_error(info_.id + " calls hook action " + action + " without declaring it in .hook_actions");
  HookResult result{HookResult::Status::unsupported, no_hook_reason(action)};
  // Leave the other ranks, waiting at the next sync point, a margin before they call it a HANG.
  if (rank == this->rank() && !params_.hook.empty())
    result = run_hook(params_.hook, action, dir_, sync_timeout() * 3 / 4);
  const std::string mine = std::to_string(static_cast<int>(result.status)) + result.message;
  const std::string theirs = sync_.allgather(mine).at(static_cast<std::size_t>(rank));
  HookResult seen{static_cast<HookResult::Status>(theirs.at(0) - '0'), theirs.substr(1)};
  if (seen.status == HookResult::Status::unsupported) throw CheckSkipped(seen.message);
  return seen;
}

}  // namespace dmmap::conform
