// The supervisor: the daemon's editor-facing side. It speaks the protocol on stdin and
// stdout, routes requests by session, owns the worker table (one process per session,
// plus a warm spare), and answers every request exactly once whatever the workers do.
#pragma once

#include <memory>
#include <string>

namespace asyncode::daemon {

struct SupervisorOptions {
  std::string self;                  // this executable, started again as workers
  std::string logLevel = "warn";
  std::string executable = "/usr/bin/python3";  // the embedded Python's sys.executable
  int spares = 1;                    // warm workers kept ready for new sessions and restarts
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs until `exit`, end of input or a terminating signal; returns the exit code.
  int run();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace asyncode::daemon
