// What the user asked dmmap-bench to measure, and the shared state of a run.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "dmmap/target.hpp"
#include "timer.hpp"

namespace dmmap::bench {

struct Settings {
  TargetSpec target;
  std::vector<int> rank_counts;                        // empty: 1, 2, 4, ... and the job size
  std::vector<std::size_t> pages{256};                 // working set of the fault measurements, per rank
  std::vector<std::size_t> sizes{4u << 20};            // bytes per rank of the throughput measurements
  std::vector<std::size_t> dirty{1, 64, 4096};         // pages rank A holds dirty in the revocation measurement
  std::vector<std::string> fault_around{"on", "off"};  // off: one VMA per page
  std::string bind = "core";
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  bool keep = false;
  bool timer_correction = true;
  std::string html;
  std::string exec_binary = "/bin/true";
  // Google Benchmark's --benchmark_filter, to count what will run (progress n of N).
  std::string filter;
};

// Fixed for the whole job once the scratch area exists.
struct Shared {
  MPI_Comm world = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  std::filesystem::path scratch;  // this rank's view of the run's scratch directory
  TimerCost timer;
  double correction_ns = 0;  // subtracted from each timed operation (the empty interval)
  Settings settings;
};

}  // namespace dmmap::bench
