// asyncode: an interactive Python prompt and a script runner, backed by asyncoded.
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <exception>

#include "clients/cli/attach_list.h"
#include "clients/cli/options.h"
#include "clients/cli/repl.h"
#include "clients/cli/script.h"
#include "clients/cli/terminal.h"

namespace {

// The loop everything runs on; closed once every handle is.
class EventLoop {
 public:
  EventLoop() { uv_loop_init(&loop_); }
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop() {
    // The handles' owners are gone and have asked for them to be closed: let that happen.
    uv_walk(&loop_, [](uv_handle_t* h, void*) {
      if (!uv_is_closing(h)) uv_close(h, nullptr);
    }, nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
  uv_loop_t* get() { return &loop_; }

 private:
  uv_loop_t loop_{};
};

}  // namespace

int main(int argc, char** argv) {
  using namespace asyncode::cli;
  // spdlog's own default logger writes to stdout, which belongs to the user's program.
  auto logger = spdlog::stderr_logger_mt("asyncode");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::off);
  // A daemon or a reader that went away must not kill us through a write.
  ::signal(SIGPIPE, SIG_IGN);
  useUtf8Locale();

  const ParsedOptions parsed = parseOptions(argc, argv);
  if (!parsed.error.empty()) {
    std::fprintf(stderr, "asyncode: %s\n\n%s", parsed.error.c_str(), usage());
    return 2;
  }
  const Options& options = parsed.options;
  switch (options.command) {
    case Options::Command::Help: std::fputs(usage(), stdout); return 0;
    case Options::Command::Version: std::printf("asyncode %s\n", ASYNCODE_VERSION); return 0;
    case Options::Command::ListPrograms: return listServingPrograms();
    default: break;
  }
  if (options.session.logLevel) spdlog::set_level(spdlog::level::from_str(*options.session.logLevel));

  // Attached, the prompt reads a pipe too (one statement a line, as typed).
  const bool interactive = options.command == Options::Command::Attach ||
                           (options.command == Options::Command::Interactive && isTerminal(STDIN_FILENO));
  std::optional<Program> program;
  if (!interactive) {
    std::string error;
    program = loadProgram(options, error);
    if (!program) {
      std::fprintf(stderr, "asyncode: %s\n", error.c_str());
      return 2;
    }
  }

  EventLoop loop;
  try {
    if (interactive) {
      Repl repl(loop.get(), options.session);
      return repl.run();
    }
    // A file or -c reads our stdin as Python would, when it is a pipe or a file: as a stream.
    SessionOptions session = options.session;
    session.stdinStream = program->source != Program::Source::Stdin && !isTerminal(STDIN_FILENO);
    session.spare = false;
    Script script(loop.get(), std::move(*program), session);
    return script.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asyncode: %s\n", e.what());
    return 1;
  }
}
