// Output frames: how a worker's Python-level output shares the fd 1 pipe with what C code and
// child processes write there, so that the supervisor sees all of it in the order it was
// written, and still knows which exec owns each piece of Python output.
//
// A frame is written with one write() of at most PIPE_BUF bytes, so no other writer's
// bytes can come between its bytes:
//
//   magic[8] kind[1] ownerLength[2, LE] payloadLength[4, LE] owner payload
//
// magic: 8 random bytes the supervisor chose for this worker, handed over on a pipe that is
// closed before user code runs (never on the command line). It is a delimiter, not a secret:
// user code can find it in the worker's memory, so the supervisor trusts no frame (see
// output_router.cpp: every frame is parsed with the client's limits and checked against the
// link's schema, and a worker that breaks the rules is restarted).
// kind: 'o' stdout text, 'e' stderr text (owner: the exec's seq in decimal, or empty);
// 'j' part of a JSON notification of the worker link (more follow), 'J' its last part.
// Bytes outside frames are what C code and child processes wrote.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace asyncode::daemon {

inline constexpr std::size_t kMagicSize = 8;
inline constexpr std::size_t kFrameHeaderSize = kMagicSize + 1 + 2 + 4;
inline constexpr std::size_t kMaxFrame = 4096;  // PIPE_BUF on Linux: written atomically
inline constexpr char kStdoutText = 'o';
inline constexpr char kStderrText = 'e';
inline constexpr char kMessagePart = 'j';
inline constexpr char kMessageLast = 'J';

using Magic = std::array<char, kMagicSize>;

Magic randomMagic();
std::string magicToHex(const Magic& m);
bool magicFromHex(std::string_view hex, Magic& out);

// Frames for one piece of output or one message: payload split so that each frame fits
// kMaxFrame (text on UTF-8 boundaries; a message's parts are 'j' then a last 'J'). Appends
// to `out`, one string per frame.
void encodeFrames(const Magic& magic, char kind, std::string_view owner, std::string_view payload,
                  std::vector<std::string>& out);

// Splits what is read from one pipe into plain bytes and frames, in order.
class FrameDemuxer {
 public:
  using TextFn = std::function<void(std::string_view bytes)>;
  using FrameFn = std::function<void(char kind, std::string_view owner, std::string_view payload)>;

  explicit FrameDemuxer(const Magic& magic) : magic_(magic) {}

  // onFrame returns false to stop: that frame and what follows stay buffered until the next
  // feed (an empty one resumes).
  using StopFn = std::function<bool(char kind, std::string_view owner, std::string_view payload)>;
  void feed(std::string_view data, const TextFn& onText, const StopFn& onFrame);
  [[nodiscard]] std::size_t buffered() const { return buffer_.size(); }
  // Hands out plain bytes held back because they might have begun a frame.
  void flush(const TextFn& onText);

 private:
  Magic magic_;
  std::string buffer_;
};

}  // namespace asyncode::daemon
