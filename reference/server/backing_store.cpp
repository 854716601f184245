#include "backing_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <stdexcept>

#include "log.hpp"

namespace dmfs {

namespace {
constexpr const char* kStateDir = ".dmfsd";
constexpr const char* kDvXattr = "user.dmfs.dv";

int neg(int e) { return e > 0 ? -e : -EIO; }

uint8_t dt_of(mode_t m) {
  if (S_ISREG(m)) return DT_REG;
  if (S_ISDIR(m)) return DT_DIR;
  if (S_ISLNK(m)) return DT_LNK;
  return DT_UNKNOWN;
}

bool write_all_at(int fd, const uint8_t* p, size_t n, off_t off) {
  while (n) {
    ssize_t w = pwrite(fd, p, n, off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= size_t(w);
    off += w;
  }
  return true;
}
}  // namespace

BackingStore::BackingStore(const std::string& root, bool fault_no_dv_bump)
    : fault_no_dv_bump_(fault_no_dv_bump), capacity_(root) {
  if (mkdir(root.c_str(), 0755) < 0 && errno != EEXIST)
    throw std::runtime_error("cannot create root " + root + ": " + strerror(errno));
  root_fd_ = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) throw std::runtime_error("cannot open root " + root + ": " + strerror(errno));
  struct stat st {};
  fstat(root_fd_, &st);
  root_id_ = st.st_ino;
  root_dev_ = st.st_dev;
  if (mkdirat(root_fd_, kStateDir, 0700) < 0 && errno != EEXIST)
    throw std::runtime_error(std::string("cannot create state dir: ") + strerror(errno));
  state_fd_ = openat(root_fd_, kStateDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (state_fd_ < 0) throw std::runtime_error(std::string("cannot open state dir: ") + strerror(errno));
  struct stat sst {};
  fstat(state_fd_, &sst);
  state_id_ = sst.st_ino;

  // Epoch: incremented on every start, durable before we serve.
  uint64_t prev = 0;
  int efd = openat(state_fd_, "epoch", O_RDONLY | O_CLOEXEC);
  if (efd >= 0) {
    char buf[32] = {};
    ssize_t n = ::read(efd, buf, sizeof buf - 1);
    if (n > 0) prev = std::strtoull(buf, nullptr, 10);
    close(efd);
  }
  epoch_ = prev + 1;
  int cfd = openat(state_fd_, "clean", O_RDONLY | O_CLOEXEC);
  prev_clean_ = (prev == 0) || cfd >= 0;
  if (cfd >= 0) close(cfd);
  unlinkat(state_fd_, "clean", 0);
  {
    int tfd = openat(state_fd_, "epoch.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (tfd < 0) throw std::runtime_error(std::string("cannot write epoch: ") + strerror(errno));
    std::string s = std::to_string(epoch_) + "\n";
    if (!write_all_at(tfd, reinterpret_cast<const uint8_t*>(s.data()), s.size(), 0) || ::fsync(tfd) < 0)
      throw std::runtime_error(std::string("cannot write epoch: ") + strerror(errno));
    uint64_t probe = 0;
    if (fsetxattr(tfd, "user.dmfs.probe", &probe, sizeof probe, 0) < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP)) {
      xattr_ok_ = false;
      log::warn("backing filesystem has no user xattrs: data versions change at every restart");
    }
    close(tfd);
    renameat(state_fd_, "epoch.tmp", state_fd_, "epoch");
    ::fsync(state_fd_);
  }
  log::info("backing store {} (root id {}), epoch {}, previous shutdown {}", root, root_id_, epoch_,
            prev_clean_ ? "clean" : "UNCLEAN (data versions rebased)");
}

BackingStore::~BackingStore() {
  for (auto& [id, f] : fds_) close(f.fd);
  if (state_fd_ >= 0) close(state_fd_);
  if (root_fd_ >= 0) close(root_fd_);
}

bool BackingStore::hidden(uint64_t parent, std::string_view name) const {
  return parent == root_id_ && name == kStateDir;
}

void BackingStore::remember(uint64_t id, uint64_t parent, std::string_view name) {
  if (id == root_id_) return;
  auto& n = nodes_[id];
  n.parent = parent;
  n.name.assign(name);
}

void BackingStore::scan() {
  // Breadth-first walk registering every entry (after a restart the id table
  // is empty). Bounded.
  size_t seen = 0;
  std::deque<uint64_t> todo{root_id_};
  while (!todo.empty() && seen < kMaxScan) {
    uint64_t dir = todo.front();
    todo.pop_front();
    std::string p;
    if (path_of(dir, p, false)) continue;
    int dfd = openat(root_fd_, p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) continue;
    DIR* d = fdopendir(dfd);
    if (!d) {
      close(dfd);
      continue;
    }
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n == "." || n == ".." || hidden(dir, n)) continue;
      remember(e->d_ino, dir, n);
      ++seen;
      unsigned char t = e->d_type;
      if (t == DT_UNKNOWN) {
        struct stat st {};
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) t = dt_of(st.st_mode);
      }
      if (t == DT_DIR) todo.push_back(e->d_ino);
    }
    closedir(d);
  }
  log::info("scanned backing store: {} entries known", nodes_.size());
}

int BackingStore::path_of(uint64_t id, std::string& out, bool allow_scan) {
  if (id == root_id_) {
    out = ".";
    return 0;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<const std::string*> parts;
    uint64_t cur = id;
    bool ok = true;
    while (cur != root_id_) {
      auto it = nodes_.find(cur);
      if (it == nodes_.end() || parts.size() > 4096) {
        ok = false;
        break;
      }
      parts.push_back(&it->second.name);
      cur = it->second.parent;
    }
    if (ok) {
      out.clear();
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (!out.empty()) out += '/';
        out += **it;
      }
      return 0;
    }
    // One scan per run finds everything that existed at start; later
    // entries are registered as clients create or list them.
    if (!allow_scan || attempt || scanned_) break;
    scanned_ = true;
    scan();
  }
  return -ESTALE;
}

int BackingStore::child_path(uint64_t parent, std::string_view name, std::string& out) {
  std::string p;
  int rc = path_of(parent, p);
  if (rc) return rc;
  struct stat st {};
  if (fstatat(root_fd_, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return neg(errno) == -ENOENT ? -ESTALE : neg(errno);
  if (st.st_ino != parent) return -ESTALE;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  out = (p == ".") ? std::string(name) : p + "/" + std::string(name);
  return 0;
}

int BackingStore::stat_id(uint64_t id, struct stat& st, std::string* path) {
  auto f = fds_.find(id);
  if (f != fds_.end() && !path) {
    if (fstat(f->second.fd, &st) < 0) return neg(errno);
    return 0;
  }
  std::string p;
  int rc = path_of(id, p);
  if (rc) return rc;
  if (fstatat(root_fd_, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_ino != id) {
    if (f != fds_.end()) {  // unlinked but kept open
      if (path) path->clear();
      return fstat(f->second.fd, &st) < 0 ? neg(errno) : 0;
    }
    nodes_.erase(id);
    return -ESTALE;
  }
  if (path) *path = std::move(p);
  return 0;
}

int BackingStore::get_fd(uint64_t id, int& fd) {
  auto f = fds_.find(id);
  if (f != fds_.end()) {
    fd_lru_.splice(fd_lru_.begin(), fd_lru_, f->second.lru);
    fd = f->second.fd;
    return 0;
  }
  std::string p;
  int rc = path_of(id, p);
  if (rc) return rc;
  int nfd = openat(root_fd_, p.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (nfd < 0 && errno == EACCES) nfd = openat(root_fd_, p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (nfd < 0) {
    int e = errno;
    if (e == ENOENT) {
      nodes_.erase(id);
      return -ESTALE;
    }
    return e == ELOOP ? -EINVAL : neg(e);
  }
  struct stat st {};
  if (fstat(nfd, &st) < 0 || st.st_ino != id) {
    close(nfd);
    nodes_.erase(id);
    return -ESTALE;
  }
  if (!S_ISREG(st.st_mode)) {
    close(nfd);
    return -EINVAL;
  }
  // Evict unpinned descriptors beyond the cache size.
  while (fds_.size() >= kMaxCachedFds) {
    bool evicted = false;
    for (auto it = fd_lru_.rbegin(); it != fd_lru_.rend(); ++it) {
      auto v = fds_.find(*it);
      if (v != fds_.end() && v->second.pins == 0) {
        drop_fd(*it);
        evicted = true;
        break;
      }
    }
    if (!evicted) break;
  }
  fd_lru_.push_front(id);
  fds_[id] = Fd{nfd, 0, fd_lru_.begin()};
  fd = nfd;
  return 0;
}

void BackingStore::drop_fd(uint64_t id) {
  auto f = fds_.find(id);
  if (f == fds_.end()) return;
  close(f->second.fd);
  fd_lru_.erase(f->second.lru);
  fds_.erase(f);
}

void BackingStore::persist_dv(int fd, uint64_t v) {
  if (!xattr_ok_) return;
  if (fsetxattr(fd, kDvXattr, &v, sizeof v, 0) < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP)) xattr_ok_ = false;
}

uint64_t BackingStore::data_version(uint64_t id, int fd) {
  auto it = dv_.find(id);
  if (it != dv_.end()) return it->second;
  uint64_t v = 0;
  bool have = false;
  if (xattr_ok_) {
    ssize_t n = fgetxattr(fd, kDvXattr, &v, sizeof v);
    if (n == sizeof v)
      have = true;
    else if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
      xattr_ok_ = false;
  }
  if (!have) {
    v = epoch_ << 32;
    persist_dv(fd, v);
  } else if (!prev_clean_) {
    // After an unclean stop a version shown before the crash may describe
    // contents that were not written; step past every such value.
    v += uint64_t(1) << 32;
    persist_dv(fd, v);
  }
  dv_[id] = v;
  return v;
}

void BackingStore::bump(uint64_t id, int fd) {
  if (fault_no_dv_bump_) return;
  uint64_t v = data_version(id, fd) + 1;
  dv_[id] = v;
  persist_dv(fd, v);
}

void BackingStore::fill_attr(uint64_t id, const struct stat& st, dmfs_attr& a, int fd) {
  a = dmfs_attr{};
  a.file_id = id;
  a.size = uint64_t(st.st_size);
  a.blocks = uint64_t(st.st_blocks);
  a.data_version = (S_ISREG(st.st_mode) && fd >= 0) ? data_version(id, fd) : 0;
  a.atime_sec = uint64_t(st.st_atim.tv_sec);
  a.mtime_sec = uint64_t(st.st_mtim.tv_sec);
  a.ctime_sec = uint64_t(st.st_ctim.tv_sec);
  a.atime_nsec = uint32_t(st.st_atim.tv_nsec);
  a.mtime_nsec = uint32_t(st.st_mtim.tv_nsec);
  a.ctime_nsec = uint32_t(st.st_ctim.tv_nsec);
  a.mode = st.st_mode;
  a.nlink = uint32_t(st.st_nlink);
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.generation = 0;
  a.flags = 0;
  a.blksize = uint32_t(st.st_blksize);
}

int BackingStore::statfs(dmfs_statfs_rep& out) {
  struct statvfs sv {};
  if (fstatvfs(root_fd_, &sv) < 0) return neg(errno);
  out = dmfs_statfs_rep{};
  out.bsize = uint32_t(sv.f_frsize ? sv.f_frsize : sv.f_bsize);
  out.blocks = sv.f_blocks;
  out.bfree = sv.f_bfree;
  out.bavail = sv.f_bavail;
  out.files = sv.f_files;
  out.ffree = sv.f_ffree;
  out.namelen = DMFS_MAX_NAME;
  capacity_.apply(out);
  return 0;
}

int BackingStore::getattr(uint64_t id, dmfs_attr& out) {
  struct stat st {};
  int rc = stat_id(id, st);
  if (rc) return rc;
  if (id == state_id_) return -ESTALE;
  int fd = -1;
  if (S_ISREG(st.st_mode)) {
    if ((rc = get_fd(id, fd))) return rc;
    if (fstat(fd, &st) < 0) return neg(errno);
  }
  fill_attr(id, st, out, fd);
  return 0;
}

int BackingStore::lookup(uint64_t parent, std::string_view name, dmfs_attr& out) {
  if (hidden(parent, name)) return -ENOENT;
  std::string p;
  int rc = child_path(parent, name, p);
  if (rc) return rc;
  struct stat st {};
  if (fstatat(root_fd_, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return neg(errno);
  remember(st.st_ino, parent, name);
  int fd = -1;
  if (S_ISREG(st.st_mode)) {
    if ((rc = get_fd(st.st_ino, fd))) return rc;
    fstat(fd, &st);
  }
  fill_attr(st.st_ino, st, out, fd);
  return 0;
}

int BackingStore::truncate(uint64_t id, uint64_t size) {
  int fd;
  int rc = get_fd(id, fd);
  if (rc) return rc;
  if (ftruncate(fd, off_t(size)) < 0) return neg(errno);
  bump(id, fd);
  return 0;
}

int BackingStore::setattr(const dmfs_setattr_req& r, dmfs_attr& out) {
  std::string p;
  struct stat st {};
  int rc = stat_id(r.file_id, st, &p);
  if (rc) return rc;
  if (r.file_id == state_id_) return -ESTALE;
  int fd = -1;
  if (S_ISREG(st.st_mode) && (rc = get_fd(r.file_id, fd))) return rc;
  if (r.valid & DMFS_SA_SIZE) {
    if (!S_ISREG(st.st_mode)) return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    if (ftruncate(fd, off_t(r.size)) < 0) return neg(errno);
    bump(r.file_id, fd);
  }
  if (r.valid & DMFS_SA_MODE) {
    mode_t m = r.mode & 07777;
    int e = fd >= 0 ? fchmod(fd, m) : fchmodat(root_fd_, p.c_str(), m, 0);
    if (e < 0) return neg(errno);
  }
  if (r.valid & (DMFS_SA_UID | DMFS_SA_GID)) {
    uid_t u = (r.valid & DMFS_SA_UID) ? uid_t(r.uid) : uid_t(-1);
    gid_t g = (r.valid & DMFS_SA_GID) ? gid_t(r.gid) : gid_t(-1);
    int e = fd >= 0 ? fchown(fd, u, g) : fchownat(root_fd_, p.c_str(), u, g, AT_SYMLINK_NOFOLLOW);
    if (e < 0) return neg(errno);
  }
  if (r.valid & (DMFS_SA_ATIME | DMFS_SA_MTIME | DMFS_SA_ATIME_NOW | DMFS_SA_MTIME_NOW)) {
    timespec ts[2];
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_nsec = UTIME_OMIT;
    if (r.valid & DMFS_SA_ATIME) ts[0] = {time_t(int64_t(r.atime_sec)), long(r.atime_nsec)};
    if (r.valid & DMFS_SA_ATIME_NOW) ts[0].tv_nsec = UTIME_NOW;
    if (r.valid & DMFS_SA_MTIME) ts[1] = {time_t(int64_t(r.mtime_sec)), long(r.mtime_nsec)};
    if (r.valid & DMFS_SA_MTIME_NOW) ts[1].tv_nsec = UTIME_NOW;
    int e = fd >= 0 ? futimens(fd, ts) : utimensat(root_fd_, p.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    if (e < 0) return neg(errno);
  }
  if (fd >= 0 ? fstat(fd, &st) < 0 : fstatat(root_fd_, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return neg(errno);
  fill_attr(r.file_id, st, out, fd);
  return 0;
}

int BackingStore::create(uint64_t parent, std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid, bool excl,
                         bool dir, dmfs_attr& out) {
  if (hidden(parent, name)) return -EPERM;
  std::string p;
  int rc = child_path(parent, name, p);
  if (rc) return rc;
  struct stat st {};
  if (dir) {
    if (mkdirat(root_fd_, p.c_str(), mode & 07777) < 0) return neg(errno);
    fchownat(root_fd_, p.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    if (fstatat(root_fd_, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return neg(errno);
    remember(st.st_ino, parent, name);
    fill_attr(st.st_ino, st, out, -1);
    return 0;
  }
  bool created = true;
  int fd = openat(root_fd_, p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
  if (fd < 0 && errno == EEXIST && !excl) {
    created = false;
    if (fstatat(root_fd_, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return neg(errno);
    if (!S_ISREG(st.st_mode)) return -EEXIST;
    remember(st.st_ino, parent, name);
    if ((rc = get_fd(st.st_ino, fd))) return rc;
    fstat(fd, &st);
    fill_attr(st.st_ino, st, out, fd);
    return 0;
  }
  if (fd < 0) return neg(errno);
  if (created) {
    if (fchown(fd, uid, gid) < 0) { /* not root: keep the server's owner */
    }
  }
  fstat(fd, &st);
  close(fd);
  remember(st.st_ino, parent, name);
  dv_.erase(st.st_ino);  // a reused inode number starts a new history
  int cfd;
  if ((rc = get_fd(st.st_ino, cfd))) return rc;
  // A new file: no old xattr can exist, start at this epoch's base.
  fill_attr(st.st_ino, st, out, cfd);
  return 0;
}

int BackingStore::unlink(uint64_t parent, std::string_view name, bool dir) {
  if (hidden(parent, name)) return -EPERM;
  std::string p;
  int rc = child_path(parent, name, p);
  if (rc) return rc;
  struct stat st {};
  if (fstatat(root_fd_, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return neg(errno);
  if (dir && !S_ISDIR(st.st_mode)) return -ENOTDIR;
  if (!dir && S_ISDIR(st.st_mode)) return -EISDIR;
  if (unlinkat(root_fd_, p.c_str(), dir ? AT_REMOVEDIR : 0) < 0) return neg(errno);
  if (st.st_nlink <= 1 || dir) {
    nodes_.erase(st.st_ino);
    auto f = fds_.find(st.st_ino);
    if (f == fds_.end() || f->second.pins == 0) {
      drop_fd(st.st_ino);
      dv_.erase(st.st_ino);
    }
  }
  return 0;
}

int BackingStore::rename(uint64_t oldp, std::string_view oldn, uint64_t newp, std::string_view newn, bool noreplace) {
  if (hidden(oldp, oldn) || hidden(newp, newn)) return -EPERM;
  std::string po, pn;
  int rc = child_path(oldp, oldn, po);
  if (rc) return rc;
  if ((rc = child_path(newp, newn, pn))) return rc;
  struct stat so {
  }, sn{};
  if (fstatat(root_fd_, po.c_str(), &so, AT_SYMLINK_NOFOLLOW) < 0) return neg(errno);
  bool replaced = fstatat(root_fd_, pn.c_str(), &sn, AT_SYMLINK_NOFOLLOW) == 0;
  if (renameat2(root_fd_, po.c_str(), root_fd_, pn.c_str(), noreplace ? RENAME_NOREPLACE : 0) < 0) return neg(errno);
  remember(so.st_ino, newp, newn);
  if (replaced && sn.st_ino != so.st_ino && (sn.st_nlink <= 1 || S_ISDIR(sn.st_mode))) {
    nodes_.erase(sn.st_ino);
    auto f = fds_.find(sn.st_ino);
    if (f == fds_.end() || f->second.pins == 0) {
      drop_fd(sn.st_ino);
      dv_.erase(sn.st_ino);
    }
  }
  return 0;
}

int BackingStore::readdir(uint64_t dir, uint64_t cookie, size_t max_bytes, std::vector<DirEntry>& out,
                          uint64_t& first_cookie, bool& eof) {
  std::string p;
  struct stat st {};
  int rc = stat_id(dir, st, &p);
  if (rc) return rc;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  if (dir == state_id_) return -ESTALE;
  int dfd = openat(root_fd_, p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return neg(errno);
  DIR* d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return neg(errno);
  }
  std::vector<DirEntry> all;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == ".." || hidden(dir, n)) continue;
    uint8_t t = e->d_type;
    if (t == DT_UNKNOWN) {
      struct stat es {};
      if (fstatat(dirfd(d), e->d_name, &es, AT_SYMLINK_NOFOLLOW) == 0) t = dt_of(es.st_mode);
    }
    all.push_back(DirEntry{e->d_ino, std::string(n), t});
  }
  closedir(d);
  std::sort(all.begin(), all.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  out.clear();
  first_cookie = cookie + 1;
  size_t used = 0;
  uint64_t i = cookie;
  for (; i < all.size(); ++i) {
    size_t rec = DMFS_DIRENT_RECLEN(all[i].name.size());
    if (!out.empty() && used + rec > max_bytes) break;
    used += rec;
    remember(all[i].id, dir, all[i].name);
    out.push_back(std::move(all[i]));
  }
  eof = i >= all.size();
  return 0;
}

int BackingStore::read(uint64_t id, uint64_t off, uint32_t len, uint8_t* buf, uint32_t& count, uint64_t& size,
                       uint64_t& dv) {
  int fd;
  int rc = get_fd(id, fd);
  if (rc) return rc;
  count = 0;
  while (count < len) {
    ssize_t n = pread(fd, buf + count, len - count, off_t(off + count));
    if (n < 0) {
      if (errno == EINTR) continue;
      return neg(errno);
    }
    if (n == 0) break;
    count += uint32_t(n);
  }
  struct stat st {};
  if (fstat(fd, &st) < 0) return neg(errno);
  size = uint64_t(st.st_size);
  dv = data_version(id, fd);
  return 0;
}

int BackingStore::write(uint64_t id, uint64_t off, const uint8_t* data, uint32_t len, bool sync, uint64_t& size,
                        uint64_t& dv) {
  int fd;
  int rc = get_fd(id, fd);
  if (rc) return rc;
  if ((rc = capacity_.admit(fd, off, len))) return rc;
  if (!write_all_at(fd, data, len, off_t(off))) return neg(errno);
  bump(id, fd);
  if (sync && (rc = fsync(id, false))) return rc;
  struct stat st {};
  if (fstat(fd, &st) < 0) return neg(errno);
  size = uint64_t(st.st_size);
  dv = data_version(id, fd);
  return 0;
}

int BackingStore::fsync(uint64_t id, bool datasync) {
  struct stat st {};
  int rc = stat_id(id, st);
  if (rc) return rc;
  if (S_ISDIR(st.st_mode)) {
    std::string p;
    if ((rc = path_of(id, p))) return rc;
    int dfd = openat(root_fd_, p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return neg(errno);
    int e = ::fsync(dfd) < 0 ? neg(errno) : 0;
    close(dfd);
    return e;
  }
  int fd;
  if ((rc = get_fd(id, fd))) return rc;
  // The data version lives in an xattr: a full fsync makes it durable too.
  (void)datasync;
  if (::fsync(fd) < 0) return neg(errno);
  // ... and the directory entry, so a fresh file survives a crash.
  auto n = nodes_.find(id);
  if (n != nodes_.end()) {
    std::string pp;
    if (path_of(n->second.parent, pp, false) == 0) {
      int dfd = openat(root_fd_, pp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        ::fsync(dfd);
        close(dfd);
      }
    }
  }
  return 0;
}

void BackingStore::pin(uint64_t id) {
  int fd;
  if (get_fd(id, fd) == 0) ++fds_[id].pins;
}

void BackingStore::unpin(uint64_t id) {
  auto f = fds_.find(id);
  if (f == fds_.end() || f->second.pins == 0) return;
  if (--f->second.pins == 0) {
    struct stat st {};
    if (fstat(f->second.fd, &st) == 0 && st.st_nlink == 0) {
      drop_fd(id);
      dv_.erase(id);
    }
  }
}

void BackingStore::shutdown() {
  syncfs(root_fd_);
  int cfd = openat(state_fd_, "clean", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (cfd >= 0) {
    std::string s = std::to_string(epoch_) + "\n";
    write_all_at(cfd, reinterpret_cast<const uint8_t*>(s.data()), s.size(), 0);
    ::fsync(cfd);
    close(cfd);
  }
  ::fsync(state_fd_);
  log::info("backing store synced, clean shutdown recorded");
}

}  // namespace dmfs
