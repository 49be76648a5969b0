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
  forward(d, methods::execStart);
  forward(d, methods::output);
  forward(d, methods::display);
  forward(d, methods::clearOutput);
  forward(d, methods::taskError);
  // The program is no client of ours: input() is the one request it may send, as a worker;
  // any other is refused, junk is logged.
  d.setGate([](const std::string& method) -> std::optional<rpc::Error> {
    if (method == methods::input.method || method == methods::cancelRequest.method) return std::nullopt;
    return rpc::Error{rpc::ErrorCode::MethodNotFound, "an attached program sends no requests but input", std::nullopt};
  });
  d.bind(methods::input, this, &Program::askInput);
  d.bind(methods::cancelRequest, [this](const protocol::CancelRequestParams& p) {
    withdrawInputs([&](const std::string&, const rpc::Id& id) { return id == p.id; }, "input() was interrupted");
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
  // The daemon is the program's client: it says the unit of the client's positions (the
  // program converts its tracebacks' columns) and whether input() may be asked for.
  protocol::InitializeParams init;
  init.clientInfo = protocol::ClientInfo{"asyncoded", ASYNCODE_VERSION};
  init.capabilities = protocol::ClientCapabilities{clientState_.inputCapable,
                                                   std::vector<std::string>{protocol::toString(clientState_.positionEncoding)}};
  call(methods::initialize, init, kAttachAnswerMs, [this](rpc::Answer<protocol::InitializeResult> a) {
    if (!a) spdlog::warn("attached session \"{}\": the program's initialize failed: {}", name_, a.error.message);
  });
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

AttachedSessions::Program::Owner* AttachedSessions::Program::ownerOf(const rpc::Id& programId) {
  const auto it = owners_.find(programId.dump());
  return it == owners_.end() ? nullptr : &it->second;
}

void AttachedSessions::Program::exec(const protocol::ExecParams& p, rpc::Reply<protocol::ExecResult> reply) {
  const rpc::Id clientId = reply.id();
  const std::string clientKey = clientId.dump();
  if (++execsPending_ == 1) setState(SessionState::Busy, std::nullopt);
  auto shared = std::make_shared<rpc::Reply<protocol::ExecResult>>(std::move(reply));
  auto programKey = std::make_shared<std::string>();
  protocol::ExecParams forwarded = p;
  forwarded.session = name_;
  const rpc::Id programId = call(methods::exec, forwarded, 0,
                                 [this, shared, clientKey, programKey, tag = p.tag](rpc::Answer<protocol::ExecResult> a) {
    runningExecs_.erase(clientKey);
    if (--execsPending_ == 0 && !ended_) setState(SessionState::Idle, std::nullopt);
    // input() of this exec that the client has not answered is withdrawn first.
    withdrawInputs([&](const std::string& execKey, const rpc::Id&) { return execKey == *programKey; },
                   "the exec that asked has ended");
    if (a) {
      protocol::ExecResult r = *a;
      r.tag = tag;
      // A program that never said execStart: one now, before the answer.
      const auto owner = owners_.find(*programKey);
      if (owner != owners_.end() && !std::exchange(owner->second.started, true) && clientState_.open())
        client_.notify(methods::execStart, protocol::ExecStartParams{name_, owner->second.clientId, r.execCount, tag});
      return (*shared)(r);
    }
    // The link closed: the program exited (or was detached) with the exec unanswered.
    if (ended_ || peer_.closed()) return (*shared)(programGone(name_));
    shared->error(std::move(a.error));
  });
  if (!shared->pending()) return;
  const std::string key = programId.dump();
  *programKey = key;
  owners_[key] = Owner{clientId, p.tag, false};
  ownerOrder_.push_back(key);
  while (ownerOrder_.size() > kClientIdsKept) {
    owners_.erase(ownerOrder_.front());
    ownerOrder_.pop_front();
  }
  runningExecs_[clientKey] = programId;
}

void AttachedSessions::Program::askInput(const protocol::InputParams& p, rpc::Reply<protocol::InputResult> reply) {
  if (!clientState_.inputCapable || !clientState_.open() || ended_)
    return reply.error(rpc::ErrorCode::InternalError, "the client does not answer input requests");
  const std::string execKey = p.requestId.dump();
  const Owner* owner = ownerOf(p.requestId);
  protocol::InputParams out{name_, owner ? owner->clientId : rpc::Id(nullptr), p.prompt, p.password};
  if (owner) out.tag = owner->tag;
  out.kind = p.kind.value_or(p.password ? protocol::InputKind::Password : protocol::InputKind::Input);
  auto shared = std::make_shared<rpc::Reply<protocol::InputResult>>(std::move(reply));
  const rpc::Id programId = shared->id();
  const rpc::Id clientId = client_.call(methods::input, out, [this, shared, programId](rpc::Answer<protocol::InputResult> a) {
    std::erase_if(inputs_, [&](const PendingInput& i) { return i.programId == programId; });
    if (!shared->pending()) return;
    if (a) return (*shared)(*a);
    shared->error(std::move(a.error));
  });
  inputs_.push_back(PendingInput{programId, clientId, owner ? execKey : std::string(), shared});
}

void AttachedSessions::Program::withdrawInputs(
    const std::function<bool(const std::string& programKey, const rpc::Id& inputId)>& which, const char* why) {
  std::erase_if(inputs_, [&](const PendingInput& i) {
    if (!which(i.execKey, i.programId)) return false;
    client_.forget(i.clientId);
    if (client_.canWrite()) client_.notify(methods::cancelRequest, protocol::CancelRequestParams{i.clientId});
    if (i.reply->pending()) i.reply->error(rpc::ErrorCode::RequestCancelled, why);
    return true;
  });
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
  withdrawInputs([](const std::string&, const rpc::Id&) { return true; }, "the attached program went away");
  // Whatever the program left unanswered: an exec is WorkerDied (its fail sees ended_).
  failAll(rpc::ErrorCode::InternalError, "session \"" + name_ + "\": the attached program went away");
  if (state_ != SessionState::Starting || detaching_)
    setState(SessionState::Dead, detaching_ ? StatusReason::Closed : StatusReason::Detached);
  events_.gone(*this);
}

}  // namespace asyncode::daemon
