// The client map's role order: the writer and the reader of a check are two
// clients whenever the run has two, whatever the placement of the ranks.
#include <gtest/gtest.h>

#include "client_map.hpp"

using namespace dmmap::conform;

TEST(ClientMap, IdsCountFromRankZerosClient) {
  const ClientMap m({7, 3, 7, 3}, "test");
  EXPECT_EQ(m.clients(), 2);
  EXPECT_EQ(m.client_of(0), 0);
  EXPECT_EQ(m.client_of(1), 1);
  EXPECT_TRUE(m.multi_client());
}

TEST(ClientMap, TwoNodesOfFourRanksByNodeGiveRoleOneToTheSecondNode) {
  const ClientMap m({0, 0, 0, 0, 1, 1, 1, 1}, "test");
  EXPECT_EQ(m.role_order(), (std::vector<int>{0, 4, 1, 5, 2, 6, 3, 7}));
}

TEST(ClientMap, RoundRobinPlacementKeepsRankOrder) {
  const ClientMap m({0, 1, 0, 1}, "test");
  EXPECT_EQ(m.role_order(), (std::vector<int>{0, 1, 2, 3}));
}

TEST(ClientMap, OneClientIsAControlRunInRankOrder) {
  const ClientMap m({5, 5, 5}, "test");
  EXPECT_FALSE(m.multi_client());
  EXPECT_EQ(m.role_order(), (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(m.to_json().at("multi_client").as_bool());
}
