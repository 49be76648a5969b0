// What user code's SystemExit (exit(), quit(), sys.exit(n)) makes of this process's exit
// status, as CPython decides it: no argument or None gives 0, an integer gives itself,
// anything else is printed on stderr and gives 1.
#pragma once

#include <string>

#include "clients/cli/client_protocol.h"

namespace asyncode::cli {

struct ExitRequest {
  int code = 0;
  std::string message;  // to print on stderr (empty: nothing)
};

// `error` is a SystemExit; its message is str() of its argument.
ExitRequest exitRequestOf(const ErrorInfo& error);

inline bool isSystemExit(const ErrorInfo& error) { return error.type == "SystemExit"; }

}  // namespace asyncode::cli
