// A small declarative command-line parser shared by the dmmap binaries.
//
// Options are declared with a help line; parse() consumes the ones it knows and
// leaves the rest (e.g. --gtest_* or --benchmark_* flags) for the framework.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dmmap {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class OptionParser {
 public:
  explicit OptionParser(std::string program, std::string synopsis);

  // --name VALUE or --name=VALUE
  OptionParser& value(std::string name, std::string metavar, std::string help,
                      std::function<void(const std::string&)> apply);
  // --name
  OptionParser& flag(std::string name, std::string help, std::function<void()> apply);
  OptionParser& section(std::string title);

  // Consumes known options from argv (compacting it). Unknown --options are
  // left in place when `pass_through_prefixes` matches them, else UsageError.
  void parse(int& argc, char** argv, const std::vector<std::string>& pass_through_prefixes = {}) const;
  std::string help() const;

 private:
  struct Option {
    std::string name, metavar, help;
    std::function<void(const std::string&)> apply;
    bool takes_value = false;
    bool is_section = false;
  };
  const Option* find(const std::string& name) const;

  std::string program_, synopsis_;
  std::vector<Option> options_;
};

// Parses "30", "30s", "500ms", "2m" into milliseconds; throws UsageError.
std::chrono::milliseconds parse_duration(const std::string& text);
long long parse_count(const std::string& text, const std::string& what);

}  // namespace dmmap
