// Which client of the filesystem each rank is: the one place the framework
// asks whether two ranks are two clients (a check's `distinct_clients`).
// "Two ranks are two clients only if proven": today nothing is proven and
// the map is the assumption the suite has always made, every rank its own
// client (one mount per node, or --dirs with one view per rank); detecting
// the real map replaces `assumed_one_per_rank` without touching any check.
#pragma once

#include <string>
#include <vector>

namespace dmmap::conform {

class ClientMap {
 public:
  // Every rank its own client: what --dir on one mount per node and --dirs
  // with distinct views have been taken to mean.
  static ClientMap assumed_one_per_rank(int ranks);
  // client_of[rank] = an identifier of the client the rank uses.
  ClientMap(std::vector<int> client_of, std::string basis);

  int client_of(int rank) const { return client_of_.at(static_cast<std::size_t>(rank)); }
  bool distinct(int a, int b) const { return client_of(a) != client_of(b); }
  int clients() const;
  // How the map was obtained, for reasons and reports ("assumed: ...", "proven by ...").
  const std::string& basis() const { return basis_; }

 private:
  std::vector<int> client_of_;
  std::string basis_;
};

}  // namespace dmmap::conform
