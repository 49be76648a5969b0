// Bytes to valid UTF-8 text, for output read from file descriptors: a character split
// across two reads is kept whole, and bytes that are not UTF-8 become U+FFFD.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace asyncode::support {

class Utf8Decoder {
 public:
  // The text of `bytes` after what came before; an incomplete character at the end is
  // held back until the next call (or given as U+FFFD when `final`).
  std::string decode(std::string_view bytes, bool final = false);
  [[nodiscard]] bool pending() const { return !carry_.empty(); }

 private:
  std::string carry_;
};

// Valid UTF-8 for any bytes (a whole text: nothing is held back).
std::string toValidUtf8(std::string_view bytes);

// The longest prefix of `text` no longer than `max` bytes that ends on a UTF-8 boundary.
std::size_t utf8Prefix(std::string_view text, std::size_t max);

}  // namespace asyncode::support
