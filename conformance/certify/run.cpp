#include "run.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "binding.hpp"
#include "client_probe.hpp"
#include "clients.hpp"
#include "config.hpp"
#include "dmmap/environment.hpp"
#include "dmmap/exit_status.hpp"
#include "dmmap/target.hpp"
#include "guard.hpp"
#include "progress.hpp"
#include "registry.hpp"
#include "result_dir.hpp"
#include "run_profile.hpp"
#include "seal.hpp"
#include "session.hpp"
#include "suite.hpp"
#include "target_hook.hpp"

namespace fs = std::filesystem;

namespace dmmap::certify {
namespace {

struct UsageFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Every rank's complaint ("" = none) at one sync point; the first one ends
// the run on every rank with a usage error, printed once by rank 0.
void agree(Sync& sync, const std::string& step, const std::string& complaint) {
  sync.begin_phase(step);
  for (const auto& c : sync.finish_phase(complaint))
    if (!c.empty()) throw UsageFailure(c);
}

// Rank 0 reads the file; every rank parses the same text.
std::pair<std::string, Config> load_config(Sync& sync, const std::string& path) {
  std::string message;
  if (sync.rank() == 0) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    message = in ? "T" + text.str() : fmt::format("Ecannot read the configuration {}", path);
  }
  message = sync.broadcast(message);
  if (message.front() == 'E') throw UsageFailure(message.substr(1));
  const std::string text = message.substr(1);
  try {
    return {text, parse_config(text, path)};
  } catch (const ConfigError& e) {
    throw UsageFailure(e.what());
  }
}

// What only rank 0 needs to read: the known failures.
std::string check_root_files(const Config& c, conform::KnownFailures& known) {
  try {
    if (!c.known_failures.empty()) known = conform::KnownFailures::load(c.known_failures);
  } catch (const std::runtime_error& e) {
    return fmt::format("[conform] known_failures: {}", e.what());
  }
  return "";
}

TargetSpec target_of(const Config& c) { return c.dir.empty() ? TargetSpec::parse_dirs(c.dirs) : TargetSpec{{c.dir}}; }

class Run {
 public:
  Run(MpiSession& mpi, const std::string& config_path)
      : mpi_(mpi),
        sync_(mpi.comm(), Config{}.timeout),  // the configuration's comes with it
        config_path_(config_path),
        progress_(mpi.is_root(), log_) {}

  int operator()();

 private:
  void set_up();
  void refuse_control_run();
  int conformance();
  int benchmarks();
  void check_bench_selection() const;
  int finish(int conform_status, int bench_status);

  MpiSession& mpi_;
  Sync sync_;
  std::string config_path_, config_text_;
  Config config_;
  conform::KnownFailures known_;
  fs::path hook_;
  std::optional<conform::Profile> profile_;  // unset: auto
  conform::RunProfile run_profile_;
  std::string binding_;
  std::optional<ScratchArea> scratch_;
  Json environment_;
  conform::ClientMap client_map_;  // every rank: the checks' roles come from it
  Clients clients_;
  std::optional<ResultDir> dir_;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  RankLog log_;
  Progress progress_;
  std::string bench_note_;
};

void Run::set_up() {
  progress_.phase("set-up");
  std::tie(config_text_, config_) = load_config(sync_, config_path_);
  sync_.set_timeout(config_.timeout);
  std::string complaint = mpi_.is_root() ? check_root_files(config_, known_) : "";
  try {
    hook_ = conform::resolve_hook(config_.hook);
    profile_ = conform::requested_profile(config_.profile);
    binding_ = bench::bind_rank(mpi_.comm(), config_.bench.settings.bind, config_.timeout);
    check_bench_selection();
  } catch (const HangError&) {
    throw;
  } catch (const std::exception& e) {
    complaint = fmt::format("rank {}: {}", mpi_.rank(), e.what());
  }
  agree(sync_, "configuration", complaint);
  try {
    scratch_.emplace(sync_, target_of(config_), false);
  } catch (const TargetError& e) {
    throw UsageFailure(fmt::format("cannot use the target:\n{}", e.what()));
  }
  environment_ = gather_environment(sync_, scratch_->view());
  run_profile_ = conform::establish_profile(sync_, profile_, environment_, scratch_->path(), config_.timeout);
  sync_.set_timeout(run_profile_.sync_timeout());
  client_map_ = conform::detect_clients(sync_, scratch_->path());
  if (mpi_.is_root()) clients_ = clients_of(client_map_);
  log_.add("environment: " + local_environment(scratch_->view()).dump());
}

// Before the catalog's minutes, not after them: a [bench] filter that
// selects nothing is a mistake in the configuration.
void Run::check_bench_selection() const {
  auto settings = config_.bench.settings;
  settings.filter = config_.bench_filter;
  bench::require_selection(settings, mpi_.size());
}

void Run::refuse_control_run() {
  const std::string refusal =
      mpi_.is_root() && !clients_.multi_client() && !config_.allow_control_run
          ? fmt::format("refused: {}. Ranks on more hosts make a multi-client run; allow_control_run = true "
                        "in [global] runs it anyway, as a baseline",
                        control_run_notice(clients_))
          : "";
  agree(sync_, "clients", refusal);
}

int Run::conformance() {
  progress_.phase("conformance");
  conform::SuiteConfig suite;
  suite.expected = config_.expect;
  suite.quick = config_.quick;
  suite.filter = config_.conform_filter;
  suite.params.seed = config_.seed;
  suite.params.ops = config_.ops;
  suite.params.hook = hook_;
  suite.params.profile = run_profile_;
  suite.known_failures = known_;
  suite.observer = &progress_;
  if (dir_) suite.report_dir = dir_->path();
  int argc = 1;
  std::string program = "dmmap-certify";
  char* argv[] = {program.data(), nullptr};
  ::testing::InitGoogleTest(&argc, argv);
  conform::Suite run(mpi_, sync_, *scratch_, std::move(suite), environment_, client_map_);
  run.register_checks();
  return run.run();
}

int Run::benchmarks() {
  progress_.phase("benchmarks");
  auto settings = config_.bench.settings;
  settings.target = target_of(config_);
  settings.filter = config_.bench_filter;
  std::vector<std::string> args{"dmmap-certify", "--benchmark_min_time=" + config_.min_time,
                                fmt::format("--benchmark_repetitions={}", config_.repetitions)};
  if (!settings.filter.empty()) args.push_back("--benchmark_filter=" + settings.filter);
  const std::string json_path = dir_ ? (dir_->path() / "bench.json").string() : "";
  if (!json_path.empty()) args.push_back("--benchmark_out=" + json_path);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);
  benchmark::Initialize(&argc, argv.data());
  bench::RunLog log(mpi_.is_root());
  log.set_listener([this](const std::string& name, std::size_t n, std::size_t total, std::int64_t iterations) {
    progress_.benchmark(name, n, total, iterations);
  });
  return bench::run_or_abort(mpi_, [&] {
    return bench::run_session(mpi_, sync_, settings, scratch_->path(), environment_, binding_, {json_path, ""}, log);
  });
}

int Run::finish(int conform_status, int bench_status) {
  progress_.phase("bundle");
  const auto logs = log_.gather(sync_);
  std::string failure;
  if (dir_) {
    try {
      const SealInput in{*dir_,        config_path_, config_text_,   config_,      clients_,
                         environment_, run_profile_, conform_status, bench_status, logs};
      const fs::path tgz = seal(in);
      fmt::print("result: {} ({})\n", dir_->path().string(), tgz.string());
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  int status = conform_status != 0 ? conform_status : bench_status;
  if (!failure.empty()) {
    fmt::print(stderr, "dmmap-certify: cannot complete the result directory: {}\n", failure);
    status = exit_status::kFailed;
  }
  sync_.begin_phase("exit status");
  return std::stoi(sync_.finish_phase(mpi_.is_root() ? std::to_string(status) : "").at(0));
}

int Run::operator()() {
  set_up();
  refuse_control_run();
  std::string complaint;
  if (mpi_.is_root()) {
    try {
      dir_.emplace(config_.resultdir, environment_.at("ranks").as_array().at(0).at("hostname").as_string(), started_);
    } catch (const std::exception& e) {
      complaint = e.what();
    }
    if (!clients_.multi_client()) fmt::print("{}\n", control_run_notice(clients_));
  }
  agree(sync_, "result directory", complaint);
  const int conform_status = conformance();
  const int bench_status = benchmarks();
  return finish(conform_status, bench_status);
}

}  // namespace

int certify_run(MpiSession& mpi, const std::string& config_path) {
  try {
    mpi.join(Config{}.timeout);  // the configuration is read after, through the harness
    Run run(mpi, config_path);
    return run();
  } catch (const UsageFailure& e) {
    if (mpi.is_root()) fmt::print(stderr, "dmmap-certify: {}\n", e.what());
    return exit_status::kUsage;
  } catch (const UsageError& e) {
    if (mpi.is_root()) fmt::print(stderr, "dmmap-certify: {}\n", e.what());
    return exit_status::kUsage;
  } catch (const HangError& e) {
    fmt::print(stderr, "dmmap-certify: rank {}: HANG: {}; aborting the job\n", mpi.rank(), e.what());
    mpi.abort(exit_status::kHang);
  }
}

}  // namespace dmmap::certify
