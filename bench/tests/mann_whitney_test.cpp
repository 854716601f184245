#include "mann_whitney.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace dmmap::bench {
namespace {

TEST(MannWhitney, CompleteSeparationExact) {
  std::vector<double> x{1, 2, 3}, y{4, 5, 6};
  auto r = mann_whitney_u(x, y);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.u, 0);
  EXPECT_NEAR(r.p_value, 0.1, 1e-12);  // 2 / C(6,3)
  std::vector<double> a{1, 2, 3, 4, 5}, b{6, 7, 8, 9, 10};
  EXPECT_NEAR(mann_whitney_u(b, a).p_value, 2.0 / 252, 1e-12);
}

TEST(MannWhitney, InterleavedExact) {
  // U = 6 for sizes (4,4): P(U <= 6) = 24/70 from the Gaussian binomial coefficients.
  std::vector<double> x{1, 3, 5, 7}, y{2, 4, 6, 8};
  auto r = mann_whitney_u(x, y);
  EXPECT_EQ(r.u, 6);
  EXPECT_NEAR(r.p_value, 48.0 / 70, 1e-12);
}

TEST(MannWhitney, TiesUseTheCorrectedNormalApproximation) {
  // Hand-computed: U = 2, mean 8, tie-corrected variance 10.2857, continuity 0.5.
  std::vector<double> x{1, 1, 2, 2}, y{2, 2, 3, 3};
  auto r = mann_whitney_u(x, y);
  EXPECT_FALSE(r.exact);
  EXPECT_EQ(r.u, 2);
  EXPECT_NEAR(r.p_value, 0.0864, 5e-4);
}

TEST(MannWhitney, IdenticalSamplesAreNotSignificant) {
  std::vector<double> x{5, 5, 5}, y{5, 5, 5};
  EXPECT_EQ(mann_whitney_u(x, y).p_value, 1.0);
}

TEST(MannWhitney, SmallestPossibleP) {
  EXPECT_NEAR(smallest_possible_p(3, 3), 0.1, 1e-12);
  EXPECT_NEAR(smallest_possible_p(4, 4), 2.0 / 70, 1e-12);
  EXPECT_EQ(smallest_possible_p(1, 1), 1.0);
  EXPECT_EQ(smallest_possible_p(0, 5), 1.0);
}

}  // namespace
}  // namespace dmmap::bench
