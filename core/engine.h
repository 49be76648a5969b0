// The embedded Python engine of one session. It owns the interpreter, which lives on the
// thread that calls start() and run() (the process's main thread, where Python runs
// signal handlers). Other threads talk to it through the thread-safe calls below, and
// read what it has to say from its Outbox.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/job_lane.h"
#include "core/outbox.h"
#include "core/types.h"

namespace asyncode::core {

struct EngineConfig {
  std::string executable = "/usr/bin/python3";  // sys.executable; a venv's python selects it
  bool faulthandler = true;                      // crash tracebacks to fd 2 (captured)
};

enum class InterruptOutcome {
  Signalled,    // the exec runs: the engine decides how to stop it (see engine.py)
  Dequeued,     // it had not started: removed, and answered as interrupted
  NotRunning,   // no such exec: finished already, or never came
};

// What an interrupt did, told once it acted (Python ran its SIGINT handler).
using InterruptDone = std::function<void(InterruptOutcome, InterruptHow)>;

class Engine {
 public:
  // Jobs come through `lane` and are answered there, by the main thread itself (the daemon's
  // exec lane: no other thread in between). The engine does not own it.
  Engine(EngineConfig config, JobLane& lane);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- the main thread ----------------------------------------------------------
  // Starts the interpreter; throws std::runtime_error with CPython's message on failure.
  void start();
  // Runs the session until a shutdown job; the GIL is held throughout except where
  // Python releases it. Returns the process exit code.
  int run();

  // ---- any thread ---------------------------------------------------------------
  // Removes an exec that has not started. True when it was queued.
  bool removeQueued(std::uint64_t seq);
  // Interrupts exec `seq` once (0: no exec runs; a task may hold the main thread). Sends
  // SIGINT to the main thread; `done` is called (on the main thread, GIL held) when Python
  // has acted on it. Nothing is called while the interpreter runs no Python at all.
  void interrupt(std::uint64_t seq, InterruptReason reason, InterruptDone done);
  // Sends `sig` to the processes the session started that are still in its process group.
  static void signalChildren(int sig);
  // The client's terminal changed: user code sees it at once (the main thread gets SIGWINCH,
  // whose Python handler the engine installs, as a process on a terminal does).
  void setTerminal(TerminalInfo terminal);
  // The client's terminal, if it said one (the session's configure, then setTerminal).
  std::optional<TerminalInfo> terminal() const;
  // The client's answer to input request `inputId`; nullopt: none will come (EOFError).
  void answerInput(std::uint64_t inputId, std::optional<std::string> value);
  Outbox& outbox() { return outbox_; }

  // ---- other threads, taking the GIL (waits until start() is done) ----------------
  CompileResult compile(const std::string& code, Mode mode);
  // debugger: code is a line of pdb's prompt, completed in the frame pdb is paused at.
  CompleteResult complete(const std::string& code, std::int64_t cursor, bool debugger = false);
  InspectResult inspect(const std::string& code, std::int64_t cursor);
  // The user namespace (ref 0) or the children of `ref`, from `start`, at most `count` (all
  // when negative).
  VariablesPage variables(std::int64_t ref, std::int64_t start, std::int64_t count);

  // ---- for the _asyncode_c module ---------------------------------------------
  using Job = core::Job;
  // The next job to run, or nullopt. A job cancelled or interrupted before it started is
  // answered here (main thread, GIL held) and skipped.
  std::optional<Job> takeJob();
  bool hasJobs() const;
  // Readable when jobs may be waiting: the lane's descriptor.
  int wakeFd() const { return lane_.fd(); }
  // Reads the jobs the lane has now.
  void drainWake();
  // Blocks (without the GIL) until a job is queued or a signal arrives.
  void waitJobs();
  // The reason of an interrupt pending for `seq` (0: for whatever task runs), if any.
  std::optional<InterruptReason> interruptReason(std::uint64_t seq) const;
  // The SIGINT handler acted on the pending interrupts: their `done` are called.
  void interruptActed(InterruptHow how);
  // The main thread, GIL held (released while a lane answer is written).
  void execDone(ExecOutcome outcome);
  void execStarted(std::uint64_t seq, std::optional<int> count);
  void jobDone(std::uint64_t seq, std::optional<std::string> error);
  // input(): blocks until the client answers (GIL released meanwhile, signals checked).
  // Returns false with a Python exception set on interrupt or refusal.
  bool readInput(const std::string& prompt, InputKind kind, const OwnerPtr& owner, std::string& out);
  bool forked() const { return forked_; }
  // The engine's SIGINT handler is installed: interrupts may signal the main thread.
  void markReady() { ready_ = true; }

 private:
  static ExecOutcome stoppedBeforeStart(std::uint64_t seq, InterruptReason reason);
  static int probeInterrupts(void* engine);
  static void afterForkInChild();
  static void exitIfForked();

  EngineConfig config_;
  pthread_t mainThread_;
  Outbox outbox_;
  JobLane& lane_;

  mutable std::mutex mu_;
  std::deque<Job> jobs_;
  std::uint64_t running_ = 0;
  bool runningAnnounces_ = false;
  // Execs are answered in order, so an interrupt or cancel of a seq above the last finished
  // one is for a job not read or not taken yet: it is marked, and answered when the main
  // thread takes it.
  std::uint64_t lastFinished_ = 0;
  std::map<std::uint64_t, InterruptReason> stopBeforeStart_;
  std::set<std::uint64_t> cancelled_;
  std::optional<InterruptReason> pendingInterrupt_;
  // Interrupts signalled whose handler has not run yet.
  struct AskedInterrupt {
    std::uint64_t seq;
    InterruptReason reason;
    InterruptDone done;
    mutable bool seen = false;  // the engine's handler ran since (guarded by mu_)
  };
  std::vector<AskedInterrupt> asked_;

  mutable std::mutex terminalMu_;
  std::optional<TerminalInfo> terminal_;

  std::mutex startMu_;
  std::condition_variable startedCv_;
  bool started_ = false;

  std::mutex inputMu_;
  std::condition_variable inputCv_;
  std::uint64_t nextInputId_ = 0;
  std::map<std::uint64_t, std::optional<std::string>> inputAnswers_;  // answered, not yet taken
  std::atomic<bool> inputEnabled_{false};
  std::atomic<bool> ready_{false};  // the session's configure says whether the client answers

  static std::atomic<bool> forked_;
};

}  // namespace asyncode::core
