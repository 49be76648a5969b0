// The supervisor: the daemon's editor-facing side. Its front (supervisor.cpp) binds the
// protocol's methods, one line each, to the parts that do the work, and runs the lifecycle
// (initialize, shutdown, exit):
//   WorkerPool    worker processes, the warm spare, the stop routine        (worker_pool.h)
//   SessionTable  sessions, their workers and status                        (session_table.h)
//   ExecQueue     a session's execs and the interrupt ladder                (exec_queue.h)
//   OutputRouter  workers' output to the client, with backpressure          (output_router.h)
//   InputRelay    input() requests from workers to the client               (input_relay.h)
// It speaks to the client through a transport and starts workers through a Spawner, so that
// tests drive it with fakes of both; runSupervisor() gives it stdin/stdout and real processes.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/worker_handle.h"
#include "protocol/protocol.h"
#include "rpc/transport.h"

namespace asyncode::daemon {

struct SupervisorOptions {
  std::string self;              // this executable, started again as workers
  std::string logLevel = "warn";
  std::string executable = "/usr/bin/python3";  // the embedded Python's sys.executable
  std::string pythonVersion = "3";              // its version ("3.11.2")
  std::vector<protocol::Backend> backends{protocol::Backend::Asyncio};  // what sessions may use
  int spares = 1;  // warm workers kept ready for new sessions and restarts
  std::uint64_t startTimeoutMs = 30000;  // how long a worker may take to start
};

class Supervisor {
 public:
  Supervisor(uv_loop_t* loop, std::unique_ptr<rpc::Transport> client, Spawner spawner, SupervisorOptions options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Reads the client and starts the warm spare.
  void start();
  // A terminating signal: shutdown, then exit with 0.
  void terminate();
  // `exit` (or the end of input) has been handled: the loop may end. uv_stop() was called.
  [[nodiscard]] bool finished() const;
  [[nodiscard]] int exitCode() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// asyncoded: the supervisor on stdin and stdout with worker processes, until `exit`, the end of
// input or a terminating signal. Returns the process's exit code.
int runSupervisor(SupervisorOptions options);

}  // namespace asyncode::daemon
