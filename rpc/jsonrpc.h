// JSON-RPC 2.0 messages: classification of incoming bodies and serialization of outgoing ones.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

namespace asyncode::rpc {

using Json = nlohmann::json;

// JSON-RPC's codes and the two of LSP's that the protocol uses.
enum class ErrorCode : int {
  ParseError = -32700,
  InvalidRequest = -32600,
  MethodNotFound = -32601,
  InvalidParams = -32602,
  InternalError = -32603,
  ServerNotInitialized = -32002,
  RequestCancelled = -32800,
};

struct Error {
  ErrorCode code = ErrorCode::InternalError;
  std::string message;
  std::optional<Json> data;
};

// A handler throws this to answer its request with an error.
class RpcException : public std::runtime_error {
 public:
  explicit RpcException(Error e) : std::runtime_error(e.message), error_(std::move(e)) {}
  RpcException(ErrorCode code, std::string message)
      : RpcException(Error{code, std::move(message), std::nullopt}) {}
  [[nodiscard]] const Error& error() const { return error_; }

 private:
  Error error_;
};

// A request id keeps the JSON type it arrived with (integer or string): replies echo it.
using Id = Json;

struct Request {
  Id id;
  std::string method;
  Json params;  // null when absent
};
struct Notification {
  std::string method;
  Json params;
};
struct Response {
  Id id;
  std::optional<Json> result;
  std::optional<Error> error;
};
using Message = std::variant<Request, Notification, Response>;

// A body that is not a JSON-RPC message: the error to answer with, and the id when one
// could be read (null otherwise).
struct BadMessage {
  Id id;
  Error error;
};

// Arrays and objects nest at most this deep in anything read from outside (a client, a
// worker): copying or destroying a value recurses once per level, so a deeper one could
// overflow the stack.
inline constexpr std::size_t kMaxJsonDepth = 256;

// How deep arrays and objects nest in JSON text, counted no further than `limit + 1`. A fast
// scan that does not check the text is valid JSON.
std::size_t jsonNestingDepth(std::string_view text, std::size_t limit = kMaxJsonDepth);

// JSON text parsed with the nesting bound; nullopt when it is not JSON or nests too deep.
std::optional<Json> parseJson(std::string_view text);

// Classify one frame body. Never throws. A body nesting deeper than kMaxJsonDepth is an
// invalid request (answered with its id when it has one); a response that does is taken as
// an error response.
std::variant<Message, BadMessage> parseMessage(std::string_view body);

Json errorToJson(const Error& e);
Error errorFromJson(const Json& j);

std::string serializeRequest(const Id& id, std::string_view method, const Json& params);
std::string serializeNotification(std::string_view method, const Json& params);
std::string serializeResult(const Id& id, const Json& result);
std::string serializeError(const Id& id, const Error& error);

// Dump JSON without ever throwing: invalid UTF-8 in strings is replaced by U+FFFD.
std::string dumpJson(const Json& j);

}  // namespace asyncode::rpc
