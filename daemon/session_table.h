// The sessions: each a name, its settings, the worker that serves it, its state as the client
// sees it (status notifications), and its exec queue. Sessions open (the "default" one on first
// use), restart on a fresh worker, close, and restart by themselves when their worker dies,
// unless it dies too often. Requests that a session's worker answers are forwarded here.
#pragma once

#include <uv.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/client_state.h"
#include "daemon/exec_queue.h"
#include "daemon/stdin_feed.h"
#include "daemon/worker_pool.h"
#include "protocol/protocol.h"
#include "protocol/worker_link.h"
#include "rpc/dispatcher.h"
#include "rpc/peer.h"
#include "rpc/timer.h"

namespace asyncode::daemon {

class SessionTable;

struct Session final : ExecQueue::Host {
  Session(SessionTable& table, uv_loop_t* loop, std::string sessionName);

  std::string name;
  protocol::Backend backend = protocol::Backend::Asyncio;
  bool syncInLoop = false;
  std::optional<std::string> cwd;
  // The client's terminal (session/open, session/terminal): not a setting open compares;
  // each worker gets it with worker/configure, and changes with worker/terminal.
  std::optional<protocol::Terminal> terminal;
  std::shared_ptr<StdinFeed> stdinFeed;  // session/open's stdinStream: the client's stdin, pulled
  WorkerNeeds needs;  // executable and env: a session with its own never takes the spare
  WorkerId workerId = 0;
  std::int64_t pid = 0;
  bool configured = false;  // its worker answered worker/configure
  protocol::SessionState state = protocol::SessionState::Dead;  // until its first worker starts
  std::vector<rpc::Reply<protocol::SessionOpenResult>> openWaiters;
  std::deque<Clock::time_point> restarts;  // its workers' deaths, for the crash-loop guard
  // Why its current worker was started (status's reason until that worker is idle), and
  // whether the interrupt ladder killed its worker (the death's reason is then "interrupt").
  std::optional<protocol::StatusReason> startReason;
  bool killedByInterrupt = false;
  ExecQueue execs;
  rpc::Timer startTimer;  // from worker/configure to its answer: the worker's start-up time limit

  // ExecQueue::Host
  Worker* worker() override;
  void drain(Worker& w) override;
  void queueChanged() override;
  void kill(Worker& w) override;
  rpc::Peer& client() override;
  void beforeAnswer(Worker& w, std::uint64_t seq) override;
  void afterAnswer(Worker& w) override;

 private:
  SessionTable& table_;
};

class SessionTable {
 public:
  // How the table drains a worker's output pipes (OutputRouter::drain).
  using Drain = std::function<void(Worker&)>;

  SessionTable(uv_loop_t* loop, rpc::Peer& client, WorkerPool& pool, const ClientState& state, Drain drain,
               std::vector<protocol::Backend> backends, std::string pythonVersion);

  void open(const protocol::SessionOpenParams& p, rpc::Reply<protocol::SessionOpenResult> reply);
  void restart(const protocol::SessionRestartParams& p, rpc::Reply<protocol::SessionRestartResult> reply);
  void close(const protocol::SessionCloseParams& p, rpc::Reply<protocol::SessionCloseResult> reply);
  [[nodiscard]] protocol::SessionListResult list() const;
  // session/terminal, and the terminal of an open of a session open already.
  void setTerminal(Session& s, const protocol::Terminal& terminal);

  // The session a request names; "default" opens on first use, any other must be open
  // (RpcException InvalidParams otherwise).
  Session& sessionFor(const std::string& name);
  Session* find(const std::string& name);
  template <class F>
  void forEach(F f) {
    for (auto& [name, s] : sessions_) f(*s);
  }

  // Passes a request on to the session's worker (on the link the method names) and its
  // answer back (through `adjust` first, when given).
  template <class P, class R>
  void forward(const rpc::RequestType<P, R>& method, rpc::Peer& (WorkerHandle::*link)(), const std::string& session,
               const P& params, rpc::Reply<R> reply, std::type_identity_t<std::function<void(R&)>> adjust = {}) {
    forwardTo(pool_.find(sessionFor(session).workerId), method, link, session, params, std::move(reply),
              std::move(adjust));
  }
  // compile and needsAwait: their answer depends on the code alone (the engine's compile check
  // reads no session state, not even `from __future__` flags), so they go to a worker that runs
  // no user code, the pool's warm spare, and nothing the session's code does (a C call that
  // holds the GIL, an introspection stuck in a property) delays them (issue 12). The session's
  // own worker answers only when the pool has no spare (--spares 0, spares that keep dying).
  template <class P, class R>
  void forwardCompile(const rpc::RequestType<P, R>& method, const std::string& session, const P& params,
                      rpc::Reply<R> reply, std::type_identity_t<std::function<void(R&)>> adjust = {}) {
    Session& s = sessionFor(session);  // an unknown session is refused, "default" opens, as before
    Worker* w = pool_.idleWorker();
    forwardTo(w ? w : pool_.find(s.workerId), method, &WorkerHandle::control, session, params, std::move(reply),
              std::move(adjust));
  }

  // A worker of the pool: its execStarted notifications reach its session's queue.
  void bind(Worker& w);
  // A worker ended: the session it served restarts, or closes.
  void workerExited(Worker& w, const ExitStatus& status);
  // $/cancelRequest: the exec with this id, whichever session it is in.
  void cancel(const rpc::Id& id);
  // Shutdown: every exec and every open is answered -32800.
  void cancelAll(const std::string& why);
  void clear() { sessions_.clear(); }
  // How long a worker may take to start (from worker/configure to its answer).
  void setStartTimeout(std::uint64_t ms) { startTimeoutMs_ = ms; }
  // Around each exec's answer: its input requests are withdrawn before; held output resumes after.
  void setAnswerHooks(std::function<void(Worker&, std::uint64_t)> before, Drain after) {
    beforeAnswer_ = std::move(before);
    afterAnswer_ = std::move(after);
  }

 private:
  friend struct Session;
  template <class P, class R>
  void forwardTo(Worker* w, const rpc::RequestType<P, R>& method, rpc::Peer& (WorkerHandle::*link)(),
                 const std::string& session, const P& params, rpc::Reply<R> reply, std::function<void(R&)> adjust);
  void startWorker(Session& s, protocol::StatusReason why);
  void onConfigured(const std::string& name, WorkerId from, rpc::Answer<protocol::link::ConfigureResult> answer);
  void failStart(Session& s, const std::string& why);
  void onStartTimeout(const std::string& name, WorkerId from);
  void setState(Session& s, protocol::SessionState state, std::optional<protocol::StatusReason> why = std::nullopt,
                const ExitStatus* exit = nullptr);
  void updateBusy(Session& s);
  void end(Session& s, const std::string& why);
  void closeSession(Session& s, const std::string& why);
  void workerDied(Session& s, const ExitStatus& status);
  std::optional<std::string> refuseOpen(const protocol::SessionOpenParams& p) const;
  static protocol::SessionOpenResult info(const Session& s);

  uv_loop_t* loop_;
  rpc::Peer& client_;
  WorkerPool& pool_;
  const ClientState& state_;
  Drain drain_;
  std::function<void(Worker&, std::uint64_t)> beforeAnswer_;
  Drain afterAnswer_;
  std::vector<protocol::Backend> backends_;
  std::string pythonVersion_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::uint64_t startTimeoutMs_ = 30000;
};

template <class P, class R>
void SessionTable::forwardTo(Worker* w, const rpc::RequestType<P, R>& method, rpc::Peer& (WorkerHandle::*link)(),
                             const std::string& session, const P& params, rpc::Reply<R> reply,
                             std::function<void(R&)> adjust) {
  if (!w) return reply.error(rpc::ErrorCode::InternalError, "session \"" + session + "\" has no running worker");
  auto shared = std::make_shared<rpc::Reply<R>>(std::move(reply));
  ((*w->handle).*link)().call(method, params, [shared, session, adjust = std::move(adjust)](rpc::Answer<R> a) {
    if (a && adjust) {
      R value = *a;
      adjust(value);
      return (*shared)(value);
    }
    if (a) return (*shared)(*a);
    if (a.error.code == rpc::ErrorCode::InternalError && a.error.message == "the connection closed")
      return shared->error(rpc::ErrorCode::InternalError,
                           "session \"" + session + "\": the worker stopped before it answered");
    shared->error(std::move(a.error));
  });
}

}  // namespace asyncode::daemon
