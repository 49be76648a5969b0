#include "core/engine.h"

#include "core/pyref.h"  // Python.h before marshal.h
#include <marshal.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <dirent.h>
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

std::string utf8(PyObject* o) {
  std::string out;
  if (o && PyUnicode_Check(o)) {
    Py_ssize_t n = 0;
    if (const char* p = PyUnicode_AsUTF8AndSize(o, &n)) {
      out.assign(p, static_cast<std::size_t>(n));
    } else {
      PyErr_Clear();
    }
  }
  return out;
}

PyRef callIntrospect(const char* function, PyObject* args) {
  PyRef module = check(PyImport_ImportModule("_asyncode.introspect"));
  PyRef fn = check(PyObject_GetAttrString(module.get(), function));
  return check(PyObject_CallObject(fn.get(), args));
}

MimeBundle bundleFromDict(PyObject* dict) {
  MimeBundle out;
  if (!dict || !PyDict_Check(dict)) return out;
  PyObject *key = nullptr, *value = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(dict, &pos, &key, &value)) out.push_back({utf8(key), utf8(value), false});
  return out;
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

Engine::Engine(EngineConfig config) : config_(std::move(config)), mainThread_(pthread_self()) {
  wakeFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeFd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  static std::once_flag atfork;
  std::call_once(atfork, [] { ::pthread_atfork(nullptr, nullptr, &Engine::afterForkInChild); });
}

Engine::~Engine() {
  if (wakeFd_ >= 0) ::close(wakeFd_);
}

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
void Engine::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wakeFd_, &one, sizeof one);
}

void Engine::drainWake() {
  if (lane_) {
    std::deque<Job> got;
    lane_->read(got);
    if (got.empty()) return;
    std::lock_guard lock(mu_);
    for (auto& j : got) jobs_.push_back(std::move(j));
    return;
  }
  std::uint64_t count = 0;
  [[maybe_unused]] const auto n = ::read(wakeFd_, &count, sizeof count);
}

void Engine::push(Job job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  wake();
}

void Engine::submitExec(ExecRequest request) {
  Job job;
  job.kind = Job::Kind::Exec;
  job.seq = request.seq;
  job.exec = std::move(request);
  push(std::move(job));
}

void Engine::submitReset(std::uint64_t seq) {
  Job job;
  job.kind = Job::Kind::Reset;
  job.seq = seq;
  push(std::move(job));
}

void Engine::submitConfigure(std::uint64_t seq, ConfigureRequest request) {
  Job job;
  job.kind = Job::Kind::Configure;
  job.seq = seq;
  job.configure = std::move(request);
  push(std::move(job));
}

void Engine::submitPreload() {
  Job job;
  job.kind = Job::Kind::Preload;
  push(std::move(job));
}

void Engine::submitShutdown() {
  Job job;
  job.kind = Job::Kind::Shutdown;
  push(std::move(job));
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
        return job;
      }
      lastFinished_ = std::max(lastFinished_, job.seq);
    }
    // Answered without running (lane mode only: the marks are made there).
    GilRelease nogil;
    if (cancelled) {
      lane_->execCancelled(job.seq);
    } else {
      lane_->execDone(stoppedBeforeStart(job.seq, *stopped));
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
  std::lock_guard lock(mu_);
  return !jobs_.empty();
}

void Engine::waitJobs() {
  exitIfForked();
  GilRelease nogil;
  while (!hasJobs()) {
    pollfd p{wakeFd(), POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno == EINTR) return;  // let Python run its signal handlers
    drainWake();
  }
}

std::uint64_t Engine::runningExec() const {
  std::lock_guard lock(mu_);
  return running_;
}

bool Engine::eraseQueuedLocked(std::uint64_t seq) {
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (it->kind == Job::Kind::Exec && it->seq == seq) {
      jobs_.erase(it);
      return true;
    }
  }
  return false;
}

bool Engine::removeQueued(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  if (!lane_) return eraseQueuedLocked(seq);
  if (seq == 0 || seq == running_ || seq <= lastFinished_) return false;
  cancelled_.insert(seq);  // answered when the main thread reaches it
  return true;
}

InterruptOutcome Engine::interrupt(std::uint64_t seq, InterruptReason reason) {
  {
    std::lock_guard lock(mu_);
    if (seq != 0 && running_ == seq) {
      pendingInterrupt_ = reason;
    } else if (lane_) {
      if (seq == 0 || seq <= lastFinished_) return InterruptOutcome::NotRunning;
      stopBeforeStart_[seq] = reason;  // not read or not taken yet: stopped when taken
      return InterruptOutcome::Dequeued;
    } else if (!eraseQueuedLocked(seq)) {
      return InterruptOutcome::NotRunning;
    } else {
      outbox_.push(ExecDoneEvent{stoppedBeforeStart(seq, reason)});
      return InterruptOutcome::Dequeued;
    }
  }
  ::pthread_kill(mainThread_, SIGINT);
  return InterruptOutcome::Signalled;
}

namespace {

// The processes descending from `pid`, through /proc/<pid>/task/*/children (cheap:
// only the session's own processes are read, not all of /proc).
void collectDescendants(pid_t pid, std::vector<pid_t>& out, int depth) {
  if (depth > 32) return;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(task.c_str());
  if (!dir) return;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::FILE* f = std::fopen((task + "/" + entry->d_name + "/children").c_str(), "r");
    if (!f) continue;
    long child = 0;
    while (std::fscanf(f, "%ld", &child) == 1) {
      out.push_back(static_cast<pid_t>(child));
      collectDescendants(static_cast<pid_t>(child), out, depth + 1);
    }
    std::fclose(f);
  }
  ::closedir(dir);
}

}  // namespace

// As a terminal's Ctrl-C reaches the whole foreground process group (and as
// jupyter_client's killpg does), an interrupt reaches the processes the session started:
// `subprocess.run(["sleep", "30"])` then ends at once. Those still in the worker's process
// group get the signal; this process is left out (its main thread got its own).
void Engine::signalChildren(int sig) {
  const pid_t self = ::getpid();
  const pid_t group = ::getpgrp();
  std::vector<pid_t> descendants;
  collectDescendants(self, descendants, 0);
  for (const pid_t pid : descendants)
    if (::getpgid(pid) == group) ::kill(pid, sig);
}

bool Engine::resignal(std::uint64_t seq) {
  {
    std::lock_guard lock(mu_);
    if (seq == 0 || running_ != seq || !pendingInterrupt_) return false;
  }
  ::pthread_kill(mainThread_, SIGINT);
  return true;
}

std::optional<InterruptReason> Engine::interruptReason(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  if (running_ != seq) return std::nullopt;
  return pendingInterrupt_;
}

void Engine::execStarted(std::uint64_t seq, std::optional<int> count) {
  bool announce = false;
  {
    std::lock_guard lock(mu_);
    announce = running_ == seq && runningAnnounces_;
  }
  if (lane_) {
    if (!announce) return;
    GilRelease nogil;
    lane_->execStarted(seq, count);
    return;
  }
  if (announce) {
    outbox_.push(ExecStartedEvent{seq, count});
  } else {
    outbox_.pushQuiet(ExecStartedEvent{seq, count});  // a fast exec's start costs no wake-up
  }
}

void Engine::execDone(ExecOutcome outcome) {
  {
    std::lock_guard lock(mu_);
    if (running_ == outcome.seq) {
      running_ = 0;
      pendingInterrupt_.reset();
    }
    lastFinished_ = std::max(lastFinished_, outcome.seq);
  }
  if (!lane_) return outbox_.push(ExecDoneEvent{std::move(outcome)});
  // The exec's output and displays reach the pipes before its answer leaves.
  const std::uint64_t written = outbox_.appended();
  GilRelease nogil;
  while (!outbox_.waitDelivered(written, std::chrono::milliseconds(100))) {
  }
  lane_->execDone(outcome);
}

void Engine::jobDone(std::uint64_t seq, std::optional<std::string> error) {
  if (!lane_) return outbox_.push(JobDoneEvent{seq, std::move(error)});
  GilRelease nogil;
  lane_->jobDone(seq, error);
}

// ---- input --------------------------------------------------------------------------
bool Engine::readInput(const std::string& prompt, bool password, const OwnerPtr& owner, std::string& out) {
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
  outbox_.push(InputRequestEvent{id, owner, prompt, password});
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

void Engine::answerInput(std::uint64_t inputId, std::optional<std::string> value) {
  {
    std::lock_guard lock(inputMu_);
    if (inputId == 0 || inputId > nextInputId_) return;
    inputAnswers_[inputId] = std::move(value);
  }
  inputCv_.notify_all();
}

// ---- introspection (other threads) -----------------------------------------------------
namespace {
void waitUntil(std::mutex& mu, std::condition_variable& cv, const bool& flag) {
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return flag; });
}
}  // namespace

CompileResult Engine::compile(const std::string& code, Mode mode) {
  waitUntil(startMu_, startedCv_, started_);
  GilAcquire gil;
  return compileCheck(code, mode);
}

CompleteResult Engine::complete(const std::string& code, std::int64_t cursor) {
  waitUntil(startMu_, startedCv_, started_);
  GilAcquire gil;
  CompleteResult out;
  try {
    PyRef args = check(Py_BuildValue("(s#L)", code.data(), static_cast<Py_ssize_t>(code.size()),
                                     static_cast<long long>(cursor)));
    PyRef r = callIntrospect("complete", args.get());
    PyObject *matches = nullptr;
    long long start = 0, end = 0;
    if (!PyArg_ParseTuple(r.get(), "OLL", &matches, &start, &end)) throw PyError();
    out.cursorStart = start;
    out.cursorEnd = end;
    PyRef seq = check(PySequence_Fast(matches, "matches"));
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.get()); ++i) {
      PyObject* m = PySequence_Fast_GET_ITEM(seq.get(), i);
      PyObject *text = nullptr, *type = nullptr;
      if (!PyArg_ParseTuple(m, "OO", &text, &type)) throw PyError();
      Completion c{utf8(text), std::nullopt};
      if (type != Py_None) c.type = utf8(type);
      out.matches.push_back(std::move(c));
    }
  } catch (const PyError& e) {
    spdlog::warn("complete failed: {}", e.what());
    out.cursorStart = out.cursorEnd = cursor;
  }
  return out;
}

InspectResult Engine::inspect(const std::string& code, std::int64_t cursor) {
  waitUntil(startMu_, startedCv_, started_);
  GilAcquire gil;
  InspectResult out;
  try {
    PyRef args = check(Py_BuildValue("(s#L)", code.data(), static_cast<Py_ssize_t>(code.size()),
                                     static_cast<long long>(cursor)));
    PyRef r = callIntrospect("inspect", args.get());
    if (r.get() != Py_None) {
      out.found = true;
      out.data = bundleFromDict(r.get());
    }
  } catch (const PyError& e) {
    spdlog::warn("inspect failed: {}", e.what());
  }
  return out;
}

std::vector<Variable> Engine::variables() {
  waitUntil(startMu_, startedCv_, started_);
  GilAcquire gil;
  std::vector<Variable> out;
  try {
    PyRef r = callIntrospect("variables", nullptr);
    PyRef seq = check(PySequence_Fast(r.get(), "variables"));
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.get()); ++i) {
      PyObject *name = nullptr, *type = nullptr, *repr = nullptr;
      if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq.get(), i), "OOO", &name, &type, &repr)) throw PyError();
      out.push_back({utf8(name), utf8(type), utf8(repr)});
    }
  } catch (const PyError& e) {
    spdlog::warn("variables failed: {}", e.what());
  }
  return out;
}

}  // namespace asyncode::core
