// Which client of the filesystem each rank is, and so whether a run is a
// control run (fewer than two clients), as the conformance suite's client
// detection proved it (ranks sharing one page cache are one client).
#pragma once

#include <string>
#include <vector>

#include "client_map.hpp"
#include "dmmap/json.hpp"

namespace dmmap::certify {

struct Clients {
  std::vector<std::string> id_of_rank;
  std::string basis;  // how the ids were obtained, for the report
  int count = 0;
  bool multi_client() const { return count >= 2; }
  // {"basis", "count", "multi_client", "ranks": [{"rank", "hostname", "client"}]}
  Json to_json(const Json& environment) const;
};

// From the suite's client map (rank 0).
Clients clients_of(const conform::ClientMap& map);

// The line a control run's reports start with.
std::string control_run_notice(int clients, const std::string& basis);
inline std::string control_run_notice(const Clients& c) { return control_run_notice(c.count, c.basis); }

}  // namespace dmmap::certify
