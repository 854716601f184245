#include "mann_whitney.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace dmmap::bench {
namespace {

struct Ranked {
  double rank_sum_x = 0;
  double tie_term = 0;  // sum of t^3 - t over groups of tied values
};

Ranked rank_samples(std::span<const double> x, std::span<const double> y) {
  std::vector<std::pair<double, bool>> all;  // value, belongs to x
  for (double v : x) all.emplace_back(v, true);
  for (double v : y) all.emplace_back(v, false);
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first < b.first; });
  Ranked r;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;  // average rank of ties
    for (std::size_t k = i; k < j; ++k)
      if (all[k].second) r.rank_sum_x += mid_rank;
    const double t = static_cast<double>(j - i);
    r.tie_term += t * t * t - t;
    i = j;
  }
  return r;
}

// Number of arrangements giving each U for sizes (m, n): the coefficients of
// the Gaussian binomial [m+n choose m], by f(m,n,u) = f(m-1,n,u-n) + f(m,n-1,u).
std::vector<double> u_distribution(std::size_t m, std::size_t n) {
  // f[i] holds the distribution for sizes (i, current n).
  std::vector<std::vector<double>> f(m + 1);
  for (std::size_t i = 0; i <= m; ++i) f[i] = {1.0};  // n = 0: only U = 0
  for (std::size_t nn = 1; nn <= n; ++nn) {
    std::vector<std::vector<double>> g(m + 1);
    g[0] = {1.0};
    for (std::size_t i = 1; i <= m; ++i) {
      g[i].assign(i * nn + 1, 0.0);
      for (std::size_t u = 0; u < f[i].size(); ++u) g[i][u] += f[i][u];               // last element from y
      for (std::size_t u = 0; u < g[i - 1].size(); ++u) g[i][u + nn] += g[i - 1][u];  // last element from x
    }
    f = std::move(g);
  }
  return f[m];
}

double exact_p(double u, std::size_t m, std::size_t n) {
  const auto dist = u_distribution(m, n);
  const double total = std::accumulate(dist.begin(), dist.end(), 0.0);
  const double lower = std::min(u, static_cast<double>(m * n) - u);  // symmetric distribution
  double tail = 0;
  for (std::size_t k = 0; k < dist.size() && static_cast<double>(k) <= lower + 1e-9; ++k) tail += dist[k];
  return std::min(1.0, 2 * tail / total);
}

double normal_p(double u, std::size_t m, std::size_t n, double tie_term) {
  const double mm = static_cast<double>(m), nn = static_cast<double>(n), big_n = mm + nn;
  const double mu = mm * nn / 2;
  const double var = mm * nn / 12 * ((big_n + 1) - tie_term / (big_n * (big_n - 1)));
  if (var <= 0) return 1.0;                                                 // every value equal
  const double z = std::max(0.0, std::abs(u - mu) - 0.5) / std::sqrt(var);  // continuity correction
  return std::min(1.0, std::erfc(z / std::sqrt(2.0)));
}

}  // namespace

UTestResult mann_whitney_u(std::span<const double> x, std::span<const double> y) {
  UTestResult result;
  if (x.empty() || y.empty()) return result;
  const auto ranked = rank_samples(x, y);
  const double m = static_cast<double>(x.size());
  result.u = ranked.rank_sum_x - m * (m + 1) / 2;
  // Exact when it is affordable and valid (ties break the exact distribution).
  result.exact = ranked.tie_term == 0 && x.size() * y.size() <= 10'000;
  result.p_value = result.exact ? exact_p(result.u, x.size(), y.size())
                                : normal_p(result.u, x.size(), y.size(), ranked.tie_term);
  return result;
}

double smallest_possible_p(std::size_t n1, std::size_t n2) {
  if (n1 == 0 || n2 == 0) return 1.0;
  // Complete separation: 2 / C(n1+n2, n1).
  double combinations = 1;
  for (std::size_t i = 1; i <= n1; ++i)
    combinations = combinations * static_cast<double>(n2 + i) / static_cast<double>(i);
  return std::min(1.0, 2 / combinations);
}

}  // namespace dmmap::bench
