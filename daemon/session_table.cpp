#include "daemon/session_table.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "daemon/python_env.h"

namespace asyncode::daemon {

namespace link = protocol::link;
using protocol::SessionState;
using protocol::StatusReason;

namespace {

// "SIGKILL" for 9: the name status notifications carry.
std::string signalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "SIG" + std::to_string(sig);
}

}  // namespace

Session::Session(SessionTable& table, uv_loop_t* loop, std::string sessionName)
    : name(std::move(sessionName)), execs(loop, name, *this), startTimer(loop), table_(table) {}

Worker* Session::worker() { return table_.pool_.find(workerId); }
void Session::drain(Worker& w) { table_.drain_(w); }
void Session::queueChanged() { table_.updateBusy(*this); }
void Session::kill(Worker& w) {
  killedByInterrupt = true;  // the ladder's last step: its death is the interrupt's doing
  table_.pool_.kill(w);
}
rpc::Peer& Session::client() { return table_.client_; }
void Session::beforeAnswer(Worker& w, std::uint64_t seq) {
  if (table_.beforeAnswer_) table_.beforeAnswer_(w, seq);
}
void Session::afterAnswer(Worker& w) {
  if (table_.afterAnswer_) table_.afterAnswer_(w);
}

SessionTable::SessionTable(uv_loop_t* loop, rpc::Peer& client, WorkerPool& pool, const ClientState& state, Drain drain,
                           std::vector<protocol::Backend> backends, std::string pythonVersion)
    : loop_(loop), client_(client), pool_(pool), state_(state), drain_(std::move(drain)),
      backends_(std::move(backends)), pythonVersion_(std::move(pythonVersion)) {}

Session* SessionTable::find(const std::string& name) {
  const auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : it->second.get();
}

Session& SessionTable::sessionFor(const std::string& name) {
  if (Session* s = find(name)) return *s;
  if (name != "default")
    throw rpc::RpcException(rpc::ErrorCode::InvalidParams, "no session named \"" + name + "\" (open it with session/open)");
  auto s = std::make_shared<Session>(*this, loop_, name);
  sessions_.emplace(name, s);
  startWorker(*s, StatusReason::Open);
  return *s;
}

protocol::SessionOpenResult SessionTable::info(const Session& s) { return {s.name, s.pid, s.backend}; }

protocol::SessionListResult SessionTable::list() const {
  protocol::SessionListResult r;
  for (const auto& [name, s] : sessions_) r.sessions.push_back({name, s->pid, s->backend, s->state});
  return r;
}

namespace {

// `s` with its NULs shown as \0, for a message.
std::string printable(const std::string& s) {
  std::string out;
  for (const char c : s) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  return out;
}

}  // namespace

// Why session/open must be refused, if it must (an open session with other settings, a
// backend Python cannot import, a cwd that is not a directory).
std::optional<std::string> SessionTable::refuseOpen(const protocol::SessionOpenParams& p) const {
  if (!p.python && std::find(backends_.begin(), backends_.end(), p.backend) == backends_.end()) {
    const std::string wanted = protocol::toString(p.backend);  // a venv may have what the system lacks
    return "backend \"" + wanted + "\" is not available: Python cannot import " + wanted;
  }
  if (p.env) {
    for (const auto& [name, value] : *p.env) {
      // An environment holds NAME=VALUE strings: a name with '=' or NUL, or a value with NUL,
      // would become another variable or be cut short.
      if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos)
        return "env: \"" + printable(name) + "\" cannot be a variable's name (empty, or with '=' or NUL)";
      if (value.find('\0') != std::string::npos)
        return "env: the value of \"" + printable(name) + "\" holds a NUL, which an environment cannot";
    }
  }
  if (p.cwd) {
    struct stat st {};
    if (::stat(p.cwd->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return "cwd \"" + *p.cwd + "\" is not a directory";
  }
  return std::nullopt;
}

void SessionTable::open(const protocol::SessionOpenParams& p, rpc::Reply<protocol::SessionOpenResult> reply) {
  if (Session* s = find(p.session)) {
    if (s->backend != p.backend)
      return reply.error(rpc::ErrorCode::InvalidParams, "session \"" + p.session + "\" is already open with backend " +
                                                            protocol::toString(s->backend));
    if (p.syncInLoop != s->syncInLoop || p.stdinStream != (s->stdinFeed != nullptr) || (p.cwd && p.cwd != s->cwd) || (p.env && *p.env != s->needs.env) ||
        (p.python && !s->needs.ownEnvironment))
      return reply.error(rpc::ErrorCode::InvalidParams,
                         "session \"" + p.session + "\" is already open with other settings: close it first");
    if (p.terminal) setTerminal(*s, *p.terminal);
    if (s->configured) return reply(info(*s));
    return s->openWaiters.push_back(std::move(reply));
  }
  if (auto why = refuseOpen(p)) return reply.error(rpc::ErrorCode::InvalidParams, *why);
  auto s = std::make_shared<Session>(*this, loop_, p.session);
  s->backend = p.backend;
  s->syncInLoop = p.syncInLoop;
  s->cwd = p.cwd;
  s->terminal = p.terminal;
  if (p.stdinStream) s->stdinFeed = std::make_shared<StdinFeed>(loop_, client_, s->name);
  if (p.env) s->needs.env = *p.env;
  if (p.python) {
    auto resolved = resolvePython(*p.python, pythonVersion_);
    if (!resolved.error.empty()) return reply.error(rpc::ErrorCode::InvalidParams, resolved.error);
    s->needs.executable = resolved.executable;
  }
  s->needs.ownEnvironment = p.env.has_value() || p.python.has_value();
  sessions_.emplace(s->name, s);
  s->openWaiters.push_back(std::move(reply));
  startWorker(*s, StatusReason::Open);
}

void SessionTable::setTerminal(Session& s, const protocol::Terminal& terminal) {
  s.terminal = terminal;  // the next worker's configure carries it
  Worker* w = pool_.find(s.workerId);
  if (!w) return;
  // At once for code that runs (control), and in order with the execs, after the worker's
  // configure (lane): an exec sent after it sees it, whatever the two links' timing.
  if (!w->handle->control().closed()) w->handle->control().notify(link::methods::workerTerminal, terminal);
  if (!w->handle->lane().closed()) w->handle->lane().notify(link::methods::workerTerminal, terminal);
}

void SessionTable::restart(const protocol::SessionRestartParams& p, rpc::Reply<protocol::SessionRestartResult> reply) {
  Session& s = sessionFor(p.session);
  end(s, "the session was restarted");
  setState(s, SessionState::Dead, StatusReason::Restart);
  s.restarts.clear();
  startWorker(s, StatusReason::Restart);
  s.openWaiters.push_back(std::move(reply));
}

void SessionTable::close(const protocol::SessionCloseParams& p, rpc::Reply<protocol::SessionCloseResult> reply) {
  Session* s = find(p.session);
  if (!s) return reply.error(rpc::ErrorCode::InvalidParams, "no session named \"" + p.session + "\"");
  closeSession(*s, "the session was closed");
  reply(nullptr);
}

void SessionTable::startWorker(Session& s, StatusReason why) {
  Worker* w = nullptr;
  try {
    w = &pool_.take(s.needs);
  } catch (const std::exception& e) {
    spdlog::error("session {}: {}", s.name, e.what());
    return failStart(s, e.what());
  }
  w->session = s.name;
  s.workerId = w->id;
  s.pid = w->handle->pid();
  s.configured = false;
  s.killedByInterrupt = false;
  s.startReason = why;
  s.execs.resetCount();  // a new worker counts its execs from 1
  setState(s, SessionState::Starting, why);
  // The worker's fd 0: the session's stream, or end of file at once.
  if (s.stdinFeed) {
    s.stdinFeed->attach(*w->handle);
  } else {
    w->handle->closeStdin();
  }
  const link::ConfigureParams params{s.name, s.backend, s.syncInLoop, s.cwd, state_.inputCapable, s.terminal, s.stdinFeed != nullptr};
  w->handle->lane().call(link::methods::workerConfigure, params,
                         [this, name = s.name, from = w->id](rpc::Answer<link::ConfigureResult> a) {
                           onConfigured(name, from, std::move(a));
                         });
  s.startTimer.once(startTimeoutMs_, [this, name = s.name, from = w->id] { onStartTimeout(name, from); });
  s.execs.sendUnsent();
}

void SessionTable::onConfigured(const std::string& name, WorkerId from, rpc::Answer<link::ConfigureResult> a) {
  Session* s = find(name);
  if (!s || s->workerId != from) return;
  s->startTimer.stop();
  if (!a) {
    Worker* w = pool_.find(from);
    if (!w || !w->handle->running() || w->handle->lane().closed()) return;  // it died: workerExited decides
    const std::string message = "cannot start session \"" + name + "\" (" + protocol::toString(s->backend) +
                                "): " + a.error.message;
    spdlog::warn("{}", message);
    for (auto& waiter : s->openWaiters) waiter.error(rpc::ErrorCode::InvalidParams, message);
    s->openWaiters.clear();
    return closeSession(*s, "the session could not start: " + a.error.message);
  }
  s->configured = true;
  for (auto& waiter : s->openWaiters) waiter(info(*s));
  s->openWaiters.clear();
  setState(*s, s->execs.empty() ? SessionState::Idle : SessionState::Busy, s->startReason);
  s->startReason.reset();
}

// A worker that hangs while it starts (a pyvenv.cfg that became a FIFO, a sitecustomize that
// never returns) ends, and so does its session: every request waiting for it is answered.
void SessionTable::onStartTimeout(const std::string& name, WorkerId from) {
  Session* s = find(name);
  if (!s || s->workerId != from || s->configured) return;
  const std::string why = fmt::format("the session's worker did not start within {:g} s: it was stopped and the "
                                     "session closed", static_cast<double>(startTimeoutMs_) / 1000.0);
  spdlog::error("session {}: {}", name, why);
  closeSession(*s, why);
}

void SessionTable::failStart(Session& s, const std::string& why) {
  for (auto& waiter : s.openWaiters) waiter.error(rpc::ErrorCode::InternalError, why);
  s.openWaiters.clear();
  s.execs.failAll("the session's worker could not start: " + why);
  s.workerId = 0;
  setState(s, SessionState::Dead, StatusReason::Crash);
}

void SessionTable::setState(Session& s, SessionState state, std::optional<StatusReason> why, const ExitStatus* exit) {
  if (s.state == state) return;
  s.state = state;
  if (!state_.open()) return;
  protocol::StatusParams p{s.name, state, s.pid ? std::optional<std::int64_t>(s.pid) : std::nullopt, why,
                           std::nullopt, std::nullopt};
  if (exit && exit->kind == ExitStatus::Kind::Exited) p.exitCode = exit->code;
  if (exit && exit->kind == ExitStatus::Kind::Killed) p.signal = signalName(exit->signal);
  client_.notify(protocol::methods::status, p);
}

void SessionTable::updateBusy(Session& s) {
  if (!s.configured || s.workerId == 0) return;
  setState(s, s.execs.empty() ? SessionState::Idle : SessionState::Busy);
}

// The session lets its worker go: the exec it runs is answered WorkerDied, the others -32800.
void SessionTable::end(Session& s, const std::string& why) {
  if (s.stdinFeed) s.stdinFeed->detach();
  if (Worker* w = pool_.find(s.workerId)) pool_.retire(*w);
  s.workerId = 0;
  s.execs.endAll(why);
}

void SessionTable::closeSession(Session& s, const std::string& why) {
  const auto keep = sessions_.at(s.name);  // `s` lives until the end of this function
  end(s, why);
  for (auto& waiter : s.openWaiters) waiter.error(rpc::ErrorCode::InternalError, why);
  s.openWaiters.clear();
  setState(s, SessionState::Dead, StatusReason::Closed);
  sessions_.erase(s.name);
}

void SessionTable::bind(Worker& w) {
  w.handle->lane().dispatcher().bind(link::methods::workerExecStarted,
                                     [this, &w](const link::ExecStartedParams& p) {
                                       Session* s = w.session.empty() ? nullptr : find(w.session);
                                       if (s && s->workerId == w.id) s->execs.started(w.id, p);
                                     });
}

void SessionTable::workerExited(Worker& w, const ExitStatus& status) {
  Session* s = w.session.empty() ? nullptr : find(w.session);
  if (!s || s->workerId != w.id || w.retired) return;
  if (!state_.exiting) spdlog::warn("session {}: the worker (pid {}) {}", s->name, w.handle->pid(), status.describe());
  workerDied(*s, status);
}

// The session's worker died: the exec it ran is answered, the others wait, and the session
// starts again on a new worker, unless its workers died kCrashLoopLimit times within
// kCrashLoopWindow. A death before worker/configure's answer is such a death too (user code of
// an exec sent right behind the configure may have caused it); a configure that fails answers
// an error instead (onConfigured).
void SessionTable::workerDied(Session& s, const ExitStatus& status) {
  if (s.stdinFeed) s.stdinFeed->detach();
  s.workerId = 0;
  const auto now = Clock::now();
  while (!s.restarts.empty() && now - s.restarts.front() > kCrashLoopWindow) s.restarts.pop_front();
  s.restarts.push_back(now);
  const bool tooOften = static_cast<int>(s.restarts.size()) >= kCrashLoopLimit;
  // The reason of the death, and of the start that follows it (none follows a close).
  const StatusReason why = tooOften ? StatusReason::Closed
                           : s.killedByInterrupt ? StatusReason::Interrupt
                                                 : StatusReason::Crash;
  setState(s, SessionState::Dead, why, &status);
  const std::string message = "the session's worker " + status.describe();
  s.execs.workerDied(message);
  if (state_.exiting) return;
  if (tooOften) {
    spdlog::error("session {}: the worker died {} times in {} s; not restarting it", s.name, kCrashLoopLimit,
                  std::chrono::duration_cast<std::chrono::seconds>(kCrashLoopWindow).count());
    return closeSession(s, message + " (too often: the session was closed)");
  }
  startWorker(s, why);
}

void SessionTable::cancel(const rpc::Id& id) {
  for (auto& [name, s] : sessions_)
    if (s->execs.cancel(id)) return;
}

void SessionTable::cancelAll(const std::string& why) {
  for (auto& [name, s] : sessions_) {
    s->execs.cancelAll(why);
    for (auto& waiter : s->openWaiters) waiter.error(rpc::ErrorCode::RequestCancelled, why);
    s->openWaiters.clear();
  }
}

}  // namespace asyncode::daemon
