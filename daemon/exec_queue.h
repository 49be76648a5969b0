// One session's execs, in the order they came: which worker each was sent to, their answers
// (held until the worker answers, dies, or the exec is cancelled), and interrupts: each one
// acts once in the worker (cancels the exec's task or raises KeyboardInterrupt) and is
// answered when it did; only when the worker runs no Python for graceMs after it (stuck in C
// code), or at once with force, is the worker killed and the session restarted. A timeout's
// grace is a hard limit: the exec still running after it costs the worker.
// Execs run one at a time: the oldest unanswered one is the one running.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/worker_pool.h"
#include "protocol/protocol.h"
#include "protocol/worker_link.h"
#include "rpc/dispatcher.h"
#include "rpc/peer.h"
#include "rpc/timer.h"

namespace asyncode::daemon {

// After timeoutMs the exec is interrupted with this grace.
inline constexpr std::uint64_t kTimeoutGraceMs = 2000;

class ExecQueue {
 public:
  // What the queue needs of its session (SessionTable provides it; tests fake it).
  class Host {
   public:
    // The session's worker, when it has one.
    virtual Worker* worker() = 0;
    // Everything the worker's output pipes hold, sent on now (output comes before answers).
    virtual void drain(Worker& w) = 0;
    // The queue became empty, or not: idle or busy.
    virtual void queueChanged() = 0;
    // The ladder's last step: the worker dies, and the session learns it as any death.
    virtual void kill(Worker& w) = 0;
    // The client's link: an exec's answer goes out in one write with the output before it.
    virtual rpc::Peer& client() = 0;
    // Exec `seq` of worker `w` is about to be answered: its input requests are withdrawn first.
    virtual void beforeAnswer(Worker& w, std::uint64_t seq) = 0;
    // An exec was answered: output held back behind the next one's start goes on.
    virtual void afterAnswer(Worker& w) = 0;

   protected:
    ~Host() = default;
  };

  // Who owns a piece of output: the exec's request id, count and tag (revision 1).
  struct Owner {
    rpc::Id requestId;
    std::optional<std::int64_t> execCount;
    std::optional<std::string> tag;
  };
  // The owners of this many execs are remembered (output of their tasks names them).
  static constexpr std::size_t kOwnersKept = 4096;

  // The code of a session's execs not answered yet, in bytes: an exec past it is refused.
  static constexpr std::size_t kMaxQueuedCodeBytes = std::size_t{64} << 20;

  ExecQueue(uv_loop_t* loop, std::string session, Host& host);
  ExecQueue(const ExecQueue&) = delete;
  ExecQueue& operator=(const ExecQueue&) = delete;

  // Queues an exec (`seq`: the daemon's number for it) and sends it when there is a worker;
  // `unit`: the client's position encoding, in which the worker writes the exec's columns.
  void push(std::uint64_t seq, const protocol::ExecParams& params, rpc::Reply<protocol::ExecResult> reply,
            protocol::PositionEncoding unit);
  // interrupt: answered when it acted in the worker (or the worker died of it).
  void interrupt(std::int64_t graceMs, bool force, rpc::Reply<protocol::InterruptResult> reply);
  // $/cancelRequest: false when `id` is none of these execs.
  bool cancel(const rpc::Id& id);

  // The session has a new worker: what was not sent goes to it, in order.
  void sendUnsent();
  // worker/execStarted: a timed exec began; its timeout runs from now.
  void started(WorkerId from, const protocol::link::ExecStartedParams& p);
  // worker/execStart, in order with the output: execStart goes to the client, unless an exec
  // before it is not answered yet (false: its output waits until then).
  bool startFrame(WorkerId from, const protocol::link::ExecStartParams& p);
  // The worker died: the exec it ran is answered WorkerDied (status "interrupted" or "timeout"
  // when an interrupt or the timeout was under way); the others wait for the next worker.
  void workerDied(const std::string& why);
  // The session closes or restarts: the exec sent is answered WorkerDied, the others -32800.
  void endAll(const std::string& why);
  // The session's worker could not start: every exec is answered WorkerDied.
  void failAll(const std::string& why);
  // Shutdown: every exec is answered -32800.
  void cancelAll(const std::string& why);

  [[nodiscard]] bool empty() const { return execs_.empty(); }
  // The exec running on worker `w`, as the owner of its fd-level output.
  [[nodiscard]] std::optional<Owner> fdOwner(WorkerId w) const;
  // The exec with this seq, when it is one of this session's (a worker's word is not trusted).
  [[nodiscard]] std::optional<Owner> ownerOf(std::int64_t seq) const;
  // A new worker counts its execs from 1.
  void resetCount() { lastExecCount_ = 0; }
  [[nodiscard]] std::int64_t lastExecCount() const { return lastExecCount_; }

 private:
  // An entry's code counted in the queue's total while the entry lives (push's bound), so
  // that the bound costs no walk over the queue (10,000 pipelined execs made that quadratic).
  class HeldCode {
   public:
    HeldCode(std::size_t& total, std::size_t bytes) : total_(total), bytes_(bytes) { total_ += bytes_; }
    ~HeldCode() { total_ -= bytes_; }
    HeldCode(const HeldCode&) = delete;
    HeldCode& operator=(const HeldCode&) = delete;

   private:
    std::size_t& total_;
    std::size_t bytes_;
  };

  struct Entry {
    Entry(rpc::Reply<protocol::ExecResult> r, std::size_t& heldTotal, std::size_t codeBytes)
        : held(heldTotal, codeBytes), reply(std::move(r)) {}
    HeldCode held;
    protocol::link::ExecParams params;  // as sent to a worker
    rpc::Reply<protocol::ExecResult> reply;
    WorkerId sentTo = 0;
    std::optional<std::int64_t> execCount;  // known once the worker says
    bool startSent = false;                 // execStart said (from the worker's frame, or before the answer)
    Clock::time_point startedAt = Clock::now();
    std::map<std::uint64_t, rpc::Reply<protocol::InterruptResult>> interruptWaiters;  // by token
    int unacted = 0;        // interrupts sent that the worker has not acted on yet
    bool hardGrace = false;  // the timeout's grace: acting does not stop it
    std::optional<protocol::link::InterruptReason> reason;
    std::optional<rpc::Timer> timeoutTimer;
    std::optional<rpc::Timer> graceTimer;
    Clock::time_point graceDeadline = Clock::time_point::max();
  };

  void send(Entry& e);
  void onAnswer(WorkerId from, std::uint64_t seq, rpc::Answer<protocol::link::ExecResult> answer);
  void answer(Entry& e, protocol::link::ExecResult result);
  void interruptExec(Entry& e, protocol::link::InterruptReason reason, std::uint64_t graceMs,
                     std::optional<rpc::Reply<protocol::InterruptResult>> reply = std::nullopt);
  void onActed(std::uint64_t seq, std::uint64_t token, rpc::Answer<protocol::link::InterruptResult> a);
  void onGraceOver(std::uint64_t seq);
  void interruptTask(Worker& w, std::uint64_t graceMs, rpc::Reply<protocol::InterruptResult> reply);
  void resolveTaskInterrupts(std::optional<protocol::InterruptHow> how);
  void answerDied(Entry& e, const std::string& why);
  static void resolveInterrupts(Entry& e, std::optional<protocol::InterruptHow> how);
  [[nodiscard]] std::int64_t countOf(const Entry& e) const;
  Entry* find(std::uint64_t seq);
  void remove(std::uint64_t seq);

  void answerWith(Entry& e, protocol::ExecResult result);
  void sayStarted(Entry& e, std::optional<std::int64_t> count);

  uv_loop_t* loop_;
  std::string session_;
  Host& host_;
  std::size_t heldCode_ = 0;  // the code of execs_ (declared first: it outlives them)
  std::deque<std::unique_ptr<Entry>> execs_;
  std::map<std::int64_t, Owner> owners_;  // by seq, the newest kOwnersKept
  std::int64_t lastExecCount_ = 0;
  // Interrupts sent while no exec ran (a task may hold the worker's main thread).
  std::map<std::uint64_t, rpc::Reply<protocol::InterruptResult>> taskWaiters_;
  int taskUnacted_ = 0;
  std::optional<rpc::Timer> taskGrace_;
  std::uint64_t nextToken_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // answers that come after it is gone
};

// The ErrorInfo of a failure that is not Python's (WorkerDied, an exec stopped before it ran).
protocol::ErrorInfo errorInfo(const std::string& type, const std::string& message);

}  // namespace asyncode::daemon
