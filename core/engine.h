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
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/outbox.h"
#include "core/types.h"

namespace asyncode::core {

struct EngineConfig {
  std::string executable = "/usr/bin/python3";  // sys.executable; a venv's python selects it
  bool faulthandler = true;                      // crash tracebacks to fd 2 (captured)
};

struct ConfigureRequest {
  std::string backend = "asyncio";
  bool syncInLoop = false;
  std::optional<std::string> cwd;
};

enum class InterruptOutcome {
  Signalled,    // the exec runs: the engine decides how to stop it (see engine.py)
  Dequeued,     // it had not started: removed, and answered as interrupted
  NotRunning,   // no such exec: finished already, or never came
};

class Engine {
 public:
  explicit Engine(EngineConfig config);
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
  void submitExec(ExecRequest request);
  void submitReset(std::uint64_t seq);
  void submitConfigure(std::uint64_t seq, ConfigureRequest request);
  void submitPreload();
  void submitShutdown();
  // Removes an exec that has not started. True when it was queued.
  bool removeQueued(std::uint64_t seq);
  InterruptOutcome interrupt(std::uint64_t seq, InterruptReason reason);
  // Signals again when an interrupt of `seq` is still pending (the ladder's next step).
  bool resignal(std::uint64_t seq);
  // Sends `sig` to the processes the session started that are still in its process group.
  static void signalChildren(int sig);
  // The client's answer to input request `inputId`; nullopt: none will come (EOFError).
  void answerInput(std::uint64_t inputId, std::optional<std::string> value);
  void setInputEnabled(bool enabled) { inputEnabled_ = enabled; }
  [[nodiscard]] std::uint64_t runningExec() const;
  Outbox& outbox() { return outbox_; }

  // ---- other threads, taking the GIL (waits until start() is done) ----------------
  CompileResult compile(const std::string& code, Mode mode);
  CompleteResult complete(const std::string& code, std::int64_t cursor);
  InspectResult inspect(const std::string& code, std::int64_t cursor);
  std::vector<Variable> variables();

  // ---- for the _asyncode_c module ---------------------------------------------
  struct Job {
    enum class Kind { Exec, Reset, Configure, Preload, Shutdown } kind = Kind::Exec;
    std::uint64_t seq = 0;
    ExecRequest exec;
    ConfigureRequest configure;
  };
  std::optional<Job> takeJob();
  bool hasJobs() const;
  int wakeFd() const { return wakeFd_; }
  void drainWake();
  // Blocks (without the GIL) until a job is queued or a signal arrives.
  void waitJobs();
  // The reason of an interrupt pending for `seq`, if any.
  std::optional<InterruptReason> interruptReason(std::uint64_t seq) const;
  void execDone(ExecOutcome outcome);
  void execStarted(std::uint64_t seq, std::optional<int> count);
  // input(): blocks until the client answers (GIL released meanwhile, signals checked).
  // Returns false with a Python exception set on interrupt or refusal.
  bool readInput(const std::string& prompt, bool password, const OwnerPtr& owner, std::string& out);
  bool forked() const { return forked_; }

 private:
  void push(Job job);
  bool eraseQueuedLocked(std::uint64_t seq);
  void wake();
  static void afterForkInChild();

  EngineConfig config_;
  pthread_t mainThread_;
  Outbox outbox_;
  int wakeFd_ = -1;

  mutable std::mutex mu_;
  std::deque<Job> jobs_;
  std::uint64_t running_ = 0;
  bool runningAnnounces_ = false;
  std::optional<InterruptReason> pendingInterrupt_;

  std::mutex startMu_;
  std::condition_variable startedCv_;
  bool started_ = false;

  std::mutex inputMu_;
  std::condition_variable inputCv_;
  std::uint64_t nextInputId_ = 0;
  std::map<std::uint64_t, std::optional<std::string>> inputAnswers_;  // answered, not yet taken
  std::atomic<bool> inputEnabled_{false};

  static std::atomic<bool> forked_;
};

}  // namespace asyncode::core
