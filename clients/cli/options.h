// The command line: what to run (the prompt, a file, code) and how to start the session.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace asyncode::cli {

// How the daemon is started and the session opened; shared by the prompt and scripts.
struct SessionOptions {
  std::optional<std::string> backend;   // "asyncio" or "trio"
  std::optional<std::string> python;    // a venv (or interpreter) whose site-packages to use
  std::optional<std::string> cwd;       // the session's working directory
  std::string daemonPath;               // empty: the asyncoded beside this executable
  std::optional<std::string> logLevel;  // set: the daemon's log goes to our stderr
  std::optional<std::string> attach;    // asyncode attach SOCKET: a running program's socket
  bool stdinStream = false;             // the program reads our stdin (a pipe or a file) as a stream
  // False for a script: its daemon keeps no warm spare, whose start would take a CPU from the
  // script for ~100 ms and which nothing uses (a script's session is never restarted).
  bool spare = true;

  // True when the default session will not do and one must be opened with these settings.
  [[nodiscard]] bool needsOpen() const { return backend || python || cwd || stdinStream; }
};

struct Options {
  enum class Command {
    Interactive,  // the prompt, or the code on a pipe when stdin is not a terminal
    RunFile,      // asyncode run FILE [ARGS...]
    RunCode,      // asyncode -c CODE [ARGS...]
    Attach,       // asyncode attach SOCKET: the prompt, in a running program
    ListPrograms, // asyncode attach: the sockets of this user's running programs
    Help,
    Version,
  };
  Command command = Command::Interactive;
  SessionOptions session;
  std::string file;               // RunFile
  std::string code;               // RunCode
  std::vector<std::string> args;  // what follows FILE or CODE: sys.argv[1:]
};

struct ParsedOptions {
  Options options;
  std::string error;  // not empty: the command line was wrong (exit 2)
};

ParsedOptions parseOptions(int argc, const char* const* argv);

// The --help text.
const char* usage();

}  // namespace asyncode::cli
