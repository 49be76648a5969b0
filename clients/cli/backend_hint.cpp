#include "clients/cli/backend_hint.h"

namespace asyncode::cli {

std::optional<std::string> backendHint(const std::string& backend, const ErrorInfo& error) {
  if (backend == "trio") return std::nullopt;
  const std::string& text = error.formatted;
  // Trio's own frames, and how Trio fails when there is no Trio run around it.
  const bool inTrio = text.find("/trio/") != std::string::npos;
  const bool noTrioRun = text.find("must be called from async context") != std::string::npos ||
                         text.find("'RunContext' object has no attribute 'runner'") != std::string::npos;
  if (!inTrio || !noTrioRun) return std::nullopt;
  return "this code awaits Trio, and the session runs asyncio: use asyncode --backend trio";
}

}  // namespace asyncode::cli
