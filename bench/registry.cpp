#include "registry.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <regex.h>

#include <algorithm>
#include <set>

#include "dmmap/options.hpp"
#include "kernels/kernels.hpp"

namespace dmmap::bench {
namespace {

// Whether Google Benchmark's filter selects `name`: a POSIX extended regular
// expression, "" and "all" select everything, a leading '-' negates.
class FilterMatch {
 public:
  explicit FilterMatch(std::string filter) {
    negate_ = !filter.empty() && filter[0] == '-';
    if (negate_) filter.erase(0, 1);
    all_ = filter.empty() || filter == "all";
    if (!all_ && ::regcomp(&regex_, filter.c_str(), REG_EXTENDED | REG_NOSUB) != 0)
      throw UsageError(fmt::format("benchmark filter '{}' is not a regular expression", filter));
  }
  FilterMatch(const FilterMatch&) = delete;
  FilterMatch& operator=(const FilterMatch&) = delete;
  ~FilterMatch() {
    if (!all_) ::regfree(&regex_);
  }
  bool operator()(const std::string& name) const {
    return all_ || negate_ != (::regexec(&regex_, name.c_str(), 0, nullptr, 0) == 0);
  }

 private:
  regex_t regex_{};
  bool all_ = true, negate_ = false;
};

// Registers each benchmark with Google Benchmark, or only counts what the
// filter selects (shared == nullptr): one enumeration for both, so that a
// filter selecting nothing is refused before anything runs.
class Registrar {
 public:
  Registrar(const Settings& settings, const Shared* shared, RunLog* log)
      : shared_(shared), log_(log), selected_(settings.filter) {}

  void add(const std::string& name, int ranks, benchmark::TimeUnit unit, KernelFactory make) {
    if (selected_(name)) ++count_;
    if (shared_ == nullptr) return;
    benchmark::RegisterBenchmark(name.c_str(),
                                 [shared = shared_, log = log_, name, ranks, make](benchmark::State& state) {
                                   run_kernel(state, *shared, *log, name, ranks, make);
                                 })
        ->UseManualTime()
        ->Unit(unit);
  }
  std::size_t count() const { return count_; }

 private:
  const Shared* shared_;
  RunLog* log_;
  FilterMatch selected_;
  std::size_t count_ = 0;  // that the filter selects
};

void register_faults(Registrar& r, const Settings& s, const std::vector<int>& ranks) {
  for (const auto& around : s.fault_around)
    for (std::size_t pages : s.pages)
      for (int k : ranks) {
        FaultShape shape{pages, around == "on", false};
        const auto suffix = fmt::format("fault_around:{}/pages:{}/ranks:{}", around, pages, k);
        r.add("read_fault/cached/" + suffix, k, benchmark::kMicrosecond, [=] { return make_read_fault(true, shape); });
        r.add("read_fault/uncached/" + suffix, k, benchmark::kMicrosecond,
              [=] { return make_read_fault(false, shape); });
        r.add("write_fault/mkwrite/" + suffix, k, benchmark::kMicrosecond,
              [=] { return make_write_fault(true, shape); });
        r.add("write_fault/uncached/" + suffix, k, benchmark::kMicrosecond,
              [=] { return make_write_fault(false, shape); });
      }
}

void register_revocation(Registrar& r, const Settings& s, int job_size) {
  if (job_size < 2) return;  // two clients needed
  for (std::size_t dirty : s.dirty)
    r.add(fmt::format("revocation/dirty:{}/ranks:2", dirty), 2, benchmark::kMicrosecond,
          [=] { return make_revocation(dirty); });
}

void register_stat(Registrar& r, int job_size) {
  if (job_size < 2) return;  // a writer and another client
  r.add("stat/remote_writer/ranks:2", 2, benchmark::kMicrosecond, [] { return make_stat_remote_writer(); });
}

void register_throughput(Registrar& r, const Settings& s, const std::vector<int>& ranks) {
  for (auto layout : {Layout::file_per_rank, Layout::shared_file})
    for (auto transfer : {Transfer::write, Transfer::read, Transfer::readback})
      for (std::size_t bytes : s.sizes)
        for (int k : ranks)
          r.add(fmt::format("throughput/{}/{}/bytes:{}/ranks:{}", name_of(transfer), name_of(layout), bytes, k), k,
                benchmark::kMillisecond, [=] { return make_throughput(transfer, layout, bytes); });
}

void register_exec(Registrar& r, const Settings& s, const std::vector<int>& ranks) {
  for (int k : ranks)
    r.add(fmt::format("exec/launch/ranks:{}", k), k, benchmark::kMicrosecond,
          [binary = s.exec_binary] { return make_exec_launch(binary); });
}

}  // namespace

std::vector<int> rank_counts(const Settings& settings, int job_size) {
  std::set<int> counts;
  if (settings.rank_counts.empty()) {
    for (int k = 1; k < job_size; k *= 2) counts.insert(k);
    counts.insert(job_size);
  }
  for (int k : settings.rank_counts) {
    if (k < 1 || k > job_size)
      throw UsageError(fmt::format("--ranks {} is outside 1..{} (the ranks mpirun started)", k, job_size));
    counts.insert(k);
  }
  return {counts.begin(), counts.end()};
}

namespace {

std::size_t enumerate(Registrar& r, const Settings& settings, int job_size) {
  const auto ranks = rank_counts(settings, job_size);
  register_faults(r, settings, ranks);
  register_revocation(r, settings, job_size);
  register_stat(r, job_size);
  register_throughput(r, settings, ranks);
  register_exec(r, settings, ranks);
  return r.count();
}

}  // namespace

std::size_t count_selected(const Settings& settings, int job_size) {
  Registrar r(settings, nullptr, nullptr);
  return enumerate(r, settings, job_size);
}

void require_selection(const Settings& settings, int job_size) {
  if (count_selected(settings, job_size) != 0) return;
  Settings all = settings;
  all.filter.clear();
  throw UsageError(fmt::format("the benchmark filter '{}' selects none of the {} measurements of a {}-rank job "
                               "(--benchmark_list_tests lists them)",
                               settings.filter, count_selected(all, job_size), job_size));
}

std::size_t register_benchmarks(const Shared& shared, RunLog& log) {
  Registrar r(shared.settings, &shared, &log);
  return enumerate(r, shared.settings, shared.size);
}

}  // namespace dmmap::bench
