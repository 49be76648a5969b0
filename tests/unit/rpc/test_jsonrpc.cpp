// parseMessage's classification of bodies, and the serializers.
#include <catch2/catch.hpp>

#include <string>

#include "rpc/jsonrpc.h"

using namespace asyncode::rpc;

namespace {

const BadMessage& asBad(const std::variant<Message, BadMessage>& parsed) {
  REQUIRE(std::holds_alternative<BadMessage>(parsed));
  return std::get<BadMessage>(parsed);
}

template <class T>
const T& messageOf(const std::variant<Message, BadMessage>& parsed) {
  REQUIRE(std::holds_alternative<Message>(parsed));
  const auto& m = std::get<Message>(parsed);
  REQUIRE(std::holds_alternative<T>(m));
  return std::get<T>(m);
}

}  // namespace

TEST_CASE("A request keeps its id's JSON type, its method and its params", "[jsonrpc]") {
  SECTION("an integer id") {
    const auto parsed = parseMessage(R"({"jsonrpc":"2.0","id":7,"method":"exec","params":{"code":"1"}})");
    const auto& r = messageOf<Request>(parsed);
    CHECK(r.id.is_number_integer());
    CHECK(r.id == 7);
    CHECK(r.method == "exec");
    CHECK(r.params == Json{{"code", "1"}});
  }
  SECTION("a string id") {
    const auto parsed = parseMessage(R"({"jsonrpc":"2.0","id":"7","method":"m"})");
    const auto& r = messageOf<Request>(parsed);
    CHECK(r.id.is_string());
    CHECK(r.id == "7");
    CHECK(r.params.is_null());  // absent params read as null
  }
  SECTION("params given as an array or as null") {
    CHECK(messageOf<Request>(parseMessage(R"({"jsonrpc":"2.0","id":0,"method":"m","params":[1,2]})")).params ==
          Json::array({1, 2}));
    CHECK(messageOf<Request>(parseMessage(R"({"jsonrpc":"2.0","id":0,"method":"m","params":null})")).params.is_null());
  }
  SECTION("an empty array is no params, in a request and in a notification (revision 1)") {
    CHECK(messageOf<Request>(parseMessage(R"({"jsonrpc":"2.0","id":0,"method":"m","params":[]})")).params.is_null());
    CHECK(messageOf<Notification>(parseMessage(R"({"jsonrpc":"2.0","method":"m","params":[]})")).params.is_null());
  }
  SECTION("a negative id") {
    CHECK(messageOf<Request>(parseMessage(R"({"jsonrpc":"2.0","id":-3,"method":"m"})")).id == -3);
  }
}

TEST_CASE("A message without an id is a notification", "[jsonrpc]") {
  const auto parsed = parseMessage(R"({"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":4}})");
  const auto& n = messageOf<Notification>(parsed);
  CHECK(n.method == "$/cancelRequest");
  CHECK(n.params == Json{{"id", 4}});
}

TEST_CASE("Responses carry a result or an error", "[jsonrpc]") {
  SECTION("a result") {
    const auto parsed = parseMessage(R"({"jsonrpc":"2.0","id":3,"result":{"ok":true}})");
    const auto& r = messageOf<Response>(parsed);
    CHECK(r.id == 3);
    REQUIRE(r.result.has_value());
    CHECK(*r.result == Json{{"ok", true}});
    CHECK_FALSE(r.error.has_value());
  }
  SECTION("a null result is still a result") {
    const auto rParsed = parseMessage(R"({"jsonrpc":"2.0","id":"a","result":null})");
    const auto& r = messageOf<Response>(rParsed);
    REQUIRE(r.result.has_value());
    CHECK(r.result->is_null());
    CHECK(r.id == "a");
  }
  SECTION("an error with data") {
    const auto parsed =
        parseMessage(R"({"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"nope","data":[1]}})");
    const auto& r = messageOf<Response>(parsed);
    CHECK_FALSE(r.result.has_value());
    REQUIRE(r.error.has_value());
    CHECK(r.error->code == ErrorCode::MethodNotFound);
    CHECK(r.error->message == "nope");
    REQUIRE(r.error->data.has_value());
    CHECK(*r.error->data == Json::array({1}));
  }
  SECTION("an error answering an unreadable request has a null id") {
    const auto rParsed = parseMessage(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}})");
    const auto& r = messageOf<Response>(rParsed);
    CHECK(r.id.is_null());
    REQUIRE(r.error.has_value());
    CHECK(r.error->code == ErrorCode::ParseError);
  }
}

TEST_CASE("Bodies that are not JSON-RPC messages are classified with the error to answer", "[jsonrpc]") {
  struct Row {
    const char* body;
    ErrorCode code;
    Json id;
    const char* message;
  };
  const Row row = GENERATE(values<Row>({
      {"[]", ErrorCode::InvalidRequest, nullptr, "batch requests are not supported"},
      {R"([{"jsonrpc":"2.0","id":1,"method":"m"}])", ErrorCode::InvalidRequest, nullptr,
       "batch requests are not supported"},
      {"42", ErrorCode::InvalidRequest, nullptr, "a message must be a JSON object"},
      {R"("text")", ErrorCode::InvalidRequest, nullptr, "a message must be a JSON object"},
      {"null", ErrorCode::InvalidRequest, nullptr, "a message must be a JSON object"},
      {R"({"jsonrpc":"2.0","id":null,"method":"m"})", ErrorCode::InvalidRequest, nullptr,
       "a request's id must not be null"},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"m"})", ErrorCode::InvalidRequest, nullptr,
       "id must be an integer or a string"},
      {R"({"jsonrpc":"2.0","id":true,"method":"m"})", ErrorCode::InvalidRequest, nullptr,
       "id must be an integer or a string"},
      {R"({"jsonrpc":"2.0","id":{"a":1},"method":"m"})", ErrorCode::InvalidRequest, nullptr,
       "id must be an integer or a string"},
      {R"({"jsonrpc":"1.0","id":5,"method":"m"})", ErrorCode::InvalidRequest, 5, R"(jsonrpc must be "2.0")"},
      {R"({"id":"x","method":"m"})", ErrorCode::InvalidRequest, "x", R"(jsonrpc must be "2.0")"},
      {R"({"jsonrpc":2.0,"id":5,"method":"m"})", ErrorCode::InvalidRequest, 5, R"(jsonrpc must be "2.0")"},
      {R"({"jsonrpc":"2.0","id":5,"method":5})", ErrorCode::InvalidRequest, 5, "method must be a string"},
      {R"({"jsonrpc":"2.0","id":5,"method":"m","params":5})", ErrorCode::InvalidRequest, 5,
       "params must be an object or an array"},
      {R"({"jsonrpc":"2.0","method":"m","params":"s"})", ErrorCode::InvalidRequest, nullptr,
       "params must be an object or an array"},
      {R"({"jsonrpc":"2.0","id":5,"error":"bad"})", ErrorCode::InvalidRequest, 5, "error must be an object"},
      {R"({"jsonrpc":"2.0","id":5,"result":1,"error":{"code":1,"message":"m"}})", ErrorCode::InvalidRequest,
       5, "a message needs a method, or an id with a result or an error"},
      {R"({"jsonrpc":"2.0","result":1})", ErrorCode::InvalidRequest, nullptr,
       "a message needs a method, or an id with a result or an error"},
      {R"({"jsonrpc":"2.0","id":5})", ErrorCode::InvalidRequest, 5,
       "a message needs a method, or an id with a result or an error"},
  }));
  CAPTURE(row.body);
  const auto parsed = parseMessage(row.body);
  const BadMessage& bad = asBad(parsed);
  CHECK(bad.error.code == row.code);
  CHECK(bad.id == row.id);
  CHECK(bad.error.message == row.message);
  CHECK_FALSE(bad.error.data.has_value());
}

TEST_CASE("Bodies that are not JSON are parse errors without an id", "[jsonrpc]") {
  const std::string body = GENERATE(as<std::string>{}, "", "{", R"({"id":1,)", "\xff\xfe", "{} {}", "nul");
  CAPTURE(body);
  const auto parsed = parseMessage(body);
  const BadMessage& bad = asBad(parsed);
  CHECK(bad.error.code == ErrorCode::ParseError);
  CHECK(bad.id.is_null());
  CHECK(bad.error.message.rfind("parse error: ", 0) == 0);
  CHECK(bad.error.message.size() > std::string("parse error: ").size());
}

TEST_CASE("Errors convert to JSON and back", "[jsonrpc]") {
  SECTION("with data") {
    const Error e{ErrorCode::InvalidParams, "bad", Json{{"path", "params.code"}}};
    const Json j = errorToJson(e);
    CHECK(j == Json{{"code", -32602}, {"message", "bad"}, {"data", {{"path", "params.code"}}}});
    const Error back = errorFromJson(j);
    CHECK(back.code == ErrorCode::InvalidParams);
    CHECK(back.message == "bad");
    REQUIRE(back.data.has_value());
    CHECK(*back.data == Json{{"path", "params.code"}});
  }
  SECTION("without data, no data key is written") {
    CHECK(errorToJson(Error{ErrorCode::RequestCancelled, "cancelled", std::nullopt}) ==
          Json{{"code", -32800}, {"message", "cancelled"}});
  }
  SECTION("missing or mistyped fields read as InternalError with an empty message") {
    const Error e = errorFromJson(Json{{"code", "x"}, {"message", 5}});
    CHECK(e.code == ErrorCode::InternalError);
    CHECK(e.message.empty());
    CHECK_FALSE(e.data.has_value());
  }
  SECTION("a code outside the enum is kept as a number") {
    CHECK(static_cast<int>(errorFromJson(Json{{"code", 1234}, {"message", "m"}}).code) == 1234);
  }
}

TEST_CASE("The serializers write exact JSON-RPC 2.0 bodies", "[jsonrpc]") {
  CHECK(serializeRequest(1, "exec", Json{{"code", "x"}}) ==
        R"({"id":1,"jsonrpc":"2.0","method":"exec","params":{"code":"x"}})");
  CHECK(serializeRequest("a", "shutdown", nullptr) == R"({"id":"a","jsonrpc":"2.0","method":"shutdown"})");
  CHECK(serializeNotification("status", Json{{"state", "idle"}}) ==
        R"({"jsonrpc":"2.0","method":"status","params":{"state":"idle"}})");
  CHECK(serializeNotification("exit", nullptr) == R"({"jsonrpc":"2.0","method":"exit"})");
  CHECK(serializeResult(2, nullptr) == R"({"id":2,"jsonrpc":"2.0","result":null})");
  CHECK(serializeResult("2", Json::array({1})) == R"({"id":"2","jsonrpc":"2.0","result":[1]})");
  CHECK(serializeError(nullptr, Error{ErrorCode::ParseError, "parse error", std::nullopt}) ==
        R"({"error":{"code":-32700,"message":"parse error"},"id":null,"jsonrpc":"2.0"})");
  CHECK(serializeError(9, Error{ErrorCode::ServerNotInitialized, "wait", Json(1)}) ==
        R"({"error":{"code":-32002,"data":1,"message":"wait"},"id":9,"jsonrpc":"2.0"})");
}

TEST_CASE("Serialized messages parse back to what was sent", "[jsonrpc]") {
  const auto rParsed = parseMessage(serializeRequest("q", "inspect", Json{{"cursor", 3}}));
  const auto& r = messageOf<Request>(rParsed);
  CHECK(r.id == "q");
  CHECK(r.method == "inspect");
  CHECK(r.params == Json{{"cursor", 3}});
  const auto eParsed = parseMessage(serializeError(4, Error{ErrorCode::InvalidParams, "x", std::nullopt}));
  const auto& e = messageOf<Response>(eParsed);
  REQUIRE(e.error.has_value());
  CHECK(e.error->code == ErrorCode::InvalidParams);
}

TEST_CASE("dumpJson replaces invalid UTF-8 with U+FFFD instead of throwing", "[jsonrpc]") {
  const Json j{{"text", "a\xff" "b\xC3"}};
  REQUIRE_THROWS_AS(j.dump(), Json::type_error);  // what dumpJson protects against
  CHECK(dumpJson(j) == "{\"text\":\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\"}");
  CHECK(dumpJson(Json("caf\xC3\xA9")) == "\"caf\xC3\xA9\"");  // valid UTF-8 is not escaped
  CHECK(serializeResult(1, Json("\x80")) == "{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":\"\xEF\xBF\xBD\"}");
}

TEST_CASE("RpcException carries its error and its message", "[jsonrpc]") {
  const RpcException e(ErrorCode::ServerNotInitialized, "not yet");
  CHECK(std::string(e.what()) == "not yet");
  CHECK(e.error().code == ErrorCode::ServerNotInitialized);
  CHECK(e.error().message == "not yet");
  CHECK_FALSE(e.error().data.has_value());
}

TEST_CASE("Nesting deeper than the bound is an invalid request answered with its id", "[jsonrpc][depth]") {
  const std::size_t levels = GENERATE(std::size_t{300}, std::size_t{100000});
  const std::string array = std::string(levels, '[') + std::string(levels, ']');
  std::string object;
  for (std::size_t i = 0; i < levels; ++i) object += "{\"a\":";
  object += "1" + std::string(levels, '}');
  const std::string deep = GENERATE_COPY(array, object);
  CAPTURE(levels, deep.substr(0, 8));

  SECTION("in a request's params") {
    const auto parsed = parseMessage(R"({"jsonrpc":"2.0","id":9,"method":"exec","params":)" + deep + "}");
    const auto* bad = std::get_if<BadMessage>(&parsed);
    REQUIRE(bad);
    CHECK(bad->id == 9);
    CHECK(bad->error.code == ErrorCode::InvalidRequest);
    CHECK(bad->error.message.find("nested deeper than") != std::string::npos);
  }
  SECTION("in a notification's params") {
    const auto parsed = parseMessage(R"({"jsonrpc":"2.0","method":"$/cancelRequest","params":)" + deep + "}");
    const auto* bad = std::get_if<BadMessage>(&parsed);
    REQUIRE(bad);
    CHECK(bad->id.is_null());
  }
  SECTION("in a response's result: an error response for its request") {
    const auto parsed = parseMessage(R"({"jsonrpc":"2.0","id":4,"result":)" + deep + "}");
    const auto& r = messageOf<Response>(parsed);
    CHECK(r.id == 4);
    CHECK_FALSE(r.result);
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::InvalidRequest);
  }
  SECTION("parseJson refuses it") { CHECK_FALSE(asyncode::rpc::parseJson(deep)); }
}

TEST_CASE("Nesting up to the bound is read; brackets in strings do not count", "[jsonrpc][depth]") {
  using asyncode::rpc::jsonNestingDepth;
  using asyncode::rpc::kMaxJsonDepth;
  const std::string atBound = std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']');
  CHECK(std::holds_alternative<asyncode::rpc::Message>(
      parseMessage(R"({"jsonrpc":"2.0","id":1,"method":"m","params":)" + atBound + "}")));
  CHECK(jsonNestingDepth(R"({"a":"[[[[{{{{\"[[["})") == 1);
  CHECK(jsonNestingDepth(R"(["\\",[["x"]]])") == 3);
  CHECK(jsonNestingDepth("") == 0);
}
