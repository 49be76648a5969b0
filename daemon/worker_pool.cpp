#include "daemon/worker_pool.h"

#include <signal.h>
#include <spdlog/spdlog.h>

namespace asyncode::daemon {

namespace link = protocol::link;

WorkerPool::WorkerPool(uv_loop_t* loop, Spawner spawner, PoolOptions options, const ClientState& state,
                       Events events)
    : loop_(loop), spawner_(std::move(spawner)), options_(std::move(options)), state_(state),
      events_(std::move(events)) {}

Worker* WorkerPool::find(WorkerId id) {
  const auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

Worker& WorkerPool::spawn(const WorkerNeeds* needs) {
  WorkerSpec spec;
  spec.self = options_.self;
  spec.executable = needs && !needs->executable.empty() ? needs->executable : options_.executable;
  spec.logLevel = options_.logLevel;
  if (needs) spec.env = needs->env;
  auto w = std::make_unique<Worker>(loop_);
  w->magic = randomMagic();
  spec.outputMagic = magicToHex(w->magic);
  const WorkerId id = nextId_++;
  w->id = id;
  w->handle = spawner_(spec, WorkerHandle::Callbacks{
                                 [this, id](ExitStatus status) { onExit(id, status); },
                                 [this, id](protocol::Stream stream, std::string_view bytes) {
                                   if (Worker* x = find(id)) events_.onOutput(*x, stream, bytes);
                                 },
                             });
  Worker& worker = *w;
  workers_.emplace(id, std::move(w));
  bindLinks(worker);
  if (events_.onSpawned) events_.onSpawned(worker);
  if (outputPaused_) worker.handle->pauseOutput();
  worker.handle->control().start();
  worker.handle->lane().start();
  spdlog::debug("worker {} started, pid {}", id, worker.handle->pid());
  return worker;
}

void WorkerPool::bindLinks(Worker& w) {
  const WorkerId id = w.id;
  auto brokenLink = [this, id](int) {
    if (Worker* x = find(id); x && x->handle->running()) kill(*x);  // its exit follows
  };
  for (rpc::Peer* link : {&w.handle->control(), &w.handle->lane()}) {
    link->setOnClosed(brokenLink);
    // User code can write to the links' descriptors: a worker that sends what is not a
    // message of its link is restarted (its pending requests are answered as it dies), so
    // junk on a link never leaves a client's request unanswered (issue 12).
    link->setOnBadMessage([this, id, lane = link == &w.handle->lane()](const rpc::BadMessage& bad) {
      Worker* x = find(id);
      spdlog::warn("session {}: its worker sent a bad message on its {}: {}; restarting it",
                   x && !x->session.empty() ? x->session : std::string("(none)"), lane ? "exec lane" : "control link",
                   bad.error.message);
      if (x && x->handle->running()) kill(*x);
    });
  }
  w.handle->control().dispatcher().bind(link::methods::workerReady,
                                        [this, id](const link::ReadyParams& p) { onReady(id, p); });
}

void WorkerPool::onReady(WorkerId id, const link::ReadyParams&) {
  Worker* w = find(id);
  if (!w) return;
  spdlog::debug("worker {} ready after {:.1f} ms", id,
                std::chrono::duration<double, std::milli>(Clock::now() - w->spawned).count());
  if (id == spareId_) w->handle->lane().notify(link::methods::workerPreload, protocol::NoParams{});
}

void WorkerPool::replenishSpares() {
  if (state_.exiting || options_.spares <= 0 || spareId_ != 0) return;
  const auto now = Clock::now();
  while (!spareDeaths_.empty() && now - spareDeaths_.front() > kCrashLoopWindow) spareDeaths_.pop_front();
  if (static_cast<int>(spareDeaths_.size()) >= kCrashLoopLimit) {
    spdlog::error("spare workers keep dying; not starting another for now");
    return;
  }
  try {
    spareId_ = spawn(nullptr).id;
  } catch (const std::exception& e) {
    spdlog::error("cannot start a spare worker: {}", e.what());
  }
}

Worker* WorkerPool::idleWorker() {
  Worker* w = spareId_ != 0 ? find(spareId_) : nullptr;
  return w && w->handle->running() && !w->stopping && !w->retired ? w : nullptr;
}

Worker& WorkerPool::take(const WorkerNeeds& needs) {
  if (!needs.ownEnvironment && spareId_ != 0) {
    Worker* w = find(spareId_);
    spareId_ = 0;
    if (w && w->handle->running()) {
      replenishSpares();
      return *w;
    }
  }
  Worker& w = spawn(&needs);
  if (!needs.ownEnvironment) replenishSpares();
  return w;
}

void WorkerPool::retire(Worker& w) {
  w.retired = true;
  w.session.clear();
  stop(w);
}

void WorkerPool::kill(Worker& w) { w.handle->signal(SIGKILL); }

void WorkerPool::stopAll() {
  for (auto& [id, w] : workers_) stop(*w);
}

// Ask first: a worker whose main thread takes jobs ends at once, its output flushed. One busy
// in user code gets SIGTERM (which that code may handle), and SIGKILL if it is still there.
void WorkerPool::stop(Worker& w) {
  if (!w.handle->running() || w.stopping) return;
  w.stopping = true;
  w.handle->lane().call(link::methods::shutdown, protocol::NoParams{}, [](rpc::Answer<std::nullptr_t>) {});
  signalLater(w.id, SIGTERM);
}

void WorkerPool::signalLater(WorkerId id, int sig) {
  Worker* w = find(id);
  if (!w) return;
  w->stopTimer.once(sig == SIGTERM ? kStopAskMs : kStopTermMs, [this, id, sig] {
    Worker* x = find(id);
    if (!x || !x->handle->running()) return;
    spdlog::debug("worker {} did not stop when asked: {}", id, sig == SIGTERM ? "SIGTERM" : "SIGKILL");
    x->handle->signal(sig);
    if (sig == SIGTERM) signalLater(id, SIGKILL);
  });
}

void WorkerPool::onExit(WorkerId id, const ExitStatus& status) {
  Worker* w = find(id);
  if (!w) return;
  w->handle->lane().readAvailable();  // answers it sent before it ended
  w->handle->control().readAvailable();
  w->stopTimer.stop();
  if (id == spareId_) {
    spareId_ = 0;
    if (!state_.exiting) {
      spdlog::warn("the spare worker {}", status.describe());
      spareDeaths_.push_back(Clock::now());
    }
  }
  if (events_.onExit) events_.onExit(*w, status);
  workers_.erase(id);  // destroys the process handle from inside its own callback: fine in libuv
  if (events_.afterExit) events_.afterExit();
}

void WorkerPool::pauseOutput() {
  outputPaused_ = true;
  for (auto& [id, w] : workers_) w->handle->pauseOutput();
}

void WorkerPool::resumeOutput() {
  outputPaused_ = false;
  for (auto& [id, w] : workers_) w->handle->resumeOutput();
}

}  // namespace asyncode::daemon
