#include "rpc/decode.h"

#include <limits>

namespace asyncode::rpc {

std::string_view jsonTypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    default: return "an unknown value";
  }
}

void decodeFailure(const std::string& path, std::string_view expected, const Json& got) {
  throw DecodeError(path + ": expected " + std::string(expected) + ", got " + std::string(jsonTypeName(got)));
}

void decode(const Json& j, std::string& out, const std::string& path) {
  if (!j.is_string()) decodeFailure(path, "a string", j);
  out = j.get<std::string>();
}

void decode(const Json& j, bool& out, const std::string& path) {
  if (!j.is_boolean()) decodeFailure(path, "a boolean", j);
  out = j.get<bool>();
}

void decode(const Json& j, std::int64_t& out, const std::string& path) {
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      throw DecodeError(path + ": integer out of range");
    out = j.get<std::int64_t>();
    return;
  }
  // 3.0 is an integer written as a number: accept it, as JavaScript clients send those.
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (d == static_cast<double>(static_cast<std::int64_t>(d)) && d >= -9.0e15 && d <= 9.0e15) {
      out = static_cast<std::int64_t>(d);
      return;
    }
  }
  decodeFailure(path, "an integer", j);
}

void decode(const Json& j, int& out, const std::string& path) {
  std::int64_t v = 0;
  decode(j, v, path);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    throw DecodeError(path + ": integer out of range");
  out = static_cast<int>(v);
}

void decode(const Json& j, double& out, const std::string& path) {
  if (!j.is_number()) decodeFailure(path, "a number", j);
  out = j.get<double>();
}

void decode(const Json& j, Json& out, const std::string&) { out = j; }

void decode(const Json& j, std::map<std::string, std::string>& out, const std::string& path) {
  if (!j.is_object()) decodeFailure(path, "an object", j);
  out.clear();
  for (const auto& [k, v] : j.items()) {
    std::string s;
    decode(v, s, path + "." + k);
    out.emplace(k, std::move(s));
  }
}

void decode(const Json& j, std::nullptr_t& out, const std::string& path) {
  if (!j.is_null()) decodeFailure(path, "null", j);
  out = nullptr;
}

namespace {

bool hasType(const Json& j, std::string_view type) {
  if (type == "integer") return j.is_number_integer();
  if (type == "number") return j.is_number();
  if (type == "string") return j.is_string();
  if (type == "boolean") return j.is_boolean();
  if (type == "object") return j.is_object();
  if (type == "array") return j.is_array();
  if (type == "null") return j.is_null();
  return false;
}

std::string withArticle(std::string_view type) {
  if (type == "null") return "null";
  if (type == "integer" || type == "object" || type == "array") return "an " + std::string(type);
  return "a " + std::string(type);
}

}  // namespace

void expectTypes(const Json& j, std::initializer_list<std::string_view> types, const std::string& path) {
  std::string expected;
  for (const auto type : types) {
    if (hasType(j, type)) return;
    expected += expected.empty() ? "" : " or ";
    expected += withArticle(type);
  }
  decodeFailure(path, expected, j);
}

void checkMinimum(double value, double minimum, const std::string& path) {
  if (value >= minimum) return;
  if (minimum == 0) throw DecodeError(path + ": must not be negative");
  const bool whole = minimum == static_cast<double>(static_cast<std::int64_t>(minimum));
  throw DecodeError(path + ": must be at least " +
                    (whole ? std::to_string(static_cast<std::int64_t>(minimum)) : Json(minimum).dump()));
}

void enumFailure(const std::string& path, const std::string& got, const std::string& choices) {
  throw DecodeError(path + ": expected one of " + choices + ", got \"" + got + "\"");
}

ObjectMapper::ObjectMapper(const Json& j, std::string path) : j_(j), path_(std::move(path)) {
  if (!j_.is_null() && !j_.is_object()) decodeFailure(path_, "an object", j_);
}

const Json* ObjectMapper::find(std::string_view key) const {
  if (!j_.is_object()) return nullptr;
  const auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace asyncode::rpc
