#include "rpc/dispatcher.h"

#include <spdlog/spdlog.h>

#include <cassert>

namespace asyncode::rpc {

bool ReplyOnce::State::claim() { return !replied.exchange(true); }

namespace {

double millisecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void ReplyOnce::State::send(std::string body, const Error* error) {
  if (spdlog::should_log(spdlog::level::trace)) {
    if (error) {
      spdlog::trace("<-- reply {}({}) error {}: {} ({:.3f} ms)", method, id.dump(), static_cast<int>(error->code),
                    error->message, millisecondsSince(received));
    } else {
      spdlog::trace("<-- reply {}({}) ({:.3f} ms)", method, id.dump(), millisecondsSince(received));
    }
  }
  sender(std::move(body));
}

ReplyOnce::ReplyOnce(Id id, std::string method, Sender sender)
    : state_(std::make_shared<State>()) {
  state_->id = std::move(id);
  state_->method = std::move(method);
  state_->sender = std::move(sender);
}

ReplyOnce::ReplyOnce(ReplyOnce&& other) noexcept : state_(std::move(other.state_)) {}

ReplyOnce& ReplyOnce::operator=(ReplyOnce&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
    uncaught_ = std::uncaught_exceptions();
  }
  return *this;
}

ReplyOnce::~ReplyOnce() { release(); }

void ReplyOnce::release() {
  if (state_ && state_->dispatching && std::uncaught_exceptions() > uncaught_) {
    state_.reset();  // its handler is throwing: the dispatcher answers with the error
    return;
  }
  if (state_ && state_->claim()) {
    spdlog::error("request {} ({}) was dropped without an answer", state_->id.dump(), state_->method);
    const Error e{ErrorCode::InternalError, "the request was dropped without an answer", std::nullopt};
    state_->send(serializeError(state_->id, e), &e);
  }
  state_.reset();
}

void ReplyOnce::operator()(const Json& result) {
  if (!state_ || !state_->claim()) {
    assert(false && "a request was answered twice");
    spdlog::error("a request was answered twice");
    return;
  }
  state_->send(serializeResult(state_->id, result), nullptr);
}

void ReplyOnce::error(Error e) {
  if (!state_ || !state_->claim()) {
    assert(false && "a request was answered twice");
    spdlog::error("a request was answered twice");
    return;
  }
  state_->send(serializeError(state_->id, e), &e);
}

const Id& ReplyOnce::id() const {
  static const Id none = nullptr;
  return state_ ? state_->id : none;
}

const std::string& ReplyOnce::method() const {
  static const std::string none;
  return state_ ? state_->method : none;
}

bool ReplyOnce::pending() const { return state_ && !state_->replied.load(); }

void Dispatcher::dispatch(Request request) {
  ReplyOnce reply(std::move(request.id), request.method, sender_);
  auto state = reply.state();
  auto fail = [&](Error e) {
    state->dispatching = false;
    if (state->claim()) state->send(serializeError(state->id, e), &e);
  };
  if (spdlog::should_log(spdlog::level::trace)) spdlog::trace("--> {}({})", state->method, state->id.dump());
  try {
    if (gate_) {
      if (auto refused = gate_(request.method)) return reply.error(std::move(*refused));
    }
    const auto it = requests_.find(request.method);
    if (it == requests_.end()) return reply.error(ErrorCode::MethodNotFound, "method not found: " + request.method);
    state->dispatching = true;
    it->second(request.params, std::move(reply));
    state->dispatching = false;
    // Its handler dropped the reply after catching an exception of its own: no answer
    // will come, so this one does.
    if (state.use_count() == 1 && state->claim()) {
      spdlog::error("request {} ({}) was dropped without an answer", state->id.dump(), state->method);
      const Error e{ErrorCode::InternalError, "the request was dropped without an answer", std::nullopt};
      state->send(serializeError(state->id, e), &e);
    }
  } catch (const DecodeError& e) {
    fail(Error{ErrorCode::InvalidParams, std::string("invalid params: ") + e.what(), std::nullopt});
  } catch (const RpcException& e) {
    fail(e.error());
  } catch (const std::exception& e) {
    spdlog::error("handler for {} failed: {}", state->method, e.what());
    fail(Error{ErrorCode::InternalError, std::string("internal error: ") + e.what(), std::nullopt});
  }
}

bool Dispatcher::dispatch(const Notification& notification) {
  const auto it = notifications_.find(notification.method);
  if (it == notifications_.end()) {
    if (requests_.count(notification.method) != 0)  // a client's mistake worth saying: it waits in vain
      spdlog::warn("{} came as a notification (no id) and was ignored: send it as a request", notification.method);
    return false;
  }
  try {
    const auto received = std::chrono::steady_clock::now();
    it->second(notification.params);
    if (spdlog::should_log(spdlog::level::trace))
      spdlog::trace("--> {} ({:.3f} ms)", notification.method, millisecondsSince(received));
    return true;
  } catch (const DecodeError& e) {  // a peer's mistake, not ours: not worth a warning
    spdlog::debug("notification {} ignored: {}", notification.method, e.what());
    return false;
  } catch (const std::exception& e) {
    spdlog::warn("notification {} ignored: {}", notification.method, e.what());
    return false;
  }
}

}  // namespace asyncode::rpc
