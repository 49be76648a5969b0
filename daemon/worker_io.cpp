#include "daemon/worker_io.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <cerrno>
#include <future>

#include "daemon/engine_protocol.h"
#include "daemon/worker_link.h"

namespace asyncode::daemon {

namespace link = protocol::link;
using rpc::Json;

namespace {

// The outbox is read while less than this waits to be written to the supervisor.
constexpr std::size_t kWriteHighWater = 256 * 1024;

// The exec that owns a piece of output, by the supervisor's seq for it (the owner's tag).
std::optional<std::int64_t> seqOf(const core::OwnerPtr& owner) {
  if (!owner) return std::nullopt;
  std::int64_t seq = 0;
  const auto [end, ec] = std::from_chars(owner->tag.data(), owner->tag.data() + owner->tag.size(), seq);
  if (ec != std::errc() || seq < 1) return std::nullopt;
  return seq;
}

}  // namespace

void WorkerIo::start() {
  std::promise<void> up;
  auto ready = up.get_future();
  thread_ = std::thread([this, &up] {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, nullptr);  // SIGINT is the main thread's alone
    uv_loop_init(&loop_);
    setup();
    up.set_value();
    uv_run(&loop_, UV_RUN_DEFAULT);
    teardown();
  });
  ready.wait();
}

void WorkerIo::stop() {
  post([this] {
    closing_ = true;
    pump();
    maybeFinish();
  });
  if (thread_.joinable()) thread_.join();
}

void WorkerIo::post(std::function<void()> fn) {
  {
    std::lock_guard lock(postMu_);
    posted_.push_back(std::move(fn));
  }
  uv_async_send(postAsync_.get());
}

void WorkerIo::setup() {
  peer_ = std::make_unique<rpc::Peer>(&loop_, kWorkerChannelFd, kWorkerChannelFd, rpc::FrameLimits{});
  outboxAsync_ = rpc::UvHandle<uv_async_t>(uv_async_init, &loop_, [](uv_async_t* a) {
    if (auto* self = static_cast<WorkerIo*>(a->data)) self->pump();
  });
  outboxAsync_->data = this;
  postAsync_ = rpc::UvHandle<uv_async_t>(uv_async_init, &loop_, [](uv_async_t* a) {
    if (auto* self = static_cast<WorkerIo*>(a->data)) self->runPosted();
  });
  postAsync_->data = this;
  engine_.outbox().setNotify([async = outboxAsync_.get()] { uv_async_send(async); });
  peer_->setOnWritten([this] {
    pump();
    maybeFinish();
  });
  if (const int fd = engine_.outbox().startTimerFd(); fd >= 0) {  // a long exec's held start
    startTimerPoll_ = rpc::UvHandle<uv_poll_t>(uv_poll_init, &loop_, fd);
    startTimerPoll_->data = this;
    uv_poll_start(startTimerPoll_.get(), UV_READABLE, [](uv_poll_t* p, int, int) {
      auto* self = static_cast<WorkerIo*>(p->data);
      self->engine_.outbox().releaseHeldStart();
      self->pump();
    });
  }
  for (int i = 0; i < 2; ++i) {
    if (pipeFds_[i] < 0) continue;
    pipePolls_[i] = rpc::UvHandle<uv_poll_t>(uv_poll_init, &loop_, pipeFds_[i]);
    pipePolls_[i]->data = this;
  }
  peer_->setOnClosed([](int) {
    // The supervisor is gone: so is this session, with every process it started.
    ::kill(0, SIGKILL);
    ::_exit(0);
  });
  bindHandlers();
  peer_->start();
  pump();  // anything the engine said before the loop ran
}

void WorkerIo::teardown() {
  engine_.outbox().setNotify(nullptr);
  peer_.reset();
  outboxAsync_.reset();
  postAsync_.reset();
  startTimerPoll_.reset();
  for (auto& p : pipePolls_) p.reset();
  rpc::closeLoop(&loop_);
}

void WorkerIo::maybeFinish() {
  if (closing_ && peer_ && peer_->pendingBytes() == 0 && engine_.outbox().empty() && backlog_.empty() &&
      frames_.empty())
    uv_stop(&loop_);
}

void WorkerIo::runPosted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(postMu_);
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
}

// Runs `compute` on the service thread and answers with its result on this thread.
template <class R>
void WorkerIo::onService(rpc::Reply<R> reply, std::function<R()> compute) {
  auto shared = std::make_shared<rpc::Reply<R>>(std::move(reply));
  service_.post([this, shared, compute = std::move(compute)]() mutable {
    std::optional<R> result;
    rpc::Error error{rpc::ErrorCode::InternalError, "", std::nullopt};
    try {
      result = compute();
    } catch (const rpc::RpcException& e) {  // the request's own fault (-32602)
      error = e.error();
    } catch (const std::exception& e) {
      error.message = e.what();
    }
    post([shared, result = std::move(result), error = std::move(error)]() mutable {
      if (result) return (*shared)(*result);
      shared->error(std::move(error));
    });
  });
}

void WorkerIo::bindHandlers() {
  auto& d = peer_->dispatcher();
  d.bind(link::methods::compile, [this](const protocol::CompileParams& p, rpc::Reply<protocol::CompileResult> reply) {
    onService<protocol::CompileResult>(std::move(reply), [this, p] {
      return toProtocol(engine_.compile(p.code, toCore(p.mode.value_or(protocol::Mode::Cell))));
    });
  });
  d.bind(link::methods::needsAwait, [this](const protocol::NeedsAwaitParams& p, auto reply) {
    onService<protocol::NeedsAwaitResult>(std::move(reply), [this, p] {
      const auto r = toProtocol(engine_.compile(p.code, toCore(p.mode.value_or(protocol::Mode::Cell))));
      return protocol::NeedsAwaitResult{r.needsAwait, r.status};
    });
  });
  d.bind(link::methods::complete, [this](const protocol::CompleteParams& p, auto reply) {
    onService<protocol::CompleteResult>(std::move(reply), [this, p] { return toProtocol(engine_.complete(p.code, p.cursor, p.debugger)); });
  });
  d.bind(link::methods::inspect, [this](const protocol::InspectParams& p, auto reply) {
    onService<protocol::InspectResult>(std::move(reply), [this, p] { return toProtocol(engine_.inspect(p.code, p.cursor)); });
  });
  d.bind(link::methods::variables, [this](const protocol::VariablesParams& p, auto reply) {
    onService<protocol::VariablesResult>(std::move(reply), [this, p] {
      const auto page = engine_.variables(p.ref.value_or(0), p.start, p.count.value_or(-1));
      if (page.invalid) throw rpc::RpcException(rpc::ErrorCode::InvalidParams, "params.ref: " + *page.invalid);
      return toProtocol(page);
    });
  });
  d.bind(link::methods::interrupt, this, &WorkerIo::onInterrupt);
  d.bind(link::methods::workerTerminal, [this](const protocol::Terminal& t) { engine_.setTerminal(toCore(t)); });
  d.bind(link::methods::workerCancel, [this](const link::CancelParams& p) {
    engine_.removeQueued(static_cast<std::uint64_t>(p.seq));  // answered on the lane when reached
  });
}

// Answered when the interrupt acted (the main thread ran Python and its SIGINT handler
// decided), which is how the supervisor knows the worker is not stuck in C code.
void WorkerIo::onInterrupt(const link::InterruptParams& p, rpc::Reply<link::InterruptResult> reply) {
  const auto seq = static_cast<std::uint64_t>(p.seq);
  const auto why = p.reason == link::InterruptReason::Timeout ? core::InterruptReason::Timeout
                                                              : core::InterruptReason::Interrupt;
  auto shared = std::make_shared<rpc::Reply<link::InterruptResult>>(std::move(reply));
  engine_.interrupt(seq, why, [this, shared](core::InterruptOutcome outcome, core::InterruptHow how) {
    post([shared, outcome, how] {
      (*shared)(link::InterruptResult{outcome == core::InterruptOutcome::Signalled  ? link::InterruptOutcome::Signalled
                                      : outcome == core::InterruptOutcome::Dequeued ? link::InterruptOutcome::Dequeued
                                                                                    : link::InterruptOutcome::NotRunning,
                                      toProtocol(how)});
    });
  });
  core::Engine::signalChildren(SIGINT);
}

// ---- what the engine says ---------------------------------------------------------------
// Events are handled strictly in the order the engine produced them. Output and displays
// become frames written into the fd 1/2 pipes; when a pipe is full (the client reads slowly)
// everything waits behind them, so an exec's answer never overtakes its output, and the
// engine's writers block once the outbox is full.
void WorkerIo::pump() {
  if (!peer_) return;
  while (writeFrames()) {
    if (backlog_.empty()) {
      if (engine_.outbox().empty() || (!closing_ && peer_->pendingBytes() >= kWriteHighWater)) return;
      auto events = engine_.outbox().take(core::Outbox::kChunk * 2);
      for (auto& e : events) backlog_.push_back(std::move(e));
    }
    while (!backlog_.empty() && frames_.empty()) {
      core::OutEvent e = std::move(backlog_.front());
      backlog_.pop_front();
      std::visit([this](auto& event) { onEvent(event); }, e);
    }
  }
}

// Writes queued frames; false while a pipe is full (its poll resumes pump()).
bool WorkerIo::writeFrames() {
  while (!frames_.empty()) {
    PendingFrame& f = frames_.front();
    const ssize_t n = ::write(pipeFds_[f.pipe], f.bytes.data(), f.bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      uv_poll_start(pipePolls_[f.pipe].get(), UV_WRITABLE, [](uv_poll_t* p, int, int) {
        uv_poll_stop(p);
        if (auto* self = static_cast<WorkerIo*>(p->data)) self->pump();
      });
      return false;
    }
    // Written whole (a frame is at most PIPE_BUF), or the pipe is gone with the supervisor:
    // either way this frame is done.
    if (f.delivers) engine_.outbox().markDelivered(f.delivers);
    frames_.pop_front();
  }
  return true;
}

void WorkerIo::queueFrames(char kind, std::string_view owner, std::string_view payload, std::uint64_t seq) {
  std::vector<std::string> frames;
  encodeFrames(*magic_, kind, owner, payload, frames);
  for (std::size_t i = 0; i < frames.size(); ++i)
    frames_.push_back(PendingFrame{0, std::move(frames[i]), i + 1 == frames.size() ? seq : 0});
}

bool WorkerIo::framed() const { return magic_ && pipeFds_[0] >= 0; }

// A notification for the supervisor in order with the output: in the frames (as JSON that the
// supervisor checks against the link's schema), or on the control link without pipes.
template <class P>
void WorkerIo::sendInOrder(const rpc::NotificationType<P>& method, const P& params, std::uint64_t seq) {
  const std::string body = rpc::serializeNotification(method.method, Json(params));
  if (framed()) return queueFrames(kMessagePart, {}, body, seq);
  peer_->send(body);
  if (seq) engine_.outbox().markDelivered(seq);
}

// Every frame goes into fd 1's pipe, stdout and stderr alike, so that the supervisor reads
// them in the order they were written (revision 1's Order rule).
void WorkerIo::onEvent(core::OutputEvent& e) {
  const bool out = e.stream == core::Stream::Stdout;
  if (framed()) {
    const auto seq = seqOf(e.owner);
    return queueFrames(out ? kStdoutText : kStderrText, seq ? std::to_string(*seq) : std::string(), e.text, e.seq);
  }
  link::OutputParams p{seqOf(e.owner), out ? protocol::Stream::Stdout : protocol::Stream::Stderr, std::move(e.text)};
  sendInOrder(link::methods::output, p, e.seq);
}

void WorkerIo::onEvent(core::DisplayEvent& e) {
  link::DisplayParams p{seqOf(e.owner), toProtocol(e.data), e.displayId, std::nullopt, std::nullopt};
  if (e.update) p.update = true;
  if (!e.metadata.empty())
    if (auto m = rpc::parseJson(e.metadata); m && m->is_object()) p.metadata = std::move(*m);
  sendInOrder(link::methods::display, p, e.seq);
}

void WorkerIo::onEvent(core::ClearOutputEvent& e) {
  sendInOrder(link::methods::clearOutput, link::ClearOutputParams{seqOf(e.owner), e.wait}, e.seq);
}

void WorkerIo::onEvent(core::ExecStartEvent& e) {
  const auto seq = seqOf(e.owner);
  if (!seq) return engine_.outbox().markDelivered(e.seq);
  link::ExecStartParams p{*seq, std::nullopt};
  if (e.owner->execCount) p.execCount = *e.owner->execCount;
  sendInOrder(link::methods::workerExecStart, p, e.seq);
}

void WorkerIo::onEvent(core::TaskErrorEvent& e) {
  sendInOrder(link::methods::taskError, link::TaskErrorParams{seqOf(e.owner), toProtocol(e.error)}, e.seq);
}

void WorkerIo::onEvent(core::InputRequestEvent& e) {
  const std::uint64_t inputId = e.inputId;
  // The supervisor adds the session.
  const link::InputParams params{seqOf(e.owner), e.prompt, e.kind == core::InputKind::Password, toProtocol(e.kind)};
  inputs_[inputId] = peer_->call(link::methods::input, params, [this, inputId](rpc::Answer<protocol::InputResult> a) {
    inputs_.erase(inputId);
    engine_.answerInput(inputId, a ? std::optional<std::string>(a->value) : std::nullopt);
  });
}

void WorkerIo::onEvent(core::InputCancelledEvent& e) {
  auto it = inputs_.find(e.inputId);
  if (it == inputs_.end()) return;
  peer_->forget(it->second);
  peer_->notify(link::methods::cancelRequest, protocol::CancelRequestParams{it->second});
  inputs_.erase(it);
}

void WorkerIo::onEvent(core::ReadyEvent& e) {
  peer_->notify(link::methods::workerReady, link::ReadyParams{::getpid(), e.backends});
}

}  // namespace asyncode::daemon
