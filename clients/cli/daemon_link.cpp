#include "clients/cli/daemon_link.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "clients/cli/terminal.h"
#include "support/unique_fd.h"

namespace asyncode::cli {
namespace {

constexpr std::uint64_t kStopTimeoutMs = 5000;  // then the daemon is killed

std::string describeExit(int64_t status, int termSignal) {
  if (termSignal != 0) {
    const char* name = ::strsignal(termSignal);
    return "was killed by signal " + std::to_string(termSignal) + (name ? std::string(" (") + name + ")" : "");
  }
  return "exited with code " + std::to_string(status);
}

}  // namespace

std::string defaultDaemonPath() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "asyncoded";
  return (self.parent_path() / "asyncoded").string();
}

DaemonLink::DaemonLink(uv_loop_t* loop, const SessionOptions& options)
    : loop_(loop), options_(options), killTimer_(uv_timer_init, loop) {
  const std::string path = options.daemonPath.empty() ? defaultDaemonPath() : options.daemonPath;
  auto [toDaemon, childStdin] = [] {
    auto [r, w] = support::makePipe();
    return std::pair{std::move(w), std::move(r)};
  }();
  auto [fromDaemon, childStdout] = support::makePipe();

  std::vector<std::string> args{path};
  if (options.logLevel) args.insert(args.end(), {"--log-level", *options.logLevel});
  if (!options.spare) args.insert(args.end(), {"--spares", "0"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_INHERIT_FD;
  stdio[0].data.fd = childStdin.get();
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = childStdout.get();
  // Its log: on our stderr when asked for (--log-level, --verbose), else /dev/null.
  stdio[2].flags = options.logLevel ? UV_INHERIT_FD : UV_IGNORE;
  stdio[2].data.fd = STDERR_FILENO;

  uv_process_options_t spawn{};
  spawn.exit_cb = &DaemonLink::onProcessExit;
  spawn.file = path.c_str();
  spawn.args = argv.data();
  spawn.stdio_count = 3;
  spawn.stdio = stdio;
  // A session (and process group) of its own: the terminal's SIGINT reaches us only.
  spawn.flags = UV_PROCESS_DETACHED;

  auto* handle = new uv_process_t{};
  if (const int rc = uv_spawn(loop, handle, &spawn); rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) { delete reinterpret_cast<uv_process_t*>(h); });
    throw std::runtime_error("cannot start the daemon " + path + ": " + uv_strerror(rc));
  }
  process_ = rpc::UvHandle<uv_process_t>::adopt(handle);
  process_->data = this;
  pid_ = handle->pid;
  childStdin.reset();
  childStdout.reset();

  peer_ = std::make_unique<rpc::Peer>(loop, fromDaemon.get(), toDaemon.get(), rpc::FrameLimits{});
  // The peer's pipe handles own the descriptors from here on (closing a handle closes its fd).
  fromDaemon.release();
  toDaemon.release();
  peer_->setOnClosed([](int) {});  // the process's exit says how it ended
}

DaemonLink::~DaemonLink() {
  if (exited_ || pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

namespace {

// The terminal the session's output is shown on: stdout's, when it is one (with stdout on
// a pipe or a file, user code sees no terminal, as Python's own would not).
std::optional<protocol::Terminal> outputTerminal() {
  if (!isTerminal(STDOUT_FILENO)) return std::nullopt;
  return protocol::Terminal{terminalColumns(STDOUT_FILENO), terminalRows(STDOUT_FILENO), true};
}

}  // namespace

void DaemonLink::connect(std::function<void(Answer<Ready>)> done) {
  peer_->start();
  auto shared = std::make_shared<std::function<void(Answer<Ready>)>>(std::move(done));
  InitializeParams initialize;
  initialize.clientInfo = protocol::ClientInfo{"asyncode", ASYNCODE_VERSION};
  initialize.capabilities = protocol::ClientCapabilities{true};  // we answer input() from the terminal
  call(methods::initialize, initialize, [this, shared](Answer<InitializeResult> init) {
         Answer<Ready> ready;
         if (!init) {
           ready.error = init.error;
           return (*shared)(std::move(ready));
         }
         initialized_ = true;
         if (options_.attach) {  // asyncode attach SOCKET: the session is the running program
           std::error_code ec;
           const auto absolute = std::filesystem::absolute(*options_.attach, ec);
           const protocol::SessionAttachParams attach{session_, ec ? *options_.attach : absolute.string()};
           return call(methods::sessionAttach, attach,
                       [shared, server = *init](Answer<protocol::SessionAttachResult> info) {
                         Answer<Ready> r;
                         if (info) {
                           r.value = Ready{server, protocol::toString(info->backend), info->pid};
                         } else {
                           r.error = info.error;
                         }
                         (*shared)(std::move(r));
                       });
         }
         if (!options_.needsOpen()) {
           terminalChanged();  // the default session opens with it (on first use, which this is)
           ready.value = Ready{*init, options_.backend.value_or("asyncio")};
           return (*shared)(std::move(ready));
         }
         SessionOpenParams open;
         open.session = session_;
         if (options_.backend) protocol::fromString(*options_.backend, open.backend);  // options.cpp checked it
         open.python = options_.python;
         open.terminal = outputTerminal();
         open.stdinStream = options_.stdinStream;
         if (options_.cwd) {
           std::error_code ec;
           const auto absolute = std::filesystem::absolute(*options_.cwd, ec);
           open.cwd = ec ? *options_.cwd : absolute.string();
         }
         call(methods::sessionOpen, open, [shared, server = *init](Answer<SessionOpenResult> info) {
           Answer<Ready> r;
           if (info) {
             r.value = Ready{server, protocol::toString(info->backend)};
           } else {
             r.error = info.error;
           }
           (*shared)(std::move(r));
         });
       });
}

void DaemonLink::terminalChanged() {
  if (!initialized_ || options_.attach || stopping_) return;  // an attached program has its own terminal
  if (auto terminal = outputTerminal()) notify(methods::sessionTerminal, protocol::SessionTerminalParams{session_, *terminal});
}

void DaemonLink::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  onStopped_ = std::move(done);
  if (exited_) return finishStop();
  uv_timer_start(killTimer_.get(), [](uv_timer_t* t) {
    auto* self = static_cast<DaemonLink*>(t->data);
    if (self && !self->exited_) ::kill(-self->pid_, SIGKILL);
  }, kStopTimeoutMs, 0);
  killTimer_->data = this;
  call(methods::shutdown, protocol::NoParams{}, [this](Answer<std::nullptr_t>) {
    if (!peer_->closed()) notify(methods::exit, protocol::NoParams{});
  });
}

void DaemonLink::onProcessExit(uv_process_t* process, int64_t status, int termSignal) {
  auto* self = static_cast<DaemonLink*>(process->data);
  if (!self) return;
  self->exited_ = true;
  self->exitDescription_ = describeExit(status, termSignal);
  if (self->stopping_) return self->finishStop();
  self->peer_->readAvailable();  // what it said before it ended
  if (self->onLost_) self->onLost_("the daemon " + self->exitDescription_);
}

void DaemonLink::finishStop() {
  uv_timer_stop(killTimer_.get());
  if (auto done = std::exchange(onStopped_, nullptr)) done();
}

}  // namespace asyncode::cli
