#include "client_map.hpp"

#include <algorithm>
#include <map>

namespace dmmap::conform {
namespace {

// Ids in order of each client's lowest rank, whatever ids the caller used.
void renumber(std::vector<RankClient>& ranks) {
  std::map<int, int> fresh;
  for (auto& r : ranks) {
    auto [it, added] = fresh.emplace(r.client, static_cast<int>(fresh.size()));
    r.client = it->second;
  }
}

}  // namespace

ClientMap::ClientMap(std::vector<int> client_of, std::string basis) : basis_(std::move(basis)) {
  for (int id : client_of) {
    RankClient one;
    one.client = id;
    ranks_.push_back(std::move(one));
  }
  renumber(ranks_);
}

ClientMap::ClientMap(std::vector<RankClient> ranks, std::string basis)
    : ranks_(std::move(ranks)), basis_(std::move(basis)) {
  renumber(ranks_);
}

int ClientMap::clients() const {
  int most = -1;
  for (auto& r : ranks_) most = std::max(most, r.client);
  return most + 1;
}

std::vector<int> ClientMap::role_order() const {
  std::vector<std::vector<int>> by_client(static_cast<std::size_t>(clients()));
  for (int r = 0; r < ranks(); ++r) by_client[static_cast<std::size_t>(client_of(r))].push_back(r);
  std::vector<int> order;
  for (std::size_t i = 0; order.size() < ranks_.size(); ++i)
    for (auto& members : by_client)
      if (i < members.size()) order.push_back(members[i]);
  return order;
}

Json ClientMap::to_json() const {
  Json j = Json::object();
  j["count"] = clients();
  j["multi_client"] = multi_client();
  j["basis"] = basis_;
  Json ranks = Json::array();
  for (int r = 0; r < this->ranks(); ++r) {
    Json one = Json::object();
    one["rank"] = r;
    one["client"] = client_of(r);
    one["hostname"] = rank(r).hostname;
    one["kernel"] = rank(r).kernel;
    one["device"] = rank(r).device;
    ranks.push_back(std::move(one));
  }
  j["ranks"] = std::move(ranks);
  return j;
}

}  // namespace dmmap::conform
