#include "daemon/input_relay.h"

namespace asyncode::daemon {

namespace link = protocol::link;

InputRelay::InputRelay(rpc::Peer& client, const ClientState& state, OwnerOf ownerOf)
    : client_(client), state_(state), ownerOf_(std::move(ownerOf)) {}

void InputRelay::bind(Worker& w) {
  auto& d = w.handle->control().dispatcher();
  d.bind(link::methods::input, [this, &w](const link::InputParams& p, rpc::Reply<protocol::InputResult> reply) {
    ask(w, p, std::move(reply));
  });
  d.bind(link::methods::cancelRequest,
         [this, id = w.id](const protocol::CancelRequestParams& p) { withdrawn(id, p); });
}

void InputRelay::ask(Worker& w, const link::InputParams& p, rpc::Reply<protocol::InputResult> reply) {
  if (!state_.inputCapable || client_.closed())
    return reply.error(rpc::ErrorCode::InternalError, "the client does not answer input requests");
  if (w.session.empty()) return reply.error(rpc::ErrorCode::InternalError, "the session is closing");
  auto shared = std::make_shared<rpc::Reply<protocol::InputResult>>(std::move(reply));
  const rpc::Id linkId = shared->id();
  const auto owner = p.seq ? ownerOf_(w, *p.seq) : std::nullopt;
  // Built in one piece: assigning the optional tag afterwards trips GCC 12's -Wmaybe-uninitialized
  // under -fsanitize=address (a false positive, but warnings are errors).
  const protocol::InputParams params{
      .session = w.session,
      .requestId = owner ? owner->requestId : rpc::Json(nullptr),
      .prompt = p.prompt,
      .password = p.password,
      .kind = p.kind.value_or(p.password ? protocol::InputKind::Password : protocol::InputKind::Input),
      .tag = owner ? owner->tag : std::nullopt,
  };
  const rpc::Id clientId = client_.call(protocol::methods::input, params,
                                        [this, shared, id = w.id, linkId](rpc::Answer<protocol::InputResult> a) {
                                          forget(id, linkId);
                                          if (a) return (*shared)(*a);
                                          shared->error(std::move(a.error));
                                        });
  pending_.push_back(Pending{w.id, linkId, clientId, owner ? p.seq : std::nullopt, shared});
}

void InputRelay::forget(WorkerId id, const rpc::Id& linkId) {
  std::erase_if(pending_, [&](const Pending& p) { return p.worker == id && p.linkId == linkId; });
}

// input() stopped waiting (interrupted): take the request back from the client.
void InputRelay::withdrawn(WorkerId id, const protocol::CancelRequestParams& p) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->worker != id || it->linkId != p.id) continue;
    withdraw(*it, "input() was interrupted");
    pending_.erase(it);
    return;
  }
}

void InputRelay::withdraw(const Pending& p, const char* why) {
  client_.forget(p.clientId);
  if (client_.canWrite()) client_.notify(protocol::methods::cancelRequest, protocol::CancelRequestParams{p.clientId});
  p.reply->error(rpc::ErrorCode::RequestCancelled, why);
}

void InputRelay::execEnding(WorkerId id, std::uint64_t seq) {
  std::erase_if(pending_, [&](const Pending& p) {
    if (p.worker != id || !p.seq || static_cast<std::uint64_t>(*p.seq) != seq) return false;
    withdraw(p, "the exec that asked has ended");
    return true;
  });
}

void InputRelay::workerGone(WorkerId id) {
  std::erase_if(pending_, [&](const Pending& p) {
    if (p.worker != id) return false;
    client_.forget(p.clientId);
    if (!state_.exiting) client_.notify(protocol::methods::cancelRequest, protocol::CancelRequestParams{p.clientId});
    return true;
  });
}

void InputRelay::cancelAll(const std::string& why) {
  for (auto& p : pending_) p.reply->error(rpc::ErrorCode::RequestCancelled, why);
  pending_.clear();
}

}  // namespace asyncode::daemon
