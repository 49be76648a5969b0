// The client's daemon: an asyncoded spawned in a process group of its own (so that Ctrl-C
// in the terminal reaches the client only, which then sends `interrupt`), spoken to over
// two pipes with asyncode::rpc, initialized, and stopped cleanly (shutdown, exit, wait).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "clients/cli/client_protocol.h"
#include "clients/cli/options.h"
#include "rpc/peer.h"
#include "rpc/uv_handle.h"

namespace asyncode::cli {

// The asyncoded beside this executable (dirname of /proc/self/exe).
std::string defaultDaemonPath();

class DaemonLink {
 public:
  // Spawns the daemon; throws std::runtime_error when it cannot be started.
  DaemonLink(uv_loop_t* loop, const SessionOptions& options);
  DaemonLink(const DaemonLink&) = delete;
  DaemonLink& operator=(const DaemonLink&) = delete;
  // A daemon still running then (the client is failing) is killed with its workers.
  ~DaemonLink();

  // Where the daemon's requests and notifications go; bind before connect().
  rpc::Dispatcher& dispatcher() { return peer_->dispatcher(); }
  // The session every request of this client names.
  [[nodiscard]] const std::string& session() const { return session_; }

  // `done` runs once: with the result, or the error (the link closing fails it too).
  template <class P, class R>
  void call(const rpc::RequestType<P, R>& type, const std::type_identity_t<P>& params,
            std::type_identity_t<std::function<void(Answer<R>)>> done) {
    peer_->call(type, params, std::move(done));
  }
  template <class P>
  void notify(const rpc::NotificationType<P>& type, const std::type_identity_t<P>& params) {
    peer_->notify(type, params);
  }

  struct Ready {
    InitializeResult server;
    std::string backend;  // of the session
    std::optional<std::int64_t> attachedPid{};  // asyncode attach: the running program's
  };
  // Starts reading, sends `initialize`, then `session/open` when the options ask for a
  // session of their own (a backend, a venv, a directory), or `session/attach` (attach).
  void connect(std::function<void(Answer<Ready>)> done);

  // Leaves cleanly: `shutdown`, then `exit`, then waits for the daemon to end (killing
  // it after a few seconds). `done` runs once the daemon is gone.
  void stop(std::function<void()> done);

  // SIGWINCH: the session's user code sees the new size (session/terminal).
  void terminalChanged();

  // The daemon ended while nobody asked it to: `why` says how.
  void setOnLost(std::function<void(const std::string& why)> fn) { onLost_ = std::move(fn); }

  [[nodiscard]] int pid() const { return pid_; }

 private:
  static void onProcessExit(uv_process_t* process, int64_t status, int termSignal);
  void finishStop();

  uv_loop_t* loop_;
  SessionOptions options_;
  std::string session_ = "default";
  rpc::UvHandle<uv_process_t> process_;
  rpc::UvHandle<uv_timer_t> killTimer_;
  std::unique_ptr<rpc::Peer> peer_;
  int pid_ = 0;
  bool exited_ = false;
  std::string exitDescription_;
  bool stopping_ = false;
  bool initialized_ = false;  // notifications may go
  std::function<void()> onStopped_;
  std::function<void(const std::string&)> onLost_;
};

}  // namespace asyncode::cli
