#include "suite.hpp"

#include <fmt/format.h>
#include <fnmatch.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dmmap/rank_set.hpp"
#include "needs.hpp"
#include "report.hpp"

namespace fs = std::filesystem;

namespace dmmap::conform {
namespace {

using Clock = std::chrono::steady_clock;

// GoogleTest's own name rules: '-' would read as a negative filter pattern.
std::string test_name(const std::string& id) {
  std::string name = id.substr(id.find('.') + 1);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// GoogleTest's ADD_FAILURE()/FAIL() messages start with a bare "Failed" line:
// the verdict column says that already.
std::string one_line(std::string text) {
  if (text.rfind("Failed\n", 0) == 0) text.erase(0, 7);
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// Turns GoogleTest's assertion results into the outcome of the check running
// on this rank (`current` is the suite's; null between checks).
class OutcomeRecorder : public ::testing::EmptyTestEventListener {
 public:
  explicit OutcomeRecorder(RankOutcome* const& current) : current_(current) {}

 private:
  void OnTestPartResult(const ::testing::TestPartResult& part) override {
    RankOutcome* current = current_;
    if (!current) return;
    if (part.skipped()) {
      current->skipped = one_line(part.message());
    } else if (part.failed()) {
      current->fail(fmt::format("{} ({}:{})", one_line(part.message()),
                                fs::path(part.file_name() ? part.file_name() : "?").filename().string(),
                                part.line_number()));
    }
  }

  RankOutcome* const& current_;
};

// One check as a GoogleTest test: its body is the suite's run_check.
class CheckTest : public ::testing::Test {
 public:
  explicit CheckTest(std::function<void()> body) : body_(std::move(body)) {}
  void TestBody() override { body_(); }

 private:
  std::function<void()> body_;
};

}  // namespace

bool selected_by(const std::string& filter, const std::string& id) {
  bool any_positive = false, included = false;
  std::size_t begin = 0;
  while (begin < filter.size()) {
    const auto end = std::min(filter.find(':', begin), filter.size());
    const std::string pattern = filter.substr(begin, end - begin);
    begin = end + 1;
    if (pattern.empty()) continue;
    const bool excludes = pattern[0] == '-';
    const bool matches = ::fnmatch(pattern.c_str() + (excludes ? 1 : 0), id.c_str(), 0) == 0;
    if (excludes && matches) return false;
    if (!excludes) {
      any_positive = true;
      included = included || matches;
    }
  }
  return !any_positive || included;
}

std::chrono::milliseconds check_time_limit(std::chrono::milliseconds configured, std::chrono::milliseconds sync_timeout,
                                           int ranks) {
  if (configured.count() > 0) return configured;
  return 5 * sync_timeout + std::chrono::seconds(ranks);
}

Suite::Suite(MpiSession& mpi, Sync& sync, ScratchArea& scratch, SuiteConfig config, Json environment, ClientMap clients)
    : mpi_(mpi),
      sync_(sync),
      scratch_(scratch),
      config_(std::move(config)),
      environment_(std::move(environment)),
      clients_(std::move(clients)),
      time_limit_(check_time_limit(config_.check_time_limit, sync.timeout(), sync.size())),
      started_(Clock::now()) {}

void Suite::register_checks() {
  for (const CheckInfo& info : catalog()) {
    if (config_.quick && !info.quick) continue;
    if (!selected_by(config_.filter, info.id)) continue;
    ++selected_;
    const std::string family = info.id.substr(0, info.id.find('.'));
    ::testing::RegisterTest(
        family.c_str(), test_name(info.id).c_str(), nullptr, nullptr, __FILE__, __LINE__,
        [this, &info]() -> ::testing::Test* { return new CheckTest([this, &info] { run_check(info); }); });
  }
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  // Only our own progress lines and table: GoogleTest's printer would repeat
  // every rank's output and knows nothing of levels.
  delete listeners.Release(listeners.default_result_printer());
  listeners.Append(new OutcomeRecorder(recording_));
}

fs::path Suite::prepare_check_dir(const CheckInfo& info, Sync& team) {
  std::string dirname = info.id;
  std::replace(dirname.begin(), dirname.end(), '.', '-');
  std::string complaint;
  if (team.rank() == 0) {
    fs::path dir = scratch_.path() / dirname;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      complaint = fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno));
  }
  complaint = team.broadcast(complaint);
  if (!complaint.empty()) throw std::runtime_error(complaint);
  return scratch_.path() / dirname;
}

std::size_t Suite::to_run() const {
  // GoogleTest filters narrow the selection after registration: count what will run.
  const int n = ::testing::UnitTest::GetInstance()->test_to_run_count();
  return n > 0 ? static_cast<std::size_t>(n) : selected_;
}

// Every check declared for N ranks runs on max(N, --max-active) of them (at
// most the job), the first in role order: role 0 is rank 0 (which reports),
// role 1 the first rank of another client if there is one.
Suite::Team& Suite::team_for(const CheckInfo& info) {
  const int size = std::min(sync_.size(), std::max(info.min_ranks, config_.max_active));
  auto& team = teams_[size];
  if (team) return *team;
  team = std::make_unique<Team>();
  const std::vector<int> order = clients_.role_order();
  team->ranks.assign(order.begin(), order.begin() + size);
  const auto role = std::find(team->ranks.begin(), team->ranks.end(), sync_.rank());
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_split(mpi_.comm(), role == team->ranks.end() ? MPI_UNDEFINED : 0,
                 static_cast<int>(role - team->ranks.begin()), &comm);
  team->comm = std::make_unique<OwnedComm>(comm);
  if (comm != MPI_COMM_NULL) {
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    team->sync = std::make_unique<Sync>(comm, sync_.timeout());
  }
  return *team;
}

void Suite::run_check(const CheckInfo& info) {
  const auto start = Clock::now();
  if (config_.observer && sync_.rank() == 0) config_.observer->check_started(info, results_.size() + 1, to_run());
  sync_.begin_phase(info.id);
  Team& team = team_for(info);
  RankOutcome outcome;
  if (team.sync) run_as_role(info, team, outcome);
  conclude_check(info, team, outcome, start);
}

// The check on one of its roles: a hang among them names world ranks.
void Suite::run_as_role(const CheckInfo& info, Team& team, RankOutcome& outcome) {
  Sync& sync = *team.sync;
  sync.begin_phase(info.id);
  sync.set_time_limit(time_limit_);
  recording_ = &outcome;
  try {
    run_body(info, sync, outcome);
    sync.finish_phase({});
  } catch (const HangError& e) {
    std::vector<int> missing;
    for (int role : e.missing) missing.push_back(team.ranks.at(static_cast<std::size_t>(role)));
    on_hang(info, HangError(fmt::format("{} (roles are ranks {})", e.what(), format_ranks(team.ranks)), missing));
  }
  recording_ = nullptr;
  if (config_.observer) config_.observer->rank_outcome(info, outcome);
}

// The check's needs, then its body; what happens is recorded in `outcome`.
void Suite::run_body(const CheckInfo& info, Sync& team, RankOutcome& outcome) {
  try {
    NeedsVerdict needs = check_needs(info, team, sync_.size(), config_.params, scratch_.path());
    if (!needs.unmet.empty()) {
      outcome.skipped = needs.unmet;
      return;
    }
    CheckContext ctx(team, info, prepare_check_dir(info, team), config_.expected, config_.params,
                     std::move(needs.helpers), outcome);
    info.run(ctx);
  } catch (const CheckSkipped& e) {
    outcome.skipped = e.what();
  } catch (const PhaseTimeLimit&) {
    outcome.fail(fmt::format("{} ran past its time limit of {:.0f} s (--check-time-limit) and was ended", info.id,
                             std::chrono::duration<double>(time_limit_).count()));
  } catch (const PhaseAborted&) {
    outcome.aborted = true;
  } catch (const HangError&) {
    throw;
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
}

// Every rank's outcome to rank 0, which concludes and records the result.
void Suite::conclude_check(const CheckInfo& info, const Team& team, const RankOutcome& outcome,
                           Clock::time_point start) {
  std::vector<std::string> all;
  try {
    // An observer arrives at once and waits for the roles, which may take
    // the whole time limit and one more sync timeout.
    all = sync_.finish_phase(outcome.to_json().dump(), team.sync ? std::chrono::milliseconds(0) : time_limit_);
  } catch (const HangError& e) {
    on_hang(info, e);
  }
  if (sync_.rank() != 0) return;
  std::vector<RankOutcome> per_rank;
  for (auto& text : all) per_rank.push_back(RankOutcome::from_json(Json::parse(text)));
  CheckResult result = conclude(info.id, info.measures_level, config_.expected, per_rank);
  result.roles = team.ranks;
  result.duration_s = std::chrono::duration<double>(Clock::now() - start).count();
  config_.known_failures.apply(result);
  record(std::move(result));
}

void Suite::record(CheckResult result) {
  const std::string level = result.level ? std::string(to_string(*result.level)) : "";
  fmt::print("[{:>2}/{}] {:<34} {:<5} {:<13} {:6.2f} s{}\n", results_.size() + 1, to_run(), result.id,
             to_string(result.verdict), level, result.duration_s, result.message.empty() ? "" : "  " + result.message);
  std::fflush(stdout);
  results_.push_back(std::move(result));
  if (config_.observer) config_.observer->check_done(results_.back(), results_.size(), to_run());
}

void Suite::on_hang(const CheckInfo& info, const HangError& error) {
  if (sync_.rank() == 0) {
    CheckResult result;
    result.id = info.id;
    result.verdict = Verdict::hang;
    result.ranks = error.missing;
    result.message = error.what();
    record(std::move(result));
    const double duration = std::chrono::duration<double>(Clock::now() - started_).count();
    write_reports(duration);
    scratch_.remove();
    fmt::print(stderr, "dmmap-conform: HANG in {}: {}; aborting the job\n", info.id, error.what());
  } else {
    fmt::print(stderr, "dmmap-conform: rank {}: HANG in {}: {}; aborting the job\n", sync_.rank(), info.id,
               error.what());
  }
  mpi_.abort(kExitHang);
}

bool Suite::overall_pass() const {
  return std::none_of(results_.begin(), results_.end(),
                      [](const CheckResult& r) { return counts_as_failure(r.verdict); });
}

void Suite::write_reports(double duration_s) const {
  RunSummary run;
  run.verdict = overall_pass() ? "PASS" : "FAIL";
  run.expected = config_.expected;
  run.ranks = sync_.size();
  run.duration_s = duration_s;
  run.scratch = scratch_.path().string();
  run.hook = config_.params.hook.string();
  run.clients = clients_;
  run.checks = results_;
  run.environment = environment_;
  run.profile = config_.params.profile.to_json();
  run.profile_line = config_.params.profile.describe();
  fmt::print("{}\n{}\n", console_table(run), verdict_line(run));
  if (const std::string note = control_run_note(run); !note.empty()) fmt::print("{}\n", note);
  if (config_.report_dir) {
    try {
      write_report_files(*config_.report_dir, run);
      fmt::print("report: {0}/conformance.json, {0}/junit.xml, {0}/summary.md\n", config_.report_dir->string());
    } catch (const std::exception& e) {
      fmt::print(stderr, "dmmap-conform: cannot write the report: {}\n", e.what());
    }
  }
}

int Suite::run() {
  // Verdicts come from our own conclusions, not from GoogleTest's status.
  [[maybe_unused]] const int gtest_status = RUN_ALL_TESTS();
  int status = kExitPass;
  if (sync_.rank() == 0) {
    write_reports(std::chrono::duration<double>(Clock::now() - started_).count());
    status = overall_pass() ? kExitPass : kExitFail;
  }
  return agree_on_status(status);
}

// Rank 0's exit status to every rank, through a sync point with a deadline.
int Suite::agree_on_status(int status_on_root) {
  sync_.begin_phase("exit status");
  try {
    return std::stoi(sync_.finish_phase(sync_.rank() == 0 ? std::to_string(status_on_root) : "").at(0));
  } catch (const HangError& e) {
    fmt::print(stderr, "dmmap-conform: rank {}: HANG while agreeing on the exit status: {}; aborting the job\n",
               sync_.rank(), e.what());
    mpi_.abort(kExitHang);
  }
}

}  // namespace dmmap::conform
