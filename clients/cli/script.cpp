#include "clients/cli/script.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "clients/cli/backend_hint.h"
#include "clients/cli/system_exit.h"
#include "rpc/jsonrpc.h"

namespace asyncode::cli {
namespace {

constexpr int kInterruptedStatus = 128 + SIGINT;  // what a shell reports for a Ctrl-C'd python

// A Python string literal for `s` (JSON's escapes are Python's too).
std::string pyString(const std::string& s) { return rpc::dumpJson(Json(s)); }

// What `python` sets up before it runs a program: sys.argv, and for a file __file__
// (absolute) and its directory first on sys.path.
std::string preludeOf(const Program& p) {
  std::vector<std::string> argv;
  switch (p.source) {
    case Program::Source::File: argv.push_back(p.path); break;
    case Program::Source::Code: argv.push_back("-c"); break;
    case Program::Source::Stdin: argv.push_back(""); break;
  }
  argv.insert(argv.end(), p.args.begin(), p.args.end());
  std::string list = "[";
  for (std::size_t i = 0; i < argv.size(); ++i) list += (i ? ", " : "") + pyString(argv[i]);
  list += "]";

  std::string code = "import sys as __asyncode_sys\n__asyncode_sys.argv[:] = " + list + "\n";
  if (p.source == Program::Source::File) {
    std::error_code ec;
    auto file = std::filesystem::absolute(p.path, ec);
    const std::string absolute = ec ? p.path : file.lexically_normal().string();
    const std::string dir = std::filesystem::path(absolute).parent_path().string();
    code += "__file__ = " + pyString(absolute) + "\n";
    code += "if __asyncode_sys.path[:1] == ['']:\n    __asyncode_sys.path[0] = " + pyString(dir) +
            "\nelse:\n    __asyncode_sys.path.insert(0, " + pyString(dir) + ")\n";
  }
  code += "del __asyncode_sys\n";
  return code;
}

std::string filenameOf(const Program& p) {
  switch (p.source) {
    case Program::Source::File: {
      std::error_code ec;
      auto file = std::filesystem::absolute(p.path, ec);
      return ec ? p.path : file.lexically_normal().string();
    }
    case Program::Source::Code: return "<string>";
    case Program::Source::Stdin: return "<stdin>";
  }
  return "<stdin>";
}

}  // namespace

std::optional<Program> loadProgram(const Options& options, std::string& error) {
  Program p;
  p.args = options.args;
  switch (options.command) {
    case Options::Command::RunFile: {
      p.source = Program::Source::File;
      p.path = options.file;
      std::error_code ec;
      if (std::filesystem::is_directory(p.path, ec)) {
        error = "can't run '" + p.path + "': it is a directory";
        return std::nullopt;
      }
      std::ifstream in(p.path, std::ios::binary);
      if (!in) {
        error = "can't open file '" + p.path + "': [Errno " + std::to_string(errno) + "] " + std::strerror(errno);
        return std::nullopt;
      }
      std::ostringstream text;
      text << in.rdbuf();
      p.code = text.str();
      return p;
    }
    case Options::Command::RunCode:
      p.source = Program::Source::Code;
      p.code = options.code;
      return p;
    default:
      p.source = Program::Source::Stdin;
      return p;
  }
}

Script::Script(uv_loop_t* loop, Program program, const SessionOptions& session)
    : client_(loop, session),
      program_(std::move(program)),
      stdin_(loop, STDIN_FILENO),
      inputs_(client_.link(), [this](bool) -> Prompter* { return reader_.get(); }) {
  if (session.stdinStream) {
    stream_ = std::make_unique<StdinStream>(client_.link(), stdin_);
    loaded_ = true;
  } else if (program_.source != Program::Source::Stdin) {
    reader_ = std::make_unique<LineReader>(loop, stdin_);
    loaded_ = true;
  }
  client_.onSignal(SIGINT, [this] { onInterruptKey(); });
  for (int sig : {SIGTERM, SIGHUP}) client_.onSignal(sig, [this, sig] { client_.leave(128 + sig); });
}

int Script::run() {
  if (!loaded_) readStdin();
  client_.link().connect([this](Answer<DaemonLink::Ready> ready) { onConnected(std::move(ready)); });
  return client_.run();
}

void Script::readStdin() {
  stdin_.start([this] {
    char chunk[65536];
    const ssize_t n = ::read(stdin_.fd(), chunk, sizeof chunk);
    if (n > 0) {
      program_.code.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      stdin_.stop();
      loaded_ = true;
      startWhenReady();
    }
  });
}

void Script::onConnected(Answer<DaemonLink::Ready> ready) {
  if (client_.leaving()) return;  // the daemon ended (and said so)
  if (!ready) {
    client_.error(ready.error.message);
    return client_.leave(1);
  }
  connected_ = true;
  backend_ = ready->backend;
  startWhenReady();
}

void Script::startWhenReady() {
  if (!connected_ || !loaded_ || running_ || client_.leaving()) return;
  running_ = true;
  auto& link = client_.link();
  ExecParams prelude;
  prelude.code = preludeOf(program_);
  prelude.mode = Mode::Module;
  prelude.session = link.session();
  prelude.silent = true;
  link.call(methods::exec, prelude, [this](Answer<ExecResult> r) {
    if (r && r->status == ExecStatus::Ok) return;
    client_.error("could not set sys.argv: " + (r ? (r->error ? r->error->formatted : "") : r.error.message));
  });
  ExecParams program;
  program.code = std::move(program_.code);
  program.mode = Mode::Module;
  program.session = link.session();
  program.filename = filenameOf(program_);
  link.call(methods::exec, program, [this](Answer<ExecResult> r) { onFinished(std::move(r)); });
}

void Script::onFinished(Answer<ExecResult> result) {
  running_ = false;
  if (client_.leaving()) return;
  auto& console = client_.console();
  if (!result) {
    client_.error(result.error.message);
    return client_.leave(1);
  }
  if (result->status == ExecStatus::Ok) return client_.leave(0);
  if (result->error && result->status == ExecStatus::Error && isSystemExit(*result->error)) {
    const ExitRequest exit = exitRequestOf(*result->error);
    if (!exit.message.empty()) {
      console.finishLine(Stream::err);
      console.err(exit.message + "\n");
    }
    return client_.leave(exit.code);
  }
  console.finishLine(Stream::err);
  if (result->error) {
    console.err(result->error->formatted);
    if (auto hint = backendHint(backend_, *result->error)) client_.error(*hint);
  }
  client_.leave(result->status == ExecStatus::Interrupted ? kInterruptedStatus : 1);
}

void Script::onInterruptKey() {
  if (client_.leaving()) return;
  if (inputs_.asking()) return inputs_.interrupt();
  if (!running_) return client_.leave(kInterruptedStatus);
  client_.link().call(methods::interrupt, InterruptParams{client_.link().session()}, [](Answer<InterruptResult>) {});
}

}  // namespace asyncode::cli
