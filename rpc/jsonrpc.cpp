#include "rpc/jsonrpc.h"

namespace asyncode::rpc {
namespace {

bool validId(const Json& id) { return id.is_string() || id.is_number_integer(); }

BadMessage invalid(Id id, std::string message) {
  return {std::move(id), Error{ErrorCode::InvalidRequest, std::move(message), std::nullopt}};
}

std::string tooDeepMessage() {
  return "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
}

// A message that nests too deep: parsed again with everything below the bound left out
// (nlohmann's parser itself does not recurse), to answer it with its id.
std::variant<Message, BadMessage> tooDeep(std::string_view body) {
  const Json j = Json::parse(
      body,
      [](int depth, Json::parse_event_t event, Json&) {
        const bool opens = event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start;
        return !(opens && static_cast<std::size_t>(depth) >= kMaxJsonDepth);
      },
      /*allow_exceptions=*/false);
  Id id = nullptr;
  if (j.is_object()) {
    if (const auto it = j.find("id"); it != j.end() && validId(*it)) id = *it;
  }
  if (!id.is_null() && !j.contains("method") && (j.contains("result") || j.contains("error")))
    return Message{Response{std::move(id), std::nullopt, Error{ErrorCode::InvalidRequest, tooDeepMessage(), std::nullopt}}};
  return invalid(std::move(id), tooDeepMessage());
}

}  // namespace

std::size_t jsonNestingDepth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool inString = false, escaped = false;
  for (const char c : text) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::optional<Json> parseJson(std::string_view text) {
  if (jsonNestingDepth(text) > kMaxJsonDepth) return std::nullopt;
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::variant<Message, BadMessage> parseMessage(std::string_view body) {
  if (jsonNestingDepth(body) > kMaxJsonDepth) return tooDeep(body);
  Json j;
  try {
    j = Json::parse(body);
  } catch (const Json::exception& e) {
    return BadMessage{nullptr, Error{ErrorCode::ParseError, std::string("parse error: ") + e.what(),
                                     std::nullopt}};
  }
  if (j.is_array()) return invalid(nullptr, "batch requests are not supported");
  if (!j.is_object()) return invalid(nullptr, "a message must be a JSON object");

  Id id = nullptr;
  const auto idIt = j.find("id");
  const bool hasId = idIt != j.end();
  if (hasId) {
    if (!validId(*idIt) && !idIt->is_null()) return invalid(nullptr, "id must be an integer or a string");
    id = *idIt;
  }
  const auto version = j.find("jsonrpc");
  if (version == j.end() || *version != "2.0") return invalid(id, "jsonrpc must be \"2.0\"");

  const auto method = j.find("method");
  if (method != j.end()) {
    if (!method->is_string()) return invalid(id, "method must be a string");
    Json params = nullptr;
    if (const auto p = j.find("params"); p != j.end()) {
      if (!p->is_object() && !p->is_array() && !p->is_null())
        return invalid(id, "params must be an object or an array");
      // An empty array is no params (Lua encodes {} as []); a non-empty one stays positional.
      if (!(p->is_array() && p->empty())) params = *p;
    }
    if (!hasId) return Message{Notification{method->get<std::string>(), std::move(params)}};
    if (id.is_null()) return invalid(id, "a request's id must not be null");
    return Message{Request{std::move(id), method->get<std::string>(), std::move(params)}};
  }

  const auto result = j.find("result");
  const auto error = j.find("error");
  if (hasId && (result != j.end()) != (error != j.end())) {
    Response r{std::move(id), std::nullopt, std::nullopt};
    if (result != j.end()) {
      r.result = *result;
    } else {
      if (!error->is_object()) return invalid(r.id, "error must be an object");
      r.error = errorFromJson(*error);
    }
    return Message{std::move(r)};
  }
  return invalid(id, "a message needs a method, or an id with a result or an error");
}

Json errorToJson(const Error& e) {
  Json j{{"code", static_cast<int>(e.code)}, {"message", e.message}};
  if (e.data) j["data"] = *e.data;
  return j;
}

Error errorFromJson(const Json& j) {
  Error e;
  if (const auto c = j.find("code"); c != j.end() && c->is_number_integer())
    e.code = static_cast<ErrorCode>(c->get<int>());
  if (const auto m = j.find("message"); m != j.end() && m->is_string()) e.message = m->get<std::string>();
  if (const auto d = j.find("data"); d != j.end()) e.data = *d;
  return e;
}

std::string dumpJson(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string serializeRequest(const Id& id, std::string_view method, const Json& params) {
  Json j{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) j["params"] = params;
  return dumpJson(j);
}

std::string serializeNotification(std::string_view method, const Json& params) {
  Json j{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) j["params"] = params;
  return dumpJson(j);
}

std::string serializeResult(const Id& id, const Json& result) {
  return dumpJson(Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
}

std::string serializeError(const Id& id, const Error& error) {
  return dumpJson(Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", errorToJson(error)}});
}

}  // namespace asyncode::rpc
