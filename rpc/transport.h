// What a Peer needs of the link under it: whole message bodies in, in order, and bodies out,
// each sent whole (clangd's Transport). Connection is the real one, on file descriptors and a
// libuv loop; tests drive a Peer (and what is built on it) through fakes.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "rpc/framing.h"

namespace asyncode::rpc {

class Transport {
 public:
  struct Handlers {
    // One frame's body, in order.
    std::function<void(std::string& body)> onBody;
    // A frame that could not be read (the reader skipped it and carries on).
    std::function<void(const FrameError&)> onFrameError;
    // End of input, or an error on either direction (status < 0). Called once.
    std::function<void(int status)> onClosed;
  };

  virtual ~Transport() = default;

  // Where what is read goes; set before start().
  virtual void setHandlers(Handlers handlers) = 0;
  // Starts reading (apart from construction, so that handlers may refer to their owner).
  virtual void start() = 0;

  // Sends one message body.
  virtual void send(std::string_view body) = 0;
  // While held (calls nest), bodies are gathered and go out together when the outermost hold
  // is released: the reader wakes once for what belongs together.
  virtual void hold() = 0;
  virtual void release() = 0;

  // Bytes queued and not written yet; `fn` runs after each completed write.
  [[nodiscard]] virtual std::size_t pendingBytes() const = 0;
  virtual void setOnWritten(std::function<void()> fn) = 0;

  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
  // Handles every body that can be read right now, without waiting.
  virtual void readAvailable() = 0;
  [[nodiscard]] virtual bool closed() const = 0;
  // Output can still be written (the other side may have ended its input only).
  [[nodiscard]] virtual bool canWrite() const = 0;
};

}  // namespace asyncode::rpc
