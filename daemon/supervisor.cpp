#include "daemon/supervisor.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "daemon/logging.h"
#include "daemon/output_frames.h"
#include "daemon/python_env.h"
#include "daemon/worker_link.h"
#include "daemon/worker_process.h"
#include "rpc/peer.h"
#include "rpc/protocol.h"
#include "rpc/utf8.h"

#ifndef ASYNCODE_VERSION
#define ASYNCODE_VERSION "0.0.0"
#endif
#ifndef ASYNCODE_PYTHON_VERSION
#define ASYNCODE_PYTHON_VERSION "3"
#endif
#ifndef ASYNCODE_PYTHON_SITE_DIRS
#define ASYNCODE_PYTHON_SITE_DIRS ""
#endif

namespace asyncode::daemon {
namespace {

using rpc::Json;
using Clock = std::chrono::steady_clock;

// Output notifications queued for the client above this stop the reading of workers
// (their user code then blocks on write); below the low mark reading resumes.
constexpr std::size_t kClientHighWater = 1 << 20;
constexpr std::size_t kClientLowWater = 256 << 10;
// A client that sends requests without reading answers is not read further above this.
constexpr std::size_t kClientHardLimit = 64 << 20;
constexpr std::uint64_t kTimeoutGraceMs = 2000;  // the ladder's grace after timeoutMs
constexpr std::uint64_t kStopGraceMs = 200;      // shutdown: asked workers get this long
constexpr int kCrashLoopLimit = 5;               // automatic restarts within kCrashLoopWindow
constexpr auto kCrashLoopWindow = std::chrono::seconds(10);

std::vector<std::string> availableBackends() {
  std::vector<std::string> found{"asyncio"};
  if (importable("trio", ASYNCODE_PYTHON_SITE_DIRS, ASYNCODE_PYTHON_VERSION)) found.emplace_back("trio");
  return found;
}

Json errorResult(const std::string& type, const std::string& message) {
  return Json{{"type", type}, {"message", message}, {"traceback", Json::array()},
              {"formatted", type + ": " + message + "\n"}};
}

}  // namespace

class Supervisor::Impl {
 public:
  explicit Impl(SupervisorOptions options) : options_(std::move(options)) { uv_loop_init(&loop_); }

  ~Impl() {
    client_.reset();
    sessions_.clear();
    workers_.clear();
    for (auto* s : {&sigterm_, &sighup_, &sigint_}) s->reset();
    for (auto* t : {&stopTimer_, &forceTimer_}) t->reset();
    rpc::closeLoop(&loop_);
  }

  int run() {
    ::signal(SIGPIPE, SIG_IGN);
    client_ = std::make_unique<rpc::Peer>(&loop_, STDIN_FILENO, STDOUT_FILENO, rpc::FrameLimits{});
    client_->setOnClosed([this](int status) {
      if (status < 0) spdlog::info("the client link closed: {}", uv_strerror(status));
      beginShutdown(/*thenExit=*/true, 0);
    });
    client_->setOnWritten([this] { onClientWritten(); });
    bindHandlers();
    for (auto [handle, sig] : {std::pair{&sigterm_, SIGTERM}, std::pair{&sighup_, SIGHUP}, std::pair{&sigint_, SIGINT}}) {
      *handle = rpc::UvHandle<uv_signal_t>(uv_signal_init, &loop_);
      (*handle)->data = this;
      uv_signal_start(
          handle->get(),
          [](uv_signal_t* h, int signum) {
            auto* self = static_cast<Impl*>(h->data);
            if (!self) return;
            spdlog::info("signal {}: shutting down", signum);
            self->beginShutdown(true, 0);
          },
          sig);
    }
    addLogForwarder([this](const std::string& level, const std::string& message) {
      if (initialized_ && client_ && client_->canWrite()) client_->notify("log", rpc::LogParams{level, message});
    });
    replenishSpares();
    client_->start();
    uv_run(&loop_, UV_RUN_DEFAULT);
    return exitCode_;
  }

 private:
  // ---- the worker table -----------------------------------------------------------
  struct Session;
  struct Worker {
    explicit Worker(const Magic& m) : magic(m), demux{FrameDemuxer(m), FrameDemuxer(m)} {}
    std::uint64_t id = 0;
    std::unique_ptr<WorkerProcess> proc;
    std::weak_ptr<Session> session;  // empty: a spare, or retired
    Magic magic;
    FrameDemuxer demux[2];
    std::string displayParts[2];
    rpc::Utf8Decoder decoders[2];
    bool retired = false;
  };

  struct TimerContext {
    Impl* self;
    std::string session;
    std::uint64_t seq;
  };

  struct ExecEntry {
    ExecEntry() = default;
    ExecEntry(const ExecEntry&) = delete;
    ExecEntry& operator=(const ExecEntry&) = delete;
    ~ExecEntry() {
      for (auto* t : {&timeoutTimer, &graceTimer})
        if (*t) delete static_cast<TimerContext*>((*t)->data);
    }
    std::uint64_t seq = 0;
    Json clientId;
    Json params;  // as sent to a worker
    rpc::ReplyOnce reply;
    std::optional<std::int64_t> timeoutMs;
    bool silent = false;
    std::uint64_t sentTo = 0;
    bool started = false;
    std::optional<int> execCount;
    Clock::time_point startedAt = Clock::now();
    std::vector<rpc::ReplyOnce> interruptWaiters;
    std::optional<core::InterruptReason> reason;
    rpc::UvHandle<uv_timer_t> timeoutTimer;
    rpc::UvHandle<uv_timer_t> graceTimer;
    Clock::time_point graceDeadline = Clock::time_point::max();
  };

  struct Session {
    std::string name;
    rpc::Backend backend = rpc::Backend::asyncio;
    bool syncInLoop = false;
    std::optional<std::string> cwd;
    std::map<std::string, std::string> env;
    std::string executable;
    bool ownEnvironment = false;  // env or python given: no spare fits
    std::uint64_t workerId = 0;
    std::int64_t pid = 0;
    bool configured = false;
    rpc::SessionState state = rpc::SessionState::dead;  // until its first worker starts
    std::deque<std::unique_ptr<ExecEntry>> execs;
    std::vector<rpc::ReplyOnce> openWaiters;
    std::deque<Clock::time_point> restarts;
    int lastExecCount = 0;
  };

  Worker* worker(std::uint64_t id) {
    auto it = workers_.find(id);
    return it == workers_.end() ? nullptr : it->second.get();
  }

  WorkerSpec specFor(const Session* s) const {
    WorkerSpec spec;
    spec.self = options_.self;
    spec.executable = s && !s->executable.empty() ? s->executable : options_.executable;
    spec.logLevel = options_.logLevel;
    if (s) spec.env = s->env;
    return spec;
  }

  Worker* spawnWorker(WorkerSpec spec) {
    auto w = std::make_unique<Worker>(randomMagic());
    spec.outputMagic = magicToHex(w->magic);
    const std::uint64_t id = nextWorkerId_++;
    w->id = id;
    w->proc = std::make_unique<WorkerProcess>(
        &loop_, spec,
        WorkerProcess::Callbacks{
            [this, id](ExitStatus status) { onWorkerExit(id, status); },
            [this, id](core::Stream stream, std::string_view bytes) { onWorkerOutput(id, stream, bytes); },
        });
    auto& peer = w->proc->peer();
    peer.setRawFilter([this, id](std::string& body) { return forwardVerbatim(id, body); });
    peer.setOnClosed([this, id](int) {
      if (Worker* x = worker(id); x && x->proc->running()) x->proc->kill(SIGKILL);  // the exit follows
    });
    peer.setOnBadMessage([id](const rpc::BadMessage& bad) {
      spdlog::error("worker {} sent a bad message: {}", id, bad.error.message);
    });
    auto& lane = w->proc->lane();
    lane.setOnClosed([this, id](int) {
      if (Worker* x = worker(id); x && x->proc->running()) x->proc->kill(SIGKILL);
    });
    lane.setOnBadMessage([id](const rpc::BadMessage& bad) {
      spdlog::error("worker {} sent a bad message on its exec lane: {}", id, bad.error.message);
    });
    lane.dispatcher().onNotification("worker/execStarted", [this, id](const Json& p) { onExecStarted(id, p); });
    auto& d = peer.dispatcher();
    d.onNotification("worker/ready", [this, id](const Json& p) { onWorkerReady(id, p); });
    d.onNotification("$/cancelRequest", [this, id](const Json& p) { onWorkerCancelledInput(id, p); });
    d.onRequest("input", [this, id](const Json& p, rpc::ReplyOnce reply) { onWorkerInput(id, p, std::move(reply)); });
    if (outputPaused_) w->proc->pauseOutput();
    peer.start();
    lane.start();
    spdlog::debug("worker {} started, pid {}", id, w->proc->pid());
    Worker* raw = w.get();
    workers_.emplace(id, std::move(w));
    return raw;
  }

  void replenishSpares() {
    if (exiting_ || options_.spares <= 0 || spareId_ != 0) return;
    const auto now = Clock::now();
    while (!spareDeaths_.empty() && now - spareDeaths_.front() > kCrashLoopWindow) spareDeaths_.pop_front();
    if (static_cast<int>(spareDeaths_.size()) >= kCrashLoopLimit) {
      spdlog::error("spare workers keep dying; not starting another for now");
      return;
    }
    try {
      spareId_ = spawnWorker(specFor(nullptr))->id;
    } catch (const std::exception& e) {
      spdlog::error("cannot start a spare worker: {}", e.what());
    }
  }

  // A worker for a session: the warm spare when it fits, else a new process.
  Worker* takeWorker(const Session& s) {
    if (!s.ownEnvironment && spareId_ != 0) {
      Worker* w = worker(spareId_);
      spareId_ = 0;
      if (w && w->proc->running()) {
        replenishSpares();
        return w;
      }
    }
    Worker* w = spawnWorker(specFor(&s));
    if (!s.ownEnvironment) replenishSpares();
    return w;
  }

  void retire(Worker* w) {
    if (!w) return;
    w->retired = true;
    w->session.reset();
    if (w->proc->running()) w->proc->kill(SIGKILL);
  }

  // ---- sessions -------------------------------------------------------------------
  std::shared_ptr<Session> findSession(const std::string& name) {
    auto it = sessions_.find(name);
    return it == sessions_.end() ? nullptr : it->second;
  }

  // The session a request names; "default" opens on first use.
  std::shared_ptr<Session> sessionFor(const std::string& name) {
    if (auto s = findSession(name)) return s;
    if (name != rpc::kDefaultSession)
      throw rpc::RpcException(rpc::ErrorCode::InvalidParams,
                              "no session named \"" + name + "\" (open it with session/open)");
    auto s = std::make_shared<Session>();
    s->name = name;
    sessions_.emplace(name, s);
    startWorker(*s);
    return s;
  }

  void startWorker(Session& s) {
    Worker* w = nullptr;
    try {
      w = takeWorker(s);
    } catch (const std::exception& e) {
      spdlog::error("session {}: {}", s.name, e.what());
      failSessionStart(s, e.what());
      return;
    }
    w->session = sessions_.at(s.name);
    s.workerId = w->id;
    s.pid = w->proc->pid();
    s.configured = false;
    s.lastExecCount = 0;  // a new worker counts its execs from 1
    setState(s, rpc::SessionState::starting);
    Json params{{"session", s.name},
                {"backend", rpc::toString(s.backend)},
                {"syncInLoop", s.syncInLoop},
                {"input", inputCapable_}};
    if (s.cwd) params["cwd"] = *s.cwd;
    const std::uint64_t id = w->id;
    const std::string name = s.name;
    w->proc->lane().request("worker/configure", params, [this, id, name](rpc::Response&& r) {
      onConfigured(name, id, std::move(r));
    });
    for (auto& e : s.execs)
      if (e->sentTo == 0) sendExec(s, *e);
  }

  void onConfigured(const std::string& name, std::uint64_t wid, rpc::Response&& r) {
    auto s = findSession(name);
    if (!s || s->workerId != wid) return;
    if (r.error) {
      Worker* w = worker(wid);
      if (!w || !w->proc->running() || w->proc->lane().closed()) return;  // it died: onWorkerExit decides
      const std::string message = "cannot start session \"" + name + "\" (" + rpc::toString(s->backend) +
                                  "): " + r.error->message;
      spdlog::warn("{}", message);
      for (auto& waiter : s->openWaiters) waiter.error(rpc::ErrorCode::InvalidParams, message);
      s->openWaiters.clear();
      closeSession(*s, "the session could not start: " + r.error->message);
      return;
    }
    s->configured = true;
    const rpc::SessionInfo info{s->name, s->pid, s->backend};
    for (auto& waiter : s->openWaiters) waiter(Json(info));
    s->openWaiters.clear();
    setState(*s, s->execs.empty() ? rpc::SessionState::idle : rpc::SessionState::busy);
  }

  void failSessionStart(Session& s, const std::string& why) {
    for (auto& waiter : s.openWaiters) waiter.error(rpc::ErrorCode::InternalError, why);
    s.openWaiters.clear();
    for (auto& e : s.execs) answerDied(s, *e, "the session's worker could not start: " + why);
    s.execs.clear();
    s.workerId = 0;
    setState(s, rpc::SessionState::dead);
  }

  void setState(Session& s, rpc::SessionState state) {
    if (s.state == state) return;
    s.state = state;
    if (!initialized_ || exiting_) return;
    rpc::StatusParams p{s.name, state, s.pid ? std::optional<std::int64_t>(s.pid) : std::nullopt};
    client_->notify("status", Json(p));
  }

  void updateBusy(Session& s) {
    if (!s.configured || s.workerId == 0) return;
    setState(s, s.execs.empty() ? rpc::SessionState::idle : rpc::SessionState::busy);
  }

  // Ends a session: its worker goes, its execs are answered.
  void closeSession(Session& s, const std::string& why) {
    const std::string name = s.name;  // `s` dies with the map entry
    auto keep = findSession(name);
    retire(worker(s.workerId));
    s.workerId = 0;
    bool first = true;
    for (auto& e : s.execs) {
      if (first && e->sentTo != 0) {
        answerDied(s, *e, why);
      } else if (e->reply.pending()) {
        e->reply.error(rpc::ErrorCode::RequestCancelled, why);
        resolveInterrupts(*e, true, rpc::InterruptHow::cancelled);
      }
      first = false;
    }
    s.execs.clear();
    for (auto& waiter : s.openWaiters) waiter.error(rpc::ErrorCode::InternalError, why);
    s.openWaiters.clear();
    setState(s, rpc::SessionState::dead);
    sessions_.erase(name);
  }

  // ---- execs --------------------------------------------------------------------------
  void sendExec(Session& s, ExecEntry& e) {
    Worker* w = worker(s.workerId);
    if (!w) return;
    e.sentTo = w->id;
    e.started = false;
    e.startedAt = Clock::now();
    const std::uint64_t wid = w->id, seq = e.seq;
    const std::string name = s.name;
    w->proc->lane().request("exec", e.params, [this, name, wid, seq](rpc::Response&& r) {
      onExecResponse(name, wid, seq, std::move(r));
    });
  }

  ExecEntry* findExec(Session& s, std::uint64_t seq) {
    for (auto& e : s.execs)
      if (e->seq == seq) return e.get();
    return nullptr;
  }

  void removeExec(Session& s, std::uint64_t seq) {
    for (auto it = s.execs.begin(); it != s.execs.end(); ++it) {
      if ((*it)->seq == seq) {
        s.execs.erase(it);
        return;
      }
    }
  }

  void onExecResponse(const std::string& name, std::uint64_t wid, std::uint64_t seq, rpc::Response&& r) {
    auto s = findSession(name);
    if (!s || s->workerId != wid) return;
    Worker* w = worker(wid);
    if (r.error && (!w || w->proc->lane().closed() || !w->proc->running())) return;  // death answers it
    ExecEntry* e = findExec(*s, seq);
    if (!e) return;
    rpc::Peer::Batch batch(*client_);  // its last output, its answer and "idle" in one write: one wake-up
    if (!e->reply.pending()) {  // cancelled while queued: answered already
      removeExec(*s, seq);
      updateBusy(*s);
      return;
    }
    if (w) drainWorkerOutput(*w);  // fd-level output of this exec comes before its answer
    if (r.error) {
      e->reply.error(r.error->code, r.error->message);
      resolveInterrupts(*e, true, rpc::InterruptHow::cancelled);
    } else {
      Json result = std::move(*r.result);
      rpc::InterruptHow how = rpc::InterruptHow::none;
      if (auto it = result.find(kInterruptedHowKey); it != result.end()) {
        how = rpc::interruptHowFromString(it->get<std::string>());
        result.erase(it);
      }
      if (auto c = result.find("execCount"); c != result.end() && c->is_number_integer())
        s->lastExecCount = c->get<int>();
      e->reply(result);
      resolveInterrupts(*e, how != rpc::InterruptHow::none, how);
    }
    removeExec(*s, seq);
    updateBusy(*s);
  }

  void resolveInterrupts(ExecEntry& e, bool interrupted, rpc::InterruptHow how) {
    for (auto& waiter : e.interruptWaiters)
      waiter(Json(rpc::InterruptResult{interrupted, interrupted ? how : rpc::InterruptHow::none}));
    e.interruptWaiters.clear();
  }

  // The answer of an exec whose worker died under it.
  void answerDied(Session& s, ExecEntry& e, const std::string& why) {
    if (!e.reply.pending()) return;
    const char* status = !e.reason                                   ? "error"
                         : *e.reason == core::InterruptReason::Timeout ? "timeout"
                                                                     : "interrupted";
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - e.startedAt).count();
    Json result{{"execCount", countOf(s, e)},
                {"status", status},
                {"error", errorResult("WorkerDied", why)},
                {"durationMs", ms},
                {"awaited", false}};
    e.reply(result);
    resolveInterrupts(e, true, rpc::InterruptHow::restarted);
  }

  void onExecStarted(std::uint64_t wid, const Json& params) {
    Worker* w = worker(wid);
    auto s = w ? w->session.lock() : nullptr;
    if (!s || s->workerId != wid) return;
    std::int64_t seq = 0;
    std::optional<int> count;
    rpc::ObjectMapper(params, "params").required("seq", seq).optional("execCount", count);
    ExecEntry* e = findExec(*s, static_cast<std::uint64_t>(seq));
    if (!e) return;
    e->started = true;
    e->execCount = count;
    e->startedAt = Clock::now();
    if (e->timeoutMs) {
      e->timeoutTimer = rpc::UvHandle<uv_timer_t>(uv_timer_init, &loop_);
      e->timeoutTimer->data = new TimerContext{this, s->name, e->seq};
      uv_timer_start(e->timeoutTimer.get(), &Impl::onTimeoutTimer, static_cast<std::uint64_t>(*e->timeoutMs), 0);
    }
  }

  static TimerContext* takeContext(uv_timer_t* t) {
    auto* ctx = static_cast<TimerContext*>(t->data);
    t->data = nullptr;
    return ctx;
  }

  static void onTimeoutTimer(uv_timer_t* t) {
    std::unique_ptr<TimerContext> ctx(takeContext(t));
    if (!ctx) return;
    auto s = ctx->self->findSession(ctx->session);
    if (!s) return;
    if (ExecEntry* e = ctx->self->findExec(*s, ctx->seq))
      ctx->self->interruptExec(*s, *e, core::InterruptReason::Timeout, kTimeoutGraceMs);
  }

  static void onGraceTimer(uv_timer_t* t) {
    std::unique_ptr<TimerContext> ctx(takeContext(t));
    if (!ctx) return;
    auto s = ctx->self->findSession(ctx->session);
    if (!s) return;
    ExecEntry* e = ctx->self->findExec(*s, ctx->seq);
    Worker* w = ctx->self->worker(s->workerId);
    if (!e || !w || e->sentTo != w->id) return;
    spdlog::warn("session {}: the exec did not stop within its grace period; restarting the session", s->name);
    w->proc->kill(SIGKILL);  // onWorkerExit answers the exec (WorkerDied) and restarts the session
  }

  // The ladder: the worker cancels or raises KeyboardInterrupt; after graceMs, the kill.
  void interruptExec(Session& s, ExecEntry& e, core::InterruptReason reason, std::uint64_t graceMs) {
    Worker* w = worker(s.workerId);
    if (!w || e.sentTo != w->id) return;
    if (!e.reason) e.reason = reason;
    w->proc->peer().request("interrupt",
                            Json{{"seq", e.seq}, {"reason", reason == core::InterruptReason::Timeout ? "timeout" : "interrupt"}},
                            [](rpc::Response&&) {});
    const auto deadline = Clock::now() + std::chrono::milliseconds(graceMs);
    if (deadline < e.graceDeadline) {
      e.graceDeadline = deadline;
      if (!e.graceTimer) e.graceTimer = rpc::UvHandle<uv_timer_t>(uv_timer_init, &loop_);
      delete takeContext(e.graceTimer.get());
      e.graceTimer->data = new TimerContext{this, s.name, e.seq};
      uv_timer_start(e.graceTimer.get(), &Impl::onGraceTimer, graceMs, 0);
    }
  }

  // ---- what workers say -----------------------------------------------------------------
  bool forwardVerbatim(std::uint64_t wid, std::string& body) {
    static constexpr std::string_view kOutput = R"({"jsonrpc":"2.0","method":"output",)";
    static constexpr std::string_view kDisplay = R"({"jsonrpc":"2.0","method":"display",)";
    const std::string_view b(body);
    if (b.substr(0, kOutput.size()) != kOutput && b.substr(0, kDisplay.size()) != kDisplay) return false;
    Worker* w = worker(wid);
    if (w && !w->retired && !exiting_ && initialized_) sendToClient(body);
    return true;
  }

  void onWorkerOutput(std::uint64_t wid, core::Stream stream, std::string_view bytes) {
    Worker* w = worker(wid);
    if (!w) return;
    const int i = stream == core::Stream::Stdout ? 0 : 1;
    w->demux[i].feed(
        bytes, [&](std::string_view text) { onPlainOutput(*w, stream, text); },
        [&](char kind, std::string_view owner, std::string_view payload) {
          onOutputFrame(*w, stream, kind, owner, payload);
        });
  }

  // Everything a worker's pipes still hold, now (before an exec's answer, after a death).
  void drainWorkerOutput(Worker& w) {
    w.proc->drainOutput();
    for (int i = 0; i < 2; ++i) {
      const auto stream = i == 0 ? core::Stream::Stdout : core::Stream::Stderr;
      w.demux[i].flush([&](std::string_view text) { onPlainOutput(w, stream, text); });
    }
  }

  // Output a worker wrote at the file-descriptor level (C code, child processes): it
  // belongs to the exec running when it is read, the oldest one the worker has not
  // answered (execs run one at a time, in order).
  void onPlainOutput(Worker& w, core::Stream stream, std::string_view bytes) {
    std::string text = w.decoders[stream == core::Stream::Stdout ? 0 : 1].decode(bytes);
    if (text.empty()) return;
    auto s = w.session.lock();
    if (!s || !initialized_ || exiting_) {
      spdlog::debug("worker {} wrote {} bytes nobody owns", w.id, text.size());
      return;
    }
    ExecEntry* front = !s->execs.empty() && s->execs.front()->sentTo == w.id ? s->execs.front().get() : nullptr;
    sendFdOutput(*s, front, stream, std::move(text));
  }

  // The count of the exec at the front: known from the worker, or derived, as every
  // exec before it has answered.
  static int countOf(const Session& s, const ExecEntry& e) {
    return e.execCount.value_or(s.lastExecCount + (e.silent ? 0 : 1));
  }

  // Python-level output and displays, framed with their owner (output_frames.h).
  void onOutputFrame(Worker& w, core::Stream stream, char kind, std::string_view owner, std::string_view payload) {
    auto s = w.session.lock();
    if (!s || !initialized_ || exiting_ || w.retired) return;
    Json requestId = nullptr, execCount = nullptr;
    if (!owner.empty()) {
      Json o = Json::parse(owner, nullptr, false);
      if (o.is_array() && o.size() == 2) {
        requestId = o[0];
        execCount = o[1];
      }
    }
    const int i = stream == core::Stream::Stdout ? 0 : 1;
    if (kind == 'o') {
      Json params{{"session", s->name},
                  {"stream", i == 0 ? "stdout" : "stderr"},
                  {"text", std::string(payload)},
                  {"requestId", std::move(requestId)},
                  {"execCount", std::move(execCount)}};
      sendToClient(rpc::serializeNotification("output", params));
    } else if (kind == 'd' || kind == 'D') {
      w.displayParts[i].append(payload);
      if (kind == 'd') return;
      Json data = Json::parse(w.displayParts[i], nullptr, false);
      w.displayParts[i].clear();
      if (data.is_discarded()) return;
      Json params{{"session", s->name},
                  {"data", std::move(data)},
                  {"requestId", std::move(requestId)},
                  {"execCount", std::move(execCount)}};
      sendToClient(rpc::serializeNotification("display", params));
    }
  }

  void sendFdOutput(Session& s, const ExecEntry* owner, core::Stream stream, std::string text) {
    Json params{{"session", s.name},
                {"stream", stream == core::Stream::Stdout ? "stdout" : "stderr"},
                {"text", std::move(text)},
                {"requestId", owner ? owner->clientId : Json(nullptr)},
                {"execCount", owner ? Json(countOf(s, *owner)) : Json(nullptr)}};
    sendToClient(rpc::serializeNotification("output", params));
  }

  void onWorkerReady(std::uint64_t wid, const Json& params) {
    Worker* w = worker(wid);
    if (!w) return;
    w->proc->ready = true;
    spdlog::debug("worker {} ready after {:.1f} ms", wid,
                  std::chrono::duration<double, std::milli>(Clock::now() - w->proc->spawned).count());
    (void)params;
    if (wid == spareId_) w->proc->lane().notify("worker/preload", nullptr);
  }

  void onWorkerInput(std::uint64_t wid, const Json& params, rpc::ReplyOnce reply) {
    if (!inputCapable_ || !client_ || client_->closed()) {
      reply.error(rpc::ErrorCode::InternalError, "the client does not answer input requests");
      return;
    }
    auto shared = std::make_shared<rpc::ReplyOnce>(std::move(reply));
    const Json linkId = shared->id();
    Json request = params;
    if (Worker* w = worker(wid); w && w->session.lock()) request["session"] = w->session.lock()->name;
    const rpc::Id clientId = client_->request("input", request, [this, shared, wid, linkId](rpc::Response&& r) {
      forgetInput(wid, linkId);
      if (r.result) {
        (*shared)(*r.result);
      } else {
        shared->error(r.error ? r.error->code : rpc::ErrorCode::InternalError,
                      r.error ? r.error->message : "no answer");
      }
    });
    inputs_.push_back(PendingInput{wid, linkId, clientId, shared});
  }

  void forgetInput(std::uint64_t wid, const Json& linkId) {
    for (auto it = inputs_.begin(); it != inputs_.end(); ++it) {
      if (it->worker == wid && it->linkId == linkId) {
        inputs_.erase(it);
        return;
      }
    }
  }

  // input() stopped waiting (interrupted): take the request back from the client.
  void onWorkerCancelledInput(std::uint64_t wid, const Json& params) {
    const auto id = params.find("id");
    if (id == params.end()) return;
    for (auto it = inputs_.begin(); it != inputs_.end(); ++it) {
      if (it->worker == wid && it->linkId == *id) {
        client_->forget(it->clientId);
        client_->notify("$/cancelRequest", Json{{"id", it->clientId}});
        it->reply->error(rpc::ErrorCode::RequestCancelled, "input() was interrupted");
        inputs_.erase(it);
        return;
      }
    }
  }

  void onWorkerExit(std::uint64_t wid, ExitStatus status) {
    auto it = workers_.find(wid);
    if (it == workers_.end()) return;
    Worker* w = it->second.get();
    w->proc->lane().readAvailable();  // answers it sent before it ended
    w->proc->peer().readAvailable();
    auto s = w->session.lock();
    drainWorkerOutput(*w);
    // Input requests it had asked the client are void now.
    for (auto i = inputs_.begin(); i != inputs_.end();) {
      if (i->worker == wid) {
        client_->forget(i->clientId);
        if (!exiting_) client_->notify("$/cancelRequest", Json{{"id", i->clientId}});
        i = inputs_.erase(i);
      } else {
        ++i;
      }
    }
    if (wid == spareId_) {
      spareId_ = 0;
      if (!exiting_) {
        spdlog::warn("the spare worker {}", status.describe());
        spareDeaths_.push_back(Clock::now());
      }
    }
    if (s && s->workerId == wid && !w->retired) {
      if (!exiting_) spdlog::warn("session {}: the worker (pid {}) {}", s->name, w->proc->pid(), status.describe());
      onSessionWorkerDied(*s, status);
    }
    workers_.erase(wid);  // destroys the process handle from inside its own callback: fine in libuv
    if (exiting_) {
      maybeFinishShutdown();
    } else {
      replenishSpares();
    }
  }

  void onSessionWorkerDied(Session& s, ExitStatus status) {
    s.workerId = 0;
    setState(s, rpc::SessionState::dead);
    const std::string why = "the session's worker " + status.describe();
    if (!s.execs.empty() && s.execs.front()->sentTo != 0) {
      answerDied(s, *s.execs.front(), why);
      s.execs.pop_front();
    }
    std::erase_if(s.execs, [](const auto& e) { return !e->reply.pending(); });  // cancelled ones
    for (auto& e : s.execs) {
      e->sentTo = 0;  // sent again to the new worker
      e->started = false;
    }
    // Died before it answered worker/configure: user code of an exec sent right behind the
    // configure may have killed it; like any crash, the session restarts (a configure that
    // fails answers an error instead, in onConfigured).
    if (exiting_) return;
    const auto now = Clock::now();
    while (!s.restarts.empty() && now - s.restarts.front() > kCrashLoopWindow) s.restarts.pop_front();
    s.restarts.push_back(now);  // this death
    if (static_cast<int>(s.restarts.size()) >= kCrashLoopLimit) {
      spdlog::error("session {}: the worker died {} times in {} s; not restarting it", s.name, kCrashLoopLimit,
                    std::chrono::duration_cast<std::chrono::seconds>(kCrashLoopWindow).count());
      closeSession(s, why + " (too often: the session was closed)");
      return;
    }
    startWorker(s);
  }

  // ---- the client link ------------------------------------------------------------------
  void sendToClient(std::string_view body) {
    if (!client_ || !client_->canWrite()) return;
    client_->send(body);
    if (!outputPaused_ && client_->pendingBytes() > kClientHighWater) {
      outputPaused_ = true;
      for (auto& [id, w] : workers_) w->proc->pauseOutput();
    }
    if (!clientPaused_ && client_->pendingBytes() > kClientHardLimit) {
      clientPaused_ = true;
      client_->pauseReading();
    }
  }

  void onClientWritten() {
    const std::size_t pending = client_->pendingBytes();
    if (outputPaused_ && pending < kClientLowWater) {
      outputPaused_ = false;
      for (auto& [id, w] : workers_) w->proc->resumeOutput();
    }
    if (clientPaused_ && pending < kClientHighWater) {
      clientPaused_ = false;
      client_->resumeReading();
    }
    if (exiting_ && pending == 0) maybeFinishShutdown();
  }

  rpc::InitializeResult initializeResult() const {
    rpc::InitializeResult r;
    r.serverName = "asyncoded";
    r.serverVersion = ASYNCODE_VERSION;
    r.pythonVersion = ASYNCODE_PYTHON_VERSION;
    r.pythonExecutable = options_.executable;
    r.backends = backends_;
    return r;
  }

  template <class P>
  void on(const std::string& method, std::function<void(const P&, rpc::ReplyOnce)> fn) {
    client_->dispatcher().onRequest(method, [fn = std::move(fn)](const Json& params, rpc::ReplyOnce reply) {
      P p{};
      decode(params, p, "params");
      fn(p, std::move(reply));
    });
  }

  // Passes a request on to the session's worker and its answer back: on the control link,
  // or (`onLane`) in order with the session's execs.
  void forward(const std::string& session, const std::string& method, const Json& params, rpc::ReplyOnce reply,
               bool onLane = false) {
    auto s = sessionFor(session);
    Worker* w = worker(s->workerId);
    if (!w) {
      reply.error(rpc::ErrorCode::InternalError, "session \"" + session + "\" has no running worker");
      return;
    }
    auto shared = std::make_shared<rpc::ReplyOnce>(std::move(reply));
    rpc::Peer& link = onLane ? w->proc->lane() : w->proc->peer();
    link.request(method, params, [shared, session](rpc::Response&& r) {
      if (r.result) {
        (*shared)(*r.result);
      } else if (r.error && r.error->code == rpc::ErrorCode::InternalError &&
                 r.error->message == "the connection closed") {
        shared->error(rpc::ErrorCode::InternalError,
                      "session \"" + session + "\": the worker stopped before it answered");
      } else {
        shared->error(r.error ? *r.error : rpc::Error{rpc::ErrorCode::InternalError, "no answer", std::nullopt});
      }
    });
  }

  void bindHandlers() {
    auto& d = client_->dispatcher();
    d.setGate([this](const std::string& method) -> std::optional<rpc::Error> {
      if (shutdownRequested_) return rpc::Error{rpc::ErrorCode::InvalidRequest, "the daemon is shutting down", std::nullopt};
      if (!initialized_ && method != "initialize")
        return rpc::Error{rpc::ErrorCode::ServerNotInitialized, "send initialize first", std::nullopt};
      return std::nullopt;
    });
    client_->setOnBadMessage([this](const rpc::BadMessage& bad) {
      spdlog::warn("bad message from the client: {}", bad.error.message);
      sendToClient(rpc::serializeError(bad.id, bad.error));
    });

    on<rpc::InitializeParams>("initialize", [this](const rpc::InitializeParams& p, rpc::ReplyOnce reply) {
      if (initialized_) return reply.error(rpc::ErrorCode::InvalidRequest, "initialize was already sent");
      initialized_ = true;
      inputCapable_ = p.capabilities && p.capabilities->input.value_or(false);
      if (p.clientInfo) spdlog::info("client: {} {}", p.clientInfo->name, p.clientInfo->version.value_or(""));
      reply(Json(initializeResult()));
    });
    d.onRequest("shutdown", [this](const Json&, rpc::ReplyOnce reply) {
      shutdownWaiters_.push_back(std::move(reply));
      beginShutdown(false, 0);
    });
    d.onNotification("exit", [this](const Json&) {
      beginShutdown(true, shutdownRequested_ ? 0 : 1);
    });
    d.onNotification("$/cancelRequest", [this](const Json& params) { onCancelRequest(params); });

    on<rpc::SessionOpenParams>("session/open", [this](const rpc::SessionOpenParams& p, rpc::ReplyOnce reply) {
      openSession(p, std::move(reply));
    });
    on<rpc::SessionParams>("session/restart", [this](const rpc::SessionParams& p, rpc::ReplyOnce reply) {
      auto s = sessionFor(p.session);
      restartSession(*s, "the session was restarted");
      s->openWaiters.push_back(std::move(reply));
    });
    on<rpc::SessionParams>("session/close", [this](const rpc::SessionParams& p, rpc::ReplyOnce reply) {
      auto s = findSession(p.session);
      if (!s) return reply.error(rpc::ErrorCode::InvalidParams, "no session named \"" + p.session + "\"");
      closeSession(*s, "the session was closed");
      reply(nullptr);
    });
    d.onRequest("session/list", [this](const Json&, rpc::ReplyOnce reply) {
      Json list = Json::array();
      for (const auto& [name, s] : sessions_)
        list.push_back(Json(rpc::SessionListEntry{name, s->pid, s->backend, s->state}));
      reply(Json{{"sessions", std::move(list)}});
    });
    on<rpc::CompileParams>("compile", [this](const rpc::CompileParams& p, rpc::ReplyOnce reply) {
      forward(p.session, "compile", compileParams(p), std::move(reply));
    });
    on<rpc::CompileParams>("needsAwait", [this](const rpc::CompileParams& p, rpc::ReplyOnce reply) {
      forward(p.session, "needsAwait", compileParams(p), std::move(reply));
    });
    on<rpc::CursorParams>("complete", [this](const rpc::CursorParams& p, rpc::ReplyOnce reply) {
      forward(p.session, "complete", Json{{"code", p.code}, {"cursor", p.cursor}}, std::move(reply));
    });
    on<rpc::CursorParams>("inspect", [this](const rpc::CursorParams& p, rpc::ReplyOnce reply) {
      forward(p.session, "inspect", Json{{"code", p.code}, {"cursor", p.cursor}}, std::move(reply));
    });
    on<rpc::SessionParams>("variables", [this](const rpc::SessionParams& p, rpc::ReplyOnce reply) {
      forward(p.session, "variables", Json::object(), std::move(reply));
    });
    on<rpc::SessionParams>("reset", [this](const rpc::SessionParams& p, rpc::ReplyOnce reply) {
      forward(p.session, "reset", Json::object(), std::move(reply), /*onLane=*/true);
    });
    on<rpc::ExecParams>("exec", [this](const rpc::ExecParams& p, rpc::ReplyOnce reply) { exec(p, std::move(reply)); });
    on<rpc::InterruptParams>("interrupt", [this](const rpc::InterruptParams& p, rpc::ReplyOnce reply) {
      interrupt(p, std::move(reply));
    });
  }

  static Json compileParams(const rpc::CompileParams& p) {
    Json j{{"code", p.code}};
    if (p.mode) j["mode"] = rpc::toString(*p.mode);
    return j;
  }

  void openSession(const rpc::SessionOpenParams& p, rpc::ReplyOnce reply) {
    if (auto s = findSession(p.session)) {
      if (s->backend != p.backend)
        return reply.error(rpc::ErrorCode::InvalidParams,
                           "session \"" + p.session + "\" is already open with backend " + rpc::toString(s->backend));
      if (p.syncInLoop != s->syncInLoop || (p.cwd && p.cwd != s->cwd) || (p.env && *p.env != s->env) ||
          (p.python && !s->ownEnvironment))
        return reply.error(rpc::ErrorCode::InvalidParams, "session \"" + p.session +
                                                              "\" is already open with other settings: close it first");
      if (s->configured) return reply(Json(rpc::SessionInfo{s->name, s->pid, s->backend}));
      s->openWaiters.push_back(std::move(reply));
      return;
    }
    if (!p.python) {  // a venv may have what the system lacks: its worker will tell
      const std::string wanted = rpc::toString(p.backend);
      bool known = false;
      for (const auto& b : backends_) known = known || b == wanted;
      if (!known)
        return reply.error(rpc::ErrorCode::InvalidParams,
                           "backend \"" + wanted + "\" is not available: Python cannot import " + wanted);
    }
    if (p.cwd) {
      struct stat st {};
      if (::stat(p.cwd->c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return reply.error(rpc::ErrorCode::InvalidParams, "cwd \"" + *p.cwd + "\" is not a directory");
    }
    auto s = std::make_shared<Session>();
    s->name = p.session;
    s->backend = p.backend;
    s->syncInLoop = p.syncInLoop;
    s->cwd = p.cwd;
    if (p.env) s->env = *p.env;
    if (p.python) {
      auto resolved = resolvePython(*p.python, ASYNCODE_PYTHON_VERSION);
      if (!resolved.error.empty()) return reply.error(rpc::ErrorCode::InvalidParams, resolved.error);
      s->executable = resolved.executable;
    }
    s->ownEnvironment = p.env.has_value() || p.python.has_value();
    sessions_.emplace(s->name, s);
    s->openWaiters.push_back(std::move(reply));
    startWorker(*s);
  }

  void restartSession(Session& s, const std::string& why) {
    retire(worker(s.workerId));
    s.workerId = 0;
    bool first = true;
    for (auto& e : s.execs) {
      if (first && e->sentTo != 0) {
        answerDied(s, *e, why);
      } else if (e->reply.pending()) {
        e->reply.error(rpc::ErrorCode::RequestCancelled, why);
        resolveInterrupts(*e, true, rpc::InterruptHow::cancelled);
      }
      first = false;
    }
    s.execs.clear();
    setState(s, rpc::SessionState::dead);
    s.restarts.clear();
    startWorker(s);
  }

  void exec(const rpc::ExecParams& p, rpc::ReplyOnce reply) {
    auto s = sessionFor(p.session);
    auto e = std::make_unique<ExecEntry>();
    e->seq = nextSeq_++;
    e->clientId = reply.id();
    e->timeoutMs = p.timeoutMs;
    e->silent = p.silent;
    e->params = Json{{"seq", e->seq},
                     {"code", p.code},
                     {"mode", rpc::toString(p.mode)},
                     {"silent", p.silent},
                     {"requestId", reply.id()}};
    if (p.filename) e->params["filename"] = *p.filename;
    if (p.timeoutMs) e->params["timeoutMs"] = *p.timeoutMs;
    e->reply = std::move(reply);
    ExecEntry& ref = *e;
    s->execs.push_back(std::move(e));
    if (s->workerId != 0) sendExec(*s, ref);
    updateBusy(*s);
  }

  void interrupt(const rpc::InterruptParams& p, rpc::ReplyOnce reply) {
    auto s = findSession(p.session);
    // The running exec: the oldest not answered (one cancelled while queued is answered).
    auto running = s ? std::find_if(s->execs.begin(), s->execs.end(), [](const auto& e) { return e->reply.pending(); })
                     : decltype(s->execs.begin()){};
    if (!s || running == s->execs.end()) return reply(Json(rpc::InterruptResult{false, rpc::InterruptHow::none}));
    ExecEntry& e = **running;
    if (e.sentTo == 0) {  // its worker is still starting: it never ran
      e.reason = core::InterruptReason::Interrupt;
      Json result{{"execCount", s->lastExecCount},
                  {"status", "interrupted"},
                  {"error", errorResult("KeyboardInterrupt", "interrupted before it started")},
                  {"durationMs", 0.0},
                  {"awaited", false}};
      e.reply(result);
      resolveInterrupts(e, true, rpc::InterruptHow::cancelled);
      s->execs.erase(running);
      reply(Json(rpc::InterruptResult{true, rpc::InterruptHow::cancelled}));
      updateBusy(*s);
      return;
    }
    e.interruptWaiters.push_back(std::move(reply));
    interruptExec(*s, e, core::InterruptReason::Interrupt, static_cast<std::uint64_t>(p.graceMs));
  }

  void onCancelRequest(const Json& params) {
    rpc::CancelParams p;
    try {
      decode(params, p, "params");
    } catch (const rpc::DecodeError& e) {
      spdlog::debug("$/cancelRequest ignored: {}", e.what());
      return;
    }
    for (auto& [name, s] : sessions_) {
      for (std::size_t i = 0; i < s->execs.size(); ++i) {
        ExecEntry& e = *s->execs[i];
        if (e.clientId != p.id) continue;
        if (e.sentTo == 0) {
          e.reply.error(rpc::ErrorCode::RequestCancelled, "the exec was cancelled");
          s->execs.erase(s->execs.begin() + static_cast<std::ptrdiff_t>(i));
          updateBusy(*s);
        } else if (i == 0) {
          interruptExec(*s, e, core::InterruptReason::Interrupt, 2000);
        } else if (e.reply.pending()) {
          // Answered now; the worker drops it when it gets there, and its word then is ignored.
          e.reply.error(rpc::ErrorCode::RequestCancelled, "the exec was cancelled before it started");
          if (Worker* w = worker(e.sentTo)) w->proc->peer().notify("worker/cancel", Json{{"seq", e.seq}});
        }
        return;
      }
    }
  }

  // ---- shutdown -----------------------------------------------------------------------
  void beginShutdown(bool thenExit, int code) {
    if (thenExit && !exitAfterShutdown_) {
      exitAfterShutdown_ = true;
      exitCode_ = code;
    }
    if (shutdownRequested_ && exiting_) return maybeFinishShutdown();
    shutdownRequested_ = true;
    exiting_ = true;
    for (auto& [name, s] : sessions_) {
      for (auto& e : s->execs) {
        if (e->reply.pending()) e->reply.error(rpc::ErrorCode::RequestCancelled, "the daemon is shutting down");
        resolveInterrupts(*e, false, rpc::InterruptHow::none);
      }
      s->execs.clear();
      for (auto& waiter : s->openWaiters) waiter.error(rpc::ErrorCode::RequestCancelled, "the daemon is shutting down");
      s->openWaiters.clear();
    }
    for (auto& input : inputs_) input.reply->error(rpc::ErrorCode::RequestCancelled, "the daemon is shutting down");
    inputs_.clear();
    for (auto& [id, w] : workers_) {
      if (!w->proc->running()) continue;
      w->proc->lane().request("shutdown", nullptr, [](rpc::Response&&) {});
    }
    stopTimer_ = rpc::UvHandle<uv_timer_t>(uv_timer_init, &loop_);
    stopTimer_->data = this;
    uv_timer_start(
        stopTimer_.get(),
        [](uv_timer_t* t) {
          auto* self = static_cast<Impl*>(t->data);
          if (!self) return;
          for (auto& [id, w] : self->workers_) w->proc->kill(SIGKILL);
          self->forceExitAfter(1000);
        },
        kStopGraceMs, 0);
    maybeFinishShutdown();
  }

  void forceExitAfter(std::uint64_t ms) {
    forceTimer_ = rpc::UvHandle<uv_timer_t>(uv_timer_init, &loop_);
    forceTimer_->data = this;
    uv_timer_start(
        forceTimer_.get(),
        [](uv_timer_t* t) {
          auto* self = static_cast<Impl*>(t->data);
          if (!self) return;
          spdlog::warn("shutdown took too long; exiting now");
          self->workers_.clear();  // reaps what is left
          self->finished_ = true;
          uv_stop(&self->loop_);
        },
        ms, 0);
  }

  void maybeFinishShutdown() {
    if (!exiting_ || !workers_.empty()) return;
    for (auto& waiter : shutdownWaiters_) waiter(nullptr);
    shutdownWaiters_.clear();
    sessions_.clear();
    if (!exitAfterShutdown_) return;  // wait for `exit`
    // Let the answers already queued reach the client, unless it is gone (stdin may
    // have ended while it still reads stdout).
    if (client_ && client_->canWrite() && client_->pendingBytes() > 0) {
      if (!forceTimer_) forceExitAfter(2000);
      return;
    }
    finished_ = true;
    uv_stop(&loop_);
  }

  struct PendingInput {
    std::uint64_t worker = 0;
    Json linkId;
    rpc::Id clientId;
    std::shared_ptr<rpc::ReplyOnce> reply;
  };

  SupervisorOptions options_;
  uv_loop_t loop_{};
  std::unique_ptr<rpc::Peer> client_;
  rpc::UvHandle<uv_signal_t> sigterm_, sighup_, sigint_;
  rpc::UvHandle<uv_timer_t> stopTimer_, forceTimer_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::map<std::uint64_t, std::unique_ptr<Worker>> workers_;
  std::vector<PendingInput> inputs_;
  std::uint64_t spareId_ = 0;
  std::deque<Clock::time_point> spareDeaths_;
  std::uint64_t nextWorkerId_ = 1;
  std::uint64_t nextSeq_ = 1;
  bool initialized_ = false;
  bool inputCapable_ = false;
  bool shutdownRequested_ = false;
  bool exiting_ = false;
  bool exitAfterShutdown_ = false;
  bool finished_ = false;
  bool outputPaused_ = false;
  bool clientPaused_ = false;
  int exitCode_ = 0;
  std::vector<std::string> backends_ = availableBackends();
  std::vector<rpc::ReplyOnce> shutdownWaiters_;
};

Supervisor::Supervisor(SupervisorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Supervisor::~Supervisor() = default;
int Supervisor::run() { return impl_->run(); }

}  // namespace asyncode::daemon
