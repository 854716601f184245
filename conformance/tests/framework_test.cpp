// Runs under mpirun -np 2: the framework's own duties. Needs: a check's
// declared needs are judged before its body, the same on every rank, with
// the reason. Ladder (on a local directory): each way of publishing a change
// is graded at the rung named after it. A simulated
// filesystem publishes rank 0's write at the step the test says (at once, at
// msync, only at close, never); rank 1 grades it. "Only at close" must come
// out close-to-open: the writer has closed before the reader opens afresh.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "dmmap/probe/files.hpp"
#include "ladder.hpp"
#include "mpi_test_main.hpp"
#include "needs.hpp"

using namespace dmmap;
using namespace dmmap::conform;
using namespace std::chrono_literals;

namespace {

constexpr std::uint8_t kNew = 0x7E;

enum class Publish { at_once, at_msync, at_close, never };

// One climb on a fresh file of `dir`; this rank's outcome.
RankOutcome grade(const std::filesystem::path& dir, Publish when) {
  Sync sync(test_session().comm(), 20s);
  sync.begin_phase("ladder");
  const CheckInfo info{.id = "test.ladder", .summary = "", .measures_level = true, .run = nullptr};
  RankOutcome outcome;
  CheckContext ctx(sync, info, dir, Level::strict, {}, {}, outcome);
  const auto file = dir / ("file-" + std::to_string(static_cast<int>(when)));
  if (ctx.rank() == 0) create_file(file, page_size(), 0);
  ctx.barrier();
  std::optional<Fd> fd = open_file(file, O_RDWR);
  const auto publish = [&] {
    pwrite_exact(fd->get(), std::vector<std::uint8_t>(page_size(), kNew).data(), page_size(), 0);
  };
  climb(ctx, {.what = "the test's change",
              .writer = ctx.rank() == 0,
              .reader = ctx.rank() == 1,
              .change =
                  [&] {
                    if (when == Publish::at_once) publish();
                  },
              .sync =
                  [&] {
                    if (when == Publish::at_msync) publish();
                  },
              .close =
                  [&] {
                    if (ctx.rank() == 0 && when == Publish::at_close) publish();
                    fd.reset();
                  },
              .look =
                  [&](Level rung) {
                    // At close-to-open the writer must already have closed: no descriptor left to it.
                    if (rung == Level::close_to_open) {
                      EXPECT_FALSE(fd.has_value());
                    }
                    Fd fresh = open_file(file, O_RDONLY);
                    const auto bytes = pread_up_to(fresh.get(), page_size(), 0);
                    return count_equal(bytes.data(), bytes.size(), kNew) == page_size();
                  }});
  sync.finish_phase({});
  return outcome;
}

std::filesystem::path shared_dir() {
  std::string dir = test_session().rank() == 0 ? std::filesystem::temp_directory_path() / "dmmap-ladder-XXXXXX" : "";
  if (test_session().rank() == 0 && !::mkdtemp(dir.data())) throw std::runtime_error("mkdtemp");
  Sync sync(test_session().comm(), 20s);
  sync.begin_phase("dir");
  dir = sync.broadcast(dir);
  sync.finish_phase({});
  return dir;
}

void expect_reader_level(Publish when, Level level) {
  const auto dir = shared_dir();
  const RankOutcome o = grade(dir, when);
  if (test_session().rank() == 1) {
    ASSERT_TRUE(o.level.has_value());
    EXPECT_EQ(to_string(*o.level), to_string(level));
    ASSERT_EQ(o.observations.size(), 1u);
  } else {
    EXPECT_FALSE(o.level.has_value()) << "the writer graded itself";
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (test_session().rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace

TEST(Ladder, PublishedAtOnceIsStrict) { expect_reader_level(Publish::at_once, Level::strict); }
TEST(Ladder, PublishedAtMsyncIsMsync) { expect_reader_level(Publish::at_msync, Level::msync); }
TEST(Ladder, PublishedOnlyAtCloseIsCloseToOpen) { expect_reader_level(Publish::at_close, Level::close_to_open); }
TEST(Ladder, NeverPublishedIsNone) { expect_reader_level(Publish::never, Level::none); }

namespace {

std::string unmet(const CheckInfo& info, const RunParams& params) {
  Sync sync(test_session().comm(), 20s);
  sync.begin_phase(info.id);
  const std::string reason = check_needs(info, sync, sync.size(), params, std::filesystem::temp_directory_path()).unmet;
  sync.finish_phase({});
  return reason;
}

}  // namespace

// Two clients are not a need that can SKIP a check: one client is a control run.
TEST(Needs, OneClientIsAControlRunNotASkip) {
  const CheckInfo info{.id = "test.clients", .summary = "", .distinct_clients = true, .run = nullptr};
  EXPECT_EQ(unmet(info, {}), "");
}

TEST(Needs, AMissingHelperIsTheReason) {
  const CheckInfo info{.id = "test.helper", .summary = "", .helpers = {"dmmap-no-such-helper"}, .run = nullptr};
  EXPECT_EQ(unmet(info, {}), "helper dmmap-no-such-helper not found next to the executable");
}

TEST(Needs, AHookMissingOnAnyRankIsTheReason) {
  const CheckInfo info{.id = "test.hook", .summary = "", .hook_actions = {"freeze", "thaw"}, .run = nullptr};
  RunParams params;
  EXPECT_EQ(unmet(info, params), no_hook_reason("freeze"));
  params.hook = test_session().rank() == 0 ? "/bin/true" : "";
  EXPECT_EQ(unmet(info, params), no_hook_reason("freeze"));
  params.hook = "/bin/true";
  EXPECT_EQ(unmet(info, params), "");
}

TEST(Needs, TooFewRanks) {
  const CheckInfo info{.id = "test.ranks", .summary = "", .min_ranks = 5, .run = nullptr};
  EXPECT_EQ(unmet(info, {}), "needs 5 ranks, 2 started");
}

TEST(Needs, ListShowsThem) {
  const CheckInfo info{.id = "test.list",
                       .summary = "",
                       .hook_actions = {"evict"},
                       .helpers = {"a", "b"},
                       .distinct_clients = true,
                       .forks = true,
                       .run = nullptr};
  EXPECT_EQ(describe_needs(info), "2 clients; fork; hook: evict; helpers: a,b");
}
