#include "dmmap/options.hpp"

#include <fmt/format.h>

#include <charconv>

namespace dmmap {

OptionParser::OptionParser(std::string program, std::string synopsis)
    : program_(std::move(program)), synopsis_(std::move(synopsis)) {}

OptionParser& OptionParser::value(std::string name, std::string metavar, std::string help,
                                  std::function<void(const std::string&)> apply) {
  options_.push_back({std::move(name), std::move(metavar), std::move(help), std::move(apply), true, false});
  return *this;
}

OptionParser& OptionParser::flag(std::string name, std::string help, std::function<void()> apply) {
  options_.push_back({std::move(name), "", std::move(help), [apply](const std::string&) { apply(); }, false, false});
  return *this;
}

OptionParser& OptionParser::section(std::string title) {
  options_.push_back({std::move(title), "", "", {}, false, true});
  return *this;
}

const OptionParser::Option* OptionParser::find(const std::string& name) const {
  for (auto& o : options_)
    if (!o.is_section && o.name == name) return &o;
  return nullptr;
}

void OptionParser::parse(int& argc, char** argv, const std::vector<std::string>& pass_through_prefixes) const {
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto passes = [&] {
      for (auto& p : pass_through_prefixes)
        if (arg.rfind(p, 0) == 0) return true;
      return false;
    };
    if (arg.rfind("--", 0) != 0 || passes()) {
      if (arg.rfind("-", 0) == 0 && !passes()) throw UsageError(fmt::format("unknown option '{}' (see --help)", arg));
      if (arg.rfind("-", 0) != 0 && !passes())
        throw UsageError(fmt::format("unexpected argument '{}' (see --help)", arg));
      argv[out++] = argv[i];
      continue;
    }
    std::string name = arg, value;
    bool inline_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    const Option* option = find(name);
    if (!option) throw UsageError(fmt::format("unknown option '{}' (see --help)", name));
    if (option->takes_value && !inline_value) {
      if (i + 1 >= argc) throw UsageError(fmt::format("{} needs a value: {} {}", name, name, option->metavar));
      value = argv[++i];
    } else if (!option->takes_value && inline_value) {
      throw UsageError(fmt::format("{} takes no value", name));
    }
    option->apply(value);
  }
  argc = out;
  argv[argc] = nullptr;
}

std::string OptionParser::help() const {
  std::string out = fmt::format("Usage: {} {}\n", program_, synopsis_);
  for (auto& o : options_) {
    if (o.is_section) {
      out += fmt::format("\n{}:\n", o.name);
      continue;
    }
    std::string left = o.takes_value ? fmt::format("{} {}", o.name, o.metavar) : o.name;
    if (left.size() <= 24) {
      out += fmt::format("  {:<24}  {}\n", left, o.help);
    } else {
      out += fmt::format("  {}\n  {:<24}  {}\n", left, "", o.help);
    }
  }
  return out;
}

std::chrono::milliseconds parse_duration(const std::string& text) {
  double number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  std::string unit(ptr, text.data() + text.size());
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m" || unit == "min")
    scale = 60000;
  if (ec != std::errc() || scale == 0 || number <= 0)
    throw UsageError(fmt::format("'{}' is not a duration (examples: 30, 30s, 500ms, 2m)", text));
  return std::chrono::milliseconds(static_cast<long long>(number * scale));
}

long long parse_count(const std::string& text, const std::string& what) {
  long long n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n < 0)
    throw UsageError(fmt::format("{} must be a non-negative integer, not '{}'", what, text));
  return n;
}

}  // namespace dmmap
