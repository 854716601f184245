// Which client of the filesystem each rank is, and so whether a run is a
// control run (fewer than two clients). Until client detection (issue 12:
// ranks sharing one page cache, proven with mincore) reaches this branch,
// a client is a host: ranks on one host are counted as one client, which
// never calls a one-client run multi-client (two mounts on one host, e.g.
// dmfs in the qemu guest, count as one here and need allow_control_run).
#pragma once

#include <string>
#include <vector>

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

// From the gathered environment (rank 0).
Clients clients_of(const Json& environment);

// The line a control run's reports start with.
std::string control_run_notice(int clients, const std::string& basis);
inline std::string control_run_notice(const Clients& c) { return control_run_notice(c.count, c.basis); }

}  // namespace dmmap::certify
