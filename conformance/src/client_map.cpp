#include "client_map.hpp"

#include <algorithm>
#include <numeric>

namespace dmmap::conform {

ClientMap ClientMap::assumed_one_per_rank(int ranks) {
  std::vector<int> ids(static_cast<std::size_t>(ranks));
  std::iota(ids.begin(), ids.end(), 0);
  return ClientMap(std::move(ids), "assumed: every rank its own client");
}

ClientMap::ClientMap(std::vector<int> client_of, std::string basis)
    : client_of_(std::move(client_of)), basis_(std::move(basis)) {}

int ClientMap::clients() const {
  std::vector<int> ids = client_of_;
  std::sort(ids.begin(), ids.end());
  return static_cast<int>(std::unique(ids.begin(), ids.end()) - ids.begin());
}

}  // namespace dmmap::conform
