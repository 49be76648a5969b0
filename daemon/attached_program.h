// One attached program: its link (a Unix socket), the requests forwarded to it and their
// deadlines, the client ids of its execs, and its state as the client sees it.
// attached_sessions.h says what an attached session is; this is its inside.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <type_traits>
#include <vector>
#include <utility>
#include <string>

#include "daemon/attached_sessions.h"
#include "daemon/positions.h"

namespace asyncode::daemon {

class AttachedSessions::Program {
 public:
  // What becomes of a request the program did not answer (its link closed, its deadline
  // passed, the daemon shuts down): by default the error is passed on.
  template <class R>
  using Fail = std::function<void(rpc::Reply<R>&, const rpc::Error&)>;
  struct Events {
    std::function<void(Program&)> gone;     // the link ended
    std::function<void()> outputForwarded;  // the client may be behind now
  };

  Program(uv_loop_t* loop, rpc::Peer& client, const ClientState& state, std::string name, int fd, std::int64_t pid,
          Events events);
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  void start(rpc::Reply<protocol::SessionAttachResult> reply);

  // A request of the client for this session.
  template <class P, class R>
  void handle(const rpc::RequestType<P, R>& method, const P& params, rpc::Reply<R> reply);
  // $/cancelRequest of the client: one of this program's execs is cancelled.
  void cancel(const rpc::Id& clientId);
  // Every request still waiting is answered with `why` (-32800), nothing more is read.
  void failAll(rpc::ErrorCode code, const std::string& why);

  [[nodiscard]] protocol::SessionInfo info() const { return {name_, pid_, backend_, state_}; }
  [[nodiscard]] const std::string& name() const { return name_; }
  void pauseReading() { peer_.pauseReading(); }
  void resumeReading() { peer_.resumeReading(); }

 private:
  // Sends a request; `done` runs once: with the answer, or an error when the link closes, the
  // deadline passes (0: none) or the daemon shuts down. Returns the program's id for it.
  template <class P, class R>
  rpc::Id call(const rpc::RequestType<P, R>& method, const std::type_identity_t<P>& params, std::uint64_t deadlineMs,
               std::type_identity_t<std::function<void(rpc::Answer<R>)>> done);
  // call() with the client's reply; `adjust` (when set) edits the answer on its way back.
  template <class P, class R>
  void forward(const rpc::RequestType<P, R>& method, const P& params, rpc::Reply<R> reply, std::uint64_t deadlineMs,
               Fail<R> fail, std::type_identity_t<std::function<void(R&)>> adjust = {});
  void exec(const protocol::ExecParams& p, rpc::Reply<protocol::ExecResult> reply);
  void detach(rpc::Reply<protocol::SessionCloseResult> reply);
  void bindProgram();
  // What the program says of an exec (execStart, output, display, clearOutput, taskError) goes
  // on to the client renamed: this session's name, the client's request id and tag, and for
  // output, display and clearOutput the session's own seq (the program's is not trusted).
  template <typename P>
  void forward(rpc::Dispatcher& d, const rpc::NotificationType<P>& method) {
    d.bind(method, [this, method](const P& p) {
      P out = p;
      out.session = name_;
      Owner* owner = ownerOf(p.requestId);
      out.requestId = owner ? owner->clientId : rpc::Id(nullptr);
      out.tag = owner ? owner->tag : std::nullopt;
      if constexpr (std::is_same_v<P, protocol::ExecStartParams>) {
        // Once per exec, before anything it writes (a program that never says it gets one
        // before the answer).
        if (!owner || std::exchange(owner->started, true)) return;
      } else if constexpr (requires { out.seq; }) {
        out.seq = ++seq_;
      }
      if (clientState_.open()) client_.notify(method, out);
      events_.outputForwarded();
    });
  }
  // input() in attached code: the program asks, the client is asked (with the exec's id and
  // tag), and the answer goes back; a request the program withdraws, or whose exec ends, is
  // withdrawn from the client.
  void askInput(const protocol::InputParams& p, rpc::Reply<protocol::InputResult> reply);
  void withdrawInputs(const std::function<bool(const std::string& programKey, const rpc::Id& inputId)>& which,
                      const char* why);
  void sweep();
  void setState(protocol::SessionState state, std::optional<protocol::StatusReason> why);
  void linkEnded();
  // The client's exec behind the program's request id, while it is remembered.
  struct Owner {
    rpc::Id clientId;
    std::optional<std::string> tag;
    bool started = false;  // execStart was sent
  };
  Owner* ownerOf(const rpc::Id& programId);

  struct Waiting {
    std::chrono::steady_clock::time_point deadline;  // max(): none (an exec)
    rpc::Id id;                                      // the program's id for it
    std::function<void(const rpc::Error&)> fail;
  };

  rpc::Peer& client_;
  const ClientState& clientState_;
  std::string name_;
  std::int64_t pid_;
  protocol::Backend backend_ = protocol::Backend::Asyncio;
  protocol::SessionState state_ = protocol::SessionState::Starting;
  std::int64_t seq_ = 0;  // the session's own count of output and display: the program's is not trusted
  Events events_;
  rpc::Peer peer_;
  rpc::Timer sweeper_;
  std::map<std::uint64_t, Waiting> waiting_;
  std::uint64_t nextKey_ = 1;
  std::map<std::string, Owner> owners_;            // program's exec id (dumped) -> the client's exec
  std::deque<std::string> ownerOrder_;             // oldest first, to bound owners_
  std::map<std::string, rpc::Id> runningExecs_;    // the client's id (dumped) -> the program's
  struct PendingInput {
    rpc::Id programId;       // the program's input request
    rpc::Id clientId;        // ours to the client
    std::string execKey;     // the program's id of the exec that asked (dumped)
    std::shared_ptr<rpc::Reply<protocol::InputResult>> reply;
  };
  std::vector<PendingInput> inputs_;
  int execsPending_ = 0;
  bool detaching_ = false;
  bool ended_ = false;
};

template <class P, class R>
rpc::Id AttachedSessions::Program::call(const rpc::RequestType<P, R>& method, const std::type_identity_t<P>& params,
                                        std::uint64_t deadlineMs,
                                        std::type_identity_t<std::function<void(rpc::Answer<R>)>> done) {
  auto once = std::make_shared<std::function<void(rpc::Answer<R>)>>(std::move(done));
  auto finish = [once](rpc::Answer<R> a) {
    if (!*once) return;
    auto f = std::exchange(*once, nullptr);
    f(std::move(a));
  };
  const std::uint64_t key = nextKey_++;
  const auto deadline = deadlineMs ? std::chrono::steady_clock::now() + std::chrono::milliseconds(deadlineMs)
                                   : std::chrono::steady_clock::time_point::max();
  waiting_[key] = Waiting{deadline, rpc::Id{}, [finish](const rpc::Error& e) {
                            rpc::Answer<R> a;
                            a.error = e;
                            finish(std::move(a));
                          }};
  // The answer is decoded into R: a result that does not decode is an InternalError.
  const rpc::Id id = peer_.call(method, params, [this, key, finish](rpc::Answer<R> a) {
    waiting_.erase(key);
    finish(std::move(a));
  });
  if (const auto it = waiting_.find(key); it != waiting_.end()) it->second.id = id;
  return id;
}

template <class P, class R>
void AttachedSessions::Program::forward(const rpc::RequestType<P, R>& method, const P& params, rpc::Reply<R> reply,
                                        std::uint64_t deadlineMs, Fail<R> fail,
                                        std::type_identity_t<std::function<void(R&)>> adjust) {
  auto shared = std::make_shared<rpc::Reply<R>>(std::move(reply));
  call(method, params, deadlineMs, [shared, fail = std::move(fail), adjust = std::move(adjust)](rpc::Answer<R> a) {
    if (!shared->pending()) return;
    if (a && !adjust) return (*shared)(*a);
    if (a) {
      R r = *a;
      adjust(r);
      return (*shared)(r);
    }
    if (fail) return fail(*shared, a.error);
    shared->error(std::move(a.error));
  });
}

template <class P, class R>
void AttachedSessions::Program::handle(const rpc::RequestType<P, R>& method, const P& params, rpc::Reply<R> reply) {
  namespace methods = protocol::methods;
  if constexpr (std::is_same_v<P, protocol::ExecParams>) {
    exec(params, std::move(reply));
  } else if constexpr (std::is_same_v<P, protocol::SessionCloseParams>) {
    detach(std::move(reply));
  } else if constexpr (std::is_same_v<P, protocol::InterruptParams>) {
    // The program answers when its exec ended, or says false when it is stuck in C code; a
    // program that cannot answer at all (its GIL held) gets graceMs and a second more.
    const auto deadline = static_cast<std::uint64_t>(params.graceMs) + 1000;
    forward(method, params, std::move(reply), deadline,
            Fail<R>([](rpc::Reply<R>& r, const rpc::Error&) { r(protocol::InterruptResult{false, std::nullopt}); }));
  } else if constexpr (std::is_same_v<P, protocol::SessionRestartParams> || std::is_same_v<P, protocol::SessionOpenParams>) {
    reply.error(rpc::ErrorCode::InvalidParams,
                "session \"" + name_ + "\" is attached to a running program (pid " + std::to_string(pid_) +
                    "): it cannot be " + (std::is_same_v<P, protocol::SessionOpenParams> ? "opened" : "restarted") +
                    " (session/close detaches)");
  } else if constexpr (std::is_same_v<P, protocol::CompleteParams> || std::is_same_v<P, protocol::InspectParams> ||
                       std::is_same_v<P, protocol::CompileParams>) {
    // Positions in the client's unit, converted here as for any session (the program counts
    // code points): complete's and inspect's cursor in, complete's range and compile's
    // SyntaxErrorInfo out.
    const PositionEncoding unit = clientState_.positionEncoding;
    P p = params;
    if constexpr (!std::is_same_v<P, protocol::CompileParams>) p.cursor = cursorIn(p.code, p.cursor, unit);
    std::function<void(R&)> adjust;
    if constexpr (!std::is_same_v<R, protocol::InspectResult>)
      adjust = [unit, code = p.code](R& r) { positionsOut(r, code, unit); };
    forward(method, p, std::move(reply), kAttachAnswerMs, {}, std::move(adjust));
  } else {
    forward(method, params, std::move(reply), kAttachAnswerMs, {});
  }
}

}  // namespace asyncode::daemon
