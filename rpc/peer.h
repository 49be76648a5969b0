// One end of a JSON-RPC link: incoming requests and notifications go to a Dispatcher,
// outgoing requests get their responses through callbacks. Both directions may carry
// requests (the daemon asks the client for input; a worker asks the daemon).
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "rpc/connection.h"
#include "rpc/dispatcher.h"
#include "rpc/method.h"
#include "rpc/transport.h"

namespace asyncode::rpc {

// The outcome of a request: its decoded result, or the error it was answered with.
template <class T>
struct Answer {
  std::optional<T> value;
  Error error;

  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  const T* operator->() const { return &*value; }
};

// A response as an Answer<T>: a result that does not decode is an InternalError.
template <class T>
Answer<T> toAnswer(Response&& response) {
  Answer<T> answer;
  if (response.error) {
    answer.error = std::move(*response.error);
    return answer;
  }
  try {
    T value{};
    decode(response.result.value_or(nullptr), value, "result");
    answer.value = std::move(value);
  } catch (const DecodeError& e) {
    answer.error = Error{ErrorCode::InternalError, std::string("unexpected answer: ") + e.what(), std::nullopt};
  }
  return answer;
}

class Peer {
 public:
  using ResponseFn = std::function<void(Response&& response)>;
  using BadMessageFn = std::function<void(const BadMessage&)>;
  using ClosedFn = std::function<void(int status)>;

  // Over a Connection on two descriptors (one, for a socket).
  Peer(uv_loop_t* loop, int inFd, int outFd, FrameLimits limits);
  explicit Peer(std::unique_ptr<Transport> transport);
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  ~Peer();

  Dispatcher& dispatcher() { return dispatcher_; }
  // A body that was not a message. By default it is answered with its error.
  void setOnBadMessage(BadMessageFn f) { onBadMessage_ = std::move(f); }
  // The link ended. Pending requests have already been failed (InternalError).
  void setOnClosed(ClosedFn f) { onClosed_ = std::move(f); }
  // A response whose id is unknown (late, or never asked).
  void setOnStrayResponse(std::function<void(const Response&)> f) { onStray_ = std::move(f); }

  void start() { transport_->start(); }

  // Sends a request; `onResponse` runs exactly once: with the answer, or with an
  // InternalError response when the link closes first. Returns the id used.
  Id request(std::string_view method, const Json& params, ResponseFn onResponse);
  // The same, typed: `done` gets the decoded result or the error.
  template <class P, class R>
  Id call(const RequestType<P, R>& type, const std::type_identity_t<P>& params,
          std::type_identity_t<std::function<void(Answer<R>)>> done) {
    return request(type.method, Json(params),
                   [done = std::move(done)](Response&& r) { done(toAnswer<R>(std::move(r))); });
  }
  template <class P>
  void notify(const NotificationType<P>& type, const std::type_identity_t<P>& params) {
    notify(type.method, Json(params));
  }
  // Forgets a pending request (its callback will not run).
  void forget(const Id& id);
  void notify(std::string_view method, const Json& params);
  // A serialized message body.
  void send(std::string_view body) { transport_->send(body); }

  // Frames sent while a Batch lives go out as one write when the last Batch ends.
  class Batch {
   public:
    explicit Batch(Peer& peer) : peer_(&peer) { peer.transport_->hold(); }
    ~Batch() { peer_->transport_->release(); }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

   private:
    Peer* peer_;
  };

  [[nodiscard]] std::size_t pendingBytes() const { return transport_->pendingBytes(); }
  void setOnWritten(std::function<void()> fn) { transport_->setOnWritten(std::move(fn)); }
  void pauseReading() { transport_->pauseReading(); }
  void resumeReading() { transport_->resumeReading(); }
  // Handles every message that can be read right now.
  void readAvailable() { transport_->readAvailable(); }
  [[nodiscard]] bool closed() const { return transport_->closed(); }
  // Output can still be written (the other side may have ended its input only).
  [[nodiscard]] bool canWrite() const { return transport_->canWrite(); }
  [[nodiscard]] std::size_t pendingRequests() const { return pending_.size(); }

 private:
  void onBody(std::string& body);
  void onMessage(Message&& message);
  void onClosed(int status);

  struct Pending {
    ResponseFn fn;
    std::string method;
    std::chrono::steady_clock::time_point sent;
  };
  void onFrameError(const FrameError& e);

  std::unique_ptr<Transport> transport_;
  Dispatcher dispatcher_;
  std::int64_t nextId_ = 1;
  std::map<std::int64_t, Pending> pending_;
  BadMessageFn onBadMessage_;
  ClosedFn onClosed_;
  std::function<void(const Response&)> onStray_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace asyncode::rpc
