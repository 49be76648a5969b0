#include "daemon/worker_main.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/engine.h"
#include "daemon/confinement.h"
#include "daemon/job_lane.h"
#include "daemon/output_frames.h"
#include "daemon/worker_io.h"
#include "daemon/worker_link.h"

namespace asyncode::daemon {
namespace {

// In a child of os.fork() (multiprocessing, or user code), the session's links are not its
// own: it must not read the supervisor's requests or answer them.
void closeLinksInChild() {
  ::close(kWorkerChannelFd);
  ::close(kWorkerLaneFd);
}

// The frames' magic, from the pipe the supervisor gave (kWorkerMagicFd), which is closed here.
std::string readMagic() {
  std::string hex;
  if (::fcntl(kWorkerMagicFd, F_GETFD) < 0) return hex;
  char buf[64];
  while (hex.size() < kMagicSize * 2) {
    const ssize_t n = ::read(kWorkerMagicFd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    hex.append(buf, static_cast<std::size_t>(n));
  }
  ::close(kWorkerMagicFd);
  return hex;
}

// Python output shares fd 1 with C code and child processes, written through a descriptor of
// our own (non-blocking, which the user's fd 1 must not become). Without it (no magic given,
// or /proc/self/fd cannot be opened) output goes as notifications.
std::optional<Magic> openOutputPipes(const std::string& magicHex, std::array<int, 2>& pipes) {
  Magic m{};
  if (magicHex.empty() || !magicFromHex(magicHex, m)) return std::nullopt;
  pipes[0] = ::open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  pipes[1] = ::open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (pipes[0] >= 0 && pipes[1] >= 0) return m;
  spdlog::warn("cannot reopen fd 1 and 2 ({}): output goes as notifications", std::strerror(errno));
  for (int& fd : pipes) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  return std::nullopt;
}

}  // namespace

int runWorker(const WorkerOptions& options) {
  ::pthread_atfork(nullptr, nullptr, &closeLinksInChild);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Orphans of the session's processes (start_new_session=True and a parent that ended) stay
  // in the session's tree: adopted here while it runs, by the supervisor (and killed) after.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (options.parentPid != 0 && ::getppid() != options.parentPid) return 0;  // the supervisor already died
  if (const std::string why = confineWorker(options.parentPid); !why.empty())
    spdlog::warn("the worker is not fully confined: {}", why);

  sigset_t block, previous;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &previous);  // threads started now inherit the block

  std::array<int, 2> pipes{-1, -1};
  const std::optional<Magic> magic = openOutputPipes(readMagic(), pipes);

  if (::fcntl(kWorkerLaneFd, F_GETFD) < 0) {
    spdlog::critical("no exec lane on fd {}: a worker is started by asyncoded itself", kWorkerLaneFd);
    return 2;
  }
  // The links and the daemon's stderr are the worker's own: no process of user code inherits
  // them (os.system, posix_spawn, subprocess with close_fds=False), only fds 0, 1 and 2.
  for (const int fd : {kWorkerChannelFd, kWorkerLogFd, kWorkerLaneFd}) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  JobLaneImpl lane(kWorkerLaneFd);
  core::EngineConfig config;
  config.executable = options.executable;
  core::Engine engine(config, lane);
  WorkerIo io(engine, pipes, magic);
  io.start();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  int rc = 0;
  try {
    engine.start();
    rc = engine.run();
  } catch (const std::exception& e) {
    spdlog::critical("worker failed to start: {}", e.what());
    rc = 1;
  }
  io.stop();
  // Python is not finalized: user threads may never end, and the process is going away.
  std::fflush(nullptr);
  ::_exit(rc);
}

}  // namespace asyncode::daemon
