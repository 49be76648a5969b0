// The `python` of session/open: a venv (or an interpreter, or its prefix) whose
// site-packages a session uses. Its Python version must be the daemon's own.
#pragma once

#include <string>

namespace asyncode::daemon {

struct ResolvedPython {
  std::string executable;  // what the worker's sys.executable becomes
  std::string version;     // "3.11.2" or "3.11"
  std::string error;       // set when the path cannot be used
};

// `ourVersion`: the embedded Python's version ("3.11.2"); major.minor must match.
ResolvedPython resolvePython(const std::string& path, const std::string& ourVersion);

// Whether the system Python would find a top-level module: looked up on disk, in
// PYTHONPATH, the user's site-packages and `siteDirs` (':'-separated), without
// starting Python. Used to list the backends a session can have.
bool importable(const std::string& module, const std::string& siteDirs, const std::string& version);

// "3.11" of "3.11.2".
std::string majorMinor(const std::string& version);

}  // namespace asyncode::daemon
