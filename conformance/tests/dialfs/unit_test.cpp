// The daemon's pure parts: a client's pending bytes, the cluster lock table,
// the dial parsers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "dials.hpp"
#include "dmmap/options.hpp"
#include "locks.hpp"
#include "pending.hpp"
#include "twins.hpp"

namespace dialfs {
namespace {

std::string view(const Pending& p, off_t offset, std::size_t size, char base = '.') {
  std::string buffer(size, base);
  p.overlay(offset, buffer.data(), size);
  return buffer;
}

TEST(Pending, LaterWritesWinAndRangesMerge) {
  Pending p;
  EXPECT_TRUE(p.empty());
  p.write(2, "abcd", 4);
  p.write(4, "XYZ", 3);
  p.write(0, "01", 2);  // adjacent: merged into one range
  EXPECT_EQ(view(p, 0, 10), "01abXYZ...");
  EXPECT_EQ(p.end(), 7);
  EXPECT_EQ(view(p, 3, 3), "bXY");
}

TEST(Pending, EraseSplitsAndTruncateDropsTheTail) {
  Pending p;
  p.write(0, "0123456789", 10);
  p.erase(3, 4);
  EXPECT_EQ(view(p, 0, 10), "012....789");
  EXPECT_EQ(p.end(), 10);
  p.truncate(8);
  EXPECT_EQ(view(p, 0, 10), "012....7..");
  EXPECT_EQ(p.end(), 8);
  p.truncate(2);
  EXPECT_EQ(view(p, 0, 4), "01..");
  p.truncate(0);
  EXPECT_TRUE(p.empty());
}

TEST(Pending, PublishWritesEveryRangeAndForgetsThem) {
  char path[] = "/tmp/dialfs-unit-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  ASSERT_EQ(::pwrite(fd, "..........", 10, 0), 10);
  Pending p;
  p.write(1, "ab", 2);
  p.write(6, "cd", 2);
  p.write(12, "e", 1);  // beyond the end: the file grows, the gap reads as zeros
  p.publish_to(fd);
  EXPECT_TRUE(p.empty());
  char bytes[13] = {};
  ASSERT_EQ(::pread(fd, bytes, sizeof bytes, 0), 13);
  EXPECT_EQ(std::string(bytes, 13), std::string(".ab...cd..\0\0e", 13));
  ::close(fd);
}

// (offset, bytes) runs a write-back passed on.
std::string runs_of(Twins& t, off_t offset, const std::string& data) {
  std::string out;
  t.written_back(offset, data.data(), data.size(), [&](off_t at, const char* bytes, std::size_t n) {
    out += std::to_string(at) + ":" + std::string(bytes, n) + " ";
  });
  return out;
}

TEST(Twins, AWriteBackCarriesOnlyTheBytesChangedSinceTheRead) {
  Twins t(8);
  t.read(0, 16, "abcdefghijkl", 12);  // a short read: the rest of page 1 is zeros
  EXPECT_EQ(runs_of(t, 0, "aXcdeYYh"), "1:X 5:YY ");
  EXPECT_EQ(runs_of(t, 0, "aXcdeYYh"), "") << "the twin did not follow the write-back";
  EXPECT_EQ(runs_of(t, 8, std::string("ijkl\0\0\0Z", 8)), "15:Z ");
  EXPECT_EQ(runs_of(t, 16, "newpage!"), "16:newpage! ") << "no twin: every byte";
}

TEST(Twins, WritesAndTruncationsKeepTheTwinsAsTheKernelHasThem) {
  Twins t(8);
  t.read(0, 8, "abcdefgh", 8);
  t.wrote(2, "XY", 2);        // into a cached page
  t.wrote(8, "12345678", 8);  // a whole page: the kernel has it now
  t.wrote(20, "zz", 2);       // part of an uncached page: read again later
  EXPECT_EQ(runs_of(t, 0, "abXYefgh"), "");
  EXPECT_EQ(runs_of(t, 8, "12345678"), "");
  EXPECT_EQ(runs_of(t, 16, "....zz.."), "16:....zz.. ");
  t.truncate(11);
  EXPECT_EQ(runs_of(t, 8, std::string("123\0\0\0\0\0", 8)), "");
  EXPECT_EQ(runs_of(t, 16, "x"), "16:x ");
  t.read(3, 8, "unaligned", 8);  // not a page-cache read: ignored
  EXPECT_EQ(runs_of(t, 0, "abXYefgh"), "");
}

LockRange range(int mount, std::uint64_t owner, off_t start, off_t end, int type) {
  LockRange r;
  r.start = start;
  r.end = end;
  r.type = type;
  r.owner = {mount, owner};
  return r;
}

TEST(LockTable, ReadersShareWritersExclude) {
  LockTable t;
  t.apply(7, range(0, 1, 0, 99, F_RDLCK));
  EXPECT_FALSE(t.conflict(7, range(1, 1, 50, 60, F_RDLCK)));
  EXPECT_TRUE(t.conflict(7, range(1, 1, 50, 60, F_WRLCK)));
  EXPECT_FALSE(t.conflict(7, range(1, 1, 100, 200, F_WRLCK)));  // beyond the range
  EXPECT_FALSE(t.conflict(8, range(1, 1, 0, 10, F_WRLCK)));     // another file
  // The same kernel owner id on another mount is another owner.
  EXPECT_TRUE(t.conflict(7, range(1, 1, 0, 0, F_WRLCK)));
  EXPECT_FALSE(t.conflict(7, range(0, 1, 0, 0, F_WRLCK)));  // its own lock never conflicts
}

TEST(LockTable, UnlockingPartOfARangeSplitsIt) {
  LockTable t;
  t.apply(7, range(0, 1, 0, LockRange::kToEnd, F_WRLCK));
  t.apply(7, range(0, 1, 10, 19, F_UNLCK));
  EXPECT_FALSE(t.conflict(7, range(1, 2, 10, 19, F_WRLCK)));
  EXPECT_TRUE(t.conflict(7, range(1, 2, 5, 10, F_WRLCK)));
  EXPECT_TRUE(t.conflict(7, range(1, 2, 19, 20, F_WRLCK)));
  EXPECT_TRUE(t.conflict(7, range(1, 2, 1 << 30, 1 << 30, F_RDLCK)));
  EXPECT_TRUE(t.release(7, {0, 1}));
  EXPECT_FALSE(t.conflict(7, range(1, 2, 0, LockRange::kToEnd, F_WRLCK)));
  EXPECT_FALSE(t.release(7, {0, 1}));
}

TEST(LockTable, ANewLockReplacesTheOwnersOverlap) {
  LockTable t;
  t.apply(7, range(0, 1, 0, 99, F_WRLCK));
  t.apply(7, range(0, 1, 0, 49, F_RDLCK));  // downgrade half
  EXPECT_FALSE(t.conflict(7, range(1, 2, 0, 49, F_RDLCK)));
  EXPECT_TRUE(t.conflict(7, range(1, 2, 50, 50, F_RDLCK)));
  t.apply(7, range(1, 3, 200, 300, F_WRLCK));
  t.release_mount(0);
  EXPECT_FALSE(t.conflict(7, range(2, 2, 0, 99, F_WRLCK)));
  EXPECT_TRUE(t.conflict(7, range(2, 2, 250, 250, F_RDLCK)));
}

TEST(Dials, ParsersTakeTheDocumentedValuesAndNameTheRest) {
  EXPECT_EQ(parse_publish("close"), Publish::close);
  EXPECT_EQ(parse_lock_scope("--locks", "cluster"), LockScope::cluster);
  EXPECT_TRUE(parse_on_off("--notify", "on"));
  EXPECT_TRUE(parse_on_open("keep"));
  EXPECT_TRUE(parse_merge("bytes"));
  EXPECT_THROW(parse_merge("words"), dmmap::UsageError);
  EXPECT_EQ(parse_granularity("1s"), 1000000000);
  EXPECT_EQ(parse_granularity("10ms"), 10000000);
  EXPECT_EQ(parse_granularity("1ns"), 1);
  for (const char* bad : {"3ms", "0s", "2s", "10", "1 s", "s", "1h"})
    EXPECT_THROW(parse_granularity(bad), dmmap::UsageError) << bad;
  try {
    parse_publish("sometimes");
    FAIL() << "no error";
  } catch (const dmmap::UsageError& e) {
    EXPECT_STREQ(e.what(), "--publish takes write, sync or close, not 'sometimes'");
  }
  EXPECT_THROW(parse_lock_scope("--flock", "global"), dmmap::UsageError);
  EXPECT_THROW(parse_on_off("--notify", "yes"), dmmap::UsageError);
  Dials d;
  EXPECT_EQ(
      d.describe(),
      "publish=write notify=off on-open=refresh merge=page time-granularity=1ns etxtbsy=local locks=local flock=local");
  d.cluster_etxtbsy = true;
  d.release_wait = std::chrono::milliseconds(300);
  EXPECT_NE(d.describe().find(" etxtbsy=cluster release-wait=300ms "), std::string::npos) << d.describe();
}

}  // namespace
}  // namespace dialfs
