#include "core/engine.h"

#include "core/pyref.h"  // Python.h before marshal.h
#include <marshal.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <system_error>

#include "core/compiler.h"
#include "core/embedded.h"
#include "core/native_module.h"
#include "core/pyerror.h"

namespace asyncode::core {
namespace {

void checkStatus(PyStatus status, const char* what) {
  if (PyStatus_Exception(status)) {
    std::string message = std::string(what) + ": ";
    message += status.err_msg ? status.err_msg : "failed";
    if (status.func) message += std::string(" (") + status.func + ")";
    throw std::runtime_error(message);
  }
}
}  // namespace

std::atomic<bool> Engine::forked_{false};

void Engine::afterForkInChild() { forked_ = true; }

// A child of os.fork() that comes back to the engine has finished the cell it was forked in;
// it is not the session, so it ends here, as a script's child ends at the script's end, with
// what it printed flushed. Called with the GIL held.
void Engine::exitIfForked() {
  if (!forked_) return;
  for (const char* name : {"stdout", "stderr"}) {
    if (PyObject* stream = PySys_GetObject(name)) {  // borrowed
      PyRef done = PyRef::steal(PyObject_CallMethod(stream, "flush", nullptr));
      if (!done) PyErr_Clear();
    }
  }
  ::_exit(0);
}

Engine::Engine(EngineConfig config, JobLane& lane)
    : config_(std::move(config)), mainThread_(pthread_self()), lane_(lane) {
  static std::once_flag atfork;
  std::call_once(atfork, [] { ::pthread_atfork(nullptr, nullptr, &Engine::afterForkInChild); });
}

Engine::~Engine() = default;

void Engine::start() {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  struct Clear {
    PyConfig* c;
    ~Clear() { PyConfig_Clear(c); }
  } clear{&config};
  config.parse_argv = 0;
  config.install_signal_handlers = 1;
  config.faulthandler = config_.faulthandler ? 1 : 0;
  checkStatus(PyConfig_SetBytesString(&config, &config.program_name, config_.executable.c_str()), "program name");
  checkStatus(PyConfig_SetBytesString(&config, &config.executable, config_.executable.c_str()), "executable");
  wchar_t empty[] = L"";
  wchar_t* argv[] = {empty};
  checkStatus(PyConfig_SetArgv(&config, 1, argv), "argv");
  checkStatus(Py_InitializeFromConfig(&config), "starting Python");

  // This thread holds the GIL from here on, releasing it only inside Python's waits.
  try {
    PyRef native = createNativeModule(this);
    const embedded::Module* boot = embedded::find("_asyncode");
    if (!boot) throw std::runtime_error("the engine's bootstrap module is missing");
    PyRef code = check(PyMarshal_ReadObjectFromString(reinterpret_cast<const char*>(boot->code),
                                                      static_cast<Py_ssize_t>(boot->size)));
    PyRef name = check(PyUnicode_FromString(boot->name));
    PyRef filename = check(PyUnicode_FromString(boot->filename));
    check(PyImport_ExecCodeModuleObject(name.get(), code.get(), filename.get(), nullptr));
  } catch (const PyError& e) {
    throw std::runtime_error(std::string("loading the engine: ") + e.what());
  }
  {
    std::lock_guard lock(startMu_);
    started_ = true;
  }
  startedCv_.notify_all();
}

int Engine::run() {
  try {
    PyRef module = check(PyImport_ImportModule("_asyncode.engine"));
    check(PyObject_CallMethod(module.get(), "main", nullptr));
    return 0;
  } catch (const PyError& e) {
    spdlog::critical("the engine stopped: {}", e.what());
    if (e.value()) {
      e.restore();
      PyErr_Print();
    }
    return 1;
  }
}

// ---- jobs ---------------------------------------------------------------------------
// A forked child of user code touches none of the engine's mutexes: a thread that is not in
// the child may have held one at the fork. It ends at its next takeJob() or waitJobs().

void Engine::drainWake() {
  if (forked_) return;
  std::deque<Job> got;
  lane_.read(got);
  if (got.empty()) return;
  std::lock_guard lock(mu_);
  for (auto& j : got) jobs_.push_back(std::move(j));
}

std::optional<Engine::Job> Engine::takeJob() {
  exitIfForked();
  while (true) {
    std::optional<InterruptReason> stopped;
    bool cancelled = false;
    Job job;
    {
      std::lock_guard lock(mu_);
      if (jobs_.empty()) return std::nullopt;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      if (job.kind == Job::Kind::Terminal) {
        std::lock_guard terminalLock(terminalMu_);
        terminal_ = job.terminal;
        continue;
      }
      if (job.kind == Job::Kind::Configure) {
        inputEnabled_ = job.configure.input;
        std::lock_guard terminalLock(terminalMu_);
        terminal_ = job.configure.terminal;
      }
      if (job.kind != Job::Kind::Exec) return job;
      if (cancelled_.erase(job.seq)) {
        cancelled = true;
      } else if (auto it = stopBeforeStart_.find(job.seq); it != stopBeforeStart_.end()) {
        stopped = it->second;
        stopBeforeStart_.erase(it);
      } else {
        running_ = job.seq;
        runningAnnounces_ = job.exec.announceStart;
        pendingInterrupt_.reset();
        for (const auto& a : asked_)  // asked for while it waited: it is the exec's now
          if (a.seq == job.seq) pendingInterrupt_ = a.reason;
        return job;
      }
      lastFinished_ = std::max(lastFinished_, job.seq);
    }
    // Answered without running.
    GilRelease nogil;
    if (cancelled) {
      lane_.execCancelled(job.seq);
    } else {
      lane_.execDone(stoppedBeforeStart(job.seq, *stopped));
    }
  }
}

ExecOutcome Engine::stoppedBeforeStart(std::uint64_t seq, InterruptReason reason) {
  ExecOutcome o;
  o.seq = seq;
  o.status = reason == InterruptReason::Timeout ? ExecStatus::Timeout : ExecStatus::Interrupted;
  o.how = InterruptHow::Cancelled;
  o.error = ErrorInfo{"KeyboardInterrupt", "interrupted before it started", {},
                      "KeyboardInterrupt: interrupted before it started\n"};
  return o;
}

bool Engine::hasJobs() const {
  if (forked_) return false;  // it waits for jobs, and so ends
  std::lock_guard lock(mu_);
  return !jobs_.empty();
}

void Engine::waitJobs() {
  exitIfForked();
  GilRelease nogil;
  while (!hasJobs()) {
    pollfd p{lane_.fd(), POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno == EINTR) return;  // let Python run its signal handlers
    drainWake();
  }
}

bool Engine::removeQueued(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  if (seq == 0 || seq == running_ || seq <= lastFinished_) return false;
  cancelled_.insert(seq);  // answered when the main thread reaches it
  return true;
}

void Engine::execStarted(std::uint64_t seq, std::optional<int> count) {
  if (forked_) return;
  // In the output's order: the supervisor says execStart before anything the exec writes
  // (held back until it writes something: an exec that writes nothing wakes no reader).
  outbox_.startExec(std::make_shared<const Owner>(Owner{std::to_string(seq), count}));
  bool announce = false;
  {
    std::lock_guard lock(mu_);
    announce = running_ == seq && runningAnnounces_;
  }
  if (!announce) return;  // only timed execs: a fast exec's start costs no write
  GilRelease nogil;
  lane_.execStarted(seq, count);
}

void Engine::execDone(ExecOutcome outcome) {
  if (forked_) return;  // the parent answers
  {
    std::lock_guard lock(mu_);
    if (running_ == outcome.seq) {
      running_ = 0;
      pendingInterrupt_.reset();
    }
    lastFinished_ = std::max(lastFinished_, outcome.seq);
  }
  outbox_.endExec();  // nothing written: the answer says it started
  // The exec's output and displays reach the pipes before its answer leaves.
  const std::uint64_t written = outbox_.appended();
  GilRelease nogil;
  while (!outbox_.waitDelivered(written, std::chrono::milliseconds(100))) {
  }
  lane_.execDone(outcome);
}

void Engine::jobDone(std::uint64_t seq, std::optional<std::string> error) {
  if (forked_) return;
  GilRelease nogil;
  lane_.jobDone(seq, error);
}

// ---- input --------------------------------------------------------------------------
bool Engine::readInput(const std::string& prompt, InputKind kind, const OwnerPtr& owner, std::string& out) {
  if (forked_) {
    PyErr_SetString(PyExc_EOFError, "input() is not available in a forked child process");
    return false;
  }
  if (!inputEnabled_) {
    PyErr_SetString(PyExc_EOFError,
                    "input(): the client cannot answer input requests (it did not declare capabilities.input)");
    return false;
  }
  std::uint64_t id = 0;
  {
    std::lock_guard lock(inputMu_);
    id = ++nextInputId_;
    inputAnswers_.erase(id);
  }
  outbox_.push(InputRequestEvent{id, owner, prompt, kind});
  while (true) {
    std::optional<std::optional<std::string>> answer;
    {
      GilRelease nogil;
      std::unique_lock lock(inputMu_);
      if (inputCv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return inputAnswers_.count(id) != 0; })) {
        answer = std::move(inputAnswers_[id]);
        inputAnswers_.erase(id);
      }
    }
    if (answer) {
      if (!*answer) {
        PyErr_SetNone(PyExc_EOFError);  // end of input (Ctrl-D), as Python's own input() says it
        return false;
      }
      out = std::move(**answer);
      return true;
    }
    if (PyErr_CheckSignals() < 0) {  // interrupted while waiting
      outbox_.push(InputCancelledEvent{id});
      return false;
    }
  }
}

void Engine::setTerminal(TerminalInfo terminal) {
  {
    std::lock_guard lock(terminalMu_);
    terminal_ = terminal;
  }
  if (ready_) ::pthread_kill(mainThread_, SIGWINCH);  // ignored until the engine handles it
}

std::optional<TerminalInfo> Engine::terminal() const {
  std::lock_guard lock(terminalMu_);
  return terminal_;
}

void Engine::answerInput(std::uint64_t inputId, std::optional<std::string> value) {
  {
    std::lock_guard lock(inputMu_);
    if (inputId == 0 || inputId > nextInputId_) return;
    inputAnswers_[inputId] = std::move(value);
  }
  inputCv_.notify_all();
}

}  // namespace asyncode::core
