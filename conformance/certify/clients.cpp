#include "clients.hpp"

#include <fmt/format.h>

#include <set>

namespace dmmap::certify {

Clients clients_of(const Json& environment) {
  Clients c;
  c.basis = "hostname: ranks on one host count as one client (client detection, issue 12, is not in this version)";
  std::set<std::string> distinct;
  for (const auto& rank : environment.at("ranks").as_array()) {
    c.id_of_rank.push_back(rank.at("hostname").as_string());
    distinct.insert(c.id_of_rank.back());
  }
  c.count = static_cast<int>(distinct.size());
  return c;
}

std::string control_run_notice(int clients, const std::string& basis) {
  return fmt::format(
      "CONTROL RUN: {} client{} ({}); a baseline of what one client gives, not a multi-client certificate", clients,
      clients == 1 ? "" : "s", basis);
}

Json Clients::to_json(const Json& environment) const {
  Json out = Json::object();
  out["basis"] = basis;
  out["count"] = count;
  out["multi_client"] = multi_client();
  Json ranks = Json::array();
  const auto& env_ranks = environment.at("ranks").as_array();
  for (std::size_t r = 0; r < id_of_rank.size(); ++r) {
    Json one = Json::object();
    one["rank"] = static_cast<int>(r);
    one["hostname"] = env_ranks.at(r).at("hostname").as_string();
    one["client"] = id_of_rank[r];
    ranks.push_back(std::move(one));
  }
  out["ranks"] = std::move(ranks);
  return out;
}

}  // namespace dmmap::certify
