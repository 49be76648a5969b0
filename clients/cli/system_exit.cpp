#include "clients/cli/system_exit.h"

#include <charconv>

namespace asyncode::cli {

ExitRequest exitRequestOf(const ErrorInfo& error) {
  const std::string& m = error.message;
  // The protocol carries str(code): "None" for exit() and sys.exit(), "" for SystemExit().
  if (m.empty() || m == "None" || m == "False") return {0, {}};
  if (m == "True") return {1, {}};
  long long code = 0;
  const auto [end, ec] = std::from_chars(m.data(), m.data() + m.size(), code);
  if (ec == std::errc() && end == m.data() + m.size()) return {static_cast<int>(code & 0xFF), {}};
  return {1, m};
}

}  // namespace asyncode::cli
