// input() in user code: a worker asks the supervisor, which asks the client (adding the
// session's name) and passes the answer back. A request the worker withdraws (input() was
// interrupted), or whose worker dies, is withdrawn from the client with $/cancelRequest.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/client_state.h"
#include "daemon/exec_queue.h"
#include "daemon/worker_pool.h"
#include "protocol/protocol.h"
#include "protocol/worker_link.h"
#include "rpc/peer.h"

namespace asyncode::daemon {

class InputRelay {
 public:
  // Who owns exec `seq` of a worker (its request id and tag), when it is one of its session's.
  using OwnerOf = std::function<std::optional<ExecQueue::Owner>(const Worker&, std::int64_t seq)>;
  InputRelay(rpc::Peer& client, const ClientState& state, OwnerOf ownerOf);

  // A worker's input requests and withdrawals.
  void bind(Worker& w);
  // The worker is gone: its requests are void.
  void workerGone(WorkerId id);
  // Exec `seq` is about to be answered: its requests are withdrawn now (revision 1: before the answer).
  void execEnding(WorkerId id, std::uint64_t seq);
  // Shutdown: every request is answered -32800.
  void cancelAll(const std::string& why);

 private:
  struct Pending {
    WorkerId worker = 0;
    rpc::Id linkId;    // the worker's request
    rpc::Id clientId;  // ours to the client
    std::optional<std::int64_t> seq;  // the exec that asked
    std::shared_ptr<rpc::Reply<protocol::InputResult>> reply;
  };
  void ask(Worker& w, const protocol::link::InputParams& p, rpc::Reply<protocol::InputResult> reply);
  void withdrawn(WorkerId id, const protocol::CancelRequestParams& p);
  void forget(WorkerId id, const rpc::Id& linkId);

  void withdraw(const Pending& p, const char* why);

  rpc::Peer& client_;
  const ClientState& state_;
  OwnerOf ownerOf_;
  std::vector<Pending> pending_;
};

}  // namespace asyncode::daemon
