#include "clients.hpp"

#include <fmt/format.h>

#include <string>

namespace dmmap::certify {

Clients clients_of(const conform::ClientMap& map) {
  Clients c;
  c.basis = map.basis();
  for (int r = 0; r < map.ranks(); ++r) c.id_of_rank.push_back(std::to_string(map.client_of(r)));
  c.count = map.clients();
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
