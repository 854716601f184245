// The Mann–Whitney U test (Wilcoxon rank-sum), two-sided, as Google
// Benchmark's compare.py applies it to the repetitions of two runs: does one
// set of timings tend to be larger than the other, without assuming normality?
#pragma once

#include <span>

namespace dmmap::bench {

struct UTestResult {
  double u = 0;        // U statistic of the first sample
  double p_value = 1;  // two-sided
  bool exact = false;  // exact distribution (small samples, no ties) or normal approximation
};

UTestResult mann_whitney_u(std::span<const double> x, std::span<const double> y);

// The smallest two-sided p-value samples of these sizes can reach (complete
// separation). When it exceeds alpha, no difference can ever be significant.
double smallest_possible_p(std::size_t n1, std::size_t n2);

}  // namespace dmmap::bench
