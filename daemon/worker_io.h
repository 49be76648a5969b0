// The worker's I/O thread: it speaks the control link (fd 3) and writes what the engine says
// (its Outbox) into the output pipes, and never takes the GIL, so interrupts and output flow
// whatever user code does. Requests that need Python (compile, complete, inspect, variables)
// run on a service thread of their own, in order.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/engine.h"
#include "daemon/output_frames.h"
#include "daemon/work_queue.h"
#include "protocol/protocol.h"
#include "protocol/worker_link.h"
#include "rpc/peer.h"
#include "rpc/timer.h"
#include "rpc/uv_handle.h"

namespace asyncode::daemon {

class WorkerIo {
 public:
  // `pipes`: where Python output goes as frames (fd 1 and 2 reopened non-blocking), with
  // `magic`; without them (a worker run by hand) output goes as notifications instead.
  WorkerIo(core::Engine& engine, std::array<int, 2> pipes, std::optional<Magic> magic)
      : engine_(engine), pipeFds_(pipes), magic_(magic) {}
  WorkerIo(const WorkerIo&) = delete;
  WorkerIo& operator=(const WorkerIo&) = delete;

  // Starts the I/O thread and returns once its link is up.
  void start();
  // Flushes what the engine still has to say, then ends the I/O thread.
  void stop();

 private:
  void setup();
  void teardown();
  void post(std::function<void()> fn);
  void runPosted();
  void maybeFinish();
  void bindHandlers();
  template <class R>
  void onService(rpc::Reply<R> reply, std::function<R()> compute);
  void onInterrupt(const protocol::link::InterruptParams& p, rpc::Reply<protocol::link::InterruptResult> reply);

  // What the engine says, in order (worker_io.cpp).
  void pump();
  bool writeFrames();
  void queueFrames(char kind, std::string_view owner, std::string_view payload, std::uint64_t seq);
  [[nodiscard]] bool framed() const;
  template <class P>
  void sendInOrder(const rpc::NotificationType<P>& method, const P& params, std::uint64_t seq);
  void onEvent(core::OutputEvent& e);
  void onEvent(core::DisplayEvent& e);
  void onEvent(core::ClearOutputEvent& e);
  void onEvent(core::ExecStartEvent& e);
  void onEvent(core::TaskErrorEvent& e);
  void onEvent(core::InputRequestEvent& e);
  void onEvent(core::InputCancelledEvent& e);
  void onEvent(core::ReadyEvent& e);

  struct PendingFrame {
    int pipe;                // 0: fd 1, 1: fd 2
    std::string bytes;
    std::uint64_t delivers;  // the outbox count this frame completes, or 0
  };

  core::Engine& engine_;
  std::array<int, 2> pipeFds_;
  std::optional<Magic> magic_;
  uv_loop_t loop_{};
  std::array<rpc::UvHandle<uv_poll_t>, 2> pipePolls_;
  std::deque<core::OutEvent> backlog_;
  std::deque<PendingFrame> frames_;
  std::unique_ptr<rpc::Peer> peer_;
  rpc::UvHandle<uv_async_t> outboxAsync_;
  rpc::UvHandle<uv_poll_t> startTimerPoll_;  // the outbox's timerfd: a held execStart is due
  rpc::UvHandle<uv_async_t> postAsync_;
  std::mutex postMu_;
  std::vector<std::function<void()>> posted_;
  WorkQueue service_;
  std::map<std::uint64_t, rpc::Id> inputs_;  // the engine's input id -> the link request's
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace asyncode::daemon
