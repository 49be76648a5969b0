#include "daemon/worker_io.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

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

// The exec that owns a piece of output, as the wire names it.
std::pair<Json, std::optional<std::int64_t>> ownerOf(const core::OwnerPtr& owner) {
  if (!owner) return {nullptr, std::nullopt};
  auto id = rpc::parseJson(owner->tag);
  return {id ? std::move(*id) : Json(nullptr),
          owner->execCount ? std::optional<std::int64_t>(*owner->execCount) : std::nullopt};
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
    std::string error;
    try {
      result = compute();
    } catch (const std::exception& e) {
      error = e.what();
    }
    post([shared, result = std::move(result), error = std::move(error)]() mutable {
      if (result) return (*shared)(*result);
      shared->error(rpc::ErrorCode::InternalError, error);
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
    onService<protocol::CompleteResult>(std::move(reply), [this, p] { return toProtocol(engine_.complete(p.code, p.cursor)); });
  });
  d.bind(link::methods::inspect, [this](const protocol::InspectParams& p, auto reply) {
    onService<protocol::InspectResult>(std::move(reply), [this, p] { return toProtocol(engine_.inspect(p.code, p.cursor)); });
  });
  d.bind(link::methods::variables, [this](const protocol::VariablesParams&, auto reply) {
    onService<protocol::VariablesResult>(std::move(reply), [this] { return toProtocol(engine_.variables()); });
  });
  d.bind(link::methods::interrupt, this, &WorkerIo::onInterrupt);
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

void WorkerIo::queueFrames(int pipe, char kind, const core::OwnerPtr& owner, std::string_view payload,
                           std::uint64_t seq) {
  std::string ownerJson;
  if (owner) ownerJson = "[" + owner->tag + "," + (owner->execCount ? std::to_string(*owner->execCount) : "null") + "]";
  std::vector<std::string> frames;
  encodeFrames(*magic_, kind, ownerJson, payload, frames);
  for (std::size_t i = 0; i < frames.size(); ++i)
    frames_.push_back(PendingFrame{pipe, std::move(frames[i]), i + 1 == frames.size() ? seq : 0});
}

void WorkerIo::onEvent(core::OutputEvent& e) {
  const int pipe = e.stream == core::Stream::Stdout ? 0 : 1;
  if (magic_ && pipeFds_[pipe] >= 0) return queueFrames(pipe, 'o', e.owner, e.text, e.seq);
  auto [requestId, execCount] = ownerOf(e.owner);
  peer_->notify(link::methods::output,
                link::OutputParams{std::move(requestId), execCount,
                                   pipe == 0 ? protocol::Stream::Stdout : protocol::Stream::Stderr, std::move(e.text)});
  engine_.outbox().markDelivered(e.seq);
}

void WorkerIo::onEvent(core::DisplayEvent& e) {
  if (magic_ && pipeFds_[0] >= 0) return queueFrames(0, 'd', e.owner, rpc::dumpJson(toProtocol(e.data)), e.seq);
  auto [requestId, execCount] = ownerOf(e.owner);
  peer_->notify(link::methods::display, link::DisplayParams{std::move(requestId), execCount, toProtocol(e.data)});
  engine_.outbox().markDelivered(e.seq);
}

void WorkerIo::onEvent(core::InputRequestEvent& e) {
  const std::uint64_t inputId = e.inputId;
  const link::InputParams params{ownerOf(e.owner).first, e.prompt, e.password};  // the supervisor adds the session
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
