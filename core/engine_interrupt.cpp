// Interrupts (shared/PROTOCOL.md, "Interrupt"): each one acts once. The I/O thread asks;
// the main thread gets SIGINT, and the engine's handler (engine.py) decides what to do and
// says so (interruptActed). A probe queued as a pending call tells when Python ran but a
// handler other than the engine's took the signal (pdb's, the user's own).
#include "core/pyref.h"  // Python.h first
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/engine.h"

namespace asyncode::core {
namespace {

// Whether SIGINT's Python handler is still the engine's (pdb and user code may set theirs).
bool sigintIsEngines() {
  PyRef module = PyRef::steal(PyImport_ImportModule("_signal"));
  PyRef handler = module ? PyRef::steal(PyObject_CallMethod(module.get(), "getsignal", "i", SIGINT)) : PyRef();
  PyRef name = handler ? PyRef::steal(PyObject_GetAttrString(handler.get(), "__qualname__")) : PyRef();
  if (!name) {
    PyErr_Clear();
    return false;
  }
  return PyUnicode_Check(name.get()) && PyUnicode_CompareWithASCIIString(name.get(), "Engine._on_sigint") == 0;
}

}  // namespace

void Engine::interrupt(std::uint64_t seq, InterruptReason reason, InterruptDone done) {
  {
    std::lock_guard lock(mu_);
    if (seq != 0 && seq <= lastFinished_ && running_ != seq) {
      done(InterruptOutcome::NotRunning, InterruptHow::None);
      return;
    }
    if (!ready_) {  // Python is still starting: nothing of the session runs yet
      if (seq != 0) stopBeforeStart_[seq] = reason;
      done(seq != 0 ? InterruptOutcome::Dequeued : InterruptOutcome::NotRunning,
           seq != 0 ? InterruptHow::Cancelled : InterruptHow::None);
      return;
    }
    if (seq != 0 && running_ == seq) pendingInterrupt_ = reason;
    asked_.push_back(AskedInterrupt{seq, reason, std::move(done)});
  }
  ::pthread_kill(mainThread_, SIGINT);
  Py_AddPendingCall(&Engine::probeInterrupts, this);  // needs neither the GIL nor a thread state
}

std::optional<InterruptReason> Engine::interruptReason(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  for (auto& a : asked_) a.seen = true;  // the engine's handler runs
  if (seq != 0) return running_ == seq ? pendingInterrupt_ : std::nullopt;
  // No exec runs: an interrupt of an exec that has not started may stop a task instead.
  for (const auto& a : asked_)
    if (a.seq == 0 || (a.seq > lastFinished_ && a.seq != running_)) return a.reason;
  return std::nullopt;
}

void Engine::interruptActed(InterruptHow how) {
  std::vector<AskedInterrupt> acted;
  std::vector<InterruptOutcome> outcomes;
  {
    std::lock_guard lock(mu_);
    acted.swap(asked_);
    for (const auto& a : acted) {
      const bool waiting = a.seq != 0 && a.seq > lastFinished_ && a.seq != running_;
      if (how == InterruptHow::None && waiting) {
        stopBeforeStart_[a.seq] = a.reason;  // nothing held the thread: the exec never runs
        outcomes.push_back(InterruptOutcome::Dequeued);
      } else {
        outcomes.push_back(how == InterruptHow::None ? InterruptOutcome::NotRunning : InterruptOutcome::Signalled);
      }
    }
  }
  for (std::size_t i = 0; i < acted.size(); ++i)
    acted[i].done(outcomes[i], outcomes[i] == InterruptOutcome::Dequeued ? InterruptHow::Cancelled : how);
}

// A pending call: the main thread runs Python again. Signal handlers run first; interrupts
// that no handler of the engine saw went to another handler, which acted on them.
int Engine::probeInterrupts(void* engine) {
  auto* self = static_cast<Engine*>(engine);
  if (forked_) return 0;
  if (PyErr_CheckSignals() < 0) return -1;  // a handler raised: in the frame that runs
  if (sigintIsEngines()) return 0;           // the engine's handler tells, when it runs
  std::vector<AskedInterrupt> taken;
  {
    std::lock_guard lock(self->mu_);
    std::erase_if(self->asked_, [&](AskedInterrupt& a) {
      if (a.seen) return false;
      taken.push_back(std::move(a));
      return true;
    });
  }
  for (auto& a : taken)
    a.done(InterruptOutcome::Signalled, a.seq == 0 ? InterruptHow::TaskInterrupted : InterruptHow::KeyboardInterrupt);
  return 0;
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

}  // namespace asyncode::core
