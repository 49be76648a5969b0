// libFuzzer: bytes as the daemon reads them from a client: frames, then JSON-RPC
// classification, then dispatch to typed handlers of every method a client may send, bound
// from the generated method table (so the fuzzer's list is the schema's). Every request must be
// answered exactly once, with a well-formed JSON-RPC message; nothing may crash or throw out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "protocol/protocol.h"
#include "rpc/dispatcher.h"
#include "rpc/framing.h"
#include "rpc/jsonrpc.h"

using namespace asyncode::rpc;
namespace protocol = asyncode::protocol;

namespace {

// Binds every method a client sends: its params are decoded as the daemon decodes them, and a
// request is answered with an empty object.
void bindClientMethods(Dispatcher& d, bool& initialized) {
  protocol::forEachMethod([&](const auto& method) {
    if (method.direction == "daemon->client") return;
    using M = std::decay_t<decltype(method)>;
    if constexpr (requires { typename M::Result; }) {
      d.bind(method, [&initialized, name = method.method](const typename M::Params&, Reply<typename M::Result> reply) {
        if (name == protocol::methods::initialize.method) initialized = true;
        reply.untyped()(Json::object());
      });
    } else {
      d.bind(method, [](const typename M::Params&) {});
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // the dispatcher logs dropped replies: noise here
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  int answers = 0;
  int requests = 0;
  Dispatcher d([&](std::string body) {
    ++answers;
    const auto parsed = parseMessage(body);  // what we send must itself parse as a response
    const auto* m = std::get_if<Message>(&parsed);
    if (!m || !std::holds_alternative<Response>(*m)) std::abort();
  });
  bool initialized = false;
  d.setGate([&](const std::string& method) -> std::optional<Error> {
    if (!initialized && method != protocol::methods::initialize.method)
      return Error{ErrorCode::ServerNotInitialized, "init", std::nullopt};
    return std::nullopt;
  });
  bindClientMethods(d, initialized);
  d.onRequest("dropped", [](const Json&, ReplyOnce) {});  // dropping answers InternalError
  d.onRequest("throws", [](const Json&, ReplyOnce) { throw RpcException(ErrorCode::InvalidParams, "x"); });

  FrameDecoder decoder(FrameLimits{1 << 16, 1024, 0});
  int errors = 0;
  decoder.feed(
      std::string_view(reinterpret_cast<const char*>(bytes), size),
      [&](std::string&& body) {
        auto parsed = parseMessage(body);
        if (auto* bad = std::get_if<BadMessage>(&parsed)) {
          (void)serializeError(bad->id, bad->error);
          return;
        }
        auto& m = std::get<Message>(parsed);
        if (auto* r = std::get_if<Request>(&m)) {
          ++requests;
          d.dispatch(std::move(*r));
        } else if (auto* n = std::get_if<Notification>(&m)) {
          d.dispatch(*n);
        }
      },
      [&](const FrameError&) { ++errors; });
  if (answers != requests) std::abort();  // every request answered exactly once
  return 0;
}
