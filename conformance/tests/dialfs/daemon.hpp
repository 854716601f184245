// One daemon, several mounts ("clients") of one backing directory: each mount
// is its own FUSE connection, so its own superblock and page cache.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dials.hpp"
#include "notifier.hpp"
#include "store.hpp"

namespace dialfs {

struct Daemon;

struct Client {
  int index = 0;
  std::filesystem::path mountpoint;
  Daemon* daemon = nullptr;
  fuse_session* se = nullptr;
  std::atomic<bool> live{false};  // mounted and serving
  std::thread loop;
};

struct Daemon {
  Daemon(const std::filesystem::path& store_dir, const Dials& d, int mounts)
      : dials(d), store(store_dir, mounts, d), notifier(store, [this](int m) { return session_of(m); }) {}

  fuse_session* session_of(int m) const {
    const Client& c = *clients[static_cast<std::size_t>(m)];
    return c.live ? c.se : nullptr;
  }

  const Dials dials;
  Store store;
  Notifier notifier;
  std::vector<std::unique_ptr<Client>> clients;
};

// The FUSE low-level operations; each request's userdata is its Client.
const fuse_lowlevel_ops& operations();

}  // namespace dialfs
