// The processes a session started end with it, even those that left its process group
// (start_new_session=True, setsid, a daemon's double fork). Workers and the supervisor are
// child subreapers: an orphan inside a live session is adopted by its worker and lives on;
// when a worker ends, what is left of its processes is adopted by the supervisor, whose only
// children of its own are workers. OrphanSweeper kills such an adopted process with everything
// below it, and reaps it (libuv reaps only the workers).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <set>

#include "rpc/uv_handle.h"

namespace asyncode::daemon {

class OrphanSweeper {
 public:
  // Makes this process a child subreaper and sweeps at every SIGCHLD.
  explicit OrphanSweeper(uv_loop_t* loop);
  // Kills and reaps what is left, waiting for it.
  ~OrphanSweeper();
  OrphanSweeper(const OrphanSweeper&) = delete;
  OrphanSweeper& operator=(const OrphanSweeper&) = delete;

  // A child that is a worker: never swept.
  void addWorker(pid_t pid) { workers_.insert(pid); }
  // Kills every child that is not a worker, with its descendants; reaps those that ended.
  void sweep();

 private:
  std::set<pid_t> workers_;
  rpc::UvHandle<uv_signal_t> sigchld_;
};

// Makes the calling process the reaper of its descendants' orphans (PR_SET_CHILD_SUBREAPER).
void becomeSubreaper();

}  // namespace asyncode::daemon
