// What to say when code fails because it needs another event loop than its session's: Trio
// awaited in an asyncio session fails deep inside Trio ("must be called from async context"),
// which does not tell that `--backend trio` is the cure.
#pragma once

#include <optional>
#include <string>

#include "clients/cli/client_protocol.h"

namespace asyncode::cli {

// The hint for `error`, raised in a session of `backend`; none when it is not that failure.
std::optional<std::string> backendHint(const std::string& backend, const ErrorInfo& error);

}  // namespace asyncode::cli
