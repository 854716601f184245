// model.random-ops: fsx across clients. A seeded random sequence of mapped
// loads and stores (some by a forked child sharing the mapping), pread/pwrite,
// O_APPEND writes, truncate/extend, hole punching and msync, each done by a
// randomly chosen rank, checked against an in-memory model of the file. Every
// rank draws the same sequence, so every rank keeps the same model; a barrier
// orders each operation before the next, and every few operations every rank
// compares its size, its pread() view and its mappings with the model.
//
// The file has two windows of --model-size bytes (default 2 MiB: several lock
// granules of any filesystem we know): [0, W) and, where the filesystem takes
// a file that large, [4 GiB + 1 MiB, +W), with a hole between. Operations
// cross EOF: a pread past it is short, a pwrite past it extends the file, a
// mapped load past it (within its page) reads zeros.
//
// The note gives the complete replay command (seed, ops, ranks, window size,
// expected level) with the page size it ran on, and a digest of the
// operations drawn: a replay draws the same operations (same digest).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <system_error>

#include "check.hpp"
#include "dmmap/probe/child.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "needs.hpp"

namespace dmmap::conform {
namespace {

constexpr int kVerifyEvery = 8;
constexpr std::size_t kHistory = 12;
constexpr std::uint64_t kHigh = (4ULL << 30) + (1ULL << 20);  // above 4 GiB, aligned for any page size
constexpr std::size_t kShortOp = 8192;                        // most operations: up to two 4 KiB pages

// fork_store: a store by a forked child of the rank, through the mapping it
// inherited; append: write() on an O_APPEND descriptor, which must land at the
// EOF the cluster agrees on; punch: fallocate(PUNCH_HOLE), where supported.
enum class Kind { store, load, pwrite, pread, truncate, msync, punch, append, fork_store };
constexpr unsigned kKinds = 9;
constexpr const char* kKindNames[kKinds] = {"store", "load",  "pwrite", "pread",     "truncate",
                                            "msync", "punch", "append", "fork store"};

struct Op {
  int index;
  int rank;
  Kind kind;
  std::uint64_t offset;  // absolute file offset
  std::size_t length;    // for truncate: unused (offset is the new size)
  std::uint8_t seed_byte;

  std::uint8_t byte_at(std::size_t i) const { return static_cast<std::uint8_t>(seed_byte + i * 7); }
  std::string describe() const {
    if (kind == Kind::truncate) return fmt::format("#{} rank {} truncate to {}", index, rank, offset);
    if (kind == Kind::msync) return fmt::format("#{} rank {} msync", index, rank);
    return fmt::format("#{} rank {} {} [{}, +{})", index, rank, kKindNames[static_cast<int>(kind)], offset, length);
  }
};

// The file as it must be: its size and the bytes of its windows (a hole and
// everything past the size read as zero).
class Model {
 public:
  // What the filesystem and the ranks allow, the same on every rank.
  struct Features {
    bool high, punch, fork;
  };
  Model(std::size_t window, Features can)
      : window_(window), can_(can), low_(window, 0), hi_(can.high ? window : 0, 0) {}

  std::uint64_t size() const { return size_; }
  std::size_t window() const { return window_; }
  bool has_high() const { return can_.high; }
  bool can_punch() const { return can_.punch; }
  bool can_fork() const { return can_.fork; }
  // The windows' starts.
  std::vector<std::uint64_t> bases() const {
    return can_.high ? std::vector<std::uint64_t>{0, kHigh} : std::vector<std::uint64_t>{0};
  }
  std::uint8_t at(std::uint64_t offset) const {
    if (offset >= size_) return 0;
    if (offset < window_) return low_[offset];
    if (can_.high && offset >= kHigh && offset < kHigh + window_) return hi_[offset - kHigh];
    return 0;
  }
  // The model's bytes of [offset, offset + n), which lies in one window. A
  // window's bytes past EOF are zero: a write extends the size, a truncation
  // zeroes what it cuts.
  const std::uint8_t* span(std::uint64_t offset) const {
    return offset < window_ ? low_.data() + offset : hi_.data() + (offset - kHigh);
  }
  void apply(const Op& op) {
    if (op.kind == Kind::truncate) {
      for (std::uint64_t base : bases())
        if (op.offset < base + window_)
          std::fill(bytes(base).begin() + static_cast<std::ptrdiff_t>(op.offset > base ? op.offset - base : 0),
                    bytes(base).end(), 0);
      size_ = op.offset;
    }
    if (op.kind == Kind::punch) {  // zeros where it punched, the size kept
      auto& b = bytes(op.offset < window_ ? 0 : kHigh);
      const std::uint64_t base = op.offset < window_ ? 0 : kHigh;
      std::fill_n(b.begin() + static_cast<std::ptrdiff_t>(op.offset - base), op.length, 0);
      return;
    }
    if (op.kind != Kind::store && op.kind != Kind::fork_store && op.kind != Kind::pwrite && op.kind != Kind::append)
      return;
    auto& b = bytes(op.offset < window_ ? 0 : kHigh);
    const std::uint64_t base = op.offset < window_ ? 0 : kHigh;
    for (std::size_t i = 0; i < op.length; ++i) b[op.offset - base + i] = op.byte_at(i);
    size_ = std::max<std::uint64_t>(size_, op.offset + op.length);
  }

 private:
  std::vector<std::uint8_t>& bytes(std::uint64_t base) { return base == 0 ? low_ : hi_; }
  std::size_t window_;
  Features can_;
  std::uint64_t size_ = 0;
  std::vector<std::uint8_t> low_, hi_;
};

std::uint64_t draw_in(std::mt19937_64& rng, std::uint64_t below) { return below == 0 ? 0 : rng() % below; }

// Draws the next operation; identical on every rank for the same seed, ranks
// and window (the page size only bounds how far a load may cross EOF).
Op draw(std::mt19937_64& rng, int index, int ranks, const Model& model) {
  Op op{index,
        static_cast<int>(rng() % static_cast<unsigned>(ranks)),
        static_cast<Kind>(rng() % kKinds),
        0,
        0,
        static_cast<std::uint8_t>(rng())};
  const std::uint64_t base = model.has_high() && rng() % 4 == 0 ? kHigh : 0;
  const std::size_t w = model.window();
  const std::size_t longest = rng() % 8 == 0 ? w / 2 : kShortOp;
  // Bytes of this window below EOF, and the end of the page holding EOF.
  const std::uint64_t below = model.size() > base ? std::min<std::uint64_t>(model.size() - base, w) : 0;
  const std::uint64_t eof_page_end = (model.size() + page_size() - 1) / page_size() * page_size();
  if (op.kind == Kind::punch && !model.can_punch()) op.kind = Kind::pwrite;
  if (op.kind == Kind::fork_store && !model.can_fork()) op.kind = Kind::store;
  if ((op.kind == Kind::store || op.kind == Kind::fork_store || op.kind == Kind::load || op.kind == Kind::punch) &&
      below == 0)
    op.kind = Kind::pwrite;
  // An append starts at EOF and stays in EOF's window.
  const std::uint64_t eof_base = model.has_high() && model.size() >= kHigh ? kHigh : 0;
  const std::uint64_t room = eof_base + w > model.size() ? eof_base + w - model.size() : 0;
  if (op.kind == Kind::append && room == 0) op.kind = Kind::pwrite;
  switch (op.kind) {
    case Kind::store:  // entirely below EOF: a store past it is not kept
    case Kind::fork_store:
    case Kind::punch:
      op.offset = base + draw_in(rng, below);
      op.length = 1 + draw_in(rng, std::min<std::uint64_t>(longest, base + below - op.offset));
      break;
    case Kind::load: {  // may run past EOF up to the end of its page: zeros there
      op.offset = base + draw_in(rng, below);
      const std::uint64_t end = std::min<std::uint64_t>(base + w, std::max(eof_page_end, base + below));
      op.length = 1 + draw_in(rng, std::min<std::uint64_t>(longest, end - op.offset));
      break;
    }
    case Kind::pwrite:
    case Kind::pread:  // anywhere in the window: past EOF a pwrite extends, a pread is short
      op.offset = base + draw_in(rng, w);
      op.length = 1 + draw_in(rng, std::min<std::uint64_t>(longest, base + w - op.offset));
      break;
    case Kind::append:
      op.offset = model.size();
      op.length = 1 + draw_in(rng, std::min<std::uint64_t>(longest, room));
      break;
    case Kind::truncate: op.offset = base + draw_in(rng, w + 1); break;
    case Kind::msync: break;
  }
  return op;
}

// A window of the file mapped shared on this client.
struct Window {
  std::uint64_t base;
  Mapping map;
};

class Client {
 public:
  Client(const std::filesystem::path& file, const Model& model, bool msync_after_store)
      : fd_(open_file(file, O_RDWR)),
        append_fd_(open_file(file, O_WRONLY | O_APPEND)),
        msync_after_store_(msync_after_store) {
    const std::size_t length = (model.window() + page_size() - 1) / page_size() * page_size();
    for (std::uint64_t base : model.bases())
      windows_.push_back(
          {base, Mapping(fd_.get(), length, PROT_READ | PROT_WRITE, MAP_SHARED, static_cast<off_t>(base))});
  }

  // Performs `op` on this client; returns a complaint or "".
  std::string perform(const Op& op, const Model& model) {
    std::vector<std::uint8_t> data(op.length);
    for (std::size_t i = 0; i < op.length; ++i) data[i] = op.byte_at(i);
    switch (op.kind) {
      case Kind::store: return store(op, data);
      case Kind::fork_store: return store_in_child(op, data);
      case Kind::append: return append(op, data);
      case Kind::punch:
        if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(op.offset),
                        static_cast<off_t>(op.length)) != 0)
          return fmt::format("fallocate(PUNCH_HOLE): {}", std::strerror(errno));
        return "";
      case Kind::load: return compare_mapping(model, op.offset, op.length);
      case Kind::pwrite:
        pwrite_exact(fd_.get(), data.data(), data.size(), static_cast<off_t>(op.offset));
        if (msync_after_store_) fsync_file(fd_.get());
        return "";
      case Kind::pread: {
        const auto got = pread_up_to(fd_.get(), op.length, static_cast<off_t>(op.offset));
        const std::uint64_t want = model.size() > op.offset
                                       ? std::min<std::uint64_t>(op.length, model.size() - op.offset)
                                       : 0;
        if (got.size() != want)
          return fmt::format("pread at offset {} returned {} of {} bytes, the model says {} (file size {})", op.offset,
                             got.size(), op.length, want, model.size());
        return compare(got.data(), model, op.offset, got.size(), "pread");
      }
      case Kind::truncate:
        if (::ftruncate(fd_.get(), static_cast<off_t>(op.offset)) != 0)
          return fmt::format("ftruncate: {}", std::strerror(errno));
        return "";
      case Kind::msync:
        for (auto& w : windows_)
          if (::msync(w.map.data(), w.map.size(), MS_SYNC) != 0) return fmt::format("msync: {}", std::strerror(errno));
        return "";
    }
    return "";
  }

  // This client's whole view (size, pread, mappings) against the model.
  std::string verify(const Model& model) {
    struct stat st {};
    ::fstat(fd_.get(), &st);
    if (static_cast<std::uint64_t>(st.st_size) != model.size())
      return fmt::format("size is {}, the model says {}", st.st_size, model.size());
    for (auto& w : windows_) {
      if (model.size() <= w.base) continue;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(model.size() - w.base, model.window()));
      // A short read is a size this client contradicts (fstat() just agreed
      // with the model): reported with the op it follows, not thrown.
      auto bytes = pread_up_to(fd_.get(), n, static_cast<off_t>(w.base));
      if (bytes.size() != n)
        return fmt::format("pread at offset {} returned {} of {} bytes, fstat() and the model say file size {}", w.base,
                           bytes.size(), n, model.size());
      if (auto c = compare(bytes.data(), model, w.base, n, "pread"); !c.empty()) return c;
      if (auto c = compare_mapping(model, w.base, n); !c.empty()) return c;
    }
    return "";
  }

 private:
  std::uint8_t* address(std::uint64_t offset) {
    for (auto& w : windows_)
      if (offset >= w.base && offset < w.base + w.map.size()) return w.map.data() + (offset - w.base);
    throw std::logic_error(fmt::format("offset {} outside the mapped windows", offset));
  }

  std::string store(const Op& op, const std::vector<std::uint8_t>& data) {
    // One probed byte per page first: a client with a stale size must report SIGBUS, not die of it.
    for (std::uint64_t at = op.offset; at < op.offset + op.length; at = (at / page_size() + 1) * page_size()) {
      ProbeResult r = probe_store(address(at), data[at - op.offset]);
      if (!r.ok()) return fmt::format("store at {}: {}", at, r.describe());
    }
    std::memcpy(address(op.offset), data.data(), op.length);
    if (msync_after_store_)
      for (auto& w : windows_)
        if (::msync(w.map.data(), w.map.size(), MS_SYNC) != 0) return "msync failed";
    return "";
  }

  // The same store by a forked child through the mapping it inherited: a
  // SIGBUS kills it, which the outcome tells.
  std::string store_in_child(const Op& op, const std::vector<std::uint8_t>& data) {
    std::uint8_t* to = address(op.offset);
    AsyncChild child = AsyncChild::fork([to, &data] {
      std::memcpy(to, data.data(), data.size());
      return 0;
    });
    const ChildOutcome& end = child.wait();
    if (!end.exited_with(0)) return "the forked child's store ended: " + end.describe();
    if (msync_after_store_)
      for (auto& w : windows_)
        if (::msync(w.map.data(), w.map.size(), MS_SYNC) != 0) return "msync failed";
    return "";
  }

  // O_APPEND: the write lands at the EOF this client learns from the cluster.
  std::string append(const Op& op, const std::vector<std::uint8_t>& data) {
    const ssize_t n = ::write(append_fd_.get(), data.data(), data.size());
    if (n < 0) return fmt::format("write(O_APPEND): {}", std::strerror(errno));
    if (static_cast<std::size_t>(n) != data.size())
      return fmt::format("write(O_APPEND) wrote {} of {} bytes", n, data.size());
    const off_t end = ::lseek(append_fd_.get(), 0, SEEK_CUR);
    if (end != static_cast<off_t>(op.offset + op.length))
      return fmt::format("write(O_APPEND) of {} bytes ended at offset {}, the model's EOF was {}", n, end, op.offset);
    if (msync_after_store_) fsync_file(append_fd_.get());
    return "";
  }

  std::string compare_mapping(const Model& model, std::uint64_t offset, std::size_t length) {
    for (std::uint64_t at = offset; at < offset + length; at = (at / page_size() + 1) * page_size()) {
      ProbeResult r = probe_load(address(at));
      if (!r.ok()) return fmt::format("mapped load at {}: {}", at, r.describe());
    }
    return compare(address(offset), model, offset, length, "mapping");
  }

  static std::string compare(const std::uint8_t* seen, const Model& model, std::uint64_t base, std::size_t n,
                             const char* how) {
    if (std::memcmp(seen, model.span(base), n) == 0) return "";
    for (std::size_t i = 0; i < n; ++i)
      if (seen[i] != model.at(base + i))
        return fmt::format("{} at offset {} reads 0x{:02x}, the model says 0x{:02x}{}", how, base + i, seen[i],
                           model.at(base + i), base + i >= model.size() ? " (past EOF)" : "");
    return "";
  }

  Fd fd_, append_fd_;
  std::vector<Window> windows_;
  bool msync_after_store_;
};

std::uint64_t pick_seed(CheckContext& ctx) {
  if (ctx.params().seed) return *ctx.params().seed;
  const auto now = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  return std::stoull(ctx.broadcast(std::to_string(now % 1000000007ULL)));
}

// Rank 0 makes the file and finds out whether it may reach past 4 GiB (a
// sparse extension and back); every rank learns the answer.
bool create_with_high_window(CheckContext& ctx, const std::filesystem::path& file, std::size_t window) {
  std::string refused;
  if (ctx.rank() == 0) {
    Fd fd = create_file(file, 0, 0);
    if (::ftruncate(fd.get(), static_cast<off_t>(kHigh + window)) != 0)
      refused = std::strerror(errno);
    else if (::ftruncate(fd.get(), 0) != 0)
      throw std::system_error(errno, std::generic_category(), "ftruncate back to 0");
  }
  refused = ctx.broadcast(refused);
  if (!refused.empty()) ctx.note("no window above 4 GiB: extending the file there failed: " + refused);
  return refused.empty();
}

// Rank 0 finds out whether the filesystem punches holes (in a scratch file of
// its own); every rank learns the answer, so that every rank draws alike.
bool can_punch_holes(CheckContext& ctx) {
  std::string refused;
  if (ctx.rank() == 0) {
    const auto probe = ctx.path("model-punch-probe");
    Fd fd = create_file(probe, 2 * page_size(), 0x5a);
    if (::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(page_size())) != 0)
      refused = std::strerror(errno);
    std::filesystem::remove(probe);
  }
  refused = ctx.broadcast(refused);
  if (!refused.empty() && ctx.rank() == 0) ctx.note("no hole punching: fallocate(PUNCH_HOLE) failed: " + refused);
  return refused.empty();
}

// Whether every rank can fork (a seccomp filter or a process limit may say
// no): where one cannot, fork stores are drawn as stores, on every rank.
bool every_rank_forks(CheckContext& ctx) {
  const int error = fork_error();
  const bool all = ctx.all(error == 0);
  if (!all && ctx.rank() == 0) ctx.note("no fork stores: a rank cannot start a process");
  return all;
}

// FNV-1a over the operations' descriptions: equal digests, equal sequences;
// and how many of each kind were drawn.
struct Digest {
  std::uint64_t value = 14695981039346656037ULL;
  std::array<int, kKinds> kinds{};
  void add(const Op& op) {
    for (unsigned char c : op.describe()) value = (value ^ c) * 1099511628211ULL;
    ++kinds[static_cast<std::size_t>(op.kind)];
  }
  std::string kinds_drawn() const {
    std::string out;
    for (unsigned k = 0; k < kKinds; ++k) out += fmt::format("{}{} {}", k ? ", " : "", kKindNames[k], kinds[k]);
    return out;
  }
};

void run(CheckContext& ctx) {
  if (ctx.expected() < Level::msync) GTEST_SKIP() << "the model assumes msync-level coherence or better";
  const std::uint64_t seed = pick_seed(ctx);
  const int ops = ctx.params().ops;
  const std::size_t window = ctx.params().model_size;
  const std::string replay = fmt::format(
      "replay: mpirun -np {} dmmap-conform --gtest_filter=model.random_ops --seed {} --ops {} --model-size {}{} "
      "(on nodes with {}-byte pages)",
      ctx.size(), seed, ops, window,
      ctx.expected() == Level::strict ? "" : fmt::format(" --expect {}", to_string(ctx.expected())), page_size());
  const auto file = ctx.path("model");
  const bool high = create_with_high_window(ctx, file, window);
  const bool punch = can_punch_holes(ctx);
  Model model(window, {.high = high, .punch = punch, .fork = every_rank_forks(ctx)});
  ctx.barrier();

  Client client(file, model, ctx.expected() == Level::msync);
  std::mt19937_64 rng(seed);
  std::deque<std::string> history;
  Digest digest;
  std::string complaint;  // this rank's first divergence; it stops performing, not synchronising
  bool stop = false;
  int done = 0;
  for (int i = 0; i < ops && !stop; ++i, ++done) {
    const Op op = draw(rng, i, ctx.size(), model);
    if (complaint.empty() && op.rank == ctx.rank())
      if (auto c = client.perform(op, model); !c.empty()) complaint = op.describe() + ": " + c;
    model.apply(op);
    digest.add(op);
    history.push_back(op.describe());
    if (history.size() > kHistory) history.pop_front();
    ctx.barrier();
    if ((i + 1) % kVerifyEvery == 0 || i + 1 == ops) {
      if (complaint.empty())
        if (auto c = client.verify(model); !c.empty()) complaint = fmt::format("after op #{}: {}", i, c);
      stop = !ctx.all(complaint.empty());
    }
  }
  const std::string summary = fmt::format(
      "seed {}, {} operations, windows of {} bytes{}; operations digest {:016x} over {} ({}); {}", seed, ops, window,
      model.has_high() ? " at 0 and above 4 GiB" : " at 0", digest.value, done, digest.kinds_drawn(), replay);
  if (ctx.rank() == 0) ctx.note(summary);
  if (!complaint.empty()) {
    std::string last;
    for (auto& h : history) last += "; " + h;
    ADD_FAILURE() << fmt::format("{} ({}); last operations{}", complaint, summary, last);
  }
  ctx.barrier();
}

const CheckRegistration check({
    .id = "model.random-ops",
    .summary = "seeded random mapped (also from a fork), pread/pwrite/append, truncate, punch and msync ops on all "
               "clients match an in-memory model",
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
