// Reading typed values out of JSON with errors that name the JSON path ("params.cursor").
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/jsonrpc.h"

namespace asyncode::rpc {

// Thrown by decode(); the dispatcher turns it into InvalidParams.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string_view jsonTypeName(const Json& j);
[[noreturn]] void decodeFailure(const std::string& path, std::string_view expected, const Json& got);

void decode(const Json& j, std::string& out, const std::string& path);
void decode(const Json& j, bool& out, const std::string& path);
void decode(const Json& j, int& out, const std::string& path);
void decode(const Json& j, std::int64_t& out, const std::string& path);
void decode(const Json& j, double& out, const std::string& path);
void decode(const Json& j, Json& out, const std::string& path);
void decode(const Json& j, std::map<std::string, std::string>& out, const std::string& path);
void decode(const Json& j, std::nullptr_t& out, const std::string& path);

// `j` must be of one of these JSON Schema types ("integer", "string", "null", "object", ...):
// "params.id: expected an integer or a string, got a number".
void expectTypes(const Json& j, std::initializer_list<std::string_view> types, const std::string& path);
// JSON Schema's `minimum`: "params.cursor: must not be negative".
void checkMinimum(double value, double minimum, const std::string& path);

// An enum from its wire name, by a table of {name, value}.
template <class Table, class E>
bool enumFromString(const Table& names, std::string_view text, E& out) {
  for (const auto& [name, value] : names) {
    if (name == text) {
      out = value;
      return true;
    }
  }
  return false;
}
[[noreturn]] void enumFailure(const std::string& path, const std::string& got, const std::string& choices);
template <class Table, class E>
void decodeEnum(const Json& j, E& out, const std::string& path, const Table& names) {
  if (!j.is_string()) decodeFailure(path, "a string", j);
  const auto& text = j.get_ref<const std::string&>();
  if (enumFromString(names, text, out)) return;
  std::string choices;
  for (const auto& entry : names) {
    choices += choices.empty() ? "\"" : ", \"";
    choices.append(entry.first);
    choices += '"';
  }
  enumFailure(path, text, choices);
}

template <class T>
void decode(const Json& j, std::vector<T>& out, const std::string& path) {
  if (!j.is_array()) decodeFailure(path, "an array", j);
  out.clear();
  out.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    T item{};
    decode(j[i], item, path + "[" + std::to_string(i) + "]");
    out.push_back(std::move(item));
  }
}

// Reads the fields of one JSON object. A null or absent field leaves an optional empty.
// Unknown fields are ignored: clients may send more than a method reads.
class ObjectMapper {
 public:
  // `j` may be null (no params at all): then every required() fails and optionals stay empty.
  ObjectMapper(const Json& j, std::string path);

  template <class T>
  ObjectMapper& required(std::string_view key, T& out) {
    const Json* v = find(key);
    if (!v) throw DecodeError(field(key) + ": required field is missing");
    decode(*v, out, field(key));
    return *this;
  }

  template <class T>
  ObjectMapper& optional(std::string_view key, std::optional<T>& out) {
    if (const Json* v = find(key)) {
      T value{};
      decode(*v, value, field(key));
      out = std::move(value);
    }
    return *this;
  }

  // Keeps `out` (its default) when the field is absent or null.
  template <class T>
  ObjectMapper& optionalOr(std::string_view key, T& out) {
    if (const Json* v = find(key)) decode(*v, out, field(key));
    return *this;
  }

 private:
  const Json* find(std::string_view key) const;
  std::string field(std::string_view key) const { return path_ + "." + std::string(key); }

  const Json& j_;
  std::string path_;
};

// Decode a whole value, for callers outside the dispatcher.
template <class T>
T decodeAs(const Json& j, const std::string& path = "params") {
  T out{};
  decode(j, out, path);
  return out;
}

}  // namespace asyncode::rpc
