// Which client of the filesystem each rank is: the one place the framework
// asks whether two ranks are two clients. Ranks are one client when they
// share a page cache; the map comes from a measurement (client_probe.hpp),
// never from the launch geometry. The framework gives a check's roles to
// ranks in `role_order()`, so that a check's first two roles (its writer and
// its reader) are two clients whenever the run has two.
#pragma once

#include <string>
#include <vector>

#include "dmmap/json.hpp"

namespace dmmap::conform {

// What one rank is, and why it was put there.
struct RankClient {
  int client = 0;        // ids count from 0 in order of each client's lowest rank
  std::string hostname;  // supporting evidence, shown to people
  std::string kernel;    // /proc/sys/kernel/random/boot_id (or the hostname where unreadable)
  std::string device;    // st_dev of the rank's view of the scratch directory, "major:minor"
};

class ClientMap {
 public:
  ClientMap() = default;
  // client_of[rank] = an identifier of the client the rank uses; renumbered.
  ClientMap(std::vector<int> client_of, std::string basis);
  ClientMap(std::vector<RankClient> ranks, std::string basis);

  int ranks() const { return static_cast<int>(ranks_.size()); }
  int client_of(int rank) const { return ranks_.at(static_cast<std::size_t>(rank)).client; }
  const RankClient& rank(int rank) const { return ranks_.at(static_cast<std::size_t>(rank)); }
  bool distinct(int a, int b) const { return client_of(a) != client_of(b); }
  int clients() const;
  bool multi_client() const { return clients() >= 2; }
  // How the map was obtained, for reasons and reports ("mincore probe: ...").
  const std::string& basis() const { return basis_; }

  // Every rank once, in the order checks' roles are handed out: rank 0
  // first, then round-robin over the clients (each client's ranks in rank
  // order), so that roles 0 and 1 are two clients whenever there are two.
  std::vector<int> role_order() const;

  // {"count", "multi_client", "basis", "ranks": [{"rank", "client", "hostname", ...}]}
  Json to_json() const;

 private:
  std::vector<RankClient> ranks_;
  std::string basis_;
};

}  // namespace dmmap::conform
