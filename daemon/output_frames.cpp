#include "daemon/output_frames.h"

#include <algorithm>
#include <random>

#include "support/utf8.h"

namespace asyncode::daemon {
namespace {

std::uint32_t readLE(std::string_view s, std::size_t at, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::uint32_t(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

void writeLE(std::string& s, std::uint32_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}

}  // namespace

Magic randomMagic() {
  std::random_device rd;
  Magic m{};
  for (auto& c : m) c = static_cast<char>(rd() & 0xFF);
  m[0] = '\0';  // a NUL first: never the start of text a program prints
  return m;
}

std::string magicToHex(const Magic& m) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (char c : m) {
    const auto u = static_cast<unsigned char>(c);
    out += hex[u >> 4];
    out += hex[u & 15];
  }
  return out;
}

bool magicFromHex(std::string_view hex, Magic& out) {
  if (hex.size() != kMagicSize * 2) return false;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < kMagicSize; ++i) {
    const int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return true;
}

void encodeFrames(const Magic& magic, char kind, std::string_view owner, std::string_view payload,
                  std::vector<std::string>& out) {
  const std::size_t room = kMaxFrame - kFrameHeaderSize - owner.size();
  const bool message = kind == kMessagePart || kind == kMessageLast;
  do {
    std::size_t n = message ? std::min(room, payload.size()) : support::utf8Prefix(payload, room);
    if (n == 0) n = std::min(room, payload.size());  // not UTF-8: cut anyway, never stall
    const bool last = n == payload.size();
    std::string frame;
    frame.reserve(kFrameHeaderSize + owner.size() + n);
    frame.append(magic.data(), kMagicSize);
    frame += message ? (last ? kMessageLast : kMessagePart) : kind;
    writeLE(frame, static_cast<std::uint32_t>(owner.size()), 2);
    writeLE(frame, static_cast<std::uint32_t>(n), 4);
    frame.append(owner);
    frame.append(payload.substr(0, n));
    out.push_back(std::move(frame));
    payload.remove_prefix(n);
  } while (!payload.empty());
}

void FrameDemuxer::feed(std::string_view data, const TextFn& onText, const StopFn& onFrame) {
  buffer_.append(data);
  std::string_view b(buffer_);
  const std::string_view magic(magic_.data(), kMagicSize);
  std::size_t consumed = 0;
  while (consumed < b.size()) {
    const std::string_view rest = b.substr(consumed);
    const std::size_t at = rest.find(magic);
    if (at == std::string_view::npos) {
      // Keep a tail that may be the start of a magic cut by the read.
      std::size_t keep = 0;
      for (std::size_t k = std::min(kMagicSize - 1, rest.size()); k > 0; --k) {
        if (rest.substr(rest.size() - k) == magic.substr(0, k)) {
          keep = k;
          break;
        }
      }
      if (rest.size() > keep) onText(rest.substr(0, rest.size() - keep));
      consumed = b.size() - keep;
      break;
    }
    if (at > 0) onText(rest.substr(0, at));
    const std::string_view frame = rest.substr(at);
    if (frame.size() < kFrameHeaderSize) {
      consumed += at;
      break;  // the rest of the header is still in the pipe
    }
    const char kind = frame[kMagicSize];
    const std::size_t ownerLen = readLE(frame, kMagicSize + 1, 2);
    const std::size_t payloadLen = readLE(frame, kMagicSize + 3, 4);
    if (ownerLen + payloadLen > kMaxFrame) {  // not one of ours: plain bytes after all
      onText(frame.substr(0, kMagicSize));
      consumed += at + kMagicSize;
      continue;
    }
    const std::size_t total = kFrameHeaderSize + ownerLen + payloadLen;
    if (frame.size() < total) {
      consumed += at;
      break;
    }
    if (!onFrame(kind, frame.substr(kFrameHeaderSize, ownerLen), frame.substr(kFrameHeaderSize + ownerLen, payloadLen))) {
      consumed += at;
      break;  // stopped: this frame is read again at the next feed
    }
    consumed += at + total;
  }
  buffer_.erase(0, consumed);
}

void FrameDemuxer::flush(const TextFn& onText) {
  // Only a partial magic or header can be held; a whole frame is never left behind.
  if (!buffer_.empty()) onText(buffer_);
  buffer_.clear();
}

}  // namespace asyncode::daemon
