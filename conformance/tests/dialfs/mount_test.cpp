// dmmap-dialfs mounted: each dial does what docs/dialfs.md says, both ways
// (the setting that shows a behaviour, and one that does not). Two mounts
// of one daemon are two clients; one process plays both, through two paths.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "daemon_fixture.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

extern char** environ;

namespace dialfs::test {
namespace {

namespace fs = std::filesystem;
using dmmap::Fd;
using dmmap::Mapping;

constexpr long kFuseSuperMagic = 0x65735546;

std::string get(int fd, std::size_t size, off_t offset = 0) {
  const auto bytes = dmmap::pread_up_to(fd, size, offset);
  return {bytes.begin(), bytes.end()};
}
void put(int fd, const std::string& data, off_t offset = 0) {
  dmmap::pwrite_exact(fd, data.data(), data.size(), offset);
}
std::string fresh(const fs::path& path, std::size_t size = 4) {
  Fd fd = dmmap::open_file(path, O_RDONLY);
  return get(fd.get(), size);
}
std::string mapped(const Mapping& map, std::size_t size = 4) {
  return {reinterpret_cast<const char*>(map.data()), size};
}
void create(const fs::path& path, const std::string& data) {
  Fd fd = dmmap::open_file(path, O_RDWR | O_CREAT | O_TRUNC);
  put(fd.get(), data);
}
int errno_of(int rc) { return rc < 0 ? errno : 0; }

class Dialfs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = cannot_mount(); !why.empty()) GTEST_SKIP() << why;
  }
  RunningDialfs& start(const std::vector<std::string>& dials) {
    fs_.emplace(dials);
    return *fs_;
  }
  void TearDown() override {
    if (!fs_) return;
    EXPECT_EQ(fs_->stop(), 0) << "dmmap-dialfs did not exit 0 on SIGTERM";
    EXPECT_FALSE(fs_->mounted()) << "a mount was left behind";
  }
  std::optional<RunningDialfs> fs_;
};

TEST_F(Dialfs, TwoMountsAreTwoPageCachesOfOneStore) {
  auto& d = start({});
  struct statfs sfs {};
  ASSERT_EQ(::statfs(d.mount(0).c_str(), &sfs), 0);
  EXPECT_EQ(sfs.f_type, kFuseSuperMagic);
  create(d.file(0, "f"), "one.");
  EXPECT_EQ(fresh(d.store() / "f"), "one.") << "not in the backing store";
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDONLY);
  EXPECT_EQ(get(b.get(), 4), "one.");  // cached by client 1
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  put(a.get(), "two.");  // --publish write: in the store at once
  EXPECT_EQ(fresh(d.store() / "f"), "two.");
  EXPECT_EQ(get(b.get(), 4), "one.") << "--notify off, yet client 1's cached page changed";
  EXPECT_EQ(fresh(d.file(1, "f")), "two.") << "--on-open refresh: a new open must read the store";
}

TEST_F(Dialfs, PublishWriteWithNotifyReachesCachedReadersAtOnceButMappedStoresAtMsync) {
  auto& d = start({"--notify", "on"});
  create(d.file(0, "f"), "one.");
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDONLY);
  Mapping b_map(b.get(), 4, PROT_READ, MAP_SHARED);
  EXPECT_EQ(mapped(b_map), "one.");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  put(a.get(), "two.");
  EXPECT_EQ(mapped(b_map), "two.") << "a write(2) did not reach the other client's mapping at once";
  Mapping a_map(a.get(), 4, PROT_READ | PROT_WRITE, MAP_SHARED);
  std::memcpy(a_map.data(), "3333", 4);
  EXPECT_EQ(get(b.get(), 4), "two.") << "a mapped store reached the other client before msync";
  a_map.sync();
  EXPECT_EQ(get(b.get(), 4), "3333") << "msync did not publish the mapped store";
}

TEST_F(Dialfs, PublishSyncKeepsWritesPrivateUntilFsyncOrMsync) {
  auto& d = start({"--publish", "sync", "--notify", "on"});
  create(d.file(0, "f"), "one.");
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDONLY);
  EXPECT_EQ(get(b.get(), 4), "one.");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  put(a.get(), "two.two.", 2);
  EXPECT_EQ(fresh(d.file(1, "f")), "one.") << "unpublished write seen by another client";
  EXPECT_EQ(fresh(d.store() / "f"), "one.");
  struct stat st {};
  ASSERT_EQ(::fstat(a.get(), &st), 0);
  EXPECT_EQ(st.st_size, 10) << "the writer does not see its own extension";
  EXPECT_EQ(get(a.get(), 10), "ontwo.two.");
  ASSERT_EQ(::fsync(a.get()), 0);
  EXPECT_EQ(get(b.get(), 4), "ontw") << "fsync did not publish and invalidate";
  {
    Mapping a_map(a.get(), 4, PROT_READ | PROT_WRITE, MAP_SHARED);
    std::memcpy(a_map.data(), "MAPS", 4);
  }  // munmap writes the page back to the daemon: still unpublished
  EXPECT_EQ(fresh(d.file(1, "f")), "ontw");
  ASSERT_EQ(::fdatasync(a.get()), 0);
  EXPECT_EQ(get(b.get(), 4), "MAPS");
}

TEST_F(Dialfs, PublishCloseIgnoresFsyncAndPublishesAtClose) {
  auto& d = start({"--publish", "close", "--notify", "on"});
  create(d.file(0, "f"), "one.");
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDONLY);
  EXPECT_EQ(get(b.get(), 4), "one.");
  std::optional<Fd> a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  {
    Mapping a_map(a->get(), 4, PROT_READ | PROT_WRITE, MAP_SHARED);
    std::memcpy(a_map.data(), "two.", 4);
    a_map.sync();
  }
  ASSERT_EQ(::fsync(a->get()), 0);
  EXPECT_EQ(fresh(d.file(1, "f")), "one.") << "fsync/msync published under --publish close";
  a.reset();
  EXPECT_EQ(get(b.get(), 4), "two.") << "close did not publish and invalidate";
}

TEST_F(Dialfs, OnOpenKeepKeepsTheClientsStalePagesUntilItDropsThem) {
  auto& d = start({"--on-open", "keep"});
  create(d.file(0, "f"), "one.");
  EXPECT_EQ(fresh(d.file(1, "f")), "one.");
  create(d.file(0, "f"), "two.");
  EXPECT_EQ(fresh(d.file(1, "f")), "one.") << "--on-open keep, yet a new open read the store";
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDONLY);
  ASSERT_EQ(::posix_fadvise(b.get(), 0, 0, POSIX_FADV_DONTNEED), 0);
  EXPECT_EQ(get(b.get(), 4), "two.") << "the store does not hold the published write";
}

// Another client's extension of a file reaches this client's mapping (whose
// kernel checks the size it knows at every fault) only if the size is pushed.
bool extension_seen_through_mapping(RunningDialfs& d) {
  const std::size_t page = dmmap::page_size();
  create(d.file(0, "f"), std::string(page, 'a'));
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDONLY);
  EXPECT_EQ(get(b.get(), 1), "a");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  EXPECT_EQ(::ftruncate(a.get(), static_cast<off_t>(3 * page)), 0);
  put(a.get(), "c", static_cast<off_t>(2 * page));
  Mapping b_map(b.get(), 3 * page, PROT_READ, MAP_SHARED);
  const dmmap::ProbeResult r = dmmap::probe_load(b_map.data() + 2 * page);
  EXPECT_TRUE(!r.ok() || r.value == 'c') << "page 2 reads " << int(r.value);
  return r.ok();
}

TEST_F(Dialfs, NotifyPushesAGrownSize) { EXPECT_TRUE(extension_seen_through_mapping(start({"--notify", "on"}))); }

TEST_F(Dialfs, WithoutNotifyAnExtensionIsBeyondTheOtherClientsEof) {
  EXPECT_FALSE(extension_seen_through_mapping(start({})));
}

// Two clients store into different bytes of one page and msync: what the store keeps.
std::string false_sharing(RunningDialfs& d) {
  create(d.file(0, "f"), "........");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDWR);
  Mapping a_map(a.get(), 8, PROT_READ | PROT_WRITE, MAP_SHARED);
  Mapping b_map(b.get(), 8, PROT_READ | PROT_WRITE, MAP_SHARED);
  EXPECT_EQ(mapped(b_map, 8), "........");
  std::memcpy(a_map.data(), "AA", 2);
  std::memcpy(b_map.data() + 4, "BB", 2);
  a_map.sync();
  b_map.sync();
  return fresh(d.store() / "f", 8);
}

TEST_F(Dialfs, MergeBytesKeepsAnotherClientsBytesOfThePage) {
  EXPECT_EQ(false_sharing(start({"--merge", "bytes"})), "AA..BB..");
}

TEST_F(Dialfs, MergePageWritesTheWholePageBack) {
  EXPECT_EQ(false_sharing(start({})), "....BB..") << "the second client's whole page should win";
}

TEST_F(Dialfs, TimeGranularityCutsEveryTimestamp) {
  auto& d = start({"--time-granularity", "10ms"});
  for (int i = 0; i < 5; ++i) {
    create(d.file(0, "f" + std::to_string(i)), "x");
    struct stat st {};
    ASSERT_EQ(::stat(d.file(1, "f" + std::to_string(i)).c_str(), &st), 0);
    EXPECT_EQ(st.st_mtim.tv_nsec % 10000000, 0);
    EXPECT_EQ(st.st_ctim.tv_nsec % 10000000, 0);
    EXPECT_EQ(st.st_atim.tv_nsec % 10000000, 0);
  }
}

TEST_F(Dialfs, DefaultTimeGranularityIsTheStores) {
  auto& d = start({});
  bool finer = false;  // one in 10^7 chance per file of a whole 10 ms
  for (int i = 0; i < 5; ++i) {
    create(d.file(0, "f" + std::to_string(i)), "x");
    struct stat st {};
    ASSERT_EQ(::stat(d.file(1, "f" + std::to_string(i)).c_str(), &st), 0);
    finer = finer || st.st_mtim.tv_nsec % 10000000 != 0;
  }
  EXPECT_TRUE(finer);
}

// A copy of /bin/sleep on the filesystem, started through client 0.
class Program {
 public:
  Program(RunningDialfs& d) : path_(d.file(0, "prog")) {
    std::ifstream in("/bin/sleep", std::ios::binary);
    std::ofstream out(path_, std::ios::binary);
    out << in.rdbuf();
    out.close();
    fs::permissions(path_, fs::perms::owner_all);
  }
  ~Program() { stop(); }
  // posix_spawn's error (ETXTBSY when refused), 0 once it runs.
  int start() {
    std::string arg0 = path_.string(), arg1 = "60";
    char* argv[] = {arg0.data(), arg1.data(), nullptr};
    const int rc = ::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv, environ);
    if (rc != 0) pid_ = -1;
    return rc;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  fs::path path_;
  pid_t pid_ = -1;
};

int open_for_writing(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

TEST_F(Dialfs, ClusterEtxtbsyGuardsARunningBinaryOnEveryClient) {
  auto& d = start({"--etxtbsy", "cluster"});
  Program prog(d);
  ASSERT_EQ(prog.start(), 0);
  EXPECT_EQ(open_for_writing(d.file(1, "prog")), ETXTBSY);
  EXPECT_EQ(errno_of(::truncate(d.file(1, "prog").c_str(), 0)), ETXTBSY);
  EXPECT_EQ(open_for_writing(d.file(0, "prog")), ETXTBSY) << "the kernel's own (same client)";
  prog.stop();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(open_for_writing(d.file(1, "prog")), 0) << "the registration outlived the process";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // And a file open for writing on one client cannot be run on another, at once.
  Fd writer = dmmap::open_file(d.file(1, "prog"), O_WRONLY);
  const auto refused = std::chrono::steady_clock::now();
  EXPECT_EQ(prog.start(), ETXTBSY);
  EXPECT_LT(std::chrono::steady_clock::now() - refused, std::chrono::seconds(1)) << "an open writer needs no wait";
  writer = Fd();
  EXPECT_EQ(prog.start(), 0) << "a closed writer still blocks the binary";
}

// A handle whose descriptor is closed but whose shared writable mapping
// still holds the file open for writing: the daemon cannot tell it from one
// whose release is on its way, so it waits the declared --release-wait, no
// longer, and refuses.
TEST_F(Dialfs, ClusterEtxtbsyWaitsTheDeclaredReleaseWait) {
  auto& d = start({"--etxtbsy", "cluster", "--release-wait", "300ms"});
  Program prog(d);
  Fd fd = dmmap::open_file(d.file(1, "prog"), O_RDWR);
  Mapping map(fd.get(), 4096, PROT_READ | PROT_WRITE, MAP_SHARED);
  fd = Fd();  // FLUSH: closed for the daemon, but the mapping writes on
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(prog.start(), ETXTBSY);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(waited, std::chrono::seconds(3)) << "waited longer than the declared release-wait";
  map = Mapping();
  EXPECT_EQ(prog.start(), 0) << "the mapping's release did not end the conflict";
}

TEST_F(Dialfs, LocalEtxtbsyIsEachClientsOwn) {
  auto& d = start({});
  Program prog(d);
  ASSERT_EQ(prog.start(), 0);
  EXPECT_EQ(open_for_writing(d.file(0, "prog")), ETXTBSY);
  EXPECT_EQ(open_for_writing(d.file(1, "prog")), 0);
}

int setlk(int fd, short type, bool wait = false) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 1;
  return errno_of(::fcntl(fd, wait ? F_SETLKW : F_SETLK, &lock));
}

TEST_F(Dialfs, ClusterLocksExcludeAcrossClientsAndCarryTheData) {
  // --publish close --notify off: only the lock can carry the store.
  auto& d = start({"--locks", "cluster", "--publish", "close"});
  create(d.file(0, "f"), "one.");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDWR);
  Mapping a_map(a.get(), 4, PROT_READ | PROT_WRITE, MAP_SHARED);
  Mapping b_map(b.get(), 4, PROT_READ | PROT_WRITE, MAP_SHARED);
  EXPECT_EQ(mapped(b_map), "one.");
  ASSERT_EQ(setlk(a.get(), F_WRLCK), 0);
  EXPECT_EQ(setlk(b.get(), F_WRLCK), EAGAIN);
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_len = 1;
  ASSERT_EQ(::fcntl(b.get(), F_GETLK, &probe), 0);
  EXPECT_EQ(probe.l_type, F_WRLCK);
  EXPECT_EQ(probe.l_pid, ::getpid());
  std::memcpy(a_map.data(), "two.", 4);
  auto waiter = std::async(std::launch::async, [&] { return setlk(b.get(), F_WRLCK, true); });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout) << "F_SETLKW did not wait";
  ASSERT_EQ(setlk(a.get(), F_UNLCK), 0);
  EXPECT_EQ(waiter.get(), 0);
  EXPECT_EQ(mapped(b_map), "two.") << "the lock did not carry the previous holder's store";
}

TEST_F(Dialfs, LocalLocksAreEachClientsOwn) {
  auto& d = start({});
  create(d.file(0, "f"), "one.");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDWR);
  ASSERT_EQ(setlk(a.get(), F_WRLCK), 0);
  EXPECT_EQ(setlk(b.get(), F_WRLCK), 0);
  ASSERT_EQ(::flock(a.get(), LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(errno_of(::flock(b.get(), LOCK_EX | LOCK_NB)), 0);
}

TEST_F(Dialfs, LocksOffRefuseWithEnosys) {
  auto& d = start({"--locks", "off", "--flock", "off"});
  create(d.file(0, "f"), "one.");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  EXPECT_EQ(setlk(a.get(), F_WRLCK), ENOSYS);
  EXPECT_EQ(errno_of(::flock(a.get(), LOCK_EX)), ENOSYS);
}

TEST_F(Dialfs, ClusterFlockExcludesAcrossClients) {
  auto& d = start({"--flock", "cluster"});
  create(d.file(0, "f"), "one.");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  Fd b = dmmap::open_file(d.file(1, "f"), O_RDWR);
  ASSERT_EQ(errno_of(::flock(a.get(), LOCK_EX)), 0);
  EXPECT_EQ(errno_of(::flock(b.get(), LOCK_EX | LOCK_NB)), EWOULDBLOCK);
  EXPECT_EQ(errno_of(::flock(b.get(), LOCK_SH | LOCK_NB)), EWOULDBLOCK);
  ASSERT_EQ(errno_of(::flock(a.get(), LOCK_UN)), 0);
  EXPECT_EQ(errno_of(::flock(b.get(), LOCK_EX | LOCK_NB)), 0);
  a = Fd();
  b = Fd();  // closing the last descriptor releases a flock
  Fd c = dmmap::open_file(d.file(0, "f"), O_RDWR);
  EXPECT_EQ(errno_of(::flock(c.get(), LOCK_EX | LOCK_NB)), 0);
}

TEST_F(Dialfs, AnUnlinkedFileStaysReadableAndItsWritesGoNowhere) {
  auto& d = start({"--publish", "close"});
  create(d.file(0, "f"), "one.");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  put(a.get(), "two.");
  ASSERT_EQ(::unlink(d.file(1, "f").c_str()), 0);
  EXPECT_FALSE(fs::exists(d.store() / "f"));
  EXPECT_EQ(get(a.get(), 4), "two.");
  ASSERT_EQ(::close(a.release()), 0);
}

TEST_F(Dialfs, ShutdownServesOpenFilesUntilClosedAndLosesNoWrite) {
  auto& d = start({"--publish", "close"});
  create(d.file(0, "f"), "one.");
  Fd a = dmmap::open_file(d.file(0, "f"), O_RDWR);
  put(a.get(), "late");
  ASSERT_EQ(::kill(d.pid(), SIGTERM), 0);
  EXPECT_EQ(d.wait_exit(1), -1) << "exited while a file was open";
  EXPECT_FALSE(d.mounted()) << "not unmounted (lazily) at SIGTERM";
  EXPECT_EQ(get(a.get(), 4), "late");
  a = Fd();
  EXPECT_EQ(d.wait_exit(20), 0);
  EXPECT_EQ(fresh(d.store() / "f"), "late") << "the pending write was lost at shutdown";
}

TEST_F(Dialfs, UnmountingEveryClientEndsTheDaemon) {
  auto& d = start({});
  ASSERT_EQ(::umount2(d.mount(0).c_str(), 0), 0);
  EXPECT_EQ(d.wait_exit(1), -1) << "exited with a client still mounted";
  ASSERT_EQ(::umount2(d.mount(1).c_str(), 0), 0);
  EXPECT_EQ(d.wait_exit(20), 0);
}

}  // namespace
}  // namespace dialfs::test
