// Typed descriptors of a protocol's methods. The generated protocol headers
// (tools/gen_protocol.py) declare one per method of a schema's x-methods, so that a handler,
// a call and a notification name their method and its types in one word:
//   dispatcher.bind(protocol::methods::exec, this, &Front::onExec);
//   peer.call(protocol::methods::compile, params, [](rpc::Answer<CompileResult> a) { ... });
#pragma once

#include <string_view>

namespace asyncode::rpc {

// A request: params P, answered by R.
template <class P, class R>
struct RequestType {
  using Params = P;
  using Result = R;
  std::string_view method;
  std::string_view direction;  // the schema's, as "client->daemon"
};

// A notification: params P, never answered.
template <class P>
struct NotificationType {
  using Params = P;
  std::string_view method;
  std::string_view direction;
};

enum class MethodKind { Request, Notification };

// One row of a schema's method table, as data (for tests and tools).
struct MethodInfo {
  std::string_view method;
  MethodKind kind;
  std::string_view direction;
  std::string_view params;  // the schema's $ref of the params
  std::string_view result;  // the schema's $ref of the result; empty for a notification
  std::string_view link;    // the worker link's channel ("lane", "control"); empty elsewhere
};

}  // namespace asyncode::rpc
