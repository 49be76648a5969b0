#include "rpc/peer.h"

#include <spdlog/spdlog.h>

namespace asyncode::rpc {
namespace {

double millisecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Peer::Peer(uv_loop_t* loop, int inFd, int outFd, FrameLimits limits)
    : Peer(std::make_unique<Connection>(loop, inFd, outFd, limits)) {}

Peer::Peer(std::unique_ptr<Transport> transport)
    : transport_(std::move(transport)), dispatcher_([this](std::string body) { transport_->send(body); }) {
  transport_->setHandlers(Transport::Handlers{
      [this](std::string& body) { onBody(body); },
      [this](const FrameError& e) { onFrameError(e); },
      [this](int status) { onClosed(status); },
  });
}

Peer::~Peer() { *alive_ = false; }

void Peer::onFrameError(const FrameError& e) {
  if (e.kind == FrameError::Kind::Skipped) return spdlog::warn("{}", e.message);
  const ErrorCode code = e.kind == FrameError::Kind::TooLarge ? ErrorCode::InvalidRequest : ErrorCode::ParseError;
  const BadMessage bad{nullptr, Error{code, e.message, std::nullopt}};
  if (onBadMessage_) {
    onBadMessage_(bad);
  } else {
    transport_->send(serializeError(bad.id, bad.error));
  }
}

void Peer::onBody(std::string& body) {
  auto parsed = parseMessage(body);
  if (auto* bad = std::get_if<BadMessage>(&parsed)) {
    if (onBadMessage_) {
      onBadMessage_(*bad);
    } else {
      transport_->send(serializeError(bad->id, bad->error));
    }
    return;
  }
  onMessage(std::move(std::get<Message>(parsed)));
}

void Peer::onMessage(Message&& message) {
  if (auto* request = std::get_if<Request>(&message)) {
    dispatcher_.dispatch(std::move(*request));
  } else if (auto* note = std::get_if<Notification>(&message)) {
    if (!dispatcher_.dispatch(*note)) spdlog::debug("notification {} ignored", note->method);
  } else {
    auto& response = std::get<Response>(message);
    const auto it = response.id.is_number_integer() ? pending_.find(response.id.get<std::int64_t>()) : pending_.end();
    if (it == pending_.end()) {
      if (onStray_) onStray_(response);
      return;
    }
    Pending pending = std::move(it->second);
    pending_.erase(it);
    if (spdlog::should_log(spdlog::level::trace))
      spdlog::trace("--> reply {}({}){} ({:.3f} ms)", pending.method, response.id.dump(),
                    response.error ? " error " + std::to_string(static_cast<int>(response.error->code)) : "",
                    millisecondsSince(pending.sent));
    pending.fn(std::move(response));
  }
}

Id Peer::request(std::string_view method, const Json& params, ResponseFn onResponse) {
  const std::int64_t id = nextId_++;
  if (transport_->closed()) {
    Response r{id, std::nullopt, Error{ErrorCode::InternalError, "the connection is closed", std::nullopt}};
    onResponse(std::move(r));
    return id;
  }
  if (spdlog::should_log(spdlog::level::trace)) spdlog::trace("<-- {}({})", method, id);
  pending_.emplace(id, Pending{std::move(onResponse), std::string(method), std::chrono::steady_clock::now()});
  transport_->send(serializeRequest(id, method, params));
  return id;
}

void Peer::forget(const Id& id) {
  if (id.is_number_integer()) pending_.erase(id.get<std::int64_t>());
}

void Peer::notify(std::string_view method, const Json& params) {
  transport_->send(serializeNotification(method, params));
}

void Peer::onClosed(int status) {
  auto alive = alive_;
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pending) {
    p.fn(Response{id, std::nullopt, Error{ErrorCode::InternalError, "the connection closed", std::nullopt}});
    if (!*alive) return;
  }
  if (onClosed_) onClosed_(status);
}

}  // namespace asyncode::rpc
