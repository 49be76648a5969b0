#include "support/utf8.h"

namespace asyncode::support {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the sequence a lead byte starts (0: not a lead byte).
int sequenceLength(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

// Is bytes[1..n) a valid continuation for lead byte bytes[0] (no overlongs, surrogates)?
bool validContinuation(std::string_view s, std::size_t n) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  for (std::size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return false;
    if (i == 1) {
      if (b0 == 0xE0 && b < 0xA0) return false;
      if (b0 == 0xED && b > 0x9F) return false;
      if (b0 == 0xF0 && b < 0x90) return false;
      if (b0 == 0xF4 && b > 0x8F) return false;
    }
  }
  return true;
}

}  // namespace

std::string Utf8Decoder::decode(std::string_view bytes, bool final) {
  std::string input;
  if (!carry_.empty()) {
    input = std::move(carry_);
    carry_.clear();
    input.append(bytes);
    bytes = input;
  }
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {  // fast path for runs of ASCII
      std::size_t j = i + 1;
      while (j < bytes.size() && static_cast<unsigned char>(bytes[j]) < 0x80) ++j;
      out.append(bytes.substr(i, j - i));
      i = j;
      continue;
    }
    const int n = sequenceLength(b);
    if (n == 0) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    const std::size_t avail = bytes.size() - i;
    if (avail < static_cast<std::size_t>(n)) {
      // Possibly the start of a character that the next read completes.
      if (!final && validContinuation(bytes.substr(i), avail)) {
        carry_.assign(bytes.substr(i));
        return out;
      }
      out.append(kReplacement);
      ++i;
      continue;
    }
    if (!validContinuation(bytes.substr(i), static_cast<std::size_t>(n))) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    out.append(bytes.substr(i, static_cast<std::size_t>(n)));
    i += static_cast<std::size_t>(n);
  }
  return out;
}

std::string toValidUtf8(std::string_view bytes) {
  Utf8Decoder d;
  return d.decode(bytes, true);
}

std::size_t utf8Prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text.size();
  std::size_t n = max;
  // Back up over continuation bytes (10xxxxxx) to the start of a character.
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;  // 0 when the first character does not fit
}

}  // namespace asyncode::support
