// The shared store behind every mount: the backing directory, one node per
// backing inode (the same FUSE node id in every mount), each client's
// unpublished writes, open handles, exec registrations and cluster locks.
// Every method takes the store's mutex; none talks to a kernel (the caller
// delivers the returned Change through the Notifier, without the mutex).
#pragma once

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dials.hpp"
#include "dmmap/fd.hpp"
#include "locks.hpp"
#include "pending.hpp"
#include "twins.hpp"

namespace dialfs {

// An errno for the FUSE reply.
struct Errno {
  int code;
};

struct Node {
  fuse_ino_t id = 0;
  dev_t dev = 0;
  ino_t ino = 0;
  bool regular = false;
  dmmap::Fd path;                      // O_PATH: names the backing inode, also once unlinked
  dmmap::Fd data;                      // read-write descriptor, opened at the first data access
  std::vector<std::uint64_t> lookups;  // per mount: references its kernel holds
  std::vector<Pending> pending;        // per mount: written, not yet published
  std::vector<Twins> twins;            // per mount, with --merge bytes: its kernel's clean pages
};

struct Handle {
  std::shared_ptr<Node> node;
  int mount = 0;
  bool writer = false;   // opened for writing
  bool exec = false;     // opened by execve()
  bool flushed = false;  // a close(2) was seen (other descriptors or mappings may remain)
  pid_t pid = 0;         // the opener
};

// A change to a file in the shared store that the caches of `mounts` (the
// other clients that know the file) have not seen.
struct Change {
  fuse_ino_t ino = 0;
  std::vector<int> mounts;
  bool grew = false;  // the store's size grew: kernels take a size only from a reply or a store
  explicit operator bool() const { return ino != 0 && !mounts.empty(); }
};

struct Entry {
  fuse_ino_t ino;
  struct stat attr;
};

class Store {
 public:
  Store(const std::filesystem::path& root, int mounts, const Dials& dials);

  // Names. `parent` and the returned node are referenced by mount `m`'s kernel.
  Entry lookup(int m, fuse_ino_t parent, const char* name);
  void forget(int m, fuse_ino_t ino, std::uint64_t count);
  // The backing O_PATH descriptor of a node the kernel references.
  int path_fd(fuse_ino_t ino);

  // Attributes as client `m` sees them: its unpublished writes included,
  // timestamps cut to the time granularity.
  struct stat attr(int m, fuse_ino_t ino);
  // Truncation reaches the store at once (also under --publish close).
  Change truncate(int m, fuse_ino_t ino, off_t size);
  // fallocate(2) reaches the store at once, as truncation does; a punched or
  // zeroed range supersedes client `m`'s pending bytes there.
  Change allocate(int m, fuse_ino_t ino, int mode, off_t offset, off_t length);
  // The other mounts that know the file (an attribute changed in the store).
  Change touched(int m, fuse_ino_t ino);

  // Opens and handles (fi->fh is the handle's id).
  std::uint64_t open(int m, fuse_ino_t ino, int flags, pid_t pid);
  // A close(2) of a descriptor of the handle (FLUSH).
  void flushed(std::uint64_t handle);
  // Publishes what the client wrote, ends the handle's registrations.
  Change release(std::uint64_t handle);
  std::shared_ptr<Handle> handle(std::uint64_t id);

  // Data as client `m` sees it.
  std::string read(int m, fuse_ino_t ino, off_t offset, std::size_t size);
  // `writeback`: the kernel writing back its page cache (FUSE_WRITE_CACHE), not a write(2).
  Change write(int m, fuse_ino_t ino, off_t offset, const char* data, std::size_t size, bool writeback);
  // Client `m`'s unpublished writes to the file reach the store.
  Change publish(int m, fuse_ino_t ino);
  // The size client `m` sees and its last byte, for pushing a grown size to
  // its kernel; nullopt for an empty or unknown file.
  std::optional<std::pair<off_t, char>> last_byte(int m, fuse_ino_t ino);

  // Cluster locks (--locks cluster, --flock cluster). `flock` selects the
  // flock(2) table. set_lock waits while `sleep` and a conflict lasts, until
  // interrupted() (checked whenever wake() is called); returns an errno or 0.
  std::optional<LockRange> conflicting_lock(bool flock, fuse_ino_t ino, const LockRange& want);
  int set_lock(bool flock, fuse_ino_t ino, const LockRange& want, bool sleep, const std::function<bool()>& interrupted);
  bool release_locks(bool flock, fuse_ino_t ino, const LockOwner& owner);
  void wake();

  // Mount `m` is gone (unmounted, its connection ended): its handles and
  // locks end, its writes are published. The Change lists the other mounts.
  std::vector<Change> mount_gone(int m);
  // Every client's unpublished writes reach the store (shutdown).
  void publish_all();
  // Other mounts that know the file (have a lookup on it).
  std::vector<int> others(const Node& node, int m) const;

 private:
  std::shared_ptr<Node> node_locked(fuse_ino_t ino) const;
  std::shared_ptr<Node> new_node(dev_t dev, ino_t ino) const;
  int data_fd(Node& node);
  struct stat attr_locked(int m, Node& node);
  Change publish_locked(int m, Node& node);
  // ETXTBSY across mounts: waits (up to the release-wait dial) for conflicting handles whose
  // release the kernel has queued; throws Errno{ETXTBSY} if any remains.
  void wait_out_conflicts(std::unique_lock<std::mutex>& lock, int m, const Node& node, bool exec_open);
  bool conflicts(int m, const Node& node, bool exec_open, bool* open_for_sure) const;

  const Dials dials_;
  const int mounts_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a handle was released, a lock released, a request interrupted
  std::unordered_map<fuse_ino_t, std::shared_ptr<Node>> nodes_;
  std::map<std::pair<dev_t, ino_t>, std::shared_ptr<Node>> by_inode_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Handle>> handles_;
  LockTable posix_, flock_;
  fuse_ino_t next_ino_ = FUSE_ROOT_ID + 1;
  std::uint64_t next_handle_ = 1;
};

}  // namespace dialfs
