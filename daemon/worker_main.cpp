#include "daemon/worker_main.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

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
#include "daemon/worker_link.h"
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

class WorkerIo {
 public:
  explicit WorkerIo(core::Engine& engine) : engine_(engine) {}
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
      drainOutbox(true);
      closing_ = true;
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
      if (auto* self = static_cast<WorkerIo*>(a->data)) self->drainOutbox(false);
    });
    outboxAsync_->data = this;
    postAsync_ = rpc::UvHandle<uv_async_t>(uv_async_init, &loop_, [](uv_async_t* a) {
      if (auto* self = static_cast<WorkerIo*>(a->data)) self->runPosted();
    });
    postAsync_->data = this;
    engine_.outbox().setNotify([async = outboxAsync_.get()] { uv_async_send(async); });
    peer_->setOnWritten([this] {
      if (!engine_.outbox().empty()) drainOutbox(false);
      maybeFinish();
    });
    peer_->setOnClosed([](int) {
      // The supervisor is gone: so is this session, with every process it started.
      ::kill(0, SIGKILL);
      ::_exit(0);
    });
    bindHandlers();
    peer_->start();
    drainOutbox(false);  // anything the engine said before the loop ran
  }

  void teardown() {
    engine_.outbox().setNotify(nullptr);
    peer_.reset();
    outboxAsync_.reset();
    postAsync_.reset();
    escalationTimer_.reset();
    rpc::closeLoop(&loop_);
  }

  void maybeFinish() {
    if (closing_ && peer_ && peer_->pendingBytes() == 0 && engine_.outbox().empty()) uv_stop(&loop_);
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
    d.onRequest("worker/configure", [this](const Json& params, rpc::ReplyOnce reply) {
      const auto p = rpc::decodeAs<ConfigureParams>(params);
      session_ = p.session;
      engine_.setInputEnabled(p.input);
      const std::uint64_t seq = nextJob_++;
      jobs_.emplace(seq, std::move(reply));
      engine_.submitConfigure(seq, core::ConfigureRequest{p.backend, p.syncInLoop, p.cwd});
    });
    d.onRequest("exec", [this](const Json& params, rpc::ReplyOnce reply) {
      auto p = rpc::decodeAs<ExecParamsLink>(params);
      core::ExecRequest r;
      r.seq = p.seq;
      r.code = std::move(p.exec.code);
      r.mode = coreMode(p.exec.mode);
      r.filename = std::move(p.exec.filename);
      r.silent = p.exec.silent;
      r.ownerTag = rpc::dumpJson(p.requestId);
      execs_.emplace(p.seq, PendingExec{std::move(reply)});
      engine_.submitExec(std::move(r));
    });
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
    d.onRequest("reset", [this](const Json&, rpc::ReplyOnce reply) {
      const std::uint64_t seq = nextJob_++;
      jobs_.emplace(seq, std::move(reply));
      engine_.submitReset(seq);
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
      if (outcome == core::InterruptOutcome::Signalled) escalate(static_cast<std::uint64_t>(seq));
      reply(Json{{"outcome", text}});
    });
    d.onNotification("worker/cancel", [this](const Json& params) {
      std::int64_t seq = 0;
      rpc::ObjectMapper(params, "params").required("seq", seq);
      if (!engine_.removeQueued(static_cast<std::uint64_t>(seq))) return;
      auto it = execs_.find(static_cast<std::uint64_t>(seq));
      if (it == execs_.end()) return;
      it->second.reply.error(rpc::ErrorCode::RequestCancelled, "the exec was cancelled before it started");
      execs_.erase(it);
    });
    d.onNotification("worker/preload", [this](const Json&) { engine_.submitPreload(); });
    d.onRequest("shutdown", [this](const Json&, rpc::ReplyOnce reply) {
      engine_.submitShutdown();
      reply(nullptr);
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
  void drainOutbox(bool all) {
    if (!peer_) return;
    while (!engine_.outbox().empty() && (all || peer_->pendingBytes() < kWriteHighWater)) {
      auto events = engine_.outbox().take(core::Outbox::kChunk * 2);
      // An exec that started and ended within one batch needs no start notice: its
      // answer carries its count, and the supervisor has no timeout to arm for it.
      finishedInBatch_.clear();
      for (const auto& e : events)
        if (const auto* done = std::get_if<core::ExecDoneEvent>(&e)) finishedInBatch_.insert(done->outcome.seq);
      for (auto& e : events) std::visit([this](auto& event) { onEvent(event); }, e);
    }
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
    Json params{{"session", session_}, {"stream", e.stream == core::Stream::Stdout ? "stdout" : "stderr"},
                {"text", std::move(e.text)}};
    ownerFields(e.owner, params);
    peer_->notify("output", params);
  }

  void onEvent(core::DisplayEvent& e) {
    Json params{{"session", session_}, {"data", toJson(e.data)}};
    ownerFields(e.owner, params);
    peer_->notify("display", params);
  }

  void onEvent(core::ExecStartedEvent& e) {
    if (finishedInBatch_.count(e.seq)) return;
    Json params{{"seq", e.seq}};
    if (e.execCount) params["execCount"] = *e.execCount;
    peer_->notify("worker/execStarted", params);
  }

  void onEvent(core::ExecDoneEvent& e) {
    stopEscalation(e.outcome.seq);
    if (e.outcome.execCount) lastCount_ = *e.outcome.execCount;
    auto it = execs_.find(e.outcome.seq);
    if (it == execs_.end()) return;
    it->second.reply(toJson(e.outcome, lastCount_));
    execs_.erase(it);
  }

  void onEvent(core::InputRequestEvent& e) {
    Json params{{"session", session_}, {"prompt", e.prompt}, {"password", e.password}};
    ownerFields(e.owner, params);
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

  void onEvent(core::JobDoneEvent& e) {
    auto it = jobs_.find(e.seq);
    if (it == jobs_.end()) return;
    if (e.error) {
      it->second.error(rpc::ErrorCode::InvalidParams, *e.error);
    } else if (it->second.method() == "worker/configure") {
      it->second(Json{{"pid", ::getpid()}});
    } else {
      it->second(nullptr);
    }
    jobs_.erase(it);
  }

  void onEvent(core::ReadyEvent& e) {
    peer_->notify("worker/ready", Json{{"pid", ::getpid()}, {"backends", e.backends}});
  }

  struct PendingExec {
    rpc::ReplyOnce reply;
  };

  core::Engine& engine_;
  uv_loop_t loop_{};
  std::unique_ptr<rpc::Peer> peer_;
  rpc::UvHandle<uv_async_t> outboxAsync_;
  rpc::UvHandle<uv_async_t> postAsync_;
  std::mutex postMu_;
  std::vector<std::function<void()>> posted_;
  WorkQueue service_;
  std::string session_;
  std::map<std::uint64_t, PendingExec> execs_;
  std::map<std::uint64_t, rpc::ReplyOnce> jobs_;
  std::uint64_t nextJob_ = 1;
  std::map<std::uint64_t, rpc::Id> inputs_;
  std::set<std::uint64_t> escalating_;
  std::set<std::uint64_t> finishedInBatch_;
  rpc::UvHandle<uv_timer_t> escalationTimer_;
  int lastCount_ = 0;
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace

int runWorker(const WorkerOptions& options) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (options.parentPid != 0 && ::getppid() != options.parentPid) return 0;  // the supervisor already died

  sigset_t block, previous;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &previous);  // threads started now inherit the block

  core::EngineConfig config;
  config.executable = options.executable;
  core::Engine engine(config);
  WorkerIo io(engine);
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
