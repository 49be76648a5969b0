// asyncoded: runs Python code for editors and tools, over JSON-RPC on stdin and stdout.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/logging.h"
#include "daemon/python_env.h"
#include "daemon/supervisor.h"
#include "daemon/worker_link.h"
#include "daemon/worker_main.h"

namespace {

constexpr const char* kUsage = R"(usage: asyncoded [options]

Runs Python code in live sessions for editors and tools. Speaks JSON-RPC 2.0 on stdin
and stdout, framed as the Language Server Protocol frames it (Content-Length headers).
Logs go to stderr; stdout carries protocol messages only.

options:
  --log-level LEVEL  trace, debug, info, warn (default), error, critical or off; lines at
                     this level or above go to stderr and to the client as `log`
  --spares N         warm worker processes kept ready for new sessions and restarts
                     (default 1; 0 starts each session's process when it is needed)
  --start-timeout S  seconds a worker may take to start before its session is closed
                     with an error (default 30)
  --version          print the version and exit
  --help             print this help and exit

The protocol: see schema/protocol.schema.json and the README.
)";

struct Args {
  bool worker = false;
  bool help = false;
  bool version = false;
  std::string logLevel = "warn";
  int spares = 1;
  std::uint64_t startTimeoutMs = 30000;
  int parentPid = 0;
  std::optional<std::string> pythonExecutable;
  std::string error;
};

Args parse(int argc, char** argv) {
  Args a;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=')
        return std::string(arg.substr(name.size() + 1));
      if (arg == name) {
        if (i + 1 < args.size()) return std::string(args[++i]);
        a.error = std::string(name) + " needs a value";
      }
      return std::nullopt;
    };
    if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (arg == "--version" || arg == "-V") {
      a.version = true;
    } else if (arg == "--worker") {
      a.worker = true;
    } else if (auto v = value("--log-level")) {
      a.logLevel = *v;
    } else if (auto v2 = value("--spares")) {
      char* end = nullptr;
      const long n = std::strtol(v2->c_str(), &end, 10);
      if (*end != '\0' || n < 0 || n > 16) a.error = "--spares takes a number from 0 to 16";
      a.spares = static_cast<int>(n);
    } else if (auto v6 = value("--start-timeout")) {
      char* end = nullptr;
      const double s = std::strtod(v6->c_str(), &end);
      if (*end != '\0' || !(s > 0 && s <= 3600)) a.error = "--start-timeout takes seconds, more than 0 and at most 3600";
      a.startTimeoutMs = static_cast<std::uint64_t>(s * 1000);
    } else if (auto v3 = value("--parent-pid")) {
      a.parentPid = std::atoi(v3->c_str());
    } else if (auto v4 = value("--python-executable")) {
      a.pythonExecutable = *v4;
    } else if (a.error.empty()) {
      a.error = "unknown option: " + std::string(arg);
    }
    if (!a.error.empty()) break;
  }
  return a;
}

// The event-loop libraries the system's Python can import (a venv may add its own).
std::vector<asyncode::protocol::Backend> availableBackends() {
  std::vector<asyncode::protocol::Backend> found{asyncode::protocol::Backend::Asyncio};
  if (asyncode::daemon::importable("trio", ASYNCODE_PYTHON_SITE_DIRS, ASYNCODE_PYTHON_VERSION))
    found.push_back(asyncode::protocol::Backend::Trio);
  return found;
}

std::string selfPath(const char* argv0) {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) return p.string();
  return std::filesystem::absolute(argv0, ec).string();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace asyncode::daemon;
  // spdlog's own default logger writes to stdout, which carries frames only.
  setupLogging(spdlog::level::warn, STDERR_FILENO, "asyncoded");

  const Args args = parse(argc, argv);
  if (!args.error.empty()) {
    std::fprintf(stderr, "asyncoded: %s\n%s", args.error.c_str(), kUsage);
    return 2;
  }
  if (args.help) {
    std::fputs(kUsage, stdout);  // asked for: the one time stdout carries text
    return 0;
  }
  if (args.version) {
    std::printf("asyncoded %s (Python %s)\n", ASYNCODE_VERSION, ASYNCODE_PYTHON_VERSION);
    return 0;
  }
  spdlog::level::level_enum level;
  try {
    level = parseLogLevel(args.logLevel);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asyncoded: %s\n", e.what());
    return 2;
  }

  if (args.worker) {
    setupLogging(level, kWorkerLogFd, "worker");
    WorkerOptions options;
    options.parentPid = args.parentPid;
    if (args.pythonExecutable) options.executable = *args.pythonExecutable;
    return runWorker(options);
  }

  setupLogging(level, STDERR_FILENO, "asyncoded");
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  spdlog::info("asyncoded {} (Python {}), pid {}: {}", ASYNCODE_VERSION, ASYNCODE_PYTHON_VERSION, ::getpid(), command);

  SupervisorOptions options;
  options.self = selfPath(argv[0]);
  options.logLevel = args.logLevel;
  options.executable = ASYNCODE_PYTHON_EXECUTABLE;
  options.pythonVersion = ASYNCODE_PYTHON_VERSION;
  options.backends = availableBackends();
  options.spares = args.spares;
  options.startTimeoutMs = args.startTimeoutMs;
  return runSupervisor(std::move(options));
}
