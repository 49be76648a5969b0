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
  auto e = std::make_unique<Entry>(std::move(reply));
  e->params = link::ExecParams{static_cast<std::int64_t>(seq), e->reply.id(), params, unit};
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
  if (a) {
    answer(*e, std::move(a.value).value());
  } else {
    e->reply.error(std::move(a.error));
    resolveInterrupts(*e, InterruptHow::Cancelled);
  }
  remove(seq);
  host_.queueChanged();
}

void ExecQueue::answer(Entry& e, link::ExecResult result) {
  lastExecCount_ = result.result.execCount;
  e.reply(result.result);
  resolveInterrupts(e, result.interruptedHow);
}

// Waiting interrupts learn how the exec ended; nullopt: not by an interrupt.
void ExecQueue::resolveInterrupts(Entry& e, std::optional<InterruptHow> how) {
  for (auto& waiter : e.interruptWaiters) waiter(InterruptResult{how.has_value(), how});
  e.interruptWaiters.clear();
}

void ExecQueue::answerDied(Entry& e, const std::string& why) {
  if (!e.reply.pending()) return;
  const ExecStatus status = !e.reason ? ExecStatus::Error
                            : *e.reason == link::InterruptReason::Timeout ? ExecStatus::Timeout
                                                                          : ExecStatus::Interrupted;
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - e.startedAt).count();
  e.reply(ExecResult{countOf(e), status, std::nullopt, errorInfo("WorkerDied", why), ms, false});
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

void ExecQueue::interrupt(std::int64_t graceMs, rpc::Reply<InterruptResult> reply) {
  // The running exec: the oldest not answered (one cancelled while queued is answered).
  const auto running = std::find_if(execs_.begin(), execs_.end(), [](const auto& e) { return e->reply.pending(); });
  if (running == execs_.end()) return reply(InterruptResult{false, std::nullopt});
  Entry& e = **running;
  if (e.sentTo != 0) {
    e.interruptWaiters.push_back(std::move(reply));
    return interruptExec(e, link::InterruptReason::Interrupt, static_cast<std::uint64_t>(graceMs));
  }
  // Its worker is still starting: it never ran.
  e.reason = link::InterruptReason::Interrupt;
  e.reply(ExecResult{lastExecCount_, ExecStatus::Interrupted, std::nullopt,
                     errorInfo("KeyboardInterrupt", "interrupted before it started"), 0.0, false});
  resolveInterrupts(e, InterruptHow::Cancelled);
  execs_.erase(running);
  reply(InterruptResult{true, InterruptHow::Cancelled});
  host_.queueChanged();
}

// The ladder: the worker cancels or raises KeyboardInterrupt; after graceMs, the kill.
void ExecQueue::interruptExec(Entry& e, link::InterruptReason reason, std::uint64_t graceMs) {
  Worker* w = host_.worker();
  if (!w || e.sentTo != w->id) return;
  if (!e.reason) e.reason = reason;
  w->handle->control().call(link::methods::interrupt, link::InterruptParams{e.params.seq, reason},
                            [](rpc::Answer<link::InterruptResult>) {});
  const auto deadline = Clock::now() + std::chrono::milliseconds(graceMs);
  if (deadline >= e.graceDeadline) return;
  e.graceDeadline = deadline;
  if (!e.graceTimer) e.graceTimer.emplace(loop_);
  e.graceTimer->once(graceMs, [this, seq = static_cast<std::uint64_t>(e.params.seq)] { onGraceOver(seq); });
}

void ExecQueue::onGraceOver(std::uint64_t seq) {
  Entry* e = find(seq);
  Worker* w = host_.worker();
  if (!e || !w || e->sentTo != w->id) return;
  spdlog::warn("session {}: the exec did not stop within its grace period; restarting the session", session_);
  host_.kill(*w);  // its death answers the exec (WorkerDied) and restarts the session
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
  if (!execs_.empty() && execs_.front()->sentTo != 0) {
    answerDied(*execs_.front(), why);
    execs_.pop_front();
  }
  std::erase_if(execs_, [](const auto& e) { return !e->reply.pending(); });  // cancelled ones
  for (auto& e : execs_) e->sentTo = 0;  // sent again to the next worker
}

void ExecQueue::endAll(const std::string& why) {
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
  for (auto& e : execs_) answerDied(*e, why);
  execs_.clear();
}

void ExecQueue::cancelAll(const std::string& why) {
  for (auto& e : execs_) {
    if (e->reply.pending()) e->reply.error(rpc::ErrorCode::RequestCancelled, why);
    resolveInterrupts(*e, std::nullopt);
  }
  execs_.clear();
}

std::optional<ExecQueue::Owner> ExecQueue::fdOwner(WorkerId w) const {
  if (execs_.empty() || execs_.front()->sentTo != w) return std::nullopt;
  const Entry& e = *execs_.front();
  return Owner{e.params.requestId, countOf(e)};
}

}  // namespace asyncode::daemon
