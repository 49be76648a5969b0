// A worker process seen from the supervisor: spawned as `asyncoded --worker` in a process
// group of its own, its fds 1 and 2 on pipes that the supervisor reads (output of C code
// and child processes), the worker link on a socketpair at its fd 3.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/outbox.h"
#include "rpc/fd_stream.h"
#include "rpc/peer.h"
#include "rpc/uv_handle.h"

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

class WorkerProcess {
 public:
  struct Callbacks {
    std::function<void(ExitStatus)> onExit;
    std::function<void(core::Stream stream, std::string_view bytes)> onOutput;
  };

  // Spawns the worker; throws std::runtime_error when it cannot.
  WorkerProcess(uv_loop_t* loop, const WorkerSpec& spec, Callbacks callbacks);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  rpc::Peer& peer() { return *peer_; }  // the control link (the worker's I/O thread)
  rpc::Peer& lane() { return *lane_; }  // the exec lane (the worker's main thread)
  [[nodiscard]] int pid() const { return pid_; }
  [[nodiscard]] const ExitStatus& status() const { return status_; }
  [[nodiscard]] bool running() const { return status_.kind == ExitStatus::Kind::Running; }

  // Sends `sig` to the worker's whole process group (its children too).
  void kill(int sig);
  // Reads the output pipes until they are empty, now.
  void drainOutput();
  // Reading of the output pipes and of the control link stops while the client is slow
  // (user code then blocks on write); the lane's answers, which are small, go on.
  void pauseOutput();
  void resumeOutput();

  bool ready = false;  // it said worker/ready
  std::chrono::steady_clock::time_point spawned = std::chrono::steady_clock::now();

 private:
  static void onProcessExit(uv_process_t* p, int64_t status, int termSignal);

  Callbacks callbacks_;
  rpc::UvHandle<uv_process_t> process_;
  int pid_ = 0;
  ExitStatus status_;
  std::unique_ptr<rpc::Peer> peer_;
  std::unique_ptr<rpc::Peer> lane_;
  std::unique_ptr<rpc::FdStream> out_;
  std::unique_ptr<rpc::FdStream> err_;
  int outFd_ = -1;
  int errFd_ = -1;
  int channelFd_ = -1;
};

}  // namespace asyncode::daemon
