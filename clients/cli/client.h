// What the prompt and the script runner share: the daemon, the console its output goes
// to, the signals, and leaving cleanly (the daemon shut down and gone, then the loop ends).
#pragma once

#include <uv.h>

#include <functional>
#include <list>
#include <string>

#include "clients/cli/console.h"
#include "clients/cli/daemon_link.h"
#include "clients/cli/options.h"
#include "rpc/uv_handle.h"

namespace asyncode::cli {

class Client {
 public:
  // Spawns the daemon; throws std::runtime_error when it cannot be started.
  Client(uv_loop_t* loop, const SessionOptions& options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  [[nodiscard]] uv_loop_t* loop() const { return loop_; }
  DaemonLink& link() { return link_; }
  Console& console() { return console_; }

  // Runs `handler` from the loop each time the process gets `signum`.
  void onSignal(int signum, std::function<void()> handler);
  // The session's state changed (the worker died: "dead").
  void setOnStatus(std::function<void(const StatusParams&)> fn) { onStatus_ = std::move(fn); }

  // Runs the loop until leave() has finished; returns its code.
  int run();
  // Stops the daemon (shutdown, exit, its end), then the loop. The first code counts.
  void leave(int code);
  // Runs when leaving starts (the prompt takes itself off the screen).
  void setOnLeave(std::function<void()> fn) { onLeave_ = std::move(fn); }
  [[nodiscard]] bool leaving() const { return leaving_; }

  // "asyncode: <message>" on stderr, on a line of its own.
  void error(const std::string& message);

 private:
  struct SignalWatch {
    rpc::UvHandle<uv_signal_t> handle;
    std::function<void()> handler;
  };

  uv_loop_t* loop_;
  Console console_;
  DaemonLink link_;
  std::list<SignalWatch> signals_;
  std::function<void(const StatusParams&)> onStatus_;
  std::function<void()> onLeave_;
  bool leaving_ = false;
  int exitCode_ = 0;
};

}  // namespace asyncode::cli
