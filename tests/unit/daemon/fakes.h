// Fakes to drive the supervisor in-process (clangd's unittests/LSPClient.h in spirit): a
// transport that records what is sent and delivers what a test says, fake worker processes
// whose links are such transports, and a harness with a real libuv loop for the timers.
#pragma once

#include <catch2/catch.hpp>
#include <signal.h>
#include <uv.h>

#include <chrono>
#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/output_frames.h"
#include "daemon/supervisor.h"
#include "daemon/worker_handle.h"
#include "rpc/peer.h"
#include "rpc/timer.h"
#include "rpc/transport.h"

namespace asyncode::testing {

using rpc::Json;

// A transport: bodies sent are kept, parsed; a test delivers bodies as the other end would.
class FakeTransport final : public rpc::Transport {
 public:
  std::vector<Json> sent;
  std::size_t pending = 0;  // pendingBytes(): a test makes the other end read slowly
  bool paused = false;

  void setHandlers(Handlers h) override { handlers_ = std::move(h); }
  void start() override { started_ = true; }
  void send(std::string_view body) override { sent.push_back(Json::parse(body)); }
  void hold() override {}
  void release() override {}
  [[nodiscard]] std::size_t pendingBytes() const override { return pending; }
  void setOnWritten(std::function<void()> fn) override { onWritten_ = std::move(fn); }
  void pauseReading() override { paused = true; }
  void resumeReading() override { paused = false; }
  void readAvailable() override {}
  [[nodiscard]] bool closed() const override { return closed_; }
  [[nodiscard]] bool canWrite() const override { return !closed_; }

  // As if the other end sent `message`.
  void deliver(const Json& message) {
    std::string body = message.dump();
    handlers_.onBody(body);
  }
  // The other end read what was pending.
  void written() {
    pending = 0;
    if (onWritten_) onWritten_();
  }
  void close(int status = 0) {
    closed_ = true;
    if (handlers_.onClosed) handlers_.onClosed(status);
  }

  // Messages sent: requests or notifications of `method`, responses to `id`.
  [[nodiscard]] std::vector<Json> messages(std::string_view method) const {
    std::vector<Json> out;
    for (const auto& m : sent)
      if (m.value("method", "") == method) out.push_back(m);
    return out;
  }
  [[nodiscard]] std::optional<Json> last(std::string_view method) const {
    auto all = messages(method);
    if (all.empty()) return std::nullopt;
    return all.back();
  }
  [[nodiscard]] std::optional<Json> responseTo(const Json& id) const {
    for (const auto& m : sent)
      if (!m.contains("method") && m.value("id", Json()) == id) return m;
    return std::nullopt;
  }
  void answer(const Json& request, const Json& result) {
    deliver(Json{{"jsonrpc", "2.0"}, {"id", request.at("id")}, {"result", result}});
  }
  void answerError(const Json& request, int code, const std::string& message) {
    deliver(Json{{"jsonrpc", "2.0"}, {"id", request.at("id")}, {"error", {{"code", code}, {"message", message}}}});
  }

 private:
  Handlers handlers_;
  std::function<void()> onWritten_;
  bool started_ = false;
  bool closed_ = false;
};

// A worker process without the process: its links are FakeTransports; signals are recorded,
// and SIGTERM (unless ignored) or SIGKILL make it end on the next loop turn, as a process would.
class FakeWorker final : public daemon::WorkerHandle {
 public:
  FakeWorker(uv_loop_t* loop, int pid, const daemon::WorkerSpec& spec, Callbacks callbacks, FakeWorker** slot,
             std::vector<int>& signalLog)
      : signals(signalLog), spec_(spec), callbacks_(std::move(callbacks)), pid_(pid), slot_(slot), exitTimer_(loop) {
    auto c = std::make_unique<FakeTransport>();
    controlLink = c.get();
    control_ = std::make_unique<rpc::Peer>(std::move(c));
    auto l = std::make_unique<FakeTransport>();
    laneLink = l.get();
    lane_ = std::make_unique<rpc::Peer>(std::move(l));
    daemon::magicFromHex(spec.outputMagic, magic);
  }
  ~FakeWorker() override { *slot_ = nullptr; }

  rpc::Peer& control() override { return *control_; }
  rpc::Peer& lane() override { return *lane_; }
  [[nodiscard]] int pid() const override { return pid_; }
  [[nodiscard]] bool running() const override { return running_; }
  void signal(int sig) override {
    signals.push_back(sig);
    if (sig == SIGKILL || (sig == SIGTERM && !ignoresTerm)) exitSoon(daemon::ExitStatus{daemon::ExitStatus::Kind::Killed, 0, sig});
  }
  void drainOutput(std::size_t) override { ++drains; }
  void pauseOutput() override { outputPaused = true; }
  void resumeOutput() override { outputPaused = false; }

  // What the worker process would do.
  void write(protocol::Stream stream, std::string_view bytes) { callbacks_.onOutput(stream, bytes); }
  void writeFrame(protocol::Stream stream, char kind, std::string_view owner, std::string_view payload) {
    std::vector<std::string> frames;
    daemon::encodeFrames(magic, kind, owner, payload, frames);
    for (const auto& f : frames) write(stream, f);
  }
  void exitSoon(daemon::ExitStatus status) {
    if (exiting_) return;
    exiting_ = true;
    exitTimer_.once(0, [this, status] {
      running_ = false;
      callbacks_.onExit(status);  // destroys this
    });
  }

  FakeTransport* controlLink = nullptr;  // what the supervisor sent on each link
  FakeTransport* laneLink = nullptr;
  std::vector<int>& signals;  // kept by the harness: a test reads them after the worker is gone
  bool ignoresTerm = false;
  bool outputPaused = false;
  int drains = 0;
  daemon::Magic magic{};

 private:
  daemon::WorkerSpec spec_;
  Callbacks callbacks_;
  int pid_;
  FakeWorker** slot_;
  std::unique_ptr<rpc::Peer> control_;
  std::unique_ptr<rpc::Peer> lane_;
  rpc::Timer exitTimer_;
  bool running_ = true;
  bool exiting_ = false;
};

// A supervisor on a fake client with fake workers, and a loop that turns until what a test
// waits for has happened.
class Harness {
 public:
  explicit Harness(int spares = 0, std::vector<protocol::Backend> backends = {protocol::Backend::Asyncio,
                                                                              protocol::Backend::Trio}) {
    uv_loop_init(&loop_);
    auto transport = std::make_unique<FakeTransport>();
    client = transport.get();
    daemon::SupervisorOptions options;
    options.self = "/nonexistent/asyncoded";
    options.pythonVersion = "3.11.2";
    options.backends = std::move(backends);
    options.spares = spares;
    supervisor = std::make_unique<daemon::Supervisor>(
        &loop_, std::move(transport),
        [this](const daemon::WorkerSpec& spec, daemon::WorkerHandle::Callbacks cb) -> std::unique_ptr<daemon::WorkerHandle> {
          if (failSpawns) throw std::runtime_error("cannot start a worker: no such file");
          auto slot = std::make_unique<FakeWorker*>(nullptr);
          auto w = std::make_unique<FakeWorker>(&loop_, 1000 + static_cast<int>(slots_.size()), spec, std::move(cb),
                                                slot.get(), signals.emplace_back());
          *slot = w.get();
          slots_.push_back(std::move(slot));
          specs.push_back(spec);
          return w;
        },
        std::move(options));
    supervisor->start();
  }
  ~Harness() {
    supervisor.reset();
    uv_walk(&loop_, [](uv_handle_t* h, void*) { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // The n-th worker spawned (from 0), or null once it has ended.
  FakeWorker* worker(std::size_t n) const { return n < slots_.size() ? *slots_[n] : nullptr; }
  [[nodiscard]] std::size_t spawned() const { return slots_.size(); }

  Json request(const std::string& method, const Json& params = nullptr) {
    const Json id = nextId_++;
    Json m{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.is_null()) m["params"] = params;
    client->deliver(m);
    return id;
  }
  void notify(const std::string& method, const Json& params = nullptr) {
    Json m{{"jsonrpc", "2.0"}, {"method", method}};
    if (!params.is_null()) m["params"] = params;
    client->deliver(m);
  }
  void initialize(bool input = true) {
    const Json id = request("initialize", {{"clientInfo", {{"name", "unit"}}}, {"capabilities", {{"input", input}}}});
    REQUIRE(client->responseTo(id).has_value());
  }
  // The result (or error object) the client got for request `id`.
  Json result(const Json& id) const {
    const auto r = client->responseTo(id);
    REQUIRE(r.has_value());
    REQUIRE(r->contains("result"));
    return r->at("result");
  }
  Json error(const Json& id) const {
    const auto r = client->responseTo(id);
    REQUIRE(r.has_value());
    REQUIRE(r->contains("error"));
    return r->at("error");
  }
  // A worker's configure answered: its session is ready.
  void configure(FakeWorker& w, int pid = 0) {
    const auto configure = w.laneLink->last("worker/configure");
    REQUIRE(configure.has_value());
    w.laneLink->answer(*configure, {{"pid", pid ? pid : w.pid()}});
  }

  // Turns the loop until `done` (a guard stops a test that would hang).
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds guard = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + guard;
    uv_timer_t tick;
    uv_timer_init(&loop_, &tick);
    uv_timer_start(&tick, [](uv_timer_t*) {}, 5, 5);
    while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return done();
  }

  // How many responses the client got for `id` (exactly one, always).
  [[nodiscard]] int answers(const Json& id) const {
    int n = 0;
    for (const auto& m : client->sent) n += !m.contains("method") && m.value("id", Json()) == id;
    return n;
  }

  FakeTransport* client = nullptr;
  std::unique_ptr<daemon::Supervisor> supervisor;
  std::vector<daemon::WorkerSpec> specs;
  std::deque<std::vector<int>> signals;  // of each worker spawned
  bool failSpawns = false;

 private:
  uv_loop_t loop_{};
  std::vector<std::unique_ptr<FakeWorker*>> slots_;
  std::int64_t nextId_ = 1;
};

}  // namespace asyncode::testing
