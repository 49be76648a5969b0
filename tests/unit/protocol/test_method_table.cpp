// The generated method tables against the schemas they come from, read here at run time: any
// difference (a stale build, a generator that skips an entry) fails.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <type_traits>

#include "protocol/protocol.h"
#include "protocol/worker_link.h"

using asyncode::rpc::Json;
using asyncode::rpc::MethodInfo;
using asyncode::rpc::MethodKind;

namespace {

Json readSchema(const std::string& file) {
  std::ifstream in(std::string(ASYNCODE_SCHEMA_DIR) + "/" + file);
  REQUIRE(in.good());
  return Json::parse(in);
}

template <std::size_t N>
void checkTable(const std::array<MethodInfo, N>& table, const Json& schema) {
  const Json& methods = schema.at("x-methods");
  REQUIRE(methods.size() == N);
  std::set<std::string> seen;
  for (const MethodInfo& m : table) {
    const std::string name(m.method);
    CAPTURE(name);
    REQUIRE(methods.contains(name));
    const Json& e = methods.at(name);
    CHECK(e.at("kind") == (m.kind == MethodKind::Request ? "request" : "notification"));
    CHECK(e.at("direction") == std::string(m.direction));
    CHECK(e.at("params").at("$ref") == std::string(m.params));
    CHECK(e.value("result", Json::object()).value("$ref", "") == std::string(m.result));
    CHECK(e.value("link", "") == std::string(m.link));
    seen.insert(name);
  }
  CHECK(seen.size() == N);
}

// forEachMethod visits the table's methods, in order, with descriptors of the right kind.
template <std::size_t N, class ForEach>
void checkDescriptors(const std::array<MethodInfo, N>& table, ForEach forEach) {
  std::size_t i = 0;
  forEach([&](const auto& descriptor) {
    REQUIRE(i < N);
    using D = std::decay_t<decltype(descriptor)>;
    constexpr bool isRequest = requires { typename D::Result; };
    CHECK(descriptor.method == table[i].method);
    CHECK(descriptor.direction == table[i].direction);
    CHECK(isRequest == (table[i].kind == MethodKind::Request));
    ++i;
  });
  CHECK(i == N);
}

}  // namespace

TEST_CASE("The protocol's method table is the schema's x-methods", "[protocol][methods]") {
  checkTable(asyncode::protocol::kMethods, readSchema("protocol.schema.json"));
  checkDescriptors(asyncode::protocol::kMethods, [](auto f) { asyncode::protocol::forEachMethod(f); });
}

TEST_CASE("The worker link's method table is its schema's x-methods", "[protocol][methods]") {
  checkTable(asyncode::protocol::link::kMethods, readSchema("worker-link.schema.json"));
  checkDescriptors(asyncode::protocol::link::kMethods, [](auto f) { asyncode::protocol::link::forEachMethod(f); });
}

TEST_CASE("Every object $def that a method reaches has its struct's fields in the schema's order",
          "[protocol][methods]") {
  // One struct per kind of field, checked against the schema's own property list.
  const Json schema = readSchema("protocol.schema.json");
  auto keys = [&](const char* def) {
    std::vector<std::string> out;
    for (const auto& [k, v] : schema.at("$defs").at(def).at("properties").items()) out.push_back(k);
    return out;
  };
  auto written = [](const Json& j) {
    std::vector<std::string> out;
    for (const auto& [k, v] : j.items()) out.push_back(k);
    return out;
  };
  using namespace asyncode::protocol;
  // Every key of a fully populated value is a schema key (nlohmann sorts object keys).
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  ExecResult r{1, ExecStatus::Error, Json{{"text/plain", "1"}}, ErrorInfo{}, 0.5, false};
  CHECK(written(Json(r)) == sorted(keys("ExecResult")));
  ExecParams p{"x", Mode::Module, "s", "f.py", true, 5};
  CHECK(written(Json(p)) == sorted(keys("ExecParams")));
  StatusParams s{"s", SessionState::Idle, 3, StatusReason::Crash, 1, "SIGKILL"};
  CHECK(written(Json(s)) == sorted(keys("StatusParams")));
}
