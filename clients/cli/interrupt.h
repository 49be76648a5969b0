// `interrupt` as revision 1 of the protocol has it (shared/PROTOCOL.md, "Interrupt"): `force`
// in its params, and `how` in its result, which says what the daemon did. The generated
// protocol::InterruptParams/InterruptResult are revision 0's; these two declarations go once
// revision 1 is in schema/protocol.schema.json (the generated types then have these fields).
#pragma once

#include <string>

#include "clients/cli/client_protocol.h"

namespace asyncode::cli {

struct InterruptRequest {
  std::string session = "default";
  bool force = false;  // restart the session's worker at once
};
void to_json(Json& j, const InterruptRequest& p);

enum class InterruptHow { none, cancelled, keyboardInterrupt, taskInterrupted, restarted };
struct InterruptOutcome {
  bool interrupted = false;
  InterruptHow how = InterruptHow::none;  // none: a daemon that does not say
};
void decode(const Json& j, InterruptOutcome& out, const std::string& path);

// The schema's `interrupt`, with these types.
inline constexpr rpc::RequestType<InterruptRequest, InterruptOutcome> interruptOnce{methods::interrupt.method,
                                                                                  methods::interrupt.direction};

}  // namespace asyncode::cli
