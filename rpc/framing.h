// The Language Server Protocol's base protocol: "Content-Length: N\r\n\r\n" + N bytes.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace asyncode::rpc {

struct FrameLimits {
  std::size_t maxBody = std::size_t{64} << 20;  // a bigger frame is refused and skipped
  std::size_t maxHeader = 8192;                 // bytes of one header block
};

// Why a frame could not be read. The decoder carries on with the next frame after each.
struct FrameError {
  enum class Kind {
    BadHeader,  // a header block without a usable Content-Length: dropped
    TooLarge,   // Content-Length above FrameLimits::maxBody: the body is skipped unread
  };
  Kind kind;
  std::string message;
};

// Incremental decoder: feed it bytes as they arrive, in pieces of any size. Unknown header
// fields (Content-Type) are ignored, header names match case-insensitively, and empty
// lines between frames are tolerated.
class FrameDecoder {
 public:
  using BodyFn = std::function<void(std::string&& body)>;
  using ErrorFn = std::function<void(const FrameError&)>;

  explicit FrameDecoder(FrameLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view data, const BodyFn& onBody, const ErrorFn& onError);

  // True when no partial frame is buffered (an end of input here is a clean end).
  [[nodiscard]] bool idle() const { return state_ == State::Header && header_.empty(); }

  // Bytes held for a frame not yet complete.
  [[nodiscard]] std::size_t buffered() const { return header_.size() + body_.size(); }

 private:
  enum class State { Header, Body, Skip };
  void finishHeader(std::string_view block, const ErrorFn& onError);

  FrameLimits limits_;
  State state_ = State::Header;
  std::string header_;
  std::string body_;
  std::size_t remaining_ = 0;  // bytes of body still to read (or to skip)
  bool headerOverflowReported_ = false;
};

// The frame for one message body.
std::string encodeFrame(std::string_view body);

}  // namespace asyncode::rpc
