// model.random-ops: fsx across clients. A seeded random sequence of mapped
// loads and stores, pread/pwrite, truncate/extend and msync, each done by a
// randomly chosen rank, checked against an in-memory model of the file. Every
// rank draws the same sequence, so every rank keeps the same model; a barrier
// orders each operation before the next, and every few operations every rank
// compares its size, its pread() view and its mapping with the model.
//
// On a failure the message gives the seed and the last operations: rerun with
// --seed S (and --ops N) to replay the very same sequence.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <system_error>

#include "check.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

constexpr std::size_t kMaxPages = 8;
constexpr int kVerifyEvery = 8;
constexpr std::size_t kHistory = 12;

enum class Kind { store, load, pwrite, pread, truncate, msync };

struct Op {
  int index;
  int rank;
  Kind kind;
  std::size_t offset, length;  // for truncate: length is the new size
  std::uint8_t seed_byte;

  std::uint8_t byte_at(std::size_t i) const { return static_cast<std::uint8_t>(seed_byte + i * 7); }
  std::string describe() const {
    static const char* names[] = {"store", "load", "pwrite", "pread", "truncate", "msync"};
    if (kind == Kind::truncate) return fmt::format("#{} rank {} truncate to {}", index, rank, length);
    if (kind == Kind::msync) return fmt::format("#{} rank {} msync", index, rank);
    return fmt::format("#{} rank {} {} [{}, +{})", index, rank, names[static_cast<int>(kind)], offset, length);
  }
};

// Draws the next operation; identical on every rank for the same seed.
Op draw(std::mt19937_64& rng, int index, int ranks, std::size_t size) {
  const std::size_t max = kMaxPages * page_size();
  Op op{index,
        static_cast<int>(rng() % static_cast<unsigned>(ranks)),
        static_cast<Kind>(rng() % 6),
        0,
        0,
        static_cast<std::uint8_t>(rng())};
  if ((op.kind == Kind::store || op.kind == Kind::load || op.kind == Kind::pread) && size == 0) op.kind = Kind::pwrite;
  const std::size_t span = op.kind == Kind::pwrite || size == 0 ? max : size;
  op.offset = rng() % span;
  op.length = 1 + rng() % std::min<std::size_t>(2 * page_size(), span - op.offset);
  if (op.kind == Kind::truncate) op.length = rng() % (max + 1);
  return op;
}

class Client {
 public:
  Client(const std::filesystem::path& file, bool msync_after_store)
      : fd_(open_file(file, O_RDWR)),
        map_(fd_.get(), kMaxPages * page_size(), PROT_READ | PROT_WRITE, MAP_SHARED),
        msync_after_store_(msync_after_store) {}

  // Performs `op` on this client; returns a complaint or "".
  std::string perform(const Op& op, const std::vector<std::uint8_t>& model) {
    std::vector<std::uint8_t> data(op.length);
    for (std::size_t i = 0; i < op.length; ++i) data[i] = op.byte_at(i);
    switch (op.kind) {
      case Kind::store: return store(op, data);
      case Kind::load: return compare_mapping(model, op.offset, op.length);
      case Kind::pwrite:
        pwrite_exact(fd_.get(), data.data(), data.size(), static_cast<off_t>(op.offset));
        if (msync_after_store_) fsync_file(fd_.get());
        return "";
      case Kind::pread: {
        const auto got = pread_up_to(fd_.get(), op.length, static_cast<off_t>(op.offset));
        if (got.size() != op.length)
          return fmt::format("pread at offset {} returned {} of {} bytes, the model says the file is {} bytes",
                             op.offset, got.size(), op.length, model.size());
        return compare(got.data(), model.data() + op.offset, op.length, op.offset, "pread");
      }
      case Kind::truncate:
        if (::ftruncate(fd_.get(), static_cast<off_t>(op.length)) != 0)
          return fmt::format("ftruncate: {}", std::strerror(errno));
        return "";
      case Kind::msync:
        return ::msync(map_.data(), map_.size(), MS_SYNC) == 0 ? "" : fmt::format("msync: {}", std::strerror(errno));
    }
    return "";
  }

  // This client's whole view (size, pread, mapping) against the model.
  std::string verify(const std::vector<std::uint8_t>& model) {
    struct stat st {};
    ::fstat(fd_.get(), &st);
    if (static_cast<std::size_t>(st.st_size) != model.size())
      return fmt::format("size is {}, the model says {}", st.st_size, model.size());
    auto bytes = pread_exact(fd_.get(), model.size(), 0);
    if (auto c = compare(bytes.data(), model.data(), model.size(), 0, "pread"); !c.empty()) return c;
    return compare_mapping(model, 0, model.size());
  }

 private:
  std::string store(const Op& op, const std::vector<std::uint8_t>& data) {
    // One probed byte per page first: a client with a stale size must report SIGBUS, not die of it.
    for (std::size_t at = op.offset; at < op.offset + op.length; at = (at / page_size() + 1) * page_size()) {
      ProbeResult r = probe_store(map_.data() + at, data[at - op.offset]);
      if (!r.ok()) return fmt::format("store at {}: {}", at, r.describe());
    }
    std::memcpy(map_.data() + op.offset, data.data(), op.length);
    if (msync_after_store_ && ::msync(map_.data(), map_.size(), MS_SYNC) != 0) return "msync failed";
    return "";
  }

  std::string compare_mapping(const std::vector<std::uint8_t>& model, std::size_t offset, std::size_t length) {
    for (std::size_t at = offset; at < offset + length; at = (at / page_size() + 1) * page_size()) {
      ProbeResult r = probe_load(map_.data() + at);
      if (!r.ok()) return fmt::format("mapped load at {}: {}", at, r.describe());
    }
    return compare(map_.data() + offset, model.data() + offset, length, offset, "mapping");
  }

  static std::string compare(const std::uint8_t* seen, const std::uint8_t* want, std::size_t n, std::size_t base,
                             const char* how) {
    for (std::size_t i = 0; i < n; ++i)
      if (seen[i] != want[i])
        return fmt::format("{} at offset {} reads 0x{:02x}, the model says 0x{:02x}", how, base + i, seen[i], want[i]);
    return "";
  }

  Fd fd_;
  Mapping map_;
  bool msync_after_store_;
};

void apply(const Op& op, std::vector<std::uint8_t>& model) {
  if (op.kind == Kind::truncate) model.resize(op.length, 0);
  if (op.kind != Kind::store && op.kind != Kind::pwrite) return;
  if (op.offset + op.length > model.size()) model.resize(op.offset + op.length, 0);
  for (std::size_t i = 0; i < op.length; ++i) model[op.offset + i] = op.byte_at(i);
}

std::uint64_t pick_seed(CheckContext& ctx) {
  if (ctx.params().seed) return *ctx.params().seed;
  const auto now = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  return std::stoull(ctx.broadcast(std::to_string(now % 1000000007ULL)));
}

void run(CheckContext& ctx) {
  if (ctx.expected() < Level::msync) GTEST_SKIP() << "the model assumes msync-level coherence or better";
  const std::uint64_t seed = pick_seed(ctx);
  const int ops = ctx.params().ops;
  ctx.note(fmt::format("seed {}, {} operations (replay: --seed {} --ops {})", seed, ops, seed, ops));
  const auto file = ctx.path("model");
  if (ctx.rank() == 0) create_file(file, 0, 0);
  ctx.barrier();

  Client client(file, ctx.expected() == Level::msync);
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> model;
  std::deque<std::string> history;
  std::string complaint;  // this rank's first divergence; it stops performing, not synchronising
  bool stop = false;
  for (int i = 0; i < ops && !stop; ++i) {
    const Op op = draw(rng, i, ctx.size(), model.size());
    if (complaint.empty() && op.rank == ctx.rank())
      if (auto c = client.perform(op, model); !c.empty()) complaint = op.describe() + ": " + c;
    apply(op, model);
    history.push_back(op.describe());
    if (history.size() > kHistory) history.pop_front();
    ctx.barrier();
    if ((i + 1) % kVerifyEvery == 0 || i + 1 == ops) {
      if (complaint.empty())
        if (auto c = client.verify(model); !c.empty()) complaint = fmt::format("after op #{}: {}", i, c);
      stop = !ctx.all(complaint.empty());
    }
  }
  if (!complaint.empty()) {
    std::string last;
    for (auto& h : history) last += "; " + h;
    ADD_FAILURE() << fmt::format("{} (seed {}: replay with --seed {} --ops {}); last operations{}", complaint, seed,
                                 seed, ops, last);
  }
  ctx.barrier();
}

const CheckRegistration check({
    .id = "model.random-ops",
    .summary = "seeded random mapped/pread/pwrite/truncate/msync ops on all clients match an in-memory model",
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
