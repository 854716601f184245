// The INI configuration: every error names its line, defaults fill the
// resolved text, --list-options lists every key.
#include <gtest/gtest.h>

#include "config.hpp"

using namespace dmmap;
using namespace dmmap::certify;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "c.ini");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CertifyConfig, ResolvesDefaultsAndGivenValues) {
  const Config c = parse_config("[global]\ndir = /tmp\nexpect = msync\n[bench]\nmin_time = 0.01\n", "c.ini");
  EXPECT_EQ(c.dir, "/tmp");
  EXPECT_EQ(c.expect, conform::Level::msync);
  EXPECT_FALSE(c.allow_control_run);
  EXPECT_EQ(c.min_time, "0.01");
  EXPECT_NE(c.resolved.find("expect = msync\n"), std::string::npos);
  EXPECT_NE(c.resolved.find("allow_control_run = false\n"), std::string::npos);
  EXPECT_NE(c.resolved.find("[bench]\n"), std::string::npos);
  // The resolved text is itself a configuration that gives the same values.
  EXPECT_EQ(parse_config(c.resolved, "resolved").resolved, c.resolved);
}

TEST(CertifyConfig, BenchKeysGoThroughDmmapBenchsParser) {
  const Config c = parse_config("[global]\ndirs = /a,/b\n[bench]\npages = 8,16\nsizes = 64K\n", "c.ini");
  EXPECT_EQ(c.bench.settings.pages, (std::vector<std::size_t>{8, 16}));
  EXPECT_EQ(c.bench.settings.sizes, (std::vector<std::size_t>{64 * 1024}));
}

TEST(CertifyConfig, ErrorsNameTheLine) {
  EXPECT_EQ(error_of("[global]\ndir = /tmp\nbogus = 1\n"),
            "c.ini:3: unknown key 'bogus' in [global] (dmmap-certify --list-options lists them)");
  EXPECT_EQ(error_of("[global]\ndir = /tmp\n\n[conform]\nops = many\n").substr(0, 20), "c.ini:5: [conform] o");
  EXPECT_EQ(error_of("[global]\ndir = /tmp\nallow_control_run = perhaps\n"),
            "c.ini:3: [global] allow_control_run: allow_control_run takes true or false, not 'perhaps'");
  EXPECT_EQ(error_of("[global]\ndir = /tmp\nexpect = none\n").substr(0, 8), "c.ini:3:");
  EXPECT_EQ(error_of("[gobal]\ndir = /tmp\n").substr(0, 30), "c.ini:2: unknown section [goba");
  EXPECT_EQ(error_of("[global]\ndir = /tmp\ndir = /var\n"), "c.ini:3: 'dir' is given twice in [global]");
  EXPECT_EQ(error_of("[global]\ndir /tmp\n"), "c.ini:2: not '[section]' nor 'key = value': 'dir /tmp'");
  EXPECT_EQ(error_of("dir = /tmp\n").substr(0, 30), "c.ini:1: unknown section [] (s");
  EXPECT_EQ(error_of("[bench]\nsizes = 12Q\n[global]\ndir=/tmp\n").substr(0, 25), "c.ini:2: [bench] sizes: s");
  EXPECT_EQ(error_of("[bench]\nmin_time = -1\n[global]\ndir=/tmp\n").substr(0, 28), "c.ini:2: [bench] min_time: m");
}

TEST(CertifyConfig, NeedsExactlyOneTarget) {
  EXPECT_EQ(error_of("[global]\nexpect = strict\n"), "c.ini: [global] needs exactly one of dir and dirs");
  EXPECT_EQ(error_of("[global]\ndir = /a\ndirs = /a,/b\n"), "c.ini: [global] needs exactly one of dir and dirs");
}

TEST(CertifyConfig, LongLinesAreReadWhole) {
  const std::string dirs = "/x" + std::string(500, 'y');
  EXPECT_EQ(parse_config("[global]\ndir = " + dirs + "\n", "c.ini").dir, dirs);
}

TEST(CertifyConfig, ListOptionsHasTheIssuesKeys) {
  const std::string list = list_options();
  for (const char* key : {"dir ", "dirs ", "profile ", "hook ", "expect ", "resultdir ", "allow_control_run ",
                          "filter ", "known_failures ", "min_time "})
    EXPECT_NE(list.find(std::string("\n") + key), std::string::npos) << key;
  for (const char* section : {"[global]", "[conform]", "[bench]"}) EXPECT_NE(list.find(section), std::string::npos);
}

}  // namespace
