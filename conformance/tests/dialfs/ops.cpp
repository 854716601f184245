// The FUSE requests of every mount, served from the shared Store. What a
// request changes in the store reaches the other clients' caches through the
// Notifier when --notify on (docs/dialfs.md has each dial's semantics).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "daemon.hpp"
#include "trace.hpp"

namespace dialfs {

namespace {

// Names are never cached (a rename or unlink elsewhere is seen at the next
// lookup). A regular file's attributes are kept until this client changes the
// file or a notification invalidates them; a lookup by name refreshes them.
constexpr double kForever = 1e8;

Client& client(fuse_req_t req) { return *static_cast<Client*>(fuse_req_userdata(req)); }
Daemon& daemon_of(fuse_req_t req) { return *client(req).daemon; }
int mount_of(fuse_req_t req) { return client(req).index; }

std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void check(int rc) {
  if (rc < 0) throw Errno{errno};
}

// Runs `body`, which replies on success; an Errno (or anything else) becomes an error reply.
template <class Body>
void guarded(fuse_req_t req, Body&& body) {
  try {
    body();
  } catch (const Errno& e) {
    fuse_reply_err(req, e.code);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dmmap-dialfs: %s\n", e.what());
    fuse_reply_err(req, EIO);
  }
}

double attr_timeout(const struct stat& st) { return S_ISREG(st.st_mode) ? kForever : 0; }

void reply_entry(fuse_req_t req, const Entry& e) {
  fuse_entry_param param{};
  param.ino = e.ino;
  param.attr = e.attr;
  param.attr_timeout = attr_timeout(e.attr);
  param.entry_timeout = 0;
  fuse_reply_entry(req, &param);
}

// With --notify on, the other clients learn of `change` before this request is answered.
void deliver(fuse_req_t req, const Change& change) {
  if (daemon_of(req).dials.notify) daemon_of(req).notifier.deliver(change);
}
// For requests whose kernel holds page locks or blocks write-back meanwhile (see notifier.hpp).
void deliver_or_queue(fuse_req_t req, const Change& change) {
  if (daemon_of(req).dials.notify) daemon_of(req).notifier.deliver_or_queue(change);
}

// A new name belongs to the requester, as on a local filesystem (the daemon runs as root).
void own(fuse_req_t req, int dir_fd, const char* name) {
  if (::geteuid() != 0) return;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  check(::fchownat(dir_fd, name, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW));
}

void do_init(void* userdata, fuse_conn_info* conn) {
  const Dials& dials = static_cast<Client*>(userdata)->daemon->dials;
  // The kernel must drop cached pages only when a dial says so: never because
  // an attribute reply shows a new size or mtime, never on its own write-back cache.
  conn->want &= ~(FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ATOMIC_O_TRUNC |
                  FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
                  FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_EXPORT_SUPPORT);
  if (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA)
    conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
  else
    std::fprintf(stderr, "dmmap-dialfs: this kernel lacks FUSE_EXPLICIT_INVAL_DATA: a new size drops cached pages\n");
  // Without these capabilities the kernel keeps the locks itself, per mount (local).
  if (dials.locks != LockScope::local) conn->want |= FUSE_CAP_POSIX_LOCKS;
  if (dials.flock != LockScope::local) conn->want |= FUSE_CAP_FLOCK_LOCKS;
  conn->time_gran = static_cast<unsigned>(dials.time_granularity_ns);
}

void do_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] { reply_entry(req, daemon_of(req).store.lookup(mount_of(req), parent, name)); });
}

void do_forget(fuse_req_t req, fuse_ino_t ino, std::uint64_t nlookup) {
  daemon_of(req).store.forget(mount_of(req), ino, nlookup);
  fuse_reply_none(req);
}

void do_forget_multi(fuse_req_t req, std::size_t count, fuse_forget_data* forgets) {
  for (std::size_t i = 0; i < count; ++i)
    daemon_of(req).store.forget(mount_of(req), forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void do_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  guarded(req, [&] {
    const struct stat st = daemon_of(req).store.attr(mount_of(req), ino);
    fuse_reply_attr(req, &st, attr_timeout(st));
  });
}

void set_times(int fd, const struct stat* attr, int to_set) {
  timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  if (to_set & FUSE_SET_ATTR_ATIME_NOW)
    times[0].tv_nsec = UTIME_NOW;
  else if (to_set & FUSE_SET_ATTR_ATIME)
    times[0] = attr->st_atim;
  if (to_set & FUSE_SET_ATTR_MTIME_NOW)
    times[1].tv_nsec = UTIME_NOW;
  else if (to_set & FUSE_SET_ATTR_MTIME)
    times[1] = attr->st_mtim;
  check(::utimensat(AT_FDCWD, proc_path(fd).c_str(), times, 0));
}

void do_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  guarded(req, [&] {
    Store& store = daemon_of(req).store;
    const int fd = store.path_fd(ino);
    if (to_set & FUSE_SET_ATTR_MODE) check(::chmod(proc_path(fd).c_str(), attr->st_mode));
    if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
      const uid_t uid = to_set & FUSE_SET_ATTR_UID ? attr->st_uid : static_cast<uid_t>(-1);
      const gid_t gid = to_set & FUSE_SET_ATTR_GID ? attr->st_gid : static_cast<gid_t>(-1);
      check(::fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
    }
    if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))
      set_times(fd, attr, to_set);
    // The kernel blocks this file's write-back while a size change is answered.
    if (to_set & FUSE_SET_ATTR_SIZE) trace("m{} truncate ino {} to {}", mount_of(req), ino, attr->st_size);
    if (to_set & FUSE_SET_ATTR_SIZE)
      deliver_or_queue(req, store.truncate(mount_of(req), ino, attr->st_size));
    else
      deliver(req, store.touched(mount_of(req), ino));
    const struct stat st = store.attr(mount_of(req), ino);
    fuse_reply_attr(req, &st, attr_timeout(st));
  });
}

void do_readlink(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, [&] {
    char target[PATH_MAX + 1];
    const ssize_t n = ::readlinkat(daemon_of(req).store.path_fd(ino), "", target, PATH_MAX);
    check(static_cast<int>(n));
    target[n] = '\0';
    fuse_reply_readlink(req, target);
  });
}

void do_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  guarded(req, [&] {
    const int dir = daemon_of(req).store.path_fd(parent);
    check(::mknodat(dir, name, mode, rdev));
    own(req, dir, name);
    reply_entry(req, daemon_of(req).store.lookup(mount_of(req), parent, name));
  });
}

void do_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  guarded(req, [&] {
    const int dir = daemon_of(req).store.path_fd(parent);
    check(::mkdirat(dir, name, mode));
    own(req, dir, name);
    reply_entry(req, daemon_of(req).store.lookup(mount_of(req), parent, name));
  });
}

void do_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    const int dir = daemon_of(req).store.path_fd(parent);
    check(::symlinkat(target, dir, name));
    own(req, dir, name);
    reply_entry(req, daemon_of(req).store.lookup(mount_of(req), parent, name));
  });
}

void do_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    Store& store = daemon_of(req).store;
    check(::linkat(AT_FDCWD, proc_path(store.path_fd(ino)).c_str(), store.path_fd(parent), name, AT_SYMLINK_FOLLOW));
    reply_entry(req, store.lookup(mount_of(req), parent, name));
  });
}

void do_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    check(::unlinkat(daemon_of(req).store.path_fd(parent), name, 0));
    fuse_reply_err(req, 0);
  });
}

void do_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    check(::unlinkat(daemon_of(req).store.path_fd(parent), name, AT_REMOVEDIR));
    fuse_reply_err(req, 0);
  });
}

void do_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
               unsigned int flags) {
  guarded(req, [&] {
    Store& store = daemon_of(req).store;
    check(::renameat2(store.path_fd(parent), name, store.path_fd(newparent), newname, flags));
    fuse_reply_err(req, 0);
  });
}

void do_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    fi->fh = daemon_of(req).store.open(mount_of(req), ino, fi->flags, fuse_req_ctx(req)->pid);
    fi->keep_cache = daemon_of(req).dials.keep_cache;
    fuse_reply_open(req, fi);
  });
}

void do_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  guarded(req, [&] {
    Store& store = daemon_of(req).store;
    const int dir = store.path_fd(parent);
    dmmap::Fd fd(::openat(dir, name, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, mode));
    if (fd)
      own(req, dir, name);
    else if (errno != EEXIST || (fi->flags & O_EXCL))
      throw Errno{errno};
    const Entry entry = store.lookup(mount_of(req), parent, name);
    fi->fh = store.open(mount_of(req), entry.ino, fi->flags, fuse_req_ctx(req)->pid);
    fi->keep_cache = daemon_of(req).dials.keep_cache;
    fuse_entry_param param{};
    param.ino = entry.ino;
    param.attr = entry.attr;
    param.attr_timeout = attr_timeout(entry.attr);
    fuse_reply_create(req, &param, fi);
  });
}

void do_read(fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t offset, fuse_file_info*) {
  guarded(req, [&] {
    const std::string data = daemon_of(req).store.read(mount_of(req), ino, offset, size);
    trace("m{} read ino {} [{}, +{}) -> {}", mount_of(req), ino, offset, size, data.size());
    fuse_reply_buf(req, data.data(), data.size());
  });
}

void do_write(fuse_req_t req, fuse_ino_t ino, const char* buf, std::size_t size, off_t offset, fuse_file_info* fi) {
  guarded(req, [&] {
    trace("m{} write ino {} [{}, +{}){}", mount_of(req), ino, offset, size, fi->writepage ? " write-back" : "");
    // A write(2) holds its pages locked until this reply (see notifier.hpp).
    deliver_or_queue(req, daemon_of(req).store.write(mount_of(req), ino, offset, buf, size, fi->writepage));
    fuse_reply_write(req, size);
  });
}

void do_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info*) {
  guarded(req, [&] {
    trace("m{} fallocate ino {} mode {:#x} [{}, +{})", mount_of(req), ino, mode, offset, length);
    // Like a truncation, a punched range holds the file's write-back off until answered.
    deliver_or_queue(req, daemon_of(req).store.allocate(mount_of(req), ino, mode, offset, length));
    fuse_reply_err(req, 0);
  });
}

void do_flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    Daemon& d = daemon_of(req);
    trace("m{} flush ino {}", mount_of(req), ino);
    d.store.flushed(fi->fh);
    // The kernel wrote the dirty pages back before this close: publish them,
    // then end the closer's locks (POSIX: any close ends the process's locks).
    deliver(req, d.store.publish(mount_of(req), ino));
    if (d.dials.locks == LockScope::cluster) d.store.release_locks(false, ino, {mount_of(req), fi->lock_owner});
    fuse_reply_err(req, 0);
  });
}

void do_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    Daemon& d = daemon_of(req);
    trace("m{} release ino {}", mount_of(req), ino);
    deliver(req, d.store.release(fi->fh));
    if (fi->flock_release && d.dials.flock == LockScope::cluster)
      d.store.release_locks(true, ino, {mount_of(req), fi->lock_owner});
    fuse_reply_err(req, 0);
  });
}

void do_fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  guarded(req, [&] {
    trace("m{} fsync ino {}", mount_of(req), ino);
    if (daemon_of(req).dials.publish != Publish::close) deliver(req, daemon_of(req).store.publish(mount_of(req), ino));
    fuse_reply_err(req, 0);
  });
}

struct Dir {
  DIR* dir = nullptr;
  off_t offset = 0;
  dirent* entry = nullptr;  // read, not yet returned (it did not fit)
  ~Dir() {
    if (dir) ::closedir(dir);
  }
};

Dir& dir_of(fuse_file_info* fi) { return *reinterpret_cast<Dir*>(fi->fh); }

void do_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    dmmap::Fd fd(::openat(daemon_of(req).store.path_fd(ino), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw Errno{errno};
    auto dir = std::make_unique<Dir>();
    dir->dir = ::fdopendir(fd.get());
    if (!dir->dir) throw Errno{errno};
    fd.release();
    fi->fh = reinterpret_cast<std::uint64_t>(dir.release());
    fuse_reply_open(req, fi);
  });
}

void do_readdir(fuse_req_t req, fuse_ino_t, std::size_t size, off_t offset, fuse_file_info* fi) {
  guarded(req, [&] {
    Dir& d = dir_of(fi);
    if (offset != d.offset) {
      ::seekdir(d.dir, offset);
      d.entry = nullptr;
      d.offset = offset;
    }
    std::string buffer(size, '\0');
    std::size_t used = 0;
    for (;;) {
      if (!d.entry) {
        errno = 0;
        d.entry = ::readdir(d.dir);
        if (!d.entry) {
          if (errno != 0) throw Errno{errno};
          break;
        }
      }
      struct stat st {};
      st.st_ino = d.entry->d_ino;
      st.st_mode = static_cast<mode_t>(d.entry->d_type) << 12;
      const off_t next = ::telldir(d.dir);
      const std::size_t n = fuse_add_direntry(req, buffer.data() + used, size - used, d.entry->d_name, &st, next);
      if (n > size - used) break;
      used += n;
      d.entry = nullptr;
      d.offset = next;
    }
    fuse_reply_buf(req, buffer.data(), used);
  });
}

void do_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete &dir_of(fi);
  fuse_reply_err(req, 0);
}

void do_fsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  fuse_reply_err(req, ::fsync(::dirfd(dir_of(fi).dir)) == 0 ? 0 : errno);
}

void do_statfs(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, [&] {
    struct statvfs st {};
    check(::fstatvfs(daemon_of(req).store.path_fd(ino), &st));
    fuse_reply_statfs(req, &st);
  });
}

void wake_on_interrupt(fuse_req_t, void* store) { static_cast<Store*>(store)->wake(); }

LockRange range_of(fuse_req_t req, fuse_file_info* fi, const struct flock* lock) {
  LockRange r;
  r.start = lock->l_start;
  r.end = lock->l_len == 0 ? LockRange::kToEnd : lock->l_start + lock->l_len - 1;
  r.type = lock->l_type;
  r.owner = {mount_of(req), fi->lock_owner};
  r.pid = lock->l_pid;
  return r;
}

// A cluster lock carries the data it protects, as NFS's locks do: before a
// release the client's dirty pages come back and are published; after a
// grant its cached pages are dropped, so that it reads what the previous
// holder published.
int set_cluster_lock(fuse_req_t req, fuse_ino_t ino, bool flock, const LockRange& want, bool sleep) {
  Daemon& d = daemon_of(req);
  const int m = mount_of(req);
  if (want.type == F_UNLCK) {
    d.notifier.invalidate_own(m, ino);
    deliver(req, d.store.publish(m, ino));
    return d.store.set_lock(flock, ino, want, false, [] { return false; });
  }
  fuse_req_interrupt_func(req, wake_on_interrupt, &d.store);
  const int rc = d.store.set_lock(flock, ino, want, sleep, [req] { return fuse_req_interrupted(req) != 0; });
  if (rc == 0) d.notifier.invalidate_own(m, ino);
  return rc;
}

void do_getlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock) {
  guarded(req, [&] {
    if (daemon_of(req).dials.locks == LockScope::off) throw Errno{ENOSYS};
    const auto held = daemon_of(req).store.conflicting_lock(false, ino, range_of(req, fi, lock));
    if (!held) {
      lock->l_type = F_UNLCK;
    } else {
      lock->l_type = static_cast<short>(held->type);
      lock->l_whence = SEEK_SET;
      lock->l_start = held->start;
      lock->l_len = held->end == LockRange::kToEnd ? 0 : held->end - held->start + 1;
      lock->l_pid = held->pid;
    }
    fuse_reply_lock(req, lock);
  });
}

void do_setlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock, int sleep) {
  guarded(req, [&] {
    if (daemon_of(req).dials.locks == LockScope::off) throw Errno{ENOSYS};
    fuse_reply_err(req, set_cluster_lock(req, ino, false, range_of(req, fi, lock), sleep != 0));
  });
}

void do_flock(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, int op) {
  guarded(req, [&] {
    if (daemon_of(req).dials.flock == LockScope::off) throw Errno{ENOSYS};
    LockRange want;
    want.start = 0;
    want.end = LockRange::kToEnd;
    want.type = (op & LOCK_UN) ? F_UNLCK : (op & LOCK_EX) ? F_WRLCK : F_RDLCK;
    want.owner = {mount_of(req), fi->lock_owner};
    want.pid = fuse_req_ctx(req)->pid;
    fuse_reply_err(req, set_cluster_lock(req, ino, true, want, (op & LOCK_NB) == 0));
  });
}

fuse_lowlevel_ops make_operations() {
  fuse_lowlevel_ops ops{};
  ops.init = do_init;
  ops.lookup = do_lookup;
  ops.forget = do_forget;
  ops.forget_multi = do_forget_multi;
  ops.getattr = do_getattr;
  ops.setattr = do_setattr;
  ops.readlink = do_readlink;
  ops.mknod = do_mknod;
  ops.mkdir = do_mkdir;
  ops.symlink = do_symlink;
  ops.link = do_link;
  ops.unlink = do_unlink;
  ops.rmdir = do_rmdir;
  ops.rename = do_rename;
  ops.open = do_open;
  ops.create = do_create;
  ops.read = do_read;
  ops.write = do_write;
  ops.flush = do_flush;
  ops.fallocate = do_fallocate;
  ops.release = do_release;
  ops.fsync = do_fsync;
  ops.opendir = do_opendir;
  ops.readdir = do_readdir;
  ops.releasedir = do_releasedir;
  ops.fsyncdir = do_fsyncdir;
  ops.statfs = do_statfs;
  ops.getlk = do_getlk;
  ops.setlk = do_setlk;
  ops.flock = do_flock;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& operations() {
  static const fuse_lowlevel_ops ops = make_operations();
  return ops;
}

}  // namespace dialfs
