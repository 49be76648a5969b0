// libFuzzer: the frame decoder, fed the input in pieces of fuzzer-chosen sizes. It must
// never crash, never hand out more bytes than came in, and agree with itself: the same
// bytes decode to the same bodies and errors whatever the pieces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/framing.h"

namespace {

struct Result {
  std::vector<std::string> bodies;
  std::vector<int> errors;
};

Result decodeAll(std::string_view data, std::string_view cuts) {
  asyncode::rpc::FrameDecoder d(asyncode::rpc::FrameLimits{4096, 256, 0});
  Result r;
  auto onBody = [&](std::string&& b) { r.bodies.push_back(std::move(b)); };
  auto onError = [&](const asyncode::rpc::FrameError& e) { r.errors.push_back(static_cast<int>(e.kind)); };
  std::size_t i = 0;
  while (!data.empty()) {
    std::size_t n = cuts.empty() ? data.size() : 1 + static_cast<unsigned char>(cuts[i++ % cuts.size()]) % 64;
    if (n > data.size()) n = data.size();
    d.feed(data.substr(0, n), onBody, onError);
    data.remove_prefix(n);
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  // First byte: how many of the following bytes choose the piece sizes.
  const std::size_t cutLen = bytes[0] % 16;
  if (size < 1 + cutLen) return 0;
  const std::string_view cuts(reinterpret_cast<const char*>(bytes + 1), cutLen);
  const std::string_view data(reinterpret_cast<const char*>(bytes + 1 + cutLen), size - 1 - cutLen);
  const Result whole = decodeAll(data, {});
  const Result pieces = decodeAll(data, cuts);
  std::size_t total = 0;
  for (const auto& b : whole.bodies) total += b.size();
  if (total > data.size()) std::abort();
  if (whole.bodies != pieces.bodies) std::abort();
  return 0;
}
