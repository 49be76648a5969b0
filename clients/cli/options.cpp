#include "clients/cli/options.h"

#include <array>
#include <string_view>

namespace asyncode::cli {
namespace {

constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug", "info", "warn", "error", "critical", "off"};

bool isOneOf(std::string_view value, auto const& choices) {
  for (std::string_view c : choices)
    if (value == c) return true;
  return false;
}

}  // namespace

const char* usage() {
  return R"(usage: asyncode [options]                        an interactive Python prompt
       asyncode [options] run FILE [ARGS...]     run a script (top-level await works)
       asyncode [options] -c CODE [ARGS...]      run code given as an argument
       COMMAND | asyncode [options]              run the code read from standard input
       asyncode [options] attach [SOCKET]        the prompt inside a running program that
                                                 called asyncode.serve(); without SOCKET,
                                                 list this user's programs that serve

Python runs in a session of asyncoded, which keeps its event loop alive: `await` works at
the prompt and at the top level of scripts, and tasks go on running between statements.

options:
  --backend asyncio|trio  the session's event loop (default asyncio)
  --python VENV           use the packages of this virtual environment (its Python must
                          be the daemon's version)
  --cwd DIR               the session's working directory
  --daemon PATH           the asyncoded to start (default: the one beside asyncode)
  --log-level LEVEL       show the daemon's log on stderr: trace, debug, info, warn,
                          error, critical or off
  -v, --verbose           the same as --log-level info
  --version               print the version and exit
  -h, --help              print this help and exit

At the prompt: Tab completes, Ctrl-C interrupts running code (or clears the line),
Ctrl-D or exit() leaves. History is kept in ~/.asyncode_history ($ASYNCODE_HISTORY).
)";
}

ParsedOptions parseOptions(int argc, const char* const* argv) {
  ParsedOptions parsed;
  Options& o = parsed.options;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    // `--name value` or `--name=value`; sets `error` when the value is missing.
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=')
        return std::string(arg.substr(name.size() + 1));
      if (arg != name) return std::nullopt;
      if (i + 1 < args.size()) return std::string(args[++i]);
      parsed.error = std::string(name) + " needs a value";
      return std::nullopt;
    };
    auto rest = [&](std::size_t from) { return std::vector<std::string>(args.begin() + static_cast<std::ptrdiff_t>(from), args.end()); };

    if (arg == "-h" || arg == "--help") {
      o.command = Options::Command::Help;
      return parsed;
    }
    if (arg == "--version" || arg == "-V") {
      o.command = Options::Command::Version;
      return parsed;
    }
    if (arg == "-v" || arg == "--verbose") {
      o.session.logLevel = "info";
    } else if (auto backend = value("--backend")) {
      if (*backend != "asyncio" && *backend != "trio") {
        parsed.error = "--backend takes asyncio or trio, not \"" + *backend + "\"";
      }
      o.session.backend = *backend;
    } else if (auto python = value("--python")) {
      o.session.python = *python;
    } else if (auto cwd = value("--cwd")) {
      o.session.cwd = *cwd;
    } else if (auto daemon = value("--daemon")) {
      o.session.daemonPath = *daemon;
    } else if (auto level = value("--log-level")) {
      if (!isOneOf(*level, kLogLevels)) parsed.error = "--log-level takes trace, debug, info, warn, error, critical or off";
      o.session.logLevel = *level;
    } else if (arg == "-c" || (arg.starts_with("-c") && !arg.starts_with("--"))) {
      if (arg.size() > 2) {
        o.code = std::string(arg.substr(2));
      } else if (i + 1 < args.size()) {
        o.code = std::string(args[++i]);
      } else {
        parsed.error = "-c needs the code to run";
        return parsed;
      }
      o.command = Options::Command::RunCode;
      o.args = rest(i + 1);
      return parsed;
    } else if (arg == "attach") {
      if (i + 2 < args.size()) {
        parsed.error = "attach takes one socket";
        return parsed;
      }
      if (i + 1 < args.size()) {
        o.command = Options::Command::Attach;
        o.session.attach = std::string(args[i + 1]);
      } else {
        o.command = Options::Command::ListPrograms;
      }
      return parsed;
    } else if (arg == "run") {
      if (i + 1 >= args.size()) {
        parsed.error = "run needs a file to run";
        return parsed;
      }
      o.command = Options::Command::RunFile;
      o.file = std::string(args[i + 1]);
      o.args = rest(i + 2);
      return parsed;
    } else if (parsed.error.empty()) {
      parsed.error = arg.starts_with("-") ? "unknown option: " + std::string(arg)
                                          : "unknown command: " + std::string(arg) + " (to run a file: asyncode run " +
                                                std::string(arg) + ")";
    }
    if (!parsed.error.empty()) return parsed;
  }
  return parsed;
}

}  // namespace asyncode::cli
