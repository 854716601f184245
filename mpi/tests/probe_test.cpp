#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include "dmmap/fd.hpp"
#include "dmmap/probe/child.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

using namespace dmmap;

namespace {

Fd temp_file(std::size_t size) {
  char name[] = "/tmp/dmmap-probe-XXXXXX";
  Fd fd(::mkstemp(name));
  ::unlink(name);
  EXPECT_TRUE(fd);
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  return fd;
}

}  // namespace

TEST(FaultProbe, LoadInsideFileSucceeds) {
  const auto page = page_size();
  Fd fd = temp_file(2 * page);
  ASSERT_EQ(::pwrite(fd.get(), "\x2a", 1, static_cast<off_t>(page)), 1);
  Mapping map(fd.get(), 2 * page, PROT_READ, MAP_SHARED);
  ProbeResult r = probe_load(map.data() + page);
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.value, 0x2a);
}

TEST(FaultProbe, LoadBeyondTruncatedEofGivesSigbus) {
  const auto page = page_size();
  Fd fd = temp_file(4 * page);
  Mapping map(fd.get(), 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED);
  ASSERT_TRUE(probe_store(map.data() + 3 * page, 7).ok());
  ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(page)), 0);  // truncated underneath the mapping
  ProbeResult beyond = probe_load(map.data() + 3 * page);
  EXPECT_EQ(beyond.signal, SIGBUS) << beyond.describe();
  EXPECT_NE(beyond.describe().find("SIGBUS"), std::string::npos);
  EXPECT_TRUE(probe_load(map.data()).ok());  // inside the new EOF: still fine
  ProbeResult store = probe_store(map.data() + 2 * page, 1);
  EXPECT_EQ(store.signal, SIGBUS);
}

TEST(FaultProbe, WordLoadReadsTheWholeWordOrSigbus) {
  const auto page = page_size();
  Fd fd = temp_file(2 * page);
  const std::uint32_t stored = 0x12345678;
  ASSERT_EQ(::pwrite(fd.get(), &stored, sizeof stored, static_cast<off_t>(page)), 4);
  Mapping map(fd.get(), 2 * page, PROT_READ, MAP_SHARED);
  std::uint32_t value = 0;
  ProbeResult inside = probe_load_word(reinterpret_cast<const std::uint32_t*>(map.data() + page), value);
  EXPECT_TRUE(inside.ok()) << inside.describe();
  EXPECT_EQ(value, stored);
  ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(page)), 0);
  value = 1;
  ProbeResult beyond = probe_load_word(reinterpret_cast<const std::uint32_t*>(map.data() + page), value);
  EXPECT_EQ(beyond.signal, SIGBUS) << beyond.describe();
  EXPECT_EQ(value, 0u) << "a load that faulted left a value behind";
}

TEST(FaultProbe, AccessToProtectedPageGivesSigsegv) {
  Mapping map(-1, page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
  ProbeResult r = probe_load(map.data());
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_NE(r.describe().find("SEGV_ACCERR"), std::string::npos) << r.describe();
}

TEST(FaultProbe, RepeatedProbesKeepWorking) {
  Mapping map(-1, page_size(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(probe_store(map.data(), 1).signal, SIGSEGV);
  EXPECT_TRUE(probe_load(map.data()).ok());
}

TEST(Child, ClassifiesExitCode) {
  auto r = run_child({"/bin/sh", "-c", "exit 3"});
  EXPECT_TRUE(r.exited_with(3)) << r.describe();
  EXPECT_EQ(r.describe(), "exit 3");
}

TEST(Child, ClassifiesSignal) {
  auto r = run_child({"/bin/sh", "-c", "kill -BUS $$"});
  EXPECT_TRUE(r.killed_by(SIGBUS)) << r.describe();
  EXPECT_EQ(r.describe(), "killed by SIGBUS");
}

TEST(Child, CapturesOutput) {
  ChildOptions options;
  options.capture_stdout = true;
  options.extra_env = {"DMMAP_PROBE_TEST=hello"};
  auto r = run_child({"/bin/sh", "-c", "echo $DMMAP_PROBE_TEST"}, options);
  EXPECT_TRUE(r.exited_with(0));
  EXPECT_EQ(r.output, "hello\n");
}

TEST(Child, KillsAtTimeout) {
  ChildOptions options;
  options.timeout = std::chrono::milliseconds(200);
  auto r = run_child({"/bin/sleep", "10"}, options);
  EXPECT_EQ(r.kind, ChildOutcome::Kind::timed_out) << r.describe();
}

TEST(Child, ReportsSpawnFailure) {
  auto r = run_child({"/nonexistent/dmmap-binary"});
  EXPECT_EQ(r.kind, ChildOutcome::Kind::spawn_failed);
  EXPECT_EQ(r.code, ENOENT) << r.describe();
}

TEST(AsyncChild, ForkedBodyExitsWithItsValue) {
  AsyncChild child = AsyncChild::fork([] { return 7; });
  const ChildOutcome& end = child.wait();
  EXPECT_TRUE(end.exited_with(7)) << end.describe();
}

TEST(AsyncChild, ForkedBodySeesThisAddressSpaceAndCanCapture) {
  const std::string text = "from the copy of the parent\n";
  ChildOptions options;
  options.capture_stdout = true;
  AsyncChild child = AsyncChild::fork(
      [&] { return ::write(STDOUT_FILENO, text.data(), text.size()) == static_cast<ssize_t>(text.size()) ? 0 : 1; },
      options);
  const ChildOutcome& end = child.wait();
  EXPECT_TRUE(end.exited_with(0)) << end.describe();
  EXPECT_EQ(end.output, text);
}

TEST(AsyncChild, WaitForDoesNotKillAndKillEndsIt) {
  AsyncChild child = AsyncChild::spawn({"/bin/sleep", "10"});
  EXPECT_FALSE(child.wait_for(std::chrono::milliseconds(100)));
  EXPECT_FALSE(child.ended());
  child.kill();
  EXPECT_TRUE(child.ended());
  EXPECT_TRUE(child.outcome().killed_by(SIGKILL)) << child.outcome().describe();
}

TEST(AsyncChild, EndIsSeenPromptly) {
  AsyncChild child = AsyncChild::spawn({"/bin/sleep", "0.2"});
  ASSERT_TRUE(child.wait_for(std::chrono::seconds(10)));
  EXPECT_GE(child.took().count(), 200);
  EXPECT_LT(child.took().count(), 2000) << "the end of a child was noticed late";
}

TEST(AsyncChild, DestroyingARunningChildKillsIt) {
  pid_t pid = 0;
  {
    ChildOptions options;
    options.capture_stdout = true;
    AsyncChild child = AsyncChild::spawn({"/bin/sh", "-c", "echo $$; exec sleep 10"}, options);
    while (child.outcome().output.find('\n') == std::string::npos) child.wait_for(std::chrono::milliseconds(10));
    pid = std::stoi(child.outcome().output);
  }
  EXPECT_NE(::kill(pid, 0), 0) << "the child outlived its owner";
}

TEST(AsyncChild, StoppedChildRunsNothingUntilResumed) {
  ChildOptions options;
  options.capture_stdout = true;
  // The shell's own `echo` runs only once the shell is resumed; its sleep
  // (another process) ends meanwhile.
  AsyncChild child = AsyncChild::spawn({"/bin/sh", "-c", "sleep 0.2; echo after"}, options);
  ASSERT_TRUE(child.stop(std::chrono::seconds(5)));
  EXPECT_FALSE(child.wait_for(std::chrono::milliseconds(600))) << "a stopped child ended";
  EXPECT_EQ(child.outcome().output, "");
  child.resume();
  ASSERT_TRUE(child.wait_for(std::chrono::seconds(10)));
  EXPECT_TRUE(child.outcome().exited_with(0)) << child.outcome().describe();
  EXPECT_EQ(child.outcome().output, "after\n");
  EXPECT_FALSE(child.stop(std::chrono::seconds(1))) << "an ended child cannot stop";
}

TEST(AsyncChild, MovedChildIsOwnedOnce) {
  AsyncChild a = AsyncChild::spawn({"/bin/sh", "-c", "exit 4"});
  AsyncChild b = std::move(a);
  EXPECT_TRUE(a.ended());
  EXPECT_TRUE(b.wait().exited_with(4));
}

TEST(Files, PreadUpToStopsAtTheEndPreadExactRefusesIt) {
  Fd fd = temp_file(100);
  EXPECT_EQ(pread_up_to(fd.get(), 4096, 0).size(), 100u);
  EXPECT_EQ(pread_exact(fd.get(), 100, 0).size(), 100u);
  try {
    pread_exact(fd.get(), 101, 0);
    ADD_FAILURE() << "a short read was not refused";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EIO);
    EXPECT_NE(std::string(e.what()).find("100 of 101 bytes"), std::string::npos) << e.what();
  }
}
