#include "clients/cli/interrupt.h"

namespace asyncode::cli {

void to_json(Json& j, const InterruptRequest& p) {
  j = Json::object();
  if (p.session != "default") j["session"] = p.session;
  if (p.force) j["force"] = true;
}

void decode(const Json& j, InterruptOutcome& out, const std::string& path) {
  std::optional<std::string> how;
  rpc::ObjectMapper(j, path).required("interrupted", out.interrupted).optional("how", how);
  // A value this client does not know yet is as good as none: nothing is said about it.
  if (!how) return;
  if (*how == "cancelled") out.how = InterruptHow::cancelled;
  if (*how == "keyboardInterrupt") out.how = InterruptHow::keyboardInterrupt;
  if (*how == "taskInterrupted") out.how = InterruptHow::taskInterrupted;
  if (*how == "restarted") out.how = InterruptHow::restarted;
}

}  // namespace asyncode::cli
