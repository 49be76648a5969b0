// libFuzzer: bytes as the daemon reads them from a client: frames, then JSON-RPC
// classification, then dispatch to handlers that decode every method's params the way
// the supervisor does. Every request must be answered exactly once, with a well-formed
// JSON-RPC message; nothing may crash or throw out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "rpc/dispatcher.h"
#include "rpc/framing.h"
#include "rpc/jsonrpc.h"
#include "rpc/protocol.h"

using namespace asyncode::rpc;

namespace {

template <class P>
void bind(Dispatcher& d, const std::string& method) {
  d.onRequest(method, [](const Json& params, ReplyOnce reply) {
    P p{};
    decode(params, p, "params");
    reply(Json::object());
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
    if (!initialized && method != "initialize") return Error{ErrorCode::ServerNotInitialized, "init", std::nullopt};
    return std::nullopt;
  });
  d.onRequest("initialize", [&](const Json& params, ReplyOnce reply) {
    InitializeParams p{};
    decode(params, p, "params");
    initialized = true;
    reply(Json::object());
  });
  bind<SessionOpenParams>(d, "session/open");
  bind<SessionParams>(d, "session/close");
  bind<SessionParams>(d, "session/restart");
  bind<CompileParams>(d, "compile");
  bind<CompileParams>(d, "needsAwait");
  bind<ExecParams>(d, "exec");
  bind<InterruptParams>(d, "interrupt");
  bind<CursorParams>(d, "complete");
  bind<CursorParams>(d, "inspect");
  bind<SessionParams>(d, "variables");
  d.onRequest("dropped", [](const Json&, ReplyOnce) {});  // dropping answers InternalError
  d.onRequest("throws", [](const Json&, ReplyOnce) { throw RpcException(ErrorCode::InvalidParams, "x"); });
  d.onNotification("$/cancelRequest", [](const Json& params) {
    CancelParams p;
    decode(params, p, "params");
  });

  FrameDecoder decoder(FrameLimits{1 << 16, 1024});
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
