// decode() and ObjectMapper: typed values out of JSON, errors that name the JSON path.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rpc/decode.h"

using namespace asyncode::rpc;

namespace {

struct Sample {
  std::string code;
  std::int64_t cursor = 0;
  std::optional<bool> flag;
  std::string session = "default";
  std::vector<std::string> tags;
};

void decode(const Json& j, Sample& out, const std::string& path) {
  ObjectMapper(j, path)
      .required("code", out.code)
      .required("cursor", out.cursor)
      .optional("flag", out.flag)
      .optionalOr("session", out.session)
      .optionalOr("tags", out.tags);
}

// The message a decode of `j` into T fails with ("" when it succeeds).
template <class T>
std::string failure(const Json& j, const std::string& path = "params") {
  using asyncode::rpc::decode;
  try {
    T out{};
    decode(j, out, path);
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("jsonTypeName names every JSON type with its article", "[decode]") {
  CHECK(jsonTypeName(Json(nullptr)) == "null");
  CHECK(jsonTypeName(Json(true)) == "a boolean");
  CHECK(jsonTypeName(Json(-1)) == "an integer");
  CHECK(jsonTypeName(Json(1u)) == "an integer");
  CHECK(jsonTypeName(Json(1.5)) == "a number");
  CHECK(jsonTypeName(Json("s")) == "a string");
  CHECK(jsonTypeName(Json::array()) == "an array");
  CHECK(jsonTypeName(Json::object()) == "an object");
}

TEST_CASE("ObjectMapper reads required, optional and defaulted fields", "[decode]") {
  SECTION("all fields present") {
    const auto s = decodeAs<Sample>(
        Json{{"code", "x"}, {"cursor", 4}, {"flag", true}, {"session", "s2"}, {"tags", {"a", "b"}}, {"extra", 1}});
    CHECK(s.code == "x");
    CHECK(s.cursor == 4);
    CHECK(s.flag == std::optional<bool>(true));
    CHECK(s.session == "s2");
    CHECK(s.tags == std::vector<std::string>{"a", "b"});
  }
  SECTION("absent and null optionals keep their defaults") {
    const auto s = decodeAs<Sample>(Json{{"code", ""}, {"cursor", 0}, {"flag", nullptr}, {"session", nullptr}});
    CHECK_FALSE(s.flag.has_value());
    CHECK(s.session == "default");
    CHECK(s.tags.empty());
  }
}

TEST_CASE("Decode errors name the JSON path and what was found", "[decode]") {
  struct Row {
    Json params;
    const char* message;
  };
  const Row row = GENERATE(values<Row>({
      {Json{{"code", "x"}, {"cursor", "3"}}, "params.cursor: expected an integer, got a string"},
      {Json{{"code", "x"}, {"cursor", 2.5}}, "params.cursor: expected an integer, got a number"},
      {Json{{"code", "x"}, {"cursor", true}}, "params.cursor: expected an integer, got a boolean"},
      {Json{{"code", "x"}, {"cursor", Json::array()}}, "params.cursor: expected an integer, got an array"},
      {Json{{"code", 1}, {"cursor", 0}}, "params.code: expected a string, got an integer"},
      {Json{{"code", Json::object()}, {"cursor", 0}}, "params.code: expected a string, got an object"},
      {Json{{"cursor", 0}}, "params.code: required field is missing"},
      {Json{{"code", nullptr}, {"cursor", 0}}, "params.code: required field is missing"},
      {Json{{"code", "x"}}, "params.cursor: required field is missing"},
      {Json{{"code", "x"}, {"cursor", 0}, {"flag", "yes"}}, "params.flag: expected a boolean, got a string"},
      {Json{{"code", "x"}, {"cursor", 0}, {"session", 7}}, "params.session: expected a string, got an integer"},
      {Json{{"code", "x"}, {"cursor", 0}, {"tags", "a"}}, "params.tags: expected an array, got a string"},
      {Json{{"code", "x"}, {"cursor", 0}, {"tags", {"a", 2}}}, "params.tags[1]: expected a string, got an integer"},
      {Json(nullptr), "params.code: required field is missing"},
      {Json::array({1}), "params: expected an object, got an array"},
      {Json("code"), "params: expected an object, got a string"},
  }));
  CAPTURE(row.params.dump());
  CHECK(failure<Sample>(row.params) == row.message);
}

TEST_CASE("Nested objects extend the path", "[decode]") {
  struct Outer {
    Sample inner;
  };
  Outer o;
  try {
    ObjectMapper(Json{{"inner", {{"code", "x"}, {"cursor", "no"}}}}, "params").required("inner", o.inner);
    FAIL("no DecodeError");
  } catch (const DecodeError& e) {
    CHECK(std::string(e.what()) == "params.inner.cursor: expected an integer, got a string");
  }
}

TEST_CASE("Integers accept whole numbers written as floats, within range", "[decode]") {
  SECTION("int64") {
    CHECK(decodeAs<std::int64_t>(Json(3.0)) == 3);
    CHECK(decodeAs<std::int64_t>(Json(-2.0)) == -2);
    CHECK(decodeAs<std::int64_t>(Json(0.0)) == 0);
    CHECK(decodeAs<std::int64_t>(Json(9.0e15)) == 9000000000000000);
    CHECK(decodeAs<std::int64_t>(Json(std::numeric_limits<std::int64_t>::min())) ==
          std::numeric_limits<std::int64_t>::min());
    CHECK(decodeAs<std::int64_t>(Json(std::uint64_t{9223372036854775807u})) == 9223372036854775807);
    CHECK(failure<std::int64_t>(Json(3.5)) == "params: expected an integer, got a number");
    CHECK(failure<std::int64_t>(Json(1.0e16)) == "params: expected an integer, got a number");
    CHECK(failure<std::int64_t>(Json(std::uint64_t{9223372036854775808u})) == "params: integer out of range");
    CHECK(failure<std::int64_t>(Json("3")) == "params: expected an integer, got a string");
    CHECK(failure<std::int64_t>(Json(nullptr)) == "params: expected an integer, got null");
  }
  SECTION("int") {
    CHECK(decodeAs<int>(Json(2147483647)) == 2147483647);
    CHECK(decodeAs<int>(Json(-2147483648LL)) == -2147483647 - 1);
    CHECK(decodeAs<int>(Json(7.0)) == 7);
    CHECK(failure<int>(Json(2147483648LL)) == "params: integer out of range");
    CHECK(failure<int>(Json(-2147483649LL)) == "params: integer out of range");
  }
}

TEST_CASE("Scalars decode only from their own JSON type", "[decode]") {
  CHECK(decodeAs<double>(Json(2)) == 2.0);
  CHECK(decodeAs<double>(Json(0.25)) == 0.25);
  CHECK(failure<double>(Json("1")) == "params: expected a number, got a string");
  CHECK(decodeAs<bool>(Json(false)) == false);
  CHECK(failure<bool>(Json(0)) == "params: expected a boolean, got an integer");
  CHECK(decodeAs<std::string>(Json("")) == "");
  CHECK(failure<std::string>(Json(nullptr), "x.y") == "x.y: expected a string, got null");
  CHECK(decodeAs<Json>(Json{{"any", 1}}) == Json{{"any", 1}});
}

TEST_CASE("String maps name the failing key in the path", "[decode]") {
  using Env = std::map<std::string, std::string>;
  CHECK(decodeAs<Env>(Json{{"A", "1"}, {"B", ""}}, "params.env") == Env{{"A", "1"}, {"B", ""}});
  CHECK(failure<Env>(Json{{"A", "1"}, {"HOME", 2}}, "params.env") == "params.env.HOME: expected a string, got an integer");
  CHECK(failure<Env>(Json::array(), "params.env") == "params.env: expected an object, got an array");
}

TEST_CASE("Vectors decode item by item with indexed paths", "[decode]") {
  CHECK(decodeAs<std::vector<int>>(Json::array({1, 2.0, -3})) == std::vector<int>{1, 2, -3});
  CHECK(decodeAs<std::vector<int>>(Json::array()).empty());
  CHECK(failure<std::vector<int>>(Json::array({1, 2, "3"}), "params.xs") ==
        "params.xs[2]: expected an integer, got a string");
  CHECK(failure<std::vector<std::vector<int>>>(Json::array({Json::array({1}), Json::array({1, true})})) ==
        "params[1][1]: expected an integer, got a boolean");
}
