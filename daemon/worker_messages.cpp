#include "daemon/worker_messages.h"

#include <charconv>
#include <exception>

#include "rpc/decode.h"

namespace asyncode::daemon {

namespace link = protocol::link;
using rpc::Json;

bool parseFrameOwner(std::string_view owner, std::optional<std::int64_t>& seq) {
  if (owner.empty()) return true;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(owner.data(), owner.data() + owner.size(), v);
  if (ec != std::errc() || end != owner.data() + owner.size() || v < 1) return false;
  seq = v;
  return true;
}

bool validMimeBundle(const Json& data) {
  if (!data.is_object()) return false;
  const auto plain = data.find("text/plain");
  if (plain == data.end() || !plain->is_string()) return false;
  for (const auto& [mime, value] : data.items()) {
    const bool json = mime == "application/json" ||
                      (mime.rfind("application/", 0) == 0 && mime.size() > 5 && mime.compare(mime.size() - 5, 5, "+json") == 0);
    if (!json && !value.is_string()) return false;
  }
  return true;
}

namespace {

template <class P>
FramedMessage decoded(const Json& params) {
  P p{};
  decode(params, p, "params");
  return p;
}

}  // namespace

std::variant<FramedMessage, std::string> decodeFramedMessage(std::string_view body) {
  auto parsed = rpc::parseMessage(body);
  const auto* message = std::get_if<rpc::Message>(&parsed);
  const auto* n = message ? std::get_if<rpc::Notification>(message) : nullptr;
  if (!n) return std::string("a frame that is not a JSON-RPC notification");
  try {
    if (n->method == link::methods::workerExecStart.method) return decoded<link::ExecStartParams>(n->params);
    if (n->method == link::methods::display.method) {
      FramedMessage m = decoded<link::DisplayParams>(n->params);
      if (!validMimeBundle(std::get<link::DisplayParams>(m).data)) throw rpc::DecodeError("params.data: not a MimeBundle");
      return m;
    }
    if (n->method == link::methods::clearOutput.method) return decoded<link::ClearOutputParams>(n->params);
    if (n->method == link::methods::taskError.method) return decoded<link::TaskErrorParams>(n->params);
    throw rpc::DecodeError("method: " + n->method.substr(0, 64) + " does not travel in frames");
  } catch (const std::exception& e) {
    return std::string("a frame that breaks the link's schema (") + e.what() + ")";
  }
}

}  // namespace asyncode::daemon
