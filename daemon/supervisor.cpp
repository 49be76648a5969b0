#include "daemon/supervisor.h"

#include <signal.h>
#include <sys/prctl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "daemon/attached_sessions.h"
#include "daemon/client_state.h"
#include "daemon/input_relay.h"
#include "daemon/logging.h"
#include "daemon/orphans.h"
#include "daemon/output_router.h"
#include "daemon/positions.h"
#include "daemon/session_table.h"
#include "daemon/worker_pool.h"
#include "daemon/worker_process.h"
#include "protocol/protocol.h"
#include "protocol/worker_link.h"
#include "rpc/connection.h"
#include "rpc/peer.h"
#include "rpc/timer.h"

#ifndef ASYNCODE_VERSION
#define ASYNCODE_VERSION "0.0.0"
#endif

namespace asyncode::daemon {

namespace methods = protocol::methods;
namespace link = protocol::link;
using rpc::Reply;

namespace {

constexpr const char* kShuttingDown = "the daemon is shutting down";
// Once workers had their stop routine, the answers queued for the client get this long.
constexpr std::uint64_t kExitGraceMs = 1000;
constexpr std::uint64_t kClientDrainMs = 2000;
constexpr std::int64_t kMaxFirstLine = 10'000'000;

}  // namespace

class Supervisor::Impl {
 public:
  Impl(uv_loop_t* loop, std::unique_ptr<rpc::Transport> transport, Spawner spawner, SupervisorOptions options)
      : loop_(loop),
        options_(std::move(options)),
        client_(std::move(transport)),
        pool_(loop, std::move(spawner), PoolOptions{options_.self, options_.logLevel, options_.executable, options_.spares},
              state_, poolEvents()),
        router_(client_, pool_, state_, routerHooks()),
        inputs_(client_, state_, [this](const Worker& w, std::int64_t seq) { return ownerOf(w, seq); }),
        sessions_(loop, client_, pool_, state_, [this](Worker& w) { router_.drain(w); }, options_.backends,
                  options_.pythonVersion),
        shutdownTimer_(loop),
        forceTimer_(loop),
        logs_([this](const std::string& level, const std::string& message) { forwardLog(level, message); }) {
    sessions_.setStartTimeout(options_.startTimeoutMs);
    bindClient();
    bindMethods();
    sessions_.setAnswerHooks([this](Worker& w, std::uint64_t seq) { inputs_.execEnding(w.id, seq); },
                             [this](Worker& w) { router_.resume(w); });
    attached_.bind(client_.dispatcher());  // in front of the methods that name a session
  }

  void start() {
    pool_.replenishSpares();
    client_.start();
  }

  void beginShutdown(bool thenExit, int code) {
    if (thenExit && !exitAfterShutdown_) {
      exitAfterShutdown_ = true;
      exitCode_ = code;
    }
    if (state_.exiting) return maybeFinishShutdown();
    state_.exiting = true;
    sessions_.cancelAll(kShuttingDown);
    attached_.closeAll(kShuttingDown);
    inputs_.cancelAll(kShuttingDown);
    pool_.stopAll();
    shutdownTimer_.once(kStopAskMs + kStopTermMs, [this] { forceExitAfter(kExitGraceMs); });
    maybeFinishShutdown();
  }

  [[nodiscard]] bool finished() const { return finished_; }
  [[nodiscard]] int exitCode() const { return exitCode_; }

 private:
  WorkerPool::Events poolEvents() {
    return WorkerPool::Events{
        [this](Worker& w) {
          sessions_.bind(w);
          router_.bind(w);
          inputs_.bind(w);
        },
        [this](Worker& w, protocol::Stream stream, std::string_view bytes) { router_.onOutput(w, stream, bytes); },
        [this](Worker& w, const ExitStatus& status) {
          router_.drain(w);
          inputs_.workerGone(w.id);
          sessions_.workerExited(w, status);
          router_.forget(w.id);
        },
        [this] {
          if (state_.exiting) return maybeFinishShutdown();
          pool_.replenishSpares();
        },
    };
  }

  // The exec with this seq in the worker's session (nullopt: the one running, for fd-level output).
  std::optional<ExecQueue::Owner> ownerOf(const Worker& w, std::optional<std::int64_t> seq) {
    Session* s = w.session.empty() ? nullptr : sessions_.find(w.session);
    if (!s) return std::nullopt;
    return seq ? s->execs.ownerOf(*seq) : s->execs.fdOwner(w.id);
  }

  OutputRouter::Hooks routerHooks() {
    return OutputRouter::Hooks{
        [this](const Worker& w, std::optional<std::int64_t> seq) { return ownerOf(w, seq); },
        [this](Worker& w, const link::ExecStartParams& p) {
          Session* s = w.session.empty() ? nullptr : sessions_.find(w.session);
          return s ? s->execs.startFrame(w.id, p) : true;
        },
        [this](Worker& w, const std::string& why) {
          // Nothing a worker sends is trusted (issue 12): one that breaks the link's rules,
          // whatever user code did to it, is restarted; its session sees a crash.
          spdlog::warn("session {}: its worker (pid {}) broke the link's rules: {}; restarting it",
                       w.session.empty() ? std::string("(none)") : w.session, w.handle->pid(), why);
          pool_.kill(w);
        },
    };
  }

  void bindClient() {
    client_.setOnClosed([this](int status) {
      if (status < 0) spdlog::info("the client link closed: {}", uv_strerror(status));
      beginShutdown(/*thenExit=*/true, 0);
    });
    client_.setOnWritten([this] {
      router_.onClientWritten();
      if (state_.exiting && client_.pendingBytes() == 0) maybeFinishShutdown();
    });
    client_.setOnBadMessage([this](const rpc::BadMessage& bad) {
      spdlog::warn("bad message from the client: {}", bad.error.message);
      router_.send(rpc::serializeError(bad.id, bad.error));
    });
    client_.dispatcher().setGate([this](const std::string& method) -> std::optional<rpc::Error> {
      if (state_.exiting) return rpc::Error{rpc::ErrorCode::InvalidRequest, kShuttingDown, std::nullopt};
      if (!state_.initialized && method != methods::initialize.method)
        return rpc::Error{rpc::ErrorCode::ServerNotInitialized, "send initialize first", std::nullopt};
      return std::nullopt;
    });
  }

  // One line per method of the protocol.
  void bindMethods() {
    auto& d = client_.dispatcher();
    d.bind(methods::initialize, this, &Impl::onInitialize);
    d.bind(methods::shutdown, this, &Impl::onShutdown);
    d.bind(methods::exit, this, &Impl::onExit);
    d.bind(methods::cancelRequest, [this](const protocol::CancelRequestParams& p) { sessions_.cancel(p.id); });
    d.bind(methods::sessionOpen, &sessions_, &SessionTable::open);
    d.bind(methods::sessionRestart, &sessions_, &SessionTable::restart);
    d.bind(methods::sessionClose, &sessions_, &SessionTable::close);
    d.bind(methods::sessionTerminal, [this](const protocol::SessionTerminalParams& p) {
      if (p.session != "default" && !sessions_.find(p.session)) return;  // not open: nothing to tell
      sessions_.setTerminal(sessions_.sessionFor(p.session), p.terminal);
    });
    d.bind(methods::sessionList, [this](const protocol::NoParams&, auto reply) { reply(sessions_.list()); });
    d.bind(methods::compile, [this](const auto& p, auto reply) {
      sessions_.forwardCompile(link::methods::compile, p.session, p, std::move(reply),
                               [unit = state_.positionEncoding, code = p.code](auto& r) { positionsOut(r, code, unit); });
    });
    d.bind(methods::needsAwait, [this](const auto& p, auto reply) {
      sessions_.forwardCompile(link::methods::needsAwait, p.session, p, std::move(reply));
    });
    d.bind(methods::complete, [this](protocol::CompleteParams p, auto reply) {
      p.cursor = cursorIn(p.code, p.cursor, state_.positionEncoding);
      onWorker(link::methods::complete, p, reply, [unit = state_.positionEncoding, code = p.code](auto& r) {
        positionsOut(r, code, unit);
      });
    });
    d.bind(methods::inspect, [this](protocol::InspectParams p, auto reply) {
      p.cursor = cursorIn(p.code, p.cursor, state_.positionEncoding);
      onWorker(link::methods::inspect, p, reply);
    });
    d.bind(methods::variables, [this](const auto& p, auto reply) { onWorker(link::methods::variables, p, reply); });
    d.bind(methods::reset, [this](const protocol::ResetParams& p, auto reply) {
      // In order with the session's execs: on the lane.
      sessions_.forward(link::methods::reset, &WorkerHandle::lane, p.session, protocol::NoParams{}, std::move(reply));
    });
    d.bind(methods::exec, [this](const protocol::ExecParams& p, Reply<protocol::ExecResult> reply) {
      if (p.firstLine > kMaxFirstLine)  // the schema's maximum: the worker pads the code to it
        return reply.error(rpc::ErrorCode::InvalidParams,
                           "params.firstLine: must be at most " + std::to_string(kMaxFirstLine));
      sessions_.sessionFor(p.session).execs.push(nextSeq_++, p, std::move(reply), state_.positionEncoding);
    });
    d.bind(methods::interrupt, [this](const protocol::InterruptParams& p, Reply<protocol::InterruptResult> reply) {
      Session* s = sessions_.find(p.session);
      if (!s) return reply(protocol::InterruptResult{false, std::nullopt});
      s->execs.interrupt(p.graceMs, p.force, std::move(reply));
    });
  }

  // A request the session's worker answers at once, whatever runs: on the control link.
  // `adjust` puts the answer's positions into the client's unit.
  template <class P, class R>
  void onWorker(const rpc::RequestType<P, R>& method, const P& params, Reply<R>& reply,
                std::type_identity_t<std::function<void(R&)>> adjust = {}) {
    sessions_.forward(method, &WorkerHandle::control, params.session, params, std::move(reply), std::move(adjust));
  }

  void onInitialize(const protocol::InitializeParams& p, Reply<protocol::InitializeResult> reply) {
    if (state_.initialized) return reply.error(rpc::ErrorCode::InvalidRequest, "initialize was already sent");
    state_.initialized = true;
    state_.inputCapable = p.capabilities && p.capabilities->input;
    if (p.capabilities && p.capabilities->positionEncodings) {
      // The first the client lists that the daemon knows (all three are supported).
      for (const auto& name : *p.capabilities->positionEncodings)
        if (protocol::fromString(name, state_.positionEncoding)) break;
    }
    if (p.logLevel) logs_.setLevel(parseLogLevel(protocol::toString(*p.logLevel)));
    if (p.clientInfo) spdlog::info("client: {} {}", p.clientInfo->name, p.clientInfo->version.value_or(""));
    protocol::InitializeResult r;
    r.serverInfo = protocol::ServerInfo{"asyncoded", ASYNCODE_VERSION};
    r.python = protocol::PythonInfo{options_.pythonVersion, options_.executable};
    r.backends = options_.backends;
    r.positionEncoding = state_.positionEncoding;
    reply(r);
  }

  void onShutdown(const protocol::ShutdownParams&, Reply<protocol::ShutdownResult> reply) {
    shutdownWaiters_.push_back(std::move(reply));
    beginShutdown(false, 0);
  }

  // The daemon exits with 0 after shutdown, 1 otherwise.
  void onExit(const protocol::ExitParams&) { beginShutdown(true, state_.exiting ? 0 : 1); }

  void forwardLog(const std::string& level, const std::string& message) {
    protocol::LogLevel l{};
    if (state_.initialized && client_.canWrite() && protocol::fromString(level, l))
      client_.notify(methods::log, protocol::LogParams{l, message});
  }

  void forceExitAfter(std::uint64_t ms) {
    forceArmed_ = true;
    forceTimer_.once(ms, [this] {
      spdlog::warn("shutdown took too long; exiting now");
      pool_.clear();  // kills and reaps what is left
      finish();
    });
  }

  void maybeFinishShutdown() {
    if (!state_.exiting || !pool_.empty()) return;
    // Taken out first: an answer's write may bring us back here.
    for (auto& waiter : std::exchange(shutdownWaiters_, {})) waiter(nullptr);
    sessions_.clear();
    if (!exitAfterShutdown_) return;  // wait for `exit`
    // Let the answers already queued reach the client, unless it is gone (stdin may have ended
    // while it still reads stdout).
    if (client_.canWrite() && client_.pendingBytes() > 0) {
      if (!forceArmed_) forceExitAfter(kClientDrainMs);
      return;
    }
    finish();
  }

  void finish() {
    finished_ = true;
    uv_stop(loop_);
  }

  uv_loop_t* loop_;
  SupervisorOptions options_;
  ClientState state_;
  rpc::Peer client_;
  WorkerPool pool_;
  OutputRouter router_;
  InputRelay inputs_;
  SessionTable sessions_;
  AttachedSessions attached_{loop_, client_, sessions_, state_};
  rpc::Timer shutdownTimer_;
  rpc::Timer forceTimer_;
  std::vector<Reply<protocol::ShutdownResult>> shutdownWaiters_;
  std::uint64_t nextSeq_ = 1;
  bool exitAfterShutdown_ = false;
  bool forceArmed_ = false;
  bool finished_ = false;
  int exitCode_ = 0;
  LogForwarder logs_;  // last: no line is forwarded while the parts are torn down
};

Supervisor::Supervisor(uv_loop_t* loop, std::unique_ptr<rpc::Transport> client, Spawner spawner,
                       SupervisorOptions options)
    : impl_(std::make_unique<Impl>(loop, std::move(client), std::move(spawner), std::move(options))) {}
Supervisor::~Supervisor() = default;
void Supervisor::start() { impl_->start(); }
void Supervisor::terminate() { impl_->beginShutdown(true, 0); }
bool Supervisor::finished() const { return impl_->finished(); }
int Supervisor::exitCode() const { return impl_->exitCode(); }

int runSupervisor(SupervisorOptions options) {
  ::signal(SIGPIPE, SIG_IGN);
  // Not dumpable: without CAP_SYS_PTRACE (which root workers give up, confinement.h) no process
  // may ptrace this one or open its /proc/PID/fd (the client's stdin and stdout) or memory.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  uv_loop_t loop{};
  uv_loop_init(&loop);
  int code = 0;
  {
    OrphanSweeper orphans(&loop);  // destroyed after the workers: kills and reaps what they left
    auto spawner = [&loop, &orphans](const WorkerSpec& spec,
                                     WorkerHandle::Callbacks callbacks) -> std::unique_ptr<WorkerHandle> {
      auto worker = std::make_unique<WorkerProcess>(&loop, spec, std::move(callbacks));
      orphans.addWorker(worker->pid());
      return worker;
    };
    Supervisor supervisor(&loop, std::make_unique<rpc::Connection>(&loop, STDIN_FILENO, STDOUT_FILENO, rpc::FrameLimits{}),
                          spawner, std::move(options));
    std::vector<rpc::UvHandle<uv_signal_t>> signals;
    for (const int sig : {SIGTERM, SIGHUP, SIGINT}) {
      auto& handle = signals.emplace_back(uv_signal_init, &loop);
      handle->data = &supervisor;
      uv_signal_start(
          handle.get(),
          [](uv_signal_t* h, int signum) {
            spdlog::info("signal {}: shutting down", signum);
            if (auto* s = static_cast<Supervisor*>(h->data)) s->terminate();
          },
          sig);
    }
    supervisor.start();
    uv_run(&loop, UV_RUN_DEFAULT);
    code = supervisor.exitCode();
  }
  rpc::closeLoop(&loop);
  return code;
}

}  // namespace asyncode::daemon
