// Sessions on running programs (session/attach). A program that runs asyncode.serve() (the
// Python package) answers the daemon's own session protocol on a Unix socket: session/open
// (the hello), exec, interrupt, compile, needsAwait, complete, inspect, variables, reset,
// $/cancelRequest and session/close, and sends `output` notifications. An attached session
// is a proxy: the front's requests for it are forwarded with their typed params, and the
// program's answers and notifications come back renamed (its session, the client's request
// ids) after being decoded into the schema's structs: nothing the program sends is trusted.
// Its frames are read with the rpc library's limits (size, depth), a request it does not
// answer in time is answered for it, and its output stops being read while the client is
// behind. The program's exit fails the execs it had (WorkerDied) and sends `status` dead with
// reason "detached"; session/close detaches and leaves it running.
//
// It stands in front of the session table: bind() wraps the front's handlers of every method
// that names a session, so that a name of an attached session goes here and any other name
// goes where it always went. It knows nothing of workers.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/client_state.h"
#include "protocol/protocol.h"
#include "rpc/dispatcher.h"
#include "rpc/peer.h"
#include "rpc/timer.h"

namespace asyncode::daemon {

class SessionTable;

// What the daemon waits for an attached program (the socket's peer must be this user).
inline constexpr std::uint64_t kAttachAnswerMs = 10000;  // its answer to a request that is not an exec
inline constexpr std::size_t kAttachMaxBody = std::size_t{16} << 20;  // a bigger frame of it is refused
inline constexpr std::size_t kAttachClientHighWater = std::size_t{4} << 20;  // its output waits above this

class AttachedSessions {
 public:
  AttachedSessions(uv_loop_t* loop, rpc::Peer& client, SessionTable& sessions, const ClientState& state);
  ~AttachedSessions();
  AttachedSessions(const AttachedSessions&) = delete;
  AttachedSessions& operator=(const AttachedSessions&) = delete;

  // Binds session/attach and goes in front of the methods that name a session (after the
  // front bound them).
  void bind(rpc::Dispatcher& d);
  // Shutdown: every request waiting for a program is answered -32800 and the links close.
  void closeAll(const std::string& why);

  class Program;

 private:
  void attach(const protocol::SessionAttachParams& p, rpc::Reply<protocol::SessionAttachResult> reply);
  Program* find(const std::string& name);
  // The link of `program` ended (its exit, or a detach): it goes, later, off this stack.
  void gone(Program& program);
  template <class P, class R>
  void over(rpc::Dispatcher& d, const rpc::RequestType<P, R>& method);
  void checkClient();

  uv_loop_t* loop_;
  rpc::Peer& client_;
  SessionTable& sessions_;
  const ClientState& state_;
  std::map<std::string, std::unique_ptr<Program>> programs_;
  std::vector<std::unique_ptr<Program>> graveyard_;
  rpc::Timer reaper_;
  rpc::Timer clientWatch_;  // while programs' output waits for the client
};

}  // namespace asyncode::daemon
