// The Dmfsd test fixture: a fresh backing directory, the real dmfsd binary
// (DmfsdProcess) and clients of reference/client connected to it. Shared by
// the integration tests and the admin-socket tests (one gtest suite, Dmfsd).
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client.hpp"
#include "dmfsd_process.hpp"

#ifndef DMFSD_BIN
#error "DMFSD_BIN must name the dmfsd binary"
#endif

namespace dmfs::test {

class Dmfsd : public ::testing::Test {
 protected:
  std::string root;
  std::unique_ptr<test::DmfsdProcess> srv;

  void SetUp() override {
    char tmpl[] = "/tmp/dmfs-root-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root = tmpl;
  }
  void TearDown() override {
    if (srv && srv->running()) {
      EXPECT_EQ(srv->stop(), 0) << srv->log();
    }
    if (HasFailure() && srv) std::fprintf(stderr, "---- dmfsd log ----\n%s\n", srv->log().c_str());
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  void start(std::vector<std::string> extra = {}) {
    srv = std::make_unique<test::DmfsdProcess>(DMFSD_BIN, root, std::move(extra));
    srv->start();
  }
  ClientOptions opts(const std::string& name = "test") {
    ClientOptions o;
    o.port = srv->port();
    o.name = name;
    o.timeout = std::chrono::seconds(20);
    return o;
  }
  std::unique_ptr<Client> connect(const std::string& name = "test") { return Client::connect(opts(name)); }
  uint64_t make_file(Client& c, const std::string& name, std::string_view content = {}) {
    dmfs_attr a{};
    EXPECT_EQ(c.create(c.root(), name, 0644, a), 0);
    if (!content.empty()) {
      EXPECT_EQ(c.write(a.file_id, 0, content), 0);
    }
    return a.file_id;
  }
};

}  // namespace dmfs::test
