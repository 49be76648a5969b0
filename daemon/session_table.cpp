#include "daemon/session_table.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "daemon/python_env.h"

namespace asyncode::daemon {

namespace link = protocol::link;
using protocol::SessionState;

Session::Session(SessionTable& table, uv_loop_t* loop, std::string sessionName)
    : name(std::move(sessionName)), execs(loop, name, *this), table_(table) {}

Worker* Session::worker() { return table_.pool_.find(workerId); }
void Session::drain(Worker& w) { table_.drain_(w); }
void Session::queueChanged() { table_.updateBusy(*this); }
void Session::kill(Worker& w) {
  killedByInterrupt = true;  // the interrupt's last step: its death is the interrupt's doing
  table_.pool_.kill(w);
}
rpc::Peer& Session::client() { return table_.client_; }

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
  startWorker(*s);
  return *s;
}

protocol::SessionOpenResult SessionTable::info(const Session& s) { return {s.name, s.pid, s.backend}; }

protocol::SessionListResult SessionTable::list() const {
  protocol::SessionListResult r;
  for (const auto& [name, s] : sessions_) r.sessions.push_back({name, s->pid, s->backend, s->state});
  return r;
}

// Why session/open must be refused, if it must (an open session with other settings, a
// backend Python cannot import, a cwd that is not a directory).
std::optional<std::string> SessionTable::refuseOpen(const protocol::SessionOpenParams& p) const {
  if (!p.python && std::find(backends_.begin(), backends_.end(), p.backend) == backends_.end()) {
    const std::string wanted = protocol::toString(p.backend);  // a venv may have what the system lacks
    return "backend \"" + wanted + "\" is not available: Python cannot import " + wanted;
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
    if (p.syncInLoop != s->syncInLoop || (p.cwd && p.cwd != s->cwd) || (p.env && *p.env != s->needs.env) ||
        (p.python && !s->needs.ownEnvironment))
      return reply.error(rpc::ErrorCode::InvalidParams,
                         "session \"" + p.session + "\" is already open with other settings: close it first");
    if (s->configured) return reply(info(*s));
    return s->openWaiters.push_back(std::move(reply));
  }
  if (auto why = refuseOpen(p)) return reply.error(rpc::ErrorCode::InvalidParams, *why);
  auto s = std::make_shared<Session>(*this, loop_, p.session);
  s->backend = p.backend;
  s->syncInLoop = p.syncInLoop;
  s->cwd = p.cwd;
  if (p.env) s->needs.env = *p.env;
  if (p.python) {
    auto resolved = resolvePython(*p.python, pythonVersion_);
    if (!resolved.error.empty()) return reply.error(rpc::ErrorCode::InvalidParams, resolved.error);
    s->needs.executable = resolved.executable;
  }
  s->needs.ownEnvironment = p.env.has_value() || p.python.has_value();
  sessions_.emplace(s->name, s);
  s->openWaiters.push_back(std::move(reply));
  startWorker(*s);
}

void SessionTable::restart(const protocol::SessionRestartParams& p, rpc::Reply<protocol::SessionRestartResult> reply) {
  Session& s = sessionFor(p.session);
  end(s, "the session was restarted");
  setState(s, SessionState::Dead);
  s.restarts.clear();
  startWorker(s);
  s.openWaiters.push_back(std::move(reply));
}

void SessionTable::close(const protocol::SessionCloseParams& p, rpc::Reply<protocol::SessionCloseResult> reply) {
  Session* s = find(p.session);
  if (!s) return reply.error(rpc::ErrorCode::InvalidParams, "no session named \"" + p.session + "\"");
  closeSession(*s, "the session was closed");
  reply(nullptr);
}

void SessionTable::startWorker(Session& s) {
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
  s.execs.resetCount();  // a new worker counts its execs from 1
  setState(s, SessionState::Starting);
  const link::ConfigureParams params{s.name, s.backend, s.syncInLoop, s.cwd, state_.inputCapable};
  w->handle->lane().call(link::methods::workerConfigure, params,
                         [this, name = s.name, from = w->id](rpc::Answer<link::ConfigureResult> a) {
                           onConfigured(name, from, std::move(a));
                         });
  s.execs.sendUnsent();
}

void SessionTable::onConfigured(const std::string& name, WorkerId from, rpc::Answer<link::ConfigureResult> a) {
  Session* s = find(name);
  if (!s || s->workerId != from) return;
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
  setState(*s, s->execs.empty() ? SessionState::Idle : SessionState::Busy);
}

void SessionTable::failStart(Session& s, const std::string& why) {
  for (auto& waiter : s.openWaiters) waiter.error(rpc::ErrorCode::InternalError, why);
  s.openWaiters.clear();
  s.execs.failAll("the session's worker could not start: " + why);
  s.workerId = 0;
  setState(s, SessionState::Dead);
}

void SessionTable::setState(Session& s, SessionState state, std::optional<protocol::StatusReason> why) {
  if (s.state == state) return;
  s.state = state;
  if (!state_.open()) return;
  client_.notify(protocol::methods::status,
                 protocol::StatusParams{s.name, state, s.pid ? std::optional<std::int64_t>(s.pid) : std::nullopt, why});
}

void SessionTable::updateBusy(Session& s) {
  if (!s.configured || s.workerId == 0) return;
  setState(s, s.execs.empty() ? SessionState::Idle : SessionState::Busy);
}

// The session lets its worker go: the exec it runs is answered WorkerDied, the others -32800.
void SessionTable::end(Session& s, const std::string& why) {
  if (Worker* w = pool_.find(s.workerId)) pool_.retire(*w);
  s.workerId = 0;
  s.execs.endAll(why);
}

void SessionTable::closeSession(Session& s, const std::string& why) {
  const auto keep = sessions_.at(s.name);  // `s` lives until the end of this function
  end(s, why);
  for (auto& waiter : s.openWaiters) waiter.error(rpc::ErrorCode::InternalError, why);
  s.openWaiters.clear();
  setState(s, SessionState::Dead);
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
  s.workerId = 0;
  setState(s, SessionState::Dead,
           std::exchange(s.killedByInterrupt, false) ? std::optional(protocol::StatusReason::Interrupt) : std::nullopt);
  const std::string why = "the session's worker " + status.describe();
  s.execs.workerDied(why);
  if (state_.exiting) return;
  const auto now = Clock::now();
  while (!s.restarts.empty() && now - s.restarts.front() > kCrashLoopWindow) s.restarts.pop_front();
  s.restarts.push_back(now);
  if (static_cast<int>(s.restarts.size()) >= kCrashLoopLimit) {
    spdlog::error("session {}: the worker died {} times in {} s; not restarting it", s.name, kCrashLoopLimit,
                  std::chrono::duration_cast<std::chrono::seconds>(kCrashLoopWindow).count());
    return closeSession(s, why + " (too often: the session was closed)");
  }
  startWorker(s);
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
