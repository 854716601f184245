// dmfsd's backing store: files of the dmfs namespace live as ordinary files
// under --root. File ids are backing inode numbers; a table id -> (parent,
// name) gives paths (rebuilt by a bounded scan after a restart). Data
// versions are kept in the xattr user.dmfs.dv (see docs/dmfsd.md).
#pragma once
#include <sys/stat.h>

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capacity.hpp"
#include "dmfs_proto.h"

namespace dmfs {

struct DirEntry {
  uint64_t id;
  std::string name;
  uint8_t type;  // DT_*
};

class BackingStore {
 public:
  // Opens (creating if needed) the root and dmfsd's private state directory
  // ROOT/.dmfsd. Throws std::runtime_error on failure.
  explicit BackingStore(const std::string& root, bool fault_no_dv_bump = false);
  ~BackingStore();

  uint64_t root_id() const { return root_id_; }
  uint64_t epoch() const { return epoch_; }
  bool previous_shutdown_clean() const { return prev_clean_; }
  // The limit of --capacity and the admin command `capacity`.
  Capacity& capacity() { return capacity_; }

  int statfs(dmfs_statfs_rep& out);
  int getattr(uint64_t id, dmfs_attr& out);
  int lookup(uint64_t parent, std::string_view name, dmfs_attr& out);
  int setattr(const dmfs_setattr_req& r, dmfs_attr& out);
  int create(uint64_t parent, std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid, bool excl, bool dir,
             dmfs_attr& out);
  int unlink(uint64_t parent, std::string_view name, bool dir);
  int rename(uint64_t oldp, std::string_view oldn, uint64_t newp, std::string_view newn, bool noreplace);
  // Entries after `cookie` (cookie = 1-based index in name order).
  int readdir(uint64_t dir, uint64_t cookie, size_t max_bytes, std::vector<DirEntry>& out, uint64_t& first_cookie,
              bool& eof);
  // Reads up to len bytes at off into buf; *count = bytes read.
  int read(uint64_t id, uint64_t off, uint32_t len, uint8_t* buf, uint32_t& count, uint64_t& size, uint64_t& dv);
  int write(uint64_t id, uint64_t off, const uint8_t* data, uint32_t len, bool sync, uint64_t& size, uint64_t& dv);
  int truncate(uint64_t id, uint64_t size);
  int fsync(uint64_t id, bool datasync);

  // Keeps the file's descriptor open (an unlinked file stays usable) while
  // pinned; used for client opens.
  void pin(uint64_t id);
  void unpin(uint64_t id);

  // Makes everything durable and marks a clean shutdown.
  void shutdown();

 private:
  struct Node {
    uint64_t parent;
    std::string name;
  };
  struct Fd {
    int fd;
    int pins;
    std::list<uint64_t>::iterator lru;
  };

  int path_of(uint64_t id, std::string& out, bool allow_scan = true);
  int child_path(uint64_t parent, std::string_view name, std::string& out);
  bool hidden(uint64_t parent, std::string_view name) const;
  int stat_id(uint64_t id, struct stat& st, std::string* path = nullptr);
  int get_fd(uint64_t id, int& fd);
  void drop_fd(uint64_t id);
  void fill_attr(uint64_t id, const struct stat& st, dmfs_attr& out, int fd);
  uint64_t data_version(uint64_t id, int fd);
  void bump(uint64_t id, int fd);
  void persist_dv(int fd, uint64_t v);
  void scan();
  void remember(uint64_t id, uint64_t parent, std::string_view name);

  int root_fd_ = -1;
  int state_fd_ = -1;
  uint64_t root_id_ = 0;
  dev_t root_dev_ = 0;
  uint64_t state_id_ = 0;
  uint64_t epoch_ = 0;
  bool prev_clean_ = true;
  bool xattr_ok_ = true;
  bool scanned_ = false;
  bool fault_no_dv_bump_ = false;
  Capacity capacity_;
  std::unordered_map<uint64_t, Node> nodes_;
  std::unordered_map<uint64_t, uint64_t> dv_;
  std::unordered_map<uint64_t, Fd> fds_;
  std::list<uint64_t> fd_lru_;
  static constexpr size_t kMaxCachedFds = 256;
  static constexpr size_t kMaxScan = 1'000'000;
};

}  // namespace dmfs
