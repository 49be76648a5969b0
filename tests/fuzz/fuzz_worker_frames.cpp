// libFuzzer: bytes as the supervisor reads them from a worker's fd 1 pipe, which user code can
// write to (issue 12: nothing a worker sends is trusted). The frame demuxer splits them into
// plain bytes and frames, fed in pieces of fuzzer-chosen sizes; each frame goes through the
// checks the output router applies (the owner, the parts of a message and their byte cap, the
// link schema's structs through the client's depth-bounded parser). Nothing may crash or throw
// out; what passes must serialize (the router writes it to the client); no more bytes come out
// than went in; and the same bytes give the same text and frames whatever the pieces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "daemon/output_frames.h"
#include "daemon/worker_messages.h"
#include "support/utf8.h"
#include "pieces.h"

namespace frames = asyncode::daemon;

namespace {

// The seeds' magic (tests/fuzz/make_corpus.py); a worker's is random, with a NUL first.
constexpr frames::Magic kMagic{'\0', 'f', 'u', 'z', 'z', 'M', 'A', 'G'};
// The router's cap on one message's parts is 64 MiB; a small one here reaches it.
constexpr std::size_t kMaxMessage = 1 << 16;

struct Result {
  std::string text;                 // plain bytes, joined
  std::vector<std::string> frames;  // kind, owner, payload of each frame read
  std::vector<std::string> outcomes;
  std::size_t frameBytes = 0;
};

void check(bool ok) {
  if (!ok) std::abort();
}

// As OutputRouter::onFrame: false once the worker broke the rules (nothing more is read).
bool onFrame(Result& r, std::string& message, char kind, std::string_view owner, std::string_view payload) {
  r.frames.push_back(std::string(1, kind) + '|' + std::string(owner) + '|' + std::string(payload));
  r.frameBytes += frames::kFrameHeaderSize + owner.size() + payload.size();
  if (kind == frames::kStdoutText || kind == frames::kStderrText) {
    std::optional<std::int64_t> seq;
    if (!frames::parseFrameOwner(owner, seq)) return false;
    check(!seq || *seq >= 1);
    const std::string text = asyncode::support::toValidUtf8(payload);
    check(asyncode::support::toValidUtf8(text) == text);  // valid UTF-8 already
    r.outcomes.push_back("text frame");
    return true;
  }
  if (kind != frames::kMessagePart && kind != frames::kMessageLast) return false;
  if (message.size() + payload.size() > kMaxMessage) return false;
  message.append(payload);
  if (kind == frames::kMessagePart) return true;
  const std::string body = std::move(message);
  message.clear();
  auto decoded = frames::decodeFramedMessage(body);
  if (const auto* why = std::get_if<std::string>(&decoded)) {
    r.outcomes.push_back("broken: " + *why);
    return false;
  }
  std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, asyncode::protocol::link::DisplayParams>) check(frames::validMimeBundle(p.data));
        r.outcomes.push_back(asyncode::rpc::Json(p).dump());  // throws on what the client could not read
      },
      std::get<frames::FramedMessage>(decoded));
  return true;
}

Result demuxAll(std::string_view data, std::string_view cuts) {
  frames::FrameDemuxer demux(kMagic);
  Result r;
  std::string message;
  bool broken = false;
  auto onText = [&](std::string_view t) {
    if (!broken) r.text.append(t);
  };
  auto onFrameFn = [&](char kind, std::string_view owner, std::string_view payload) {
    if (broken) return false;
    if (!onFrame(r, message, kind, owner, payload)) broken = true;
    return !broken;
  };
  asyncode::fuzz::inPieces(data, cuts, [&](std::string_view piece) {
    demux.feed(piece, onText, onFrameFn);
    return !broken;
  });
  if (!broken) demux.flush(onText);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const auto input = asyncode::fuzz::splitInput(bytes, size);
  if (!input) return 0;
  const std::string_view data = input->data;
  const Result whole = demuxAll(data, {});
  const Result pieces = demuxAll(data, input->cuts);
  check(whole.text.size() + whole.frameBytes <= data.size());
  check(whole.frames == pieces.frames);
  check(whole.outcomes == pieces.outcomes);
  check(whole.text == pieces.text);
  return 0;
}
