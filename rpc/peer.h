// One end of a JSON-RPC link: incoming requests and notifications go to a Dispatcher,
// outgoing requests get their responses through callbacks. Both directions may carry
// requests (the daemon asks the client for input; a worker asks the daemon).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "rpc/connection.h"
#include "rpc/dispatcher.h"

namespace asyncode::rpc {

class Peer {
 public:
  using ResponseFn = std::function<void(Response&& response)>;
  // Sees every body before it is parsed; returns true when it took the body (forwarded
  // verbatim, say), which then goes nowhere else.
  using RawFilter = std::function<bool(std::string& body)>;
  using BadMessageFn = std::function<void(const BadMessage&)>;
  using ClosedFn = std::function<void(int status)>;

  Peer(uv_loop_t* loop, int inFd, int outFd, FrameLimits limits);
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  ~Peer();

  Dispatcher& dispatcher() { return dispatcher_; }
  void setRawFilter(RawFilter f) { rawFilter_ = std::move(f); }
  // A body that was not a message. By default it is answered with its error.
  void setOnBadMessage(BadMessageFn f) { onBadMessage_ = std::move(f); }
  // The link ended. Pending requests have already been failed (InternalError).
  void setOnClosed(ClosedFn f) { onClosed_ = std::move(f); }
  // A response whose id is unknown (late, or never asked).
  void setOnStrayResponse(std::function<void(const Response&)> f) { onStray_ = std::move(f); }

  void start() { connection_.start(); }

  // Sends a request; `onResponse` runs exactly once: with the answer, or with an
  // InternalError response when the link closes first. Returns the id used.
  Id request(std::string_view method, const Json& params, ResponseFn onResponse);
  // Forgets a pending request (its callback will not run).
  void forget(const Id& id);
  void notify(std::string_view method, const Json& params);
  // A serialized message body.
  void send(std::string_view body) { connection_.send(body); }

  // Frames sent while a Batch lives go out as one write when the last Batch ends.
  class Batch {
   public:
    explicit Batch(Peer& peer) : peer_(&peer) { peer.connection_.hold(); }
    ~Batch() { peer_->connection_.release(); }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

   private:
    Peer* peer_;
  };

  [[nodiscard]] std::size_t pendingBytes() const { return connection_.pendingBytes(); }
  void setOnWritten(std::function<void()> fn) { connection_.setOnWritten(std::move(fn)); }
  void pauseReading() { connection_.pauseReading(); }
  void resumeReading() { connection_.resumeReading(); }
  // Handles every message that can be read right now.
  void readAvailable() { connection_.readAvailable(); }
  [[nodiscard]] bool closed() const { return connection_.closed(); }
  // Output can still be written (the other side may have ended its input only).
  [[nodiscard]] bool canWrite() const { return connection_.canWrite(); }
  [[nodiscard]] std::size_t pendingRequests() const { return pending_.size(); }

 private:
  void onBody(std::string& body);
  void onMessage(Message&& message);
  void onClosed(int status);

  Dispatcher dispatcher_;
  Connection connection_;
  std::int64_t nextId_ = 1;
  std::map<std::int64_t, ResponseFn> pending_;
  RawFilter rawFilter_;
  BadMessageFn onBadMessage_;
  ClosedFn onClosed_;
  std::function<void(const Response&)> onStray_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace asyncode::rpc
