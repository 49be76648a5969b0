// A worker process seen from the supervisor: spawned as `asyncoded --worker` in a process
// group of its own, its fd 0 on a pipe the supervisor may feed (a session's stdin stream) or
// close (end of file), its fds 1 and 2 on pipes that the supervisor reads (output of C code and
// child processes), the control link and the exec lane on socketpairs at its fds 3 and 5.
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <string>

#include "daemon/worker_handle.h"
#include "rpc/fd_stream.h"
#include "rpc/peer.h"
#include "rpc/uv_handle.h"
#include "support/unique_fd.h"

namespace asyncode::daemon {

class WorkerProcess final : public WorkerHandle {
 public:
  // Spawns the worker; throws std::runtime_error when it cannot.
  WorkerProcess(uv_loop_t* loop, const WorkerSpec& spec, Callbacks callbacks);
  // One still running (the daemon is going away) is killed and reaped: no zombie is left.
  ~WorkerProcess() override;
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  rpc::Peer& control() override { return *control_; }
  rpc::Peer& lane() override { return *lane_; }
  [[nodiscard]] int pid() const override { return pid_; }
  [[nodiscard]] bool running() const override { return status_.kind == ExitStatus::Kind::Running; }

  void signal(int sig) override;
  void drainOutput(std::size_t maxBytes) override;
  void pauseOutput() override;
  void resumeOutput() override;
  [[nodiscard]] int stdinFd() const override { return stdin_.get(); }
  void closeStdin() override { stdin_.reset(); }

 private:
  // The child's ends of its pipes and links.
  struct ChildFds {
    int in, out, err, channel, lane, magic;
  };
  void spawn(uv_loop_t* loop, const WorkerSpec& spec, const ChildFds& fds);
  static void onProcessExit(uv_process_t* p, int64_t status, int termSignal);

  Callbacks callbacks_;
  rpc::UvHandle<uv_process_t> process_;
  int pid_ = 0;
  ExitStatus status_;
  std::unique_ptr<rpc::Peer> control_;
  std::unique_ptr<rpc::Peer> lane_;
  std::unique_ptr<rpc::FdStream> out_;
  std::unique_ptr<rpc::FdStream> err_;
  support::UniqueFd stdin_;  // the write end of the worker's fd 0 (StdinFeed writes it)
};

}  // namespace asyncode::daemon
