// What the fuzz targets of streamed input share: an input's first byte says how many of the
// next bytes choose the sizes of the pieces the rest is fed in, so that one input also tests
// the same bytes arriving cut anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace asyncode::fuzz {

struct Input {
  std::string_view cuts;  // the piece sizes, each 1 to 64 bytes, used in turn
  std::string_view data;  // what is fed
};

inline std::optional<Input> splitInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return std::nullopt;
  const std::size_t cutLen = bytes[0] % 16;
  if (size < 1 + cutLen) return std::nullopt;
  return Input{std::string_view(reinterpret_cast<const char*>(bytes + 1), cutLen),
               std::string_view(reinterpret_cast<const char*>(bytes + 1 + cutLen), size - 1 - cutLen)};
}

// feed(piece) for consecutive pieces of `data` sized by `cuts` (one piece without cuts), until
// it is all fed or feed returns false.
template <class Feed>
void inPieces(std::string_view data, std::string_view cuts, Feed feed) {
  std::size_t i = 0;
  while (!data.empty()) {
    std::size_t n = cuts.empty() ? data.size() : 1 + static_cast<unsigned char>(cuts[i++ % cuts.size()]) % 64;
    if (n > data.size()) n = data.size();
    if (!feed(data.substr(0, n))) return;
    data.remove_prefix(n);
  }
}

}  // namespace asyncode::fuzz
