#include "daemon/worker_main.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <set>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/engine.h"
#include "daemon/output_frames.h"
#include "daemon/worker_link.h"
#include "rpc/framing.h"
#include "rpc/peer.h"
#include "rpc/protocol.h"
#include "rpc/uv_handle.h"

namespace asyncode::daemon {
namespace {

using rpc::Json;

// How often an interrupt is signalled again while its exec still runs: the engine's
// handler then takes the next step (cancel, then KeyboardInterrupt).
constexpr std::uint64_t kEscalateMs = 100;
// The outbox is read while less than this waits to be written to the supervisor.
constexpr std::size_t kWriteHighWater = 256 * 1024;

core::Mode coreMode(rpc::Mode m) {
  switch (m) {
    case rpc::Mode::interactive: return core::Mode::Interactive;
    case rpc::Mode::module: return core::Mode::Module;
    case rpc::Mode::cell: return core::Mode::Cell;
  }
  return core::Mode::Cell;
}

// The service thread: runs posted work in order.
class WorkQueue {
 public:
  WorkQueue() : thread_([this] { loop(); }) {}
  ~WorkQueue() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void post(std::function<void()> fn) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

struct ExecParamsLink {
  std::uint64_t seq = 0;
  rpc::ExecParams exec;
  Json requestId;
};
void decode(const Json& j, ExecParamsLink& out, const std::string& path) {
  rpc::decode(j, out.exec, path);
  std::int64_t seq = 0;
  rpc::ObjectMapper(j, path).required("seq", seq).required("requestId", out.requestId);
  out.seq = static_cast<std::uint64_t>(seq);
}

struct ConfigureParams {
  std::string session;
  std::string backend = "asyncio";
  bool syncInLoop = false;
  std::optional<std::string> cwd;
  bool input = false;
};
void decode(const Json& j, ConfigureParams& out, const std::string& path) {
  rpc::ObjectMapper(j, path)
      .required("session", out.session)
      .optionalOr("backend", out.backend)
      .optionalOr("syncInLoop", out.syncInLoop)
      .optional("cwd", out.cwd)
      .optionalOr("input", out.input);
}

// The exec lane (fd kWorkerLaneFd), used only by the main thread: jobs from the
// supervisor in, their answers out, with no other thread in between.
class JobLaneImpl final : public core::JobLane {
 public:
  JobLaneImpl(int fd, core::Engine& engine) : fd_(fd), engine_(engine) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }

  [[nodiscard]] int fd() const override { return fd_; }

  void read(std::deque<core::Job>& out) override {
    char buf[65536];
    while (!ended_) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) {
        decoder_.feed(
            std::string_view(buf, static_cast<std::size_t>(n)), [&](std::string&& body) { onBody(body, out); },
            [](const rpc::FrameError& e) { spdlog::error("exec lane: {}", e.message); });
      } else if (n == 0) {
        ended_ = true;  // the supervisor is gone: the control link's end kills this process
      } else if (errno != EINTR) {
        return;  // EAGAIN: all read
      }
    }
  }

  void execStarted(std::uint64_t seq, std::optional<int> count) override {
    Json params{{"seq", seq}};
    if (count) params["execCount"] = *count;
    write(rpc::serializeNotification("worker/execStarted", params));
  }

  void execDone(const core::ExecOutcome& outcome) override {
    if (outcome.execCount) lastCount_ = *outcome.execCount;
    auto id = takeId(outcome.seq);
    if (id) write(rpc::serializeResult(*id, toJson(outcome, lastCount_)));
  }

  void execCancelled(std::uint64_t seq) override {
    if (auto id = takeId(seq))
      write(rpc::serializeError(*id, rpc::Error{rpc::ErrorCode::RequestCancelled,
                                                "the exec was cancelled before it started", std::nullopt}));
  }

  void jobDone(std::uint64_t seq, const std::optional<std::string>& error) override {
    auto id = takeId(seq);
    if (!id) return;
    if (error) {
      write(rpc::serializeError(*id, rpc::Error{rpc::ErrorCode::InvalidParams, *error, std::nullopt}));
    } else {
      write(rpc::serializeResult(*id, configures_.erase(seq) ? Json{{"pid", ::getpid()}} : Json(nullptr)));
    }
  }

 private:
  void onBody(const std::string& body, std::deque<core::Job>& out) {
    auto parsed = rpc::parseMessage(body);
    auto* message = std::get_if<rpc::Message>(&parsed);
    if (!message) return spdlog::error("exec lane: {}", std::get<rpc::BadMessage>(parsed).error.message);
    try {
      if (auto* r = std::get_if<rpc::Request>(message)) return onRequest(*r, out);
      if (auto* n = std::get_if<rpc::Notification>(message); n && n->method == "worker/preload")
        out.push_back(core::Job{core::Job::Kind::Preload, 0, {}, {}});
    } catch (const std::exception& e) {
      if (auto* r = std::get_if<rpc::Request>(message))
        write(rpc::serializeError(r->id, rpc::Error{rpc::ErrorCode::InvalidParams, e.what(), std::nullopt}));
    }
  }

  void onRequest(const rpc::Request& r, std::deque<core::Job>& out) {
    core::Job job;
    if (r.method == "exec") {
      auto p = rpc::decodeAs<ExecParamsLink>(r.params);
      job.kind = core::Job::Kind::Exec;
      job.seq = p.seq;
      job.exec.seq = p.seq;
      job.exec.code = std::move(p.exec.code);
      job.exec.mode = coreMode(p.exec.mode);
      job.exec.filename = std::move(p.exec.filename);
      job.exec.silent = p.exec.silent;
      job.exec.ownerTag = rpc::dumpJson(p.requestId);
      job.exec.announceStart = p.exec.timeoutMs.has_value();  // the supervisor times it from its start
    } else if (r.method == "worker/configure") {
      const auto p = rpc::decodeAs<ConfigureParams>(r.params);
      engine_.setInputEnabled(p.input);
      job.kind = core::Job::Kind::Configure;
      job.seq = nextJob_++;
      job.configure = core::ConfigureRequest{p.backend, p.syncInLoop, p.cwd};
      configures_.insert(job.seq);
    } else if (r.method == "reset") {
      job.kind = core::Job::Kind::Reset;
      job.seq = nextJob_++;
    } else if (r.method == "shutdown") {
      write(rpc::serializeResult(r.id, nullptr));
      out.push_back(core::Job{core::Job::Kind::Shutdown, 0, {}, {}});
      return;
    } else {
      write(rpc::serializeError(r.id, rpc::Error{rpc::ErrorCode::MethodNotFound, "not on the exec lane: " + r.method,
                                                 std::nullopt}));
      return;
    }
    ids_[job.seq] = r.id;
    out.push_back(std::move(job));
  }

  std::optional<rpc::Id> takeId(std::uint64_t seq) {
    auto it = ids_.find(seq);
    if (it == ids_.end()) return std::nullopt;
    rpc::Id id = std::move(it->second);
    ids_.erase(it);
    return id;
  }

  // One whole frame; waits while the socket is full (the supervisor reads it promptly).
  void write(const std::string& body) {
    const std::string frame = rpc::encodeFrame(body);
    const char* p = frame.data();
    std::size_t n = frame.size();
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w > 0) {
        p += w;
        n -= static_cast<std::size_t>(w);
      } else if (w < 0 && errno == EAGAIN) {
        pollfd pf{fd_, POLLOUT, 0};
        ::poll(&pf, 1, 1000);
      } else if (w < 0 && errno == EINTR) {
        continue;
      } else {
        return;  // the supervisor is gone
      }
    }
  }

  int fd_;
  core::Engine& engine_;
  rpc::FrameDecoder decoder_;
  bool ended_ = false;
  std::map<std::uint64_t, rpc::Id> ids_;  // job seq -> the lane request's id
  std::set<std::uint64_t> configures_;
  // Reset and configure jobs are keyed from the top of the range, away from exec seqs.
  std::uint64_t nextJob_ = std::uint64_t{1} << 62;
  int lastCount_ = 0;
};

class WorkerIo {
 public:
  // `pipes`: where Python output goes as frames (fd 1 and 2 reopened non-blocking), with
  // `magic`; without them (a worker run by hand) output goes as notifications instead.
  WorkerIo(core::Engine& engine, std::array<int, 2> pipes, std::optional<Magic> magic)
      : engine_(engine), pipeFds_(pipes), magic_(magic) {}
  WorkerIo(const WorkerIo&) = delete;
  WorkerIo& operator=(const WorkerIo&) = delete;

  void start() {
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

  // Flushes what the engine still has to say, then ends the I/O thread.
  void stop() {
    post([this] {
      closing_ = true;
      pump();
      maybeFinish();
    });
    if (thread_.joinable()) thread_.join();
  }

  void post(std::function<void()> fn) {
    {
      std::lock_guard lock(postMu_);
      posted_.push_back(std::move(fn));
    }
    uv_async_send(postAsync_.get());
  }

 private:
  void setup() {
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

  void teardown() {
    engine_.outbox().setNotify(nullptr);
    peer_.reset();
    outboxAsync_.reset();
    postAsync_.reset();
    escalationTimer_.reset();
    for (auto& p : pipePolls_) p.reset();
    rpc::closeLoop(&loop_);
  }

  void maybeFinish() {
    if (closing_ && peer_ && peer_->pendingBytes() == 0 && engine_.outbox().empty() && backlog_.empty() &&
        frames_.empty())
      uv_stop(&loop_);
  }

  void runPosted() {
    std::vector<std::function<void()>> work;
    {
      std::lock_guard lock(postMu_);
      work.swap(posted_);
    }
    for (auto& fn : work) fn();
  }

  // Runs `compute` on the service thread and answers with its JSON on this thread.
  void onService(rpc::ReplyOnce reply, std::function<Json()> compute) {
    auto shared = std::make_shared<rpc::ReplyOnce>(std::move(reply));
    service_.post([this, shared, compute = std::move(compute)]() mutable {
      std::optional<Json> result;
      std::string error;
      try {
        result = compute();
      } catch (const std::exception& e) {
        error = e.what();
      }
      post([shared, result = std::move(result), error = std::move(error)]() mutable {
        if (result) {
          (*shared)(*result);
        } else {
          shared->error(rpc::ErrorCode::InternalError, error);
        }
      });
    });
  }

  void bindHandlers() {
    auto& d = peer_->dispatcher();
    d.onRequest("compile", [this](const Json& params, rpc::ReplyOnce reply) {
      auto p = rpc::decodeAs<rpc::CompileParams>(params);
      onService(std::move(reply), [this, p] {
        return toJson(engine_.compile(p.code, coreMode(p.mode.value_or(rpc::Mode::cell))));
      });
    });
    d.onRequest("needsAwait", [this](const Json& params, rpc::ReplyOnce reply) {
      auto p = rpc::decodeAs<rpc::CompileParams>(params);
      onService(std::move(reply), [this, p] {
        const auto r = engine_.compile(p.code, coreMode(p.mode.value_or(rpc::Mode::cell)));
        return Json{{"needsAwait", r.needsAwait}, {"status", toJson(r)["status"]}};
      });
    });
    d.onRequest("complete", [this](const Json& params, rpc::ReplyOnce reply) {
      auto p = rpc::decodeAs<rpc::CursorParams>(params);
      onService(std::move(reply), [this, p] {
        const auto r = engine_.complete(p.code, p.cursor);
        Json matches = Json::array();
        for (const auto& m : r.matches) {
          Json item{{"text", m.text}};
          if (m.type) item["type"] = *m.type;
          matches.push_back(std::move(item));
        }
        return Json{{"matches", std::move(matches)}, {"cursorStart", r.cursorStart}, {"cursorEnd", r.cursorEnd}};
      });
    });
    d.onRequest("inspect", [this](const Json& params, rpc::ReplyOnce reply) {
      auto p = rpc::decodeAs<rpc::CursorParams>(params);
      onService(std::move(reply), [this, p] {
        const auto r = engine_.inspect(p.code, p.cursor);
        Json j{{"found", r.found}};
        if (r.found) j["data"] = toJson(r.data);
        return j;
      });
    });
    d.onRequest("variables", [this](const Json&, rpc::ReplyOnce reply) {
      onService(std::move(reply), [this] {
        Json vars = Json::array();
        for (const auto& v : engine_.variables())
          vars.push_back(Json{{"name", v.name}, {"type", v.type}, {"repr", v.repr}});
        return Json{{"variables", std::move(vars)}};
      });
    });
    d.onRequest("interrupt", [this](const Json& params, rpc::ReplyOnce reply) {
      std::int64_t seq = 0;
      std::string reason = "interrupt";
      rpc::ObjectMapper(params, "params").required("seq", seq).optionalOr("reason", reason);
      const auto why = reason == "timeout" ? core::InterruptReason::Timeout : core::InterruptReason::Interrupt;
      const auto outcome = engine_.interrupt(static_cast<std::uint64_t>(seq), why);
      const char* text = outcome == core::InterruptOutcome::Signalled  ? "signalled"
                         : outcome == core::InterruptOutcome::Dequeued ? "dequeued"
                                                                       : "notRunning";
      reply(Json{{"outcome", text}});
      if (outcome == core::InterruptOutcome::Signalled) {
        escalate(static_cast<std::uint64_t>(seq));
        core::Engine::signalChildren(SIGINT);  // after the answer: it reads /proc
      }
    });
    d.onNotification("worker/cancel", [this](const Json& params) {
      std::int64_t seq = 0;
      rpc::ObjectMapper(params, "params").required("seq", seq);
      engine_.removeQueued(static_cast<std::uint64_t>(seq));  // answered on the lane when reached
    });
  }

  // While an interrupt's exec still runs, signal it again every kEscalateMs.
  void escalate(std::uint64_t seq) {
    escalating_.insert(seq);
    if (!escalationTimer_) {
      escalationTimer_ = rpc::UvHandle<uv_timer_t>(uv_timer_init, &loop_);
      escalationTimer_->data = this;
    }
    if (!uv_is_active(escalationTimer_.handle())) {
      uv_timer_start(
          escalationTimer_.get(),
          [](uv_timer_t* t) {
            auto* self = static_cast<WorkerIo*>(t->data);
            if (!self) return;
            for (auto it = self->escalating_.begin(); it != self->escalating_.end();)
              it = self->engine_.resignal(*it) ? std::next(it) : self->escalating_.erase(it);
            if (self->escalating_.empty()) uv_timer_stop(t);
          },
          kEscalateMs, kEscalateMs);
    }
  }

  void stopEscalation(std::uint64_t seq) { escalating_.erase(seq); }

  // ---- what the engine says ---------------------------------------------------------
  // Events are handled strictly in the order the engine produced them. Output and
  // displays become frames written into the fd 1/2 pipes; when a pipe is full (the client
  // reads slowly) everything waits behind them, so an exec's answer never overtakes its
  // output, and the engine's writers block once the outbox is full.
  void pump() {
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
  bool writeFrames() {
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
      // Written whole (a frame is at most PIPE_BUF), or the pipe is gone with the
      // supervisor: either way this frame is done.
      if (f.delivers) engine_.outbox().markDelivered(f.delivers);
      frames_.pop_front();
    }
    return true;
  }

  void queueFrames(int pipe, char kind, const core::OwnerPtr& owner, std::string_view payload, std::uint64_t seq) {
    std::string ownerJson;
    if (owner) ownerJson = "[" + owner->tag + "," + (owner->execCount ? std::to_string(*owner->execCount) : "null") + "]";
    std::vector<std::string> frames;
    encodeFrames(*magic_, kind, ownerJson, payload, frames);
    for (std::size_t i = 0; i < frames.size(); ++i)
      frames_.push_back(PendingFrame{pipe, std::move(frames[i]), i + 1 == frames.size() ? seq : 0});
  }

  Json ownerFields(const core::OwnerPtr& owner, Json& params) {
    if (owner) {
      params["requestId"] = Json::parse(owner->tag, nullptr, false);
      params["execCount"] = owner->execCount ? Json(*owner->execCount) : Json(nullptr);
    } else {
      params["requestId"] = nullptr;
      params["execCount"] = nullptr;
    }
    return params;
  }

  void onEvent(core::OutputEvent& e) {
    const int pipe = e.stream == core::Stream::Stdout ? 0 : 1;
    if (magic_ && pipeFds_[pipe] >= 0) return queueFrames(pipe, 'o', e.owner, e.text, e.seq);
    Json params{{"session", session_}, {"stream", pipe == 0 ? "stdout" : "stderr"}, {"text", std::move(e.text)}};
    ownerFields(e.owner, params);
    peer_->notify("output", params);
    engine_.outbox().markDelivered(e.seq);
  }

  void onEvent(core::DisplayEvent& e) {
    if (magic_ && pipeFds_[0] >= 0) return queueFrames(0, 'd', e.owner, rpc::dumpJson(toJson(e.data)), e.seq);
    Json params{{"session", session_}, {"data", toJson(e.data)}};
    ownerFields(e.owner, params);
    peer_->notify("display", params);
    engine_.outbox().markDelivered(e.seq);
  }

  // Execs are started and answered on the lane (JobLaneImpl): these come only from an
  // engine without one.
  static void onEvent(core::ExecStartedEvent&) {}
  static void onEvent(core::ExecDoneEvent&) {}

  void onEvent(core::InputRequestEvent& e) {
    // The supervisor adds "session".
    Json params{{"prompt", e.prompt}, {"password", e.password},
                {"requestId", e.owner ? Json::parse(e.owner->tag, nullptr, false) : Json(nullptr)}};
    const std::uint64_t inputId = e.inputId;
    const rpc::Id linkId = peer_->request("input", params, [this, inputId](rpc::Response&& r) {
      inputs_.erase(inputId);
      std::optional<std::string> value;
      if (r.result && r.result->is_object()) {
        if (const auto v = r.result->find("value"); v != r.result->end() && v->is_string())
          value = v->get<std::string>();
      }
      engine_.answerInput(inputId, std::move(value));
    });
    inputs_[inputId] = linkId;
  }

  void onEvent(core::InputCancelledEvent& e) {
    auto it = inputs_.find(e.inputId);
    if (it == inputs_.end()) return;
    peer_->forget(it->second);
    peer_->notify("$/cancelRequest", Json{{"id", it->second}});
    inputs_.erase(it);
  }

  static void onEvent(core::JobDoneEvent&) {}

  void onEvent(core::ReadyEvent& e) {
    peer_->notify("worker/ready", Json{{"pid", ::getpid()}, {"backends", e.backends}});
  }

  struct PendingFrame {
    int pipe;                // 0: fd 1, 1: fd 2
    std::string bytes;
    std::uint64_t delivers;  // the outbox count this frame completes, or 0
  };

  core::Engine& engine_;
  std::array<int, 2> pipeFds_;
  std::optional<Magic> magic_;
  std::array<rpc::UvHandle<uv_poll_t>, 2> pipePolls_;
  std::deque<core::OutEvent> backlog_;
  std::deque<PendingFrame> frames_;
  uv_loop_t loop_{};
  std::unique_ptr<rpc::Peer> peer_;
  rpc::UvHandle<uv_async_t> outboxAsync_;
  rpc::UvHandle<uv_async_t> postAsync_;
  std::mutex postMu_;
  std::vector<std::function<void()>> posted_;
  WorkQueue service_;
  std::string session_;
  std::map<std::uint64_t, rpc::Id> inputs_;
  std::set<std::uint64_t> escalating_;
  rpc::UvHandle<uv_timer_t> escalationTimer_;
  bool closing_ = false;
  std::thread thread_;
};

// In a child of os.fork() (multiprocessing, or user code), the session's links are not
// its own: it must not read the supervisor's requests or answer them.
void closeLinksInChild() {
  ::close(kWorkerChannelFd);
  ::close(kWorkerLaneFd);
}

}  // namespace

int runWorker(const WorkerOptions& options) {
  ::pthread_atfork(nullptr, nullptr, &closeLinksInChild);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (options.parentPid != 0 && ::getppid() != options.parentPid) return 0;  // the supervisor already died

  sigset_t block, previous;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &previous);  // threads started now inherit the block

  // Python output shares fd 1 and 2 with C code and child processes, written through
  // descriptors of our own (non-blocking, which the user's fd 1 and 2 must not become).
  std::array<int, 2> pipes{-1, -1};
  std::optional<Magic> magic;
  if (Magic m{}; !options.outputMagic.empty() && magicFromHex(options.outputMagic, m)) {
    pipes[0] = ::open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    pipes[1] = ::open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (pipes[0] >= 0 && pipes[1] >= 0) magic = m;
  }

  core::EngineConfig config;
  config.executable = options.executable;
  core::Engine engine(config);
  std::optional<JobLaneImpl> lane;
  if (::fcntl(kWorkerLaneFd, F_GETFD) >= 0) {
    lane.emplace(kWorkerLaneFd, engine);
    engine.setLane(&*lane);
  }
  WorkerIo io(engine, pipes, magic);
  io.start();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  int rc = 0;
  try {
    engine.start();
    rc = engine.run();
  } catch (const std::exception& e) {
    spdlog::critical("worker failed to start: {}", e.what());
    rc = 1;
  }
  io.stop();
  // Python is not finalized: user threads may never end, and the process is going away.
  std::fflush(nullptr);
  ::_exit(rc);
}

}  // namespace asyncode::daemon
