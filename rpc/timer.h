// A libuv timer that runs a std::function, owned like any member: destroying it stops it (its
// callback never runs afterwards). No context is allocated for libuv's `data`: it points at
// the Timer, which therefore does not move.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <utility>

#include "rpc/uv_handle.h"

namespace asyncode::rpc {

class Timer {
 public:
  explicit Timer(uv_loop_t* loop) : handle_(uv_timer_init, loop) { handle_->data = this; }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs `fn` once, `ms` from now (replacing what was due).
  void once(std::uint64_t ms, std::function<void()> fn) {
    fn_ = std::move(fn);
    repeat_ = false;
    uv_timer_start(handle_.get(), &Timer::onTimer, ms, 0);
  }
  // Runs `fn` every `ms` until stop().
  void every(std::uint64_t ms, std::function<void()> fn) {
    fn_ = std::move(fn);
    repeat_ = true;
    uv_timer_start(handle_.get(), &Timer::onTimer, ms, ms);
  }
  // May be called from the timer's own callback.
  void stop() { uv_timer_stop(handle_.get()); }
  [[nodiscard]] bool active() const { return uv_is_active(handle_.handle()) != 0; }

 private:
  static void onTimer(uv_timer_t* t) {
    auto* self = static_cast<Timer*>(t->data);
    if (!self || !self->fn_) return;
    if (self->repeat_) return self->fn_();
    auto fn = std::exchange(self->fn_, nullptr);  // `fn` may destroy the Timer
    fn();
  }

  UvHandle<uv_timer_t> handle_;
  std::function<void()> fn_;
  bool repeat_ = false;
};

}  // namespace asyncode::rpc
