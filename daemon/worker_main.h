// `asyncoded --worker`: one session's process. The main thread runs Python (the engine);
// an I/O thread speaks the worker link and never takes the GIL, so interrupts and output
// flow whatever user code does; a service thread answers compile, complete, inspect and
// variables with the GIL while execs run.
#pragma once

#include <string>

namespace asyncode::daemon {

struct WorkerOptions {
  std::string executable = "/usr/bin/python3";
  int parentPid = 0;  // the supervisor: the worker dies with it
};

int runWorker(const WorkerOptions& options);

}  // namespace asyncode::daemon
