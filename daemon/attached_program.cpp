#include "daemon/attached_program.h"

#include <spdlog/spdlog.h>

namespace asyncode::daemon {

namespace methods = protocol::methods;
using protocol::SessionState;
using protocol::StatusReason;

namespace {

constexpr std::size_t kClientIdsKept = 4096;  // execs whose late output can still be named
constexpr std::uint64_t kSweepMs = 100;

protocol::ExecResult programGone(const std::string& session) {
  protocol::ExecResult r;
  r.status = protocol::ExecStatus::Error;
  protocol::ErrorInfo e;
  e.type = "WorkerDied";
  e.message = "the attached program of session \"" + session + "\" went away";
  e.formatted = e.type + ": " + e.message + "\n";
  r.error = std::move(e);
  return r;
}

}  // namespace

AttachedSessions::Program::Program(uv_loop_t* loop, rpc::Peer& client, const ClientState& state, std::string name,
                                   int fd, std::int64_t pid, Events events)
    : client_(client),
      clientState_(state),
      name_(std::move(name)),
      pid_(pid),
      events_(std::move(events)),
      peer_(loop, fd, fd, rpc::FrameLimits{kAttachMaxBody, 8192}),
      sweeper_(loop) {
  bindProgram();
}

AttachedSessions::Program::~Program() = default;

void AttachedSessions::Program::bindProgram() {
  auto& d = peer_.dispatcher();
  // What the program sends is decoded into the schema's structs, renamed, and sent on.
  forward(d, methods::output);
  forward(d, methods::display);
  // The program is no client of ours: any request of its is refused, junk is logged.
  d.setGate([](const std::string&) -> std::optional<rpc::Error> {
    return rpc::Error{rpc::ErrorCode::MethodNotFound, "an attached program sends no requests", std::nullopt};
  });
  peer_.setOnBadMessage([this](const rpc::BadMessage& bad) {
    spdlog::warn("attached session \"{}\": a bad message from the program: {}", name_, bad.error.message);
  });
  peer_.setOnStrayResponse([this](const rpc::Response&) {
    spdlog::debug("attached session \"{}\": an answer to nothing (late, or never asked)", name_);
  });
  peer_.setOnClosed([this](int) { linkEnded(); });
}

void AttachedSessions::Program::start(rpc::Reply<protocol::SessionAttachResult> reply) {
  peer_.start();
  sweeper_.every(kSweepMs, [this] { sweep(); });
  protocol::SessionOpenParams hello;
  hello.session = name_;
  auto shared = std::make_shared<rpc::Reply<protocol::SessionAttachResult>>(std::move(reply));
  call(methods::sessionOpen, hello, kAttachAnswerMs, [this, shared](rpc::Answer<protocol::SessionOpenResult> a) {
    if (!a) {
      shared->error(rpc::ErrorCode::InvalidParams,
                    "session \"" + name_ + "\": the program on the socket did not attach: " + a.error.message);
      if (!ended_) linkEnded();
      return;
    }
    backend_ = a->backend;  // its pid is the socket's peer's, not what it says
    (*shared)(protocol::SessionAttachResult{name_, pid_, backend_, true});
    setState(SessionState::Idle, StatusReason::Open);
  });
}

rpc::Id AttachedSessions::Program::clientIdOf(const rpc::Id& programId) const {
  const auto it = clientIds_.find(programId.dump());
  return it == clientIds_.end() ? rpc::Id(nullptr) : it->second;
}

void AttachedSessions::Program::exec(const protocol::ExecParams& p, rpc::Reply<protocol::ExecResult> reply) {
  const rpc::Id clientId = reply.id();
  const std::string clientKey = clientId.dump();
  if (++execsPending_ == 1) setState(SessionState::Busy, std::nullopt);
  auto shared = std::make_shared<rpc::Reply<protocol::ExecResult>>(std::move(reply));
  protocol::ExecParams forwarded = p;
  forwarded.session = name_;
  const rpc::Id programId = call(methods::exec, forwarded, 0, [this, shared, clientKey](rpc::Answer<protocol::ExecResult> a) {
    runningExecs_.erase(clientKey);
    if (--execsPending_ == 0 && !ended_) setState(SessionState::Idle, std::nullopt);
    if (a) return (*shared)(*a);
    // The link closed: the program exited (or was detached) with the exec unanswered.
    if (ended_ || peer_.closed()) return (*shared)(programGone(name_));
    shared->error(std::move(a.error));
  });
  if (!shared->pending()) return;
  const std::string key = programId.dump();
  clientIds_[key] = clientId;
  clientIdOrder_.push_back(key);
  while (clientIdOrder_.size() > kClientIdsKept) {
    clientIds_.erase(clientIdOrder_.front());
    clientIdOrder_.pop_front();
  }
  runningExecs_[clientKey] = programId;
}

void AttachedSessions::Program::cancel(const rpc::Id& clientId) {
  const auto it = runningExecs_.find(clientId.dump());
  if (it != runningExecs_.end()) peer_.notify(methods::cancelRequest, protocol::CancelRequestParams{it->second});
}

void AttachedSessions::Program::detach(rpc::Reply<protocol::SessionCloseResult> reply) {
  detaching_ = true;
  protocol::SessionCloseParams p;
  p.session = name_;
  // Answered null whatever the program says; the link's end then takes the session away
  // (the program hangs up, or the sweep ends it once nothing waits).
  forward(methods::sessionClose, p, std::move(reply), 2000,
          Fail<protocol::SessionCloseResult>(
              [](rpc::Reply<protocol::SessionCloseResult>& r, const rpc::Error&) { r(nullptr); }));
}

void AttachedSessions::Program::sweep() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::uint64_t> due;
  for (const auto& [key, w] : waiting_)
    if (w.deadline <= now) due.push_back(key);
  for (const std::uint64_t key : due) {
    auto node = waiting_.extract(key);
    if (node.empty()) continue;
    peer_.forget(node.mapped().id);
    node.mapped().fail(rpc::Error{rpc::ErrorCode::InternalError,
                                  "session \"" + name_ + "\": the attached program did not answer in time", std::nullopt});
  }
  if (detaching_ && waiting_.empty() && !ended_) linkEnded();
}

void AttachedSessions::Program::failAll(rpc::ErrorCode code, const std::string& why) {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& [key, w] : waiting) {
    peer_.forget(w.id);
    w.fail(rpc::Error{code, why, std::nullopt});
  }
  peer_.pauseReading();
}

void AttachedSessions::Program::setState(SessionState state, std::optional<StatusReason> why) {
  if (state_ == state) return;
  state_ = state;
  if (!clientState_.open()) return;
  protocol::StatusParams p;
  p.session = name_;
  p.state = state;
  p.pid = pid_;
  p.reason = why;
  client_.notify(methods::status, p);
}

void AttachedSessions::Program::linkEnded() {
  if (ended_) return;
  ended_ = true;
  sweeper_.stop();
  // Whatever the program left unanswered: an exec is WorkerDied (its fail sees ended_).
  failAll(rpc::ErrorCode::InternalError, "session \"" + name_ + "\": the attached program went away");
  if (state_ != SessionState::Starting || detaching_)
    setState(SessionState::Dead, detaching_ ? StatusReason::Closed : StatusReason::Detached);
  events_.gone(*this);
}

}  // namespace asyncode::daemon
