#include "store.hpp"

#include "trace.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

namespace dialfs {

namespace {

// f_flags bit of an open made by execve() (the kernel's __FMODE_EXEC); FUSE
// passes the open's f_flags to the server.
constexpr int kExecOpen = 0x20;

int check(int rc) {
  if (rc < 0) throw Errno{errno};
  return rc;
}

std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

bool later(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

void cut(timespec& t, long granularity_ns) {
  if (granularity_ns >= 1000000000)
    t.tv_nsec = 0;
  else
    t.tv_nsec -= t.tv_nsec % granularity_ns;
}

// False once the process has exited (zombie or reaped).
bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return false;
  const char state = line[paren + 2];
  return state != 'Z' && state != 'X' && state != 'x';
}

struct stat stat_of(int fd) {
  struct stat st {};
  check(::fstatat(fd, "", &st, AT_EMPTY_PATH));
  return st;
}

}  // namespace

Store::Store(const std::filesystem::path& root, int mounts, const Dials& dials) : dials_(dials), mounts_(mounts) {
  dmmap::Fd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), root.string());
  const struct stat st = stat_of(fd.get());
  auto node = new_node(st.st_dev, st.st_ino);
  node->id = FUSE_ROOT_ID;
  node->path = std::move(fd);
  node->lookups.assign(static_cast<std::size_t>(mounts), 1);  // the root is never forgotten
  nodes_[node->id] = node;
  by_inode_[{node->dev, node->ino}] = node;
}

std::shared_ptr<Node> Store::new_node(dev_t dev, ino_t ino) const {
  auto node = std::make_shared<Node>();
  node->dev = dev;
  node->ino = ino;
  node->lookups.assign(static_cast<std::size_t>(mounts_), 0);
  node->pending.resize(static_cast<std::size_t>(mounts_));
  if (dials_.merge_bytes)
    node->twins.assign(static_cast<std::size_t>(mounts_), Twins(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))));
  return node;
}

std::shared_ptr<Node> Store::node_locked(fuse_ino_t ino) const {
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) throw Errno{ESTALE};
  return it->second;
}

int Store::data_fd(Node& node) {
  if (!node.data) {
    node.data.reset(::open(proc_path(node.path.get()).c_str(), O_RDWR | O_CLOEXEC));
    if (!node.data && (errno == EACCES || errno == EROFS || errno == ETXTBSY))
      node.data.reset(::open(proc_path(node.path.get()).c_str(), O_RDONLY | O_CLOEXEC));
    if (!node.data) throw Errno{errno};
  }
  return node.data.get();
}

std::vector<int> Store::others(const Node& node, int m) const {
  std::vector<int> out;
  for (int k = 0; k < mounts_; ++k)
    if (k != m && node.lookups[static_cast<std::size_t>(k)] > 0) out.push_back(k);
  return out;
}

Entry Store::lookup(int m, fuse_ino_t parent, const char* name) {
  std::lock_guard lock(mutex_);
  auto dir = node_locked(parent);
  dmmap::Fd fd(::openat(dir->path.get(), name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw Errno{errno};
  const struct stat st = stat_of(fd.get());
  auto& node = by_inode_[{st.st_dev, st.st_ino}];
  if (!node) {
    node = new_node(st.st_dev, st.st_ino);
    node->id = next_ino_++;
    node->regular = S_ISREG(st.st_mode);
    node->path = std::move(fd);
    nodes_[node->id] = node;
  }
  ++node->lookups[static_cast<std::size_t>(m)];
  return {node->id, attr_locked(m, *node)};
}

void Store::forget(int m, fuse_ino_t ino, std::uint64_t count) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || ino == FUSE_ROOT_ID) return;
  Node& node = *it->second;
  auto& n = node.lookups[static_cast<std::size_t>(m)];
  n -= std::min(n, count);
  if (std::any_of(node.lookups.begin(), node.lookups.end(), [](std::uint64_t k) { return k > 0; })) return;
  // No kernel knows the file any more; whatever is still pending (nothing,
  // normally: the last release published it) reaches the store now.
  for (int k = 0; k < mounts_; ++k) {
    try {
      publish_locked(k, node);
    } catch (const Errno& e) {
      std::fprintf(stderr, "dmmap-dialfs: publishing a forgotten file: %s\n", std::strerror(e.code));
    }
  }
  if (auto b = by_inode_.find({node.dev, node.ino}); b != by_inode_.end() && b->second.get() == &node)
    by_inode_.erase(b);
  nodes_.erase(it);
}

int Store::path_fd(fuse_ino_t ino) {
  std::lock_guard lock(mutex_);
  return node_locked(ino)->path.get();
}

struct stat Store::attr_locked(int m, Node& node) {
  struct stat st = stat_of(node.path.get());
  const Pending& pending = node.pending[static_cast<std::size_t>(m)];
  if (!pending.empty()) {
    st.st_size = std::max(st.st_size, pending.end());
    if (later(pending.written_at(), st.st_mtim)) st.st_mtim = st.st_ctim = pending.written_at();
  }
  cut(st.st_atim, dials_.time_granularity_ns);
  cut(st.st_mtim, dials_.time_granularity_ns);
  cut(st.st_ctim, dials_.time_granularity_ns);
  return st;
}

struct stat Store::attr(int m, fuse_ino_t ino) {
  std::lock_guard lock(mutex_);
  return attr_locked(m, *node_locked(ino));
}

Change Store::truncate(int m, fuse_ino_t ino, off_t size) {
  std::unique_lock lock(mutex_);
  auto node = node_locked(ino);
  if (dials_.cluster_etxtbsy) wait_out_conflicts(lock, m, *node, false);
  const int fd = data_fd(*node);
  const off_t before = stat_of(fd).st_size;
  check(::ftruncate(fd, size));
  node->pending[static_cast<std::size_t>(m)].truncate(size);
  if (dials_.merge_bytes) node->twins[static_cast<std::size_t>(m)].truncate(size);
  return {node->id, others(*node, m), size > before};
}

Change Store::allocate(int m, fuse_ino_t ino, int mode, off_t offset, off_t length) {
  std::lock_guard lock(mutex_);
  auto node = node_locked(ino);
  const int fd = data_fd(*node);
  const off_t before = stat_of(fd).st_size;
  check(::fallocate(fd, mode, offset, length));
  if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
    node->pending[static_cast<std::size_t>(m)].erase(offset, static_cast<std::size_t>(length));
    // The client's kernel zeroes or drops its own cached pages of the range.
    if (dials_.merge_bytes)
      node->twins[static_cast<std::size_t>(m)].wrote(offset, std::string(static_cast<std::size_t>(length), '\0').data(),
                                                     static_cast<std::size_t>(length));
  }
  return {node->id, others(*node, m), stat_of(fd).st_size > before};
}

Change Store::touched(int m, fuse_ino_t ino) {
  std::lock_guard lock(mutex_);
  auto node = node_locked(ino);
  return {node->id, others(*node, m), false};
}

bool Store::conflicts(int m, const Node& node, bool exec_open, bool* open_for_sure) const {
  bool found = false;
  for (const auto& [id, h] : handles_) {
    if (h->node.get() != &node || h->mount == m) continue;
    if (exec_open ? h->writer : h->exec) {
      found = true;
      // A writer nobody closed yet (no FLUSH), a binary whose process runs.
      if (h->exec ? process_alive(h->pid) : !h->flushed) *open_for_sure = true;
    }
  }
  return found;
}

void Store::wait_out_conflicts(std::unique_lock<std::mutex>& lock, int m, const Node& node, bool exec_open) {
  const auto deadline = std::chrono::steady_clock::now() + dials_.release_wait;
  for (;;) {
    bool open = false;
    if (!conflicts(m, node, exec_open, &open)) return;
    // Still open elsewhere for sure: refused at once, as on one node.
    if (open || std::chrono::steady_clock::now() >= deadline) throw Errno{ETXTBSY};
    changed_.wait_until(lock, deadline);
  }
}

std::uint64_t Store::open(int m, fuse_ino_t ino, int flags, pid_t pid) {
  std::unique_lock lock(mutex_);
  auto node = node_locked(ino);
  const bool exec = (flags & kExecOpen) != 0;
  const bool writer = (flags & O_ACCMODE) != O_RDONLY;
  if (dials_.cluster_etxtbsy && (exec || writer)) wait_out_conflicts(lock, m, *node, exec);
  const std::uint64_t id = next_handle_++;
  handles_[id] = std::make_shared<Handle>(Handle{.node = node, .mount = m, .writer = writer, .exec = exec, .pid = pid});
  return id;
}

void Store::flushed(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  if (auto it = handles_.find(id); it != handles_.end()) it->second->flushed = true;
}

std::shared_ptr<Handle> Store::handle(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = handles_.find(id);
  if (it == handles_.end()) throw Errno{EBADF};
  return it->second;
}

Change Store::release(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = handles_.find(id);
  if (it == handles_.end()) return {};
  const std::shared_ptr<Handle> h = it->second;
  handles_.erase(it);
  changed_.notify_all();
  return publish_locked(h->mount, *h->node);
}

std::string Store::read(int m, fuse_ino_t ino, off_t offset, std::size_t size) {
  std::lock_guard lock(mutex_);
  auto node = node_locked(ino);
  const int fd = data_fd(*node);
  const off_t stored = stat_of(fd).st_size;
  const Pending& pending = node->pending[static_cast<std::size_t>(m)];
  const off_t view = std::max(stored, pending.end());
  if (offset >= view) {
    if (dials_.merge_bytes) node->twins[static_cast<std::size_t>(m)].read(offset, size, nullptr, 0);
    return {};
  }
  std::string buffer(std::min<std::size_t>(size, static_cast<std::size_t>(view - offset)), '\0');
  for (std::size_t done = 0; offset + static_cast<off_t>(done) < stored && done < buffer.size();) {
    const ssize_t n = ::pread(fd, buffer.data() + done, buffer.size() - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Errno{errno};
    if (n == 0) break;  // the store is shorter than it was a moment ago: zeros
    done += static_cast<std::size_t>(n);
  }
  pending.overlay(offset, buffer.data(), buffer.size());
  if (dials_.merge_bytes) node->twins[static_cast<std::size_t>(m)].read(offset, size, buffer.data(), buffer.size());
  return buffer;
}

Change Store::write(int m, fuse_ino_t ino, off_t offset, const char* data, std::size_t size, bool writeback) {
  std::lock_guard lock(mutex_);
  auto node = node_locked(ino);
  Pending& pending = node->pending[static_cast<std::size_t>(m)];
  const int fd = data_fd(*node);
  const off_t before = stat_of(fd).st_size;
  if (writeback) {
    // A kernel writes back whole pages up to the size it believes. After
    // another client shrank the file that size can be stale (FUSE cannot
    // lower it remotely): what lies beyond the size this client knows is
    // cut, as Linux discards stores beyond the end of a file.
    const off_t known = std::max(before, pending.end());
    size = offset >= known ? 0 : std::min<std::size_t>(size, static_cast<std::size_t>(known - offset));
  }
  if (writeback && dials_.merge_bytes) {
    node->twins[static_cast<std::size_t>(m)].written_back(
        offset, data, size, [&](off_t at, const char* bytes, std::size_t n) { pending.write(at, bytes, n); });
    return {};
  }
  if (!writeback && dials_.merge_bytes) node->twins[static_cast<std::size_t>(m)].wrote(offset, data, size);
  if (dials_.publish != Publish::write || writeback) {
    pending.write(offset, data, size);
    return {};
  }
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Errno{n < 0 ? errno : EIO};
    done += static_cast<std::size_t>(n);
  }
  pending.erase(offset, size);  // an older pending write must not overwrite this one later
  trace("m{} publish ino {}: write(2) [{}, +{})", m, node->id, offset, size);
  return {node->id, others(*node, m), offset + static_cast<off_t>(size) > before};
}

Change Store::publish_locked(int m, Node& node) {
  Pending& pending = node.pending[static_cast<std::size_t>(m)];
  if (pending.empty()) return {};
  const int fd = data_fd(node);
  const off_t before = stat_of(fd).st_size;
  try {
    pending.publish_to(fd);
  } catch (const std::system_error& e) {
    throw Errno{e.code().value()};
  }
  const off_t after = stat_of(fd).st_size;
  trace("m{} publish ino {}: size {} -> {}", m, node.id, before, after);
  return {node.id, others(node, m), after > before};
}

Change Store::publish(int m, fuse_ino_t ino) {
  std::lock_guard lock(mutex_);
  return publish_locked(m, *node_locked(ino));
}

std::optional<std::pair<off_t, char>> Store::last_byte(int m, fuse_ino_t ino) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || !it->second->regular) return std::nullopt;
  Node& node = *it->second;
  const int fd = data_fd(node);
  const off_t stored = stat_of(fd).st_size;
  const Pending& pending = node.pending[static_cast<std::size_t>(m)];
  const off_t size = std::max(stored, pending.end());
  if (size == 0) return std::nullopt;
  char byte = 0;
  if (size <= stored && ::pread(fd, &byte, 1, size - 1) != 1) byte = 0;
  pending.overlay(size - 1, &byte, 1);
  return std::make_pair(size, byte);
}

std::optional<LockRange> Store::conflicting_lock(bool flock, fuse_ino_t ino, const LockRange& want) {
  std::lock_guard lock(mutex_);
  return (flock ? flock_ : posix_).conflict(ino, want);
}

int Store::set_lock(bool flock, fuse_ino_t ino, const LockRange& want, bool sleep,
                    const std::function<bool()>& interrupted) {
  std::unique_lock lock(mutex_);
  LockTable& table = flock ? flock_ : posix_;
  for (;;) {
    if (!table.conflict(ino, want)) {
      table.apply(ino, want);
      changed_.notify_all();  // an unlock or a downgrade may let a waiter in
      return 0;
    }
    if (!sleep) return EAGAIN;
    if (interrupted()) return EINTR;
    changed_.wait(lock);
  }
}

bool Store::release_locks(bool flock, fuse_ino_t ino, const LockOwner& owner) {
  std::lock_guard lock(mutex_);
  const bool released = (flock ? flock_ : posix_).release(ino, owner);
  if (released) changed_.notify_all();
  return released;
}

void Store::wake() {
  std::lock_guard lock(mutex_);
  changed_.notify_all();
}

std::vector<Change> Store::mount_gone(int m) {
  std::lock_guard lock(mutex_);
  std::vector<Change> changes;
  std::erase_if(handles_, [&](const auto& entry) { return entry.second->mount == m; });
  posix_.release_mount(m);
  flock_.release_mount(m);
  for (auto& [ino, node] : nodes_) {
    try {
      if (Change c = publish_locked(m, *node)) changes.push_back(c);
    } catch (const Errno& e) {
      std::fprintf(stderr, "dmmap-dialfs: publishing mount %d's writes: %s\n", m, std::strerror(e.code));
    }
    if (ino != FUSE_ROOT_ID) node->lookups[static_cast<std::size_t>(m)] = 0;
  }
  changed_.notify_all();
  return changes;
}

void Store::publish_all() {
  std::lock_guard lock(mutex_);
  for (auto& [ino, node] : nodes_)
    for (int m = 0; m < mounts_; ++m) {
      try {
        publish_locked(m, *node);
      } catch (const Errno& e) {
        std::fprintf(stderr, "dmmap-dialfs: publishing at exit: %s\n", std::strerror(e.code));
      }
    }
}

}  // namespace dialfs
