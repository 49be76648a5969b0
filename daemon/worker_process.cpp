#include "daemon/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "daemon/worker_link.h"
#include "support/unique_fd.h"

extern char** environ;

namespace asyncode::daemon {

std::string ExitStatus::describe() const {
  switch (kind) {
    case Kind::Running: return "still running";
    case Kind::Exited: return "exited with code " + std::to_string(code);
    case Kind::Killed: {
      const char* name = ::strsignal(signal);
      return "was killed by signal " + std::to_string(signal) + (name ? std::string(" (") + name + ")" : "");
    }
  }
  return "ended";
}

namespace {

constexpr int kStdinPipeBytes = 1 << 20;

// argv and envp for execve, with the strings they point into.
struct CommandLine {
  std::vector<std::string> strings;
  std::vector<char*> pointers;
  char** get() { return pointers.empty() ? nullptr : pointers.data(); }
  void finish() {
    for (auto& s : strings) pointers.push_back(s.data());
    pointers.push_back(nullptr);
  }
};

CommandLine argvOf(const WorkerSpec& spec) {
  CommandLine c;
  c.strings = {spec.self,        "--worker", "--log-level", spec.logLevel, "--parent-pid", std::to_string(::getpid()),
               "--python-executable", spec.executable};
  c.finish();
  return c;
}

// The daemon's environment with the session's `env` on top; none (inherit) when it has none.
CommandLine envOf(const WorkerSpec& spec) {
  CommandLine c;
  if (spec.env.empty()) return c;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos && spec.env.count(std::string(kv.substr(0, eq)))) continue;
    c.strings.emplace_back(kv);
  }
  for (const auto& [k, v] : spec.env) c.strings.push_back(k + "=" + v);
  c.finish();
  return c;
}

void inherit(uv_stdio_container_t& c, int fd) {
  c.flags = UV_INHERIT_FD;
  c.data.fd = fd;
}

}  // namespace

WorkerProcess::WorkerProcess(uv_loop_t* loop, const WorkerSpec& spec, Callbacks callbacks)
    : callbacks_(std::move(callbacks)) {
  auto [inRead, inWrite] = support::makePipe();
  auto [outRead, outWrite] = support::makePipe();
  auto [errRead, errWrite] = support::makePipe();
  auto [channel, childChannel] = support::makeSocketPair();
  auto [lane, childLane] = support::makeSocketPair();
  // The magic goes through a pipe (16 bytes: they fit, the write never blocks).
  auto [magicRead, magicWrite] = support::makePipe();
  if (::write(magicWrite.get(), spec.outputMagic.data(), spec.outputMagic.size()) < 0)
    throw std::runtime_error(std::string("cannot start a worker: ") + std::strerror(errno));
  magicWrite.reset();
  // Our end never blocks the loop: StdinFeed writes what the pipe takes and polls for more room.
  if (::fcntl(inWrite.get(), F_SETFL, ::fcntl(inWrite.get(), F_GETFL) | O_NONBLOCK) != 0)
    throw std::runtime_error(std::string("cannot start a worker: ") + std::strerror(errno));
  // A deeper pipe (pages are taken only as bytes arrive) keeps a fast reader busy while the
  // next stdin/read travels; the system's limit (pipe-max-size) may refuse it: 64 KiB then.
  (void)::fcntl(inWrite.get(), F_SETPIPE_SZ, kStdinPipeBytes);
  spawn(loop, spec, {inRead.get(), outWrite.get(), errWrite.get(), childChannel.get(), childLane.get(), magicRead.get()});
  stdin_ = std::move(inWrite);
  // The child has its ends; from here on the libuv handles own ours (closing one closes its fd).
  out_ = std::make_unique<rpc::FdStream>(loop, outRead.release());
  err_ = std::make_unique<rpc::FdStream>(loop, errRead.release());
  // The client's limits: a worker's message is no bigger than a client's (issue 12), and a
  // frame it begins arrives whole (its I/O thread writes frames at once): junk that user code
  // writes to a link cannot hold the link's later answers for more than 2 s.
  rpc::FrameLimits limits{};
  limits.stallMs = 2000;
  const int channelFd = channel.release();
  control_ = std::make_unique<rpc::Peer>(loop, channelFd, channelFd, limits);
  const int laneFd = lane.release();
  lane_ = std::make_unique<rpc::Peer>(loop, laneFd, laneFd, limits);
  auto onEnd = [](int) {};
  out_->startReading([this](std::string_view b) { callbacks_.onOutput(protocol::Stream::Stdout, b); }, onEnd);
  err_->startReading([this](std::string_view b) { callbacks_.onOutput(protocol::Stream::Stderr, b); }, onEnd);
}

void WorkerProcess::spawn(uv_loop_t* loop, const WorkerSpec& spec, const ChildFds& fds) {
  CommandLine argv = argvOf(spec);
  CommandLine envp = envOf(spec);
  uv_stdio_container_t stdio[7];
  // A pipe: a session without a stdin stream has its end closed at once (end of file, as
  // /dev/null); input() then goes through the protocol.
  inherit(stdio[0], fds.in);
  inherit(stdio[1], fds.out);
  inherit(stdio[2], fds.err);
  inherit(stdio[kWorkerChannelFd], fds.channel);
  inherit(stdio[kWorkerLogFd], STDERR_FILENO);
  inherit(stdio[kWorkerLaneFd], fds.lane);
  inherit(stdio[kWorkerMagicFd], fds.magic);

  uv_process_options_t options{};
  options.exit_cb = &WorkerProcess::onProcessExit;
  options.file = spec.self.c_str();
  options.args = argv.get();
  options.env = envp.get();
  options.stdio_count = 7;
  options.stdio = stdio;
  options.flags = UV_PROCESS_DETACHED;  // a process group of its own: kill(-pid) reaches its children

  auto* handle = new uv_process_t{};
  if (const int rc = uv_spawn(loop, handle, &options); rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) { delete reinterpret_cast<uv_process_t*>(h); });
    throw std::runtime_error(std::string("cannot start a worker: ") + uv_strerror(rc));
  }
  process_ = rpc::UvHandle<uv_process_t>::adopt(handle);
  process_->data = this;
  pid_ = handle->pid;
}

WorkerProcess::~WorkerProcess() {
  if (running() && pid_ > 0) {
    signal(SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

void WorkerProcess::onProcessExit(uv_process_t* p, int64_t status, int termSignal) {
  auto* self = static_cast<WorkerProcess*>(p->data);
  if (!self) return;
  if (termSignal != 0) {
    self->status_ = ExitStatus{ExitStatus::Kind::Killed, 0, termSignal};
  } else {
    self->status_ = ExitStatus{ExitStatus::Kind::Exited, static_cast<int>(status), 0};
  }
  // Whatever the session started goes with it (the group, now that its leader is gone).
  ::kill(-self->pid_, SIGKILL);
  if (self->callbacks_.onExit) self->callbacks_.onExit(self->status_);  // may destroy self
}

void WorkerProcess::signal(int sig) {
  if (pid_ <= 0 || !running()) return;
  if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);
}

// What the pipes hold at this moment (FIONREAD), no more: an exec's output is in them before
// its answer is sent, and a child that goes on writing (`cat /dev/zero`) cannot make a drain
// longer than one pipe's capacity (issue 12).
void WorkerProcess::drainOutput(std::size_t maxBytes) {
  char buf[65536];
  std::size_t read = 0;
  for (auto [fd, stream] : {std::pair{out_->fd(), protocol::Stream::Stdout}, std::pair{err_->fd(), protocol::Stream::Stderr}}) {
    int available = 0;
    if (::ioctl(fd, FIONREAD, &available) != 0 || available <= 0) continue;
    const std::size_t limit = std::min(maxBytes, read + static_cast<std::size_t>(available));
    while (read < limit) {
      const ssize_t n = ::read(fd, buf, std::min(sizeof buf, limit - read));
      if (n > 0) {
        read += static_cast<std::size_t>(n);
        callbacks_.onOutput(stream, std::string_view(buf, static_cast<std::size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;  // EAGAIN, end of file, or an error: nothing more now
    }
  }
}

void WorkerProcess::pauseOutput() {
  out_->pauseReading();
  err_->pauseReading();
  control_->pauseReading();
}

void WorkerProcess::resumeOutput() {
  out_->resumeReading();
  err_->resumeReading();
  control_->resumeReading();
}

}  // namespace asyncode::daemon
