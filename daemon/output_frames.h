// Output frames: how a worker's Python-level output shares the fd 1 and fd 2 pipes with
// what C code and child processes write there, so that the supervisor sees all of it in
// the order it was written, and still knows which exec owns each piece of Python output.
//
// A frame is written with one write() of at most PIPE_BUF bytes, so no other writer's
// bytes can come between its bytes:
//
//   magic[8] kind[1] ownerLength[2, LE] payloadLength[4, LE] owner payload
//
// magic: 8 random bytes the supervisor chose for this worker. kind: 'o' output text;
// 'd' part of a display (more follow), 'D' its last part (the payload, joined, is the
// JSON of its MimeBundle). owner: empty, or the JSON `[requestId, execCount]`.
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

using Magic = std::array<char, kMagicSize>;

Magic randomMagic();
std::string magicToHex(const Magic& m);
bool magicFromHex(std::string_view hex, Magic& out);

// Frames for one piece of output or display: payload split so that each frame fits
// kMaxFrame (text on UTF-8 boundaries). Appends to `out`, one string per frame.
void encodeFrames(const Magic& magic, char kind, std::string_view owner, std::string_view payload,
                  std::vector<std::string>& out);

// Splits what is read from one pipe into plain bytes and frames, in order.
class FrameDemuxer {
 public:
  using TextFn = std::function<void(std::string_view bytes)>;
  using FrameFn = std::function<void(char kind, std::string_view owner, std::string_view payload)>;

  explicit FrameDemuxer(const Magic& magic) : magic_(magic) {}

  void feed(std::string_view data, const TextFn& onText, const FrameFn& onFrame);
  // Hands out plain bytes held back because they might have begun a frame.
  void flush(const TextFn& onText);

 private:
  Magic magic_;
  std::string buffer_;
};

}  // namespace asyncode::daemon
