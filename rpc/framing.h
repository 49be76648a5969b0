// The Language Server Protocol's base protocol: "Content-Length: N\r\n\r\n" + N bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace asyncode::rpc {

struct FrameLimits {
  std::size_t maxBody = std::size_t{64} << 20;  // a bigger frame is refused and skipped
  std::size_t maxHeader = 8192;                 // bytes of one header block
  // A frame begun must go on arriving: after this long without a byte of it (while reading),
  // it is dropped and reported (a BadHeader). 0: no bound. Links whose peer writes whole
  // frames at once (a worker's) set it, so that a forged header cannot stall them.
  std::uint64_t stallMs = 0;
};

// Why a frame could not be read. The decoder carries on with the next frame after each.
struct FrameError {
  enum class Kind {
    BadHeader,  // a header block without a usable Content-Length: dropped
    TooLarge,   // Content-Length above FrameLimits::maxBody: the body is skipped unread
    Skipped,    // bytes before a header (the tail of a frame whose length was wrong): worth a
                // log line, not an answer, since the frame they belong to was answered
  };
  Kind kind;
  std::string message;
};

// Incremental decoder: feed it bytes as they arrive, in pieces of any size. Unknown header
// fields (Content-Type) are ignored, header names match case-insensitively, header lines
// may end in LF alone, and empty lines between frames are tolerated.
//
// A bad frame never desynchronises it: a malformed or over-long header is reported and
// reading goes on at the next line that starts a header; bytes before a "Content-Length"
// (the tail of a body longer than its frame declared) are skipped; a body that is not JSON
// but holds a "Content-Length" header (a frame that declared more bytes than it had) is
// cut there, and the header and what follows are read again as the next frame.
class FrameDecoder {
 public:
  using BodyFn = std::function<void(std::string&& body)>;
  using ErrorFn = std::function<void(const FrameError&)>;

  explicit FrameDecoder(FrameLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view data, const BodyFn& onBody, const ErrorFn& onError);

  // True when no partial frame is buffered (an end of input here is a clean end).
  [[nodiscard]] bool idle() const { return state_ == State::Header && line_.empty() && !seenHeader_; }

  // Bytes held for a frame not yet complete.
  [[nodiscard]] std::size_t buffered() const { return line_.size() + body_.size(); }

 private:
  enum class State { Header, Body, Skip };
  void onLine(std::string_view line, const BodyFn& onBody, const ErrorFn& onError);
  void checkPartialLine(const ErrorFn& onError);
  [[nodiscard]] bool fits(std::string_view line) const;
  void overflow(std::string_view line, const ErrorFn& onError);
  void endBlock(const BodyFn& onBody, const ErrorFn& onError);
  void resetBlock();
  static void skipped(std::string_view bytes, const ErrorFn& onError);
  static std::string splitEmbeddedFrame(std::string& body);

  FrameLimits limits_;
  State state_ = State::Header;
  std::string line_;           // the header line being read, without its end yet
  std::string body_;
  std::size_t remaining_ = 0;  // bytes of body still to read (or to skip)
  // The header block being read.
  bool seenHeader_ = false;
  std::optional<std::size_t> length_;
  std::size_t blockBytes_ = 0;
  std::string blockText_;      // its start, for messages
  std::string blockError_;     // what makes it unusable, reported at its end
  bool overflowReported_ = false;  // the current line grew too long and was reported
  bool afterBody_ = false;     // nothing but blank lines since the last body
};

// The frame for one message body.
std::string encodeFrame(std::string_view body);

}  // namespace asyncode::rpc
