// Registers every measurement with Google Benchmark, over the rank counts and
// sizes the user selected (the scaling dimension).
#pragma once

#include <vector>

#include "run_log.hpp"
#include "settings.hpp"

namespace dmmap::bench {

// The rank counts to measure: the user's list (checked against the job
// size), or 1, 2, 4, ... and the job size itself.
std::vector<int> rank_counts(const Settings& settings, int job_size);

// How many measurements of a job_size-rank job the filter (Settings::filter)
// selects; registers nothing. Throws UsageError for a bad --ranks or filter.
std::size_t count_selected(const Settings& settings, int job_size);

// Throws UsageError, naming the filter, when it selects nothing: a run that
// would measure nothing is a mistake in its command line, not a success.
void require_selection(const Settings& settings, int job_size);

// Registers all benchmarks; returns how many the filter (Settings::filter) selects. `shared` and `log` must outlive
// RunSpecifiedBenchmarks.
std::size_t register_benchmarks(const Shared& shared, RunLog& log);

}  // namespace dmmap::bench
