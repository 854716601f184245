// Target profiles: every shipped one parses and is chosen for its mount
// types; a bad profile is refused naming its line; the waits follow the
// declared and measured values, never a constant of their own.
#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

#include "dmmap/options.hpp"
#include "profile.hpp"
#include "run_profile.hpp"

namespace dmmap::conform {
namespace {

using namespace std::chrono_literals;

TEST(Profile, EveryShippedProfileParsesAndDeclaresItsSources) {
  const auto names = shipped_profile_names();
  for (const char* name : {"local", "nfs", "dmfs", "lustre", "gpfs", "cephfs", "ocfs2", "beegfs"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  for (const auto& name : names) {
    const Profile p = load_profile(name);
    EXPECT_FALSE(p.describes.empty()) << name;
    for (const auto& [key, value] : p.values) EXPECT_FALSE(value.source.empty()) << name << " " << key;
  }
}

TEST(Profile, AutoChoosesByFilesystemType) {
  EXPECT_EQ(profile_for_fs_type("nfs4").name, "nfs");
  EXPECT_EQ(profile_for_fs_type("lustre").name, "lustre");
  EXPECT_EQ(profile_for_fs_type("ceph").name, "cephfs");
  EXPECT_EQ(profile_for_fs_type("ext4").name, "local");
  const Profile other = profile_for_fs_type("fuse.dmmap-dialfs");
  EXPECT_EQ(other.name, "unknown");
  EXPECT_FALSE(other.eviction_timeout);
  EXPECT_NE(other.chosen_by.find("fuse.dmmap-dialfs"), std::string::npos);
}

TEST(Profile, DeclaredValuesAreTyped) {
  EXPECT_EQ(load_profile("lustre").eviction_timeout, 100s);
  EXPECT_EQ(load_profile("lustre").timestamp_granularity, 1s);
  EXPECT_EQ(load_profile("local").eviction_timeout, 0ms);
  EXPECT_FALSE(load_profile("beegfs").eviction_timeout);
}

void expect_refused(const std::string& text, const std::string& words) {
  try {
    parse_profile(text, "mine");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(Profile, BadProfilesAreRefusedNamingTheProblem) {
  const std::string ok = "eviction-timeout 45s x\ntimestamp-granularity 1s y\n";
  EXPECT_EQ(parse_profile(ok, "mine").eviction_timeout, 45s);
  expect_refused(ok + "lease 3s\n", "mine:3: unknown key 'lease'");
  expect_refused(ok + "eviction-timeout 5s\n", "mine:3: 'eviction-timeout' given twice");
  expect_refused("eviction-timeout soon\n", "mine:1: 'soon' is not a duration");
  expect_refused("eviction-timeout 1s\ntimestamp-granularity 1\n", "mine:2: '1' is not a duration");
  expect_refused("eviction-timeout 1s\n", "'timestamp-granularity' is missing");
  expect_refused(ok + "flock maybe\n", "flock takes cluster, local, none, unknown, not 'maybe'");
  EXPECT_THROW(load_profile("no-such-profile"), std::runtime_error);
  EXPECT_THROW(load_profile("/no/such/file.profile"), std::runtime_error);
}

TEST(Profile, TheOptionWinsOverTheEnvironment) {
  ::unsetenv("DMMAP_PROFILE");
  EXPECT_FALSE(requested_profile(""));
  EXPECT_FALSE(requested_profile("auto"));
  ::setenv("DMMAP_PROFILE", "nfs", 1);
  EXPECT_EQ(requested_profile("")->chosen_by, "DMMAP_PROFILE=nfs");
  EXPECT_EQ(requested_profile("lustre")->name, "lustre");
  ::setenv("DMMAP_PROFILE", "nosuch", 1);
  EXPECT_THROW(requested_profile(""), UsageError);
  ::unsetenv("DMMAP_PROFILE");
}

TEST(RunProfile, WaitsComeFromTheMeasurementOrTheDeclaration) {
  RunProfile run;
  run.declared = parse_profile("eviction-timeout 45s\ntimestamp-granularity 2s\n", "mine");
  run.step_timeout = 60s;
  EXPECT_EQ(run.timestamp_wait(), 4s) << "nothing measured: twice the declared bound";
  run.granularity.granularity = 10ms;
  EXPECT_EQ(run.timestamp_wait(), 20ms);
  EXPECT_EQ(run.eviction_wait(), 75s);
  EXPECT_EQ(run.sync_timeout(), 105s);
  run.declared = parse_profile("eviction-timeout unknown\ntimestamp-granularity 1s\n", "mine");
  EXPECT_FALSE(run.eviction_wait());
  EXPECT_EQ(run.sync_timeout(), 60s);
}

}  // namespace
}  // namespace dmmap::conform
