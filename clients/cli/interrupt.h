// `interrupt` as revision 1 of the protocol has it (shared/PROTOCOL.md, "Interrupt"): `force`
// in its params, and `how` in its result, which says what the daemon did. client_protocol.h
// declares `interrupt` as revision 0 had it; these two declarations go once it is generated
// from the schema (issue 13) with these fields.
#pragma once

#include <string>

#include "clients/cli/client_protocol.h"

namespace asyncode::cli {

struct InterruptRequest {
  std::string session = rpc::kDefaultSession;
  bool force = false;  // restart the session's worker at once
};
void to_json(Json& j, const InterruptRequest& p);

enum class InterruptHow { none, cancelled, keyboardInterrupt, taskInterrupted, restarted };
struct InterruptOutcome {
  bool interrupted = false;
  InterruptHow how = InterruptHow::none;  // none: a daemon that does not say
};
void decode(const Json& j, InterruptOutcome& out, const std::string& path);

namespace methods {
inline constexpr RequestType<InterruptRequest, InterruptOutcome> interruptOnce{"interrupt"};
}  // namespace methods

}  // namespace asyncode::cli
