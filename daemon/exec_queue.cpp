#include "daemon/exec_queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace asyncode::daemon {

namespace link = protocol::link;
using protocol::ExecResult;
using protocol::ExecStatus;
using protocol::InterruptHow;
using protocol::InterruptResult;

protocol::ErrorInfo errorInfo(const std::string& type, const std::string& message) {
  return protocol::ErrorInfo{type, message, {}, type + ": " + message + "\n"};
}

ExecQueue::ExecQueue(uv_loop_t* loop, std::string session, Host& host)
    : loop_(loop), session_(std::move(session)), host_(host) {}

ExecQueue::Entry* ExecQueue::find(std::uint64_t seq) {
  for (auto& e : execs_)
    if (static_cast<std::uint64_t>(e->params.seq) == seq) return e.get();
  return nullptr;
}

void ExecQueue::remove(std::uint64_t seq) {
  const auto it = std::find_if(execs_.begin(), execs_.end(),
                               [seq](const auto& e) { return static_cast<std::uint64_t>(e->params.seq) == seq; });
  if (it != execs_.end()) execs_.erase(it);
}

// The count of an exec: known from the worker, or derived, as every exec before it has
// answered (a silent one has none of its own).
std::int64_t ExecQueue::countOf(const Entry& e) const {
  return e.execCount.value_or(lastExecCount_ + (e.params.params.silent ? 0 : 1));
}

void ExecQueue::push(std::uint64_t seq, const protocol::ExecParams& params, rpc::Reply<ExecResult> reply,
                     protocol::PositionEncoding unit) {
  // The code a session holds for execs not answered yet is bounded (a copy of each waits for
  // its worker's link): past the bound the exec is refused, nothing is queued.
  const std::size_t held = heldCode_ + params.code.size();
  if (held > kMaxQueuedCodeBytes)
    return reply.error(rpc::ErrorCode::InvalidRequest,
                       "session \"" + session_ + "\": the execs waiting for their answers would hold " +
                           std::to_string(held >> 20) + " MiB of code, more than the limit of " +
                           std::to_string(kMaxQueuedCodeBytes >> 20) + " MiB: wait for answers, then send it again");
  auto e = std::make_unique<Entry>(std::move(reply), heldCode_, params.code.size());
  e->params = link::ExecParams{static_cast<std::int64_t>(seq), e->reply.id(), params, unit};
  owners_[e->params.seq] = Owner{e->reply.id(), std::nullopt, params.tag};
  Entry& entry = *e;
  execs_.push_back(std::move(e));
  if (host_.worker()) send(entry);
  host_.queueChanged();
}

void ExecQueue::sendUnsent() {
  for (auto& e : execs_)
    if (e->sentTo == 0) send(*e);
}

void ExecQueue::send(Entry& e) {
  Worker* w = host_.worker();
  if (!w) return;
  e.sentTo = w->id;
  e.startedAt = Clock::now();
  const WorkerId from = w->id;
  const auto seq = static_cast<std::uint64_t>(e.params.seq);
  w->handle->lane().call(link::methods::exec, e.params,
                         [this, alive = std::weak_ptr<bool>(alive_), from, seq](rpc::Answer<link::ExecResult> a) {
                           if (alive.lock()) onAnswer(from, seq, std::move(a));
                         });
}

void ExecQueue::onAnswer(WorkerId from, std::uint64_t seq, rpc::Answer<link::ExecResult> a) {
  Worker* w = host_.worker();
  if (!w || w->id != from) return;  // the session has moved on to another worker
  if (!a && (!w->handle->running() || w->handle->lane().closed())) return;  // its death answers it
  Entry* e = find(seq);
  if (!e) return;
  rpc::Peer::Batch batch(host_.client());  // its last output, its answer and "idle" in one write
  if (!e->reply.pending()) {  // cancelled while queued: answered already
    remove(seq);
    return host_.queueChanged();
  }
  host_.drain(*w);  // fd-level output of this exec comes before its answer
  host_.beforeAnswer(*w, seq);
  if (a) {
    answer(*e, std::move(a.value).value());
  } else {
    e->reply.error(std::move(a.error));
    resolveInterrupts(*e, InterruptHow::Cancelled);
  }
  remove(seq);
  // Owners of answered execs are forgotten beyond kOwnersKept (those of queued ones never).
  while (owners_.size() > kOwnersKept && owners_.begin()->first <= static_cast<std::int64_t>(seq))
    owners_.erase(owners_.begin());
  host_.queueChanged();
  host_.afterAnswer(*w);
}

void ExecQueue::answer(Entry& e, link::ExecResult result) {
  lastExecCount_ = result.result.execCount;
  sayStarted(e, e.params.params.silent ? std::nullopt : std::optional(result.result.execCount));
  answerWith(e, std::move(result.result));
  resolveInterrupts(e, result.interruptedHow);
}

// Every answer carries the exec's tag (revision 1); the owner record learns its count.
void ExecQueue::answerWith(Entry& e, ExecResult result) {
  result.tag = e.params.params.tag;
  if (auto it = owners_.find(e.params.seq); it != owners_.end() && !e.params.params.silent)
    it->second.execCount = result.execCount;
  e.reply(result);
}

// Waiting interrupts learn how the exec ended; nullopt: not by an interrupt.
void ExecQueue::resolveInterrupts(Entry& e, std::optional<InterruptHow> how) {
  for (auto& [token, waiter] : e.interruptWaiters) waiter(InterruptResult{how.has_value(), how});
  e.interruptWaiters.clear();
}

void ExecQueue::answerDied(Entry& e, const std::string& why) {
  if (!e.reply.pending()) return;
  const ExecStatus status = !e.reason ? ExecStatus::Error
                            : *e.reason == link::InterruptReason::Timeout ? ExecStatus::Timeout
                                                                          : ExecStatus::Interrupted;
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - e.startedAt).count();
  answerWith(e, ExecResult{countOf(e), status, std::nullopt, errorInfo("WorkerDied", why), ms, false});
  resolveInterrupts(e, InterruptHow::Restarted);
}

void ExecQueue::started(WorkerId from, const link::ExecStartedParams& p) {
  Entry* e = find(static_cast<std::uint64_t>(p.seq));
  if (!e || e->sentTo != from) return;
  e->execCount = p.execCount;
  e->startedAt = Clock::now();
  if (!e->params.params.timeoutMs) return;
  e->timeoutTimer.emplace(loop_);
  e->timeoutTimer->once(static_cast<std::uint64_t>(*e->params.params.timeoutMs), [this, seq = p.seq] {
    if (Entry* x = find(static_cast<std::uint64_t>(seq))) interruptExec(*x, link::InterruptReason::Timeout, kTimeoutGraceMs);
  });
}

bool ExecQueue::startFrame(WorkerId from, const link::ExecStartParams& p) {
  std::size_t i = 0;
  while (i < execs_.size() && execs_[i]->params.seq != p.seq) ++i;
  if (i == execs_.size() || execs_[i]->sentTo != from) return true;  // not one of ours: nothing to say
  for (std::size_t j = 0; j < i; ++j)
    if (execs_[j]->reply.pending()) return false;  // its answer first
  Entry& e = *execs_[i];
  if (!e.params.params.silent && p.execCount) e.execCount = *p.execCount;
  const std::optional<std::int64_t> count = e.params.params.silent ? std::nullopt : std::optional(countOf(e));
  if (auto it = owners_.find(p.seq); it != owners_.end()) it->second.execCount = count;
  sayStarted(e, count);
  return true;
}

// execStart, once per exec: from the worker's frame, in order with its output, or just
// before the answer of an exec that wrote nothing (its frame may come later: then ignored).
void ExecQueue::sayStarted(Entry& e, std::optional<std::int64_t> count) {
  if (std::exchange(e.startSent, true)) return;
  if (host_.client().canWrite())
    host_.client().notify(protocol::methods::execStart,
                          protocol::ExecStartParams{session_, e.reply.id(), count, e.params.params.tag});
}

void ExecQueue::interrupt(std::int64_t graceMs, bool force, rpc::Reply<InterruptResult> reply) {
  // The running exec: the oldest not answered (one cancelled while queued is answered).
  const auto running = std::find_if(execs_.begin(), execs_.end(), [](const auto& e) { return e->reply.pending(); });
  Worker* w = host_.worker();
  if (running == execs_.end()) {
    if (!w) return reply(InterruptResult{false, std::nullopt});
    if (!force) return interruptTask(*w, static_cast<std::uint64_t>(graceMs), std::move(reply));
    taskWaiters_.emplace(++nextToken_, std::move(reply));  // answered "restarted" by the death
    return host_.kill(*w);
  }
  Entry& e = **running;
  if (e.sentTo != 0 && force) {
    if (!w || e.sentTo != w->id) return reply(InterruptResult{false, std::nullopt});
    if (!e.reason) e.reason = link::InterruptReason::Interrupt;
    e.interruptWaiters.emplace(++nextToken_, std::move(reply));
    return host_.kill(*w);  // its death answers the exec and the interrupt
  }
  if (e.sentTo != 0)
    return interruptExec(e, link::InterruptReason::Interrupt, static_cast<std::uint64_t>(graceMs), std::move(reply));
  // Its worker is still starting: it never ran.
  e.reason = link::InterruptReason::Interrupt;
  answerWith(e, ExecResult{lastExecCount_, ExecStatus::Interrupted, std::nullopt,
                           errorInfo("KeyboardInterrupt", "interrupted before it started"), 0.0, false});
  resolveInterrupts(e, InterruptHow::Cancelled);
  execs_.erase(running);
  reply(InterruptResult{true, InterruptHow::Cancelled});
  host_.queueChanged();
}

// One interrupt of the exec; the kill when the worker runs no Python during graceMs after it
// (or, for the timeout, when the exec is still there after graceMs).
void ExecQueue::interruptExec(Entry& e, link::InterruptReason reason, std::uint64_t graceMs,
                              std::optional<rpc::Reply<InterruptResult>> reply) {
  Worker* w = host_.worker();
  if (!w || e.sentTo != w->id) {
    if (reply) (*reply)(InterruptResult{false, std::nullopt});
    return;
  }
  if (!e.reason) e.reason = reason;
  if (reason == link::InterruptReason::Timeout) e.hardGrace = true;
  const std::uint64_t token = ++nextToken_;
  if (reply) e.interruptWaiters.emplace(token, std::move(*reply));
  ++e.unacted;
  const auto seq = static_cast<std::uint64_t>(e.params.seq);
  w->handle->control().call(link::methods::interrupt, link::InterruptParams{e.params.seq, reason},
                            [this, alive = std::weak_ptr<bool>(alive_), seq, token](rpc::Answer<link::InterruptResult> a) {
                              if (alive.lock()) onActed(seq, token, std::move(a));
                            });
  const auto deadline = Clock::now() + std::chrono::milliseconds(graceMs);
  if (e.graceTimer && e.graceTimer->active() && deadline >= e.graceDeadline) return;
  e.graceDeadline = deadline;
  if (!e.graceTimer) e.graceTimer.emplace(loop_);
  e.graceTimer->once(graceMs, [this, seq] { onGraceOver(seq); });
}

// The worker acted on an interrupt of exec `seq`: Python runs, so no kill for it.
void ExecQueue::onActed(std::uint64_t seq, std::uint64_t token, rpc::Answer<link::InterruptResult> a) {
  if (!a) return;  // the worker is gone: its death answers
  Entry* e = find(seq);
  if (!e) return;
  if (--e->unacted <= 0 && !e->hardGrace && e->graceTimer) {
    e->graceTimer->stop();
    e->graceDeadline = Clock::time_point::max();
  }
  const auto it = e->interruptWaiters.find(token);
  if (it == e->interruptWaiters.end()) return;
  switch (a->outcome) {
    case link::InterruptOutcome::Signalled:
      it->second(InterruptResult{a->how.has_value(), a->how});
      break;
    case link::InterruptOutcome::Dequeued:
      it->second(InterruptResult{true, InterruptHow::Cancelled});
      break;
    case link::InterruptOutcome::NotRunning:
      it->second(InterruptResult{false, std::nullopt});
      break;
  }
  e->interruptWaiters.erase(it);
}

void ExecQueue::onGraceOver(std::uint64_t seq) {
  Entry* e = find(seq);
  Worker* w = host_.worker();
  if (!e || !w || e->sentTo != w->id) return;
  spdlog::warn("session {}: the worker ran no Python within the interrupt's grace period; restarting the session",
               session_);
  host_.kill(*w);  // its death answers the exec (WorkerDied) and restarts the session
}

// No exec runs: a task of the session may hold the worker's main thread.
void ExecQueue::interruptTask(Worker& w, std::uint64_t graceMs, rpc::Reply<InterruptResult> reply) {
  const std::uint64_t token = ++nextToken_;
  taskWaiters_.emplace(token, std::move(reply));
  ++taskUnacted_;
  const WorkerId from = w.id;
  w.handle->control().call(
      link::methods::interrupt, link::InterruptParams{0, link::InterruptReason::Interrupt},
      [this, alive = std::weak_ptr<bool>(alive_), token](rpc::Answer<link::InterruptResult> a) {
        if (!alive.lock() || !a) return;
        if (--taskUnacted_ <= 0 && taskGrace_) taskGrace_->stop();
        const auto it = taskWaiters_.find(token);
        if (it == taskWaiters_.end()) return;
        const bool acted = a->outcome == link::InterruptOutcome::Signalled && a->how;
        it->second(InterruptResult{acted, acted ? a->how : std::nullopt});
        taskWaiters_.erase(it);
      });
  if (!taskGrace_) taskGrace_.emplace(loop_);
  if (taskGrace_->active()) return;
  taskGrace_->once(graceMs, [this, from] {
    Worker* now = host_.worker();
    if (!now || now->id != from || taskUnacted_ <= 0) return;
    spdlog::warn("session {}: the worker ran no Python within the interrupt's grace period; restarting the session",
                 session_);
    host_.kill(*now);
  });
}

void ExecQueue::resolveTaskInterrupts(std::optional<InterruptHow> how) {
  for (auto& [token, waiter] : taskWaiters_) waiter(InterruptResult{how.has_value(), how});
  taskWaiters_.clear();
  taskUnacted_ = 0;
  if (taskGrace_) taskGrace_->stop();
}

bool ExecQueue::cancel(const rpc::Id& id) {
  for (std::size_t i = 0; i < execs_.size(); ++i) {
    Entry& e = *execs_[i];
    if (e.reply.id() != id) continue;
    if (e.sentTo == 0) {
      e.reply.error(rpc::ErrorCode::RequestCancelled, "the exec was cancelled");
      execs_.erase(execs_.begin() + static_cast<std::ptrdiff_t>(i));
      host_.queueChanged();
    } else if (i == 0) {
      interruptExec(e, link::InterruptReason::Interrupt, 2000);
    } else if (e.reply.pending()) {
      // Answered now; the worker drops it when it gets there, and its word then is ignored.
      e.reply.error(rpc::ErrorCode::RequestCancelled, "the exec was cancelled before it started");
      Worker* w = host_.worker();
      if (w && w->id == e.sentTo) w->handle->control().notify(link::methods::workerCancel, link::CancelParams{e.params.seq});
    }
    return true;
  }
  return false;
}

void ExecQueue::workerDied(const std::string& why) {
  resolveTaskInterrupts(InterruptHow::Restarted);
  if (!execs_.empty() && execs_.front()->sentTo != 0) {
    answerDied(*execs_.front(), why);
    execs_.pop_front();
  }
  std::erase_if(execs_, [](const auto& e) { return !e->reply.pending(); });  // cancelled ones
  for (auto& e : execs_) e->sentTo = 0;  // sent again to the next worker
}

void ExecQueue::endAll(const std::string& why) {
  resolveTaskInterrupts(InterruptHow::Restarted);
  bool first = true;
  for (auto& e : execs_) {
    if (first && e->sentTo != 0) {
      answerDied(*e, why);
    } else if (e->reply.pending()) {
      e->reply.error(rpc::ErrorCode::RequestCancelled, why);
      resolveInterrupts(*e, InterruptHow::Cancelled);
    }
    first = false;
  }
  execs_.clear();
}

void ExecQueue::failAll(const std::string& why) {
  resolveTaskInterrupts(std::nullopt);
  for (auto& e : execs_) answerDied(*e, why);
  execs_.clear();
}

void ExecQueue::cancelAll(const std::string& why) {
  resolveTaskInterrupts(std::nullopt);
  for (auto& e : execs_) {
    if (e->reply.pending()) e->reply.error(rpc::ErrorCode::RequestCancelled, why);
    resolveInterrupts(*e, std::nullopt);
  }
  execs_.clear();
}

std::optional<ExecQueue::Owner> ExecQueue::fdOwner(WorkerId w) const {
  if (execs_.empty() || execs_.front()->sentTo != w) return std::nullopt;
  const Entry& e = *execs_.front();
  return Owner{e.params.requestId, countOf(e), e.params.params.tag};
}

std::optional<ExecQueue::Owner> ExecQueue::ownerOf(std::int64_t seq) const {
  const auto it = owners_.find(seq);
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

}  // namespace asyncode::daemon
