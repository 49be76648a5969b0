// The supervisor's worker processes: spawning them, the warm spare that new sessions and
// restarts take, the guard against spares that keep dying, and the one routine that stops a
// worker: ask it (a `shutdown` on its lane), SIGTERM after a bounded wait, SIGKILL after
// another. It knows no session: the parts that do bind their handlers when a worker spawns
// (Events::onSpawned) and hear when it ends (Events::onExit).
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "daemon/client_state.h"
#include "daemon/output_frames.h"
#include "daemon/worker_handle.h"
#include "protocol/worker_link.h"
#include "rpc/timer.h"

namespace asyncode::daemon {

using WorkerId = std::uint64_t;
using Clock = std::chrono::steady_clock;

// A process that dies this often within this long is not started again by itself.
inline constexpr int kCrashLoopLimit = 5;
inline constexpr auto kCrashLoopWindow = std::chrono::seconds(10);
// The stop routine: a worker asked to stop gets this long, then SIGTERM, then this long again
// before SIGKILL.
inline constexpr std::uint64_t kStopAskMs = 100;
inline constexpr std::uint64_t kStopTermMs = 100;

struct Worker {
  explicit Worker(uv_loop_t* loop) : stopTimer(loop) {}
  WorkerId id = 0;
  std::unique_ptr<WorkerHandle> handle;
  Magic magic{};          // its output frames' (output_frames.h)
  std::string session;    // the session it serves; empty: a spare, or retired
  bool retired = false;   // it is being stopped: what it still says is nobody's
  Clock::time_point spawned = Clock::now();
  rpc::Timer stopTimer;
  bool stopping = false;
};

struct PoolOptions {
  std::string self;        // this executable, started again as workers
  std::string logLevel;    // the workers' --log-level
  std::string executable;  // the embedded Python's sys.executable
  int spares = 1;          // warm workers kept ready
};

// What a session needs of a worker. A session with environment of its own (env, a venv)
// never takes the spare, which has the daemon's.
struct WorkerNeeds {
  std::string executable;  // empty: the daemon's
  std::map<std::string, std::string> env;
  bool ownEnvironment = false;
};

class WorkerPool {
 public:
  struct Events {
    std::function<void(Worker&)> onSpawned;  // bind the other parts' link handlers
    std::function<void(Worker&, protocol::Stream, std::string_view bytes)> onOutput;
    std::function<void(Worker&, const ExitStatus&)> onExit;  // it ended; still in the table
    std::function<void()> afterExit;                         // and is gone from it
  };

  WorkerPool(uv_loop_t* loop, Spawner spawner, PoolOptions options, const ClientState& state, Events events);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  Worker* find(WorkerId id);
  // A worker for a session: the warm spare when it fits, else a new process. Throws when
  // none can be started.
  Worker& take(const WorkerNeeds& needs);
  // Starts a spare when there is none (unless spares keep dying, or shutdown began).
  void replenishSpares();
  [[nodiscard]] bool isSpare(WorkerId id) const { return id != 0 && id == spareId_; }
  // A worker that runs no user code, for requests whose answer depends on their params alone
  // (compile, needsAwait): the warm spare while one runs (starting or ready). nullptr: none
  // (--spares 0, spares that keep dying, shutdown).
  Worker* idleWorker();

  // The session is done with it: it is retired and stopped (ask, SIGTERM, SIGKILL).
  void retire(Worker& w);
  // SIGKILL now, still serving its session, which then sees it die (the interrupt ladder's
  // last step, a broken link).
  void kill(Worker& w);
  // Shutdown: every worker is stopped.
  void stopAll();
  // The daemon exits now: what is left is killed and reaped.
  void clear() { workers_.clear(); }

  // Backpressure: reading of every worker's output stops (user code then blocks on write).
  void pauseOutput();
  void resumeOutput();
  [[nodiscard]] bool empty() const { return workers_.empty(); }

 private:
  Worker& spawn(const WorkerNeeds* needs);
  void bindLinks(Worker& w);
  void stop(Worker& w);
  void signalLater(WorkerId id, int sig);
  void onExit(WorkerId id, const ExitStatus& status);
  void onReady(WorkerId id, const protocol::link::ReadyParams& p);

  uv_loop_t* loop_;
  Spawner spawner_;
  PoolOptions options_;
  const ClientState& state_;
  Events events_;
  std::map<WorkerId, std::unique_ptr<Worker>> workers_;
  WorkerId nextId_ = 1;
  WorkerId spareId_ = 0;
  std::deque<Clock::time_point> spareDeaths_;
  bool outputPaused_ = false;
};

}  // namespace asyncode::daemon
