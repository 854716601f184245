#include "dials.hpp"

#include <fmt/format.h>

#include <charconv>

#include "dmmap/options.hpp"

namespace dialfs {

std::string to_string(Publish p) {
  switch (p) {
    case Publish::write: return "write";
    case Publish::sync: return "sync";
    case Publish::close: return "close";
  }
  return "?";
}

std::string to_string(LockScope s) {
  switch (s) {
    case LockScope::local: return "local";
    case LockScope::cluster: return "cluster";
    case LockScope::off: return "off";
  }
  return "?";
}

namespace {

std::string granularity_text(long ns) {
  if (ns % 1000000000 == 0) return fmt::format("{}s", ns / 1000000000);
  if (ns % 1000000 == 0) return fmt::format("{}ms", ns / 1000000);
  if (ns % 1000 == 0) return fmt::format("{}us", ns / 1000);
  return fmt::format("{}ns", ns);
}

}  // namespace

std::string Dials::describe() const {
  const std::string etxtbsy = cluster_etxtbsy ? fmt::format("cluster release-wait={}",
                                                            granularity_text(release_wait.count() * 1000000))
                                              : "local";
  return fmt::format("publish={} notify={} on-open={} merge={} time-granularity={} etxtbsy={} locks={} flock={}",
                     to_string(publish), notify ? "on" : "off", keep_cache ? "keep" : "refresh",
                     merge_bytes ? "bytes" : "page", granularity_text(time_granularity_ns), etxtbsy, to_string(locks),
                     to_string(flock));
}

Publish parse_publish(const std::string& text) {
  for (Publish p : {Publish::write, Publish::sync, Publish::close})
    if (to_string(p) == text) return p;
  throw dmmap::UsageError(fmt::format("--publish takes write, sync or close, not '{}'", text));
}

bool parse_on_off(const std::string& option, const std::string& text) {
  if (text == "on") return true;
  if (text == "off") return false;
  throw dmmap::UsageError(fmt::format("{} takes on or off, not '{}'", option, text));
}

bool parse_on_open(const std::string& text) {
  if (text == "keep") return true;
  if (text == "refresh") return false;
  throw dmmap::UsageError(fmt::format("--on-open takes keep or refresh, not '{}'", text));
}

bool parse_merge(const std::string& text) {
  if (text == "bytes") return true;
  if (text == "page") return false;
  throw dmmap::UsageError(fmt::format("--merge takes page or bytes, not '{}'", text));
}

LockScope parse_lock_scope(const std::string& option, const std::string& text) {
  for (LockScope s : {LockScope::local, LockScope::cluster, LockScope::off})
    if (to_string(s) == text) return s;
  throw dmmap::UsageError(fmt::format("{} takes local, cluster or off, not '{}'", option, text));
}

long parse_granularity(const std::string& text) {
  long number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  const std::string unit(ptr, text.data() + text.size());
  long scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1000;
  else if (unit == "ms")
    scale = 1000000;
  else if (unit == "s")
    scale = 1000000000;
  long ns = ec == std::errc() && number > 0 ? number * scale : 0;
  bool power_of_ten = ns > 0 && ns <= 1000000000;
  for (long n = ns; power_of_ten && n > 1; n /= 10)
    if (n % 10 != 0) power_of_ten = false;
  if (!power_of_ten)
    throw dmmap::UsageError(fmt::format(
        "--time-granularity takes a power of ten from 1ns to 1s (1ns, 10ns, ..., 1us, ..., 1ms, ..., 1s), not '{}'",
        text));
  return ns;
}

}  // namespace dialfs
