// Routing of requests and notifications to typed handlers, and replies that happen once.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "rpc/decode.h"
#include "rpc/jsonrpc.h"
#include "rpc/method.h"

namespace asyncode::rpc {

// Where serialized message bodies go. Must be callable from any thread.
using Sender = std::function<void(std::string body)>;

// The answer to one request. Move-only; answering twice is a bug (asserted, then ignored);
// dropping it unanswered sends InternalError so that no request is ever left hanging.
class ReplyOnce {
 public:
  ReplyOnce() = default;
  ReplyOnce(Id id, std::string method, Sender sender);
  ReplyOnce(ReplyOnce&& other) noexcept;
  ReplyOnce& operator=(ReplyOnce&& other) noexcept;
  ReplyOnce(const ReplyOnce&) = delete;
  ReplyOnce& operator=(const ReplyOnce&) = delete;
  ~ReplyOnce();

  void operator()(const Json& result);
  void error(Error e);
  void error(ErrorCode code, std::string message) { error(Error{code, std::move(message), std::nullopt}); }

  [[nodiscard]] const Id& id() const;
  [[nodiscard]] const std::string& method() const;
  [[nodiscard]] bool pending() const;  // false once answered (or for an empty handle)

  // The dispatcher's own view of the request, to answer when a handler throws.
  struct State {
    Id id;
    std::string method;
    Sender sender;
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
    std::atomic<bool> replied{false};
    bool dispatching = false;  // its handler is running: the dispatcher answers a throw
    bool claim();  // true exactly once
    // Sends `body` as the answer, logged at trace with the time since the request came.
    void send(std::string body, const Error* error);
  };
  [[nodiscard]] std::shared_ptr<State> state() const { return state_; }

 private:
  void release();
  std::shared_ptr<State> state_;
  // Exceptions in flight when this handle came to be: one destroyed by the unwinding of a
  // newer one (a handler threw) leaves the answer to whoever catches it (the dispatcher).
  int uncaught_ = std::uncaught_exceptions();
};

// The typed answer of a request whose result is T: replies are built from structs.
template <class T>
class Reply {
 public:
  explicit Reply(ReplyOnce r) : r_(std::move(r)) {}
  void operator()(const T& value) { r_(Json(value)); }
  void error(Error e) { r_.error(std::move(e)); }
  void error(ErrorCode code, std::string message) { r_.error(code, std::move(message)); }
  [[nodiscard]] bool pending() const { return r_.pending(); }
  [[nodiscard]] const Id& id() const { return r_.id(); }
  ReplyOnce& untyped() { return r_; }

 private:
  ReplyOnce r_;
};

class Dispatcher {
 public:
  using RequestHandler = std::function<void(const Json& params, ReplyOnce reply)>;
  using NotificationHandler = std::function<void(const Json& params)>;
  // Consulted before each request's handler: an error to answer with instead (-32002).
  using Gate = std::function<std::optional<Error>(const std::string& method)>;

  explicit Dispatcher(Sender sender) : sender_(std::move(sender)) {}

  void onRequest(const std::string& method, RequestHandler handler) { requests_[method] = std::move(handler); }
  void onNotification(const std::string& method, NotificationHandler handler) {
    notifications_[method] = std::move(handler);
  }
  void setGate(Gate gate) { gate_ = std::move(gate); }
  // The handler bound to `method` (empty when none): a part that stands in front of another
  // (attached sessions before the session table) wraps it and binds the wrapper.
  [[nodiscard]] RequestHandler requestHandler(const std::string& method) const {
    const auto it = requests_.find(method);
    return it == requests_.end() ? RequestHandler{} : it->second;
  }
  [[nodiscard]] NotificationHandler notificationHandler(const std::string& method) const {
    const auto it = notifications_.find(method);
    return it == notifications_.end() ? NotificationHandler{} : it->second;
  }

  // Typed binding, one line per method: params are decoded into P first; a decode failure
  // answers InvalidParams naming the JSON path ("params.mode: ..."), and the handler never
  // runs. `handler(const P&, Reply<R>)`, or a member function of `self`.
  template <class P, class R, class Handler>
  void bind(const RequestType<P, R>& type, Handler handler) {
    onRequest(std::string(type.method), [handler = std::move(handler)](const Json& params, ReplyOnce reply) mutable {
      P p{};
      decode(params, p, "params");
      handler(static_cast<const P&>(p), Reply<R>(std::move(reply)));
    });
  }
  template <class P, class R, class T>
  void bind(const RequestType<P, R>& type, T* self, void (T::*handler)(const P&, Reply<R>)) {
    bind(type, [self, handler](const P& p, Reply<R> reply) { (self->*handler)(p, std::move(reply)); });
  }
  template <class P, class Handler>
  void bind(const NotificationType<P>& type, Handler handler) {
    onNotification(std::string(type.method), [handler = std::move(handler)](const Json& params) mutable {
      P p{};
      decode(params, p, "params");
      handler(static_cast<const P&>(p));
    });
  }
  template <class P, class T>
  void bind(const NotificationType<P>& type, T* self, void (T::*handler)(const P&)) {
    bind(type, [self, handler](const P& p) { (self->*handler)(p); });
  }

  // A request: its handler is called, or it is answered with an error. Never throws.
  void dispatch(Request request);
  // A notification: its handler runs; unknown ones are ignored (with a warning when the
  // method is a request's). Returns false when the notification was unknown or its params
  // were bad (for logging). Never throws.
  bool dispatch(const Notification& notification);

  [[nodiscard]] const Sender& sender() const { return sender_; }

 private:
  Sender sender_;
  Gate gate_;
  std::unordered_map<std::string, RequestHandler> requests_;
  std::unordered_map<std::string, NotificationHandler> notifications_;
};

}  // namespace asyncode::rpc
