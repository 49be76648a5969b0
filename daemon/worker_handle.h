// A worker process as the supervisor's parts see it: its two links, its pid, signals, and its
// output pipes. WorkerProcess is the real one (worker_process.h); tests give the pool fakes
// through a Spawner.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/protocol.h"
#include "rpc/peer.h"

namespace asyncode::daemon {

// How a process ended: the value type of the worker table.
struct ExitStatus {
  enum class Kind { Running, Exited, Killed } kind = Kind::Running;
  int code = 0;    // Exited
  int signal = 0;  // Killed
  [[nodiscard]] std::string describe() const;
};

struct WorkerSpec {
  std::string self;        // path of the asyncoded executable
  std::string executable;  // sys.executable of the worker's Python (a venv's python)
  std::string logLevel;
  // Extra environment (on top of the daemon's), for sessions opened with `env`.
  std::map<std::string, std::string> env;
  std::string outputMagic;  // hex (output_frames.h)
};

class WorkerHandle {
 public:
  struct Callbacks {
    std::function<void(ExitStatus)> onExit;  // may destroy the handle
    std::function<void(protocol::Stream stream, std::string_view bytes)> onOutput;
  };

  virtual ~WorkerHandle() = default;

  virtual rpc::Peer& control() = 0;  // the control link (the worker's I/O thread)
  virtual rpc::Peer& lane() = 0;     // the exec lane (the worker's main thread)
  [[nodiscard]] virtual int pid() const = 0;
  [[nodiscard]] virtual bool running() const = 0;

  // Sends `sig` to the worker's whole process group (its children too).
  virtual void signal(int sig) = 0;
  // Reads the output pipes now, until they are empty or `maxBytes` were read.
  virtual void drainOutput(std::size_t maxBytes) = 0;
  // Reading of the output pipes and of the control link stops while the client is slow (user
  // code then blocks on write); the lane's answers, which are small, go on.
  virtual void pauseOutput() = 0;
  virtual void resumeOutput() = 0;
  // The supervisor's end of the worker's stdin pipe (its fd 0; non-blocking), or -1 when it
  // has none or it was closed.
  [[nodiscard]] virtual int stdinFd() const { return -1; }
  // Closes that end: what reads the worker's fd 0 (the worker, its children) sees end of file.
  virtual void closeStdin() {}
};

// Starts a worker; throws std::runtime_error when it cannot.
using Spawner = std::function<std::unique_ptr<WorkerHandle>(const WorkerSpec& spec, WorkerHandle::Callbacks callbacks)>;

}  // namespace asyncode::daemon
