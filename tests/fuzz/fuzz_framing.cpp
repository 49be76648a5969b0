// libFuzzer: the frame decoder, fed the input in pieces of fuzzer-chosen sizes. It must
// never crash, never hand out more bytes than came in, and agree with itself: the same
// bytes decode to the same bodies and errors whatever the pieces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pieces.h"
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
  asyncode::fuzz::inPieces(data, cuts, [&](std::string_view piece) {
    d.feed(piece, onBody, onError);
    return true;
  });
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const auto input = asyncode::fuzz::splitInput(bytes, size);
  if (!input) return 0;
  const std::string_view data = input->data;
  const Result whole = decodeAll(data, {});
  const Result pieces = decodeAll(data, input->cuts);
  std::size_t total = 0;
  for (const auto& b : whole.bodies) total += b.size();
  if (total > data.size()) std::abort();
  if (whole.bodies != pieces.bodies) std::abort();
  return 0;
}
