// A small JSON value: enough to write reports and read them back.
//
// The dependency set is Debian's packages in ci/packages, no JSON library
// among them, and reports need only objects that keep their key order,
// arrays, strings, numbers and bools.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace dmmap {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;  // keeps insertion order

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : value_(b) {}
  Json(int n) : value_(static_cast<double>(n)) {}
  Json(long n) : value_(static_cast<double>(n)) {}
  Json(long long n) : value_(static_cast<double>(n)) {}
  Json(unsigned n) : value_(static_cast<double>(n)) {}
  Json(unsigned long n) : value_(static_cast<double>(n)) {}
  Json(unsigned long long n) : value_(static_cast<double>(n)) {}
  Json(double d) : value_(d) {}
  Json(const char* s) : value_(std::string(s)) {}
  Json(std::string s) : value_(std::move(s)) {}
  Json(std::string_view s) : value_(std::string(s)) {}
  Json(Array a) : value_(std::move(a)) {}
  Json(Object o) : value_(std::move(o)) {}

  static Json array() { return Json(Array{}); }
  static Json object() { return Json(Object{}); }
  static Json parse(std::string_view text);  // throws std::runtime_error with the offset

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(value_); }
  bool is_bool() const { return std::holds_alternative<bool>(value_); }
  bool is_number() const { return std::holds_alternative<double>(value_); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }
  bool is_array() const { return std::holds_alternative<Array>(value_); }
  bool is_object() const { return std::holds_alternative<Object>(value_); }

  bool as_bool() const { return get<bool>("bool"); }
  double as_number() const { return get<double>("number"); }
  const std::string& as_string() const { return get<std::string>("string"); }
  const Array& as_array() const { return get<Array>("array"); }
  Array& as_array() { return get<Array>("array"); }
  const Object& as_object() const { return get<Object>("object"); }

  // Object access: operator[] inserts (making a null value an object), find() does not.
  Json& operator[](std::string_view key);
  const Json* find(std::string_view key) const;
  const Json& at(std::string_view key) const;  // throws when missing
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Array append (making a null value an array).
  Json& push_back(Json value);
  std::size_t size() const;

  // indent < 0: compact on one line.
  std::string dump(int indent = -1) const;

 private:
  template <typename T>
  const T& get(const char* what) const {
    if (auto* v = std::get_if<T>(&value_)) return *v;
    throw std::runtime_error(std::string("JSON value is not a ") + what);
  }
  template <typename T>
  T& get(const char* what) {
    if (auto* v = std::get_if<T>(&value_)) return *v;
    throw std::runtime_error(std::string("JSON value is not a ") + what);
  }
  void dump_to(std::string& out, int indent, int depth) const;

  std::variant<std::nullptr_t, bool, double, std::string, Array, Object> value_{nullptr};
};

std::string json_escape(std::string_view s);

}  // namespace dmmap
