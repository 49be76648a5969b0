#include "clients/cli/stdin_stream.h"

#include <unistd.h>

#include <cerrno>
#include <vector>

#include "support/base64.h"

namespace asyncode::cli {

std::optional<std::size_t> utf8TextPrefix(std::string_view bytes) {
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;  // the second byte's range (overlongs and surrogates are not UTF-8)
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c == 0xE0) {
      length = 3, low = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      length = 3;
    } else if (c == 0xED) {
      length = 3, high = 0x9F;
    } else if (c == 0xF0) {
      length = 4, low = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      length = 4;
    } else if (c == 0xF4) {
      length = 4, high = 0x8F;
    } else {
      return std::nullopt;
    }
    for (std::size_t k = 1; k < length; ++k) {
      if (i + k >= n) return i;  // cut by the end: the rest comes with the next read
      const auto d = static_cast<unsigned char>(bytes[i + k]);
      if (d < (k == 1 ? low : 0x80) || d > (k == 1 ? high : 0xBF)) return std::nullopt;
    }
    i += length;
  }
  return n;
}

StdinStream::StdinStream(DaemonLink& link, InputSource& source) : source_(source) {
  link.dispatcher().bind(methods::stdinRead, [this](const StdinReadParams& p, rpc::Reply<StdinReadResult> reply) {
    onRead(p, std::move(reply));
  });
}

void StdinStream::onRead(const StdinReadParams& params, rpc::Reply<StdinReadResult> reply) {
  if (ended_) return reply(StdinReadResult{"", false, true});
  requests_.push_back(Request{std::move(reply), static_cast<std::size_t>(std::max<std::int64_t>(params.maxBytes, 4))});
  source_.start([this] { onReadable(); });
}

void StdinStream::onReadable() {
  if (requests_.empty()) return source_.stop();
  const std::size_t max = requests_.front().max;
  std::vector<char> buffer(max - std::min(max - 1, carry_.size()));
  const ssize_t n = ::read(source_.fd(), buffer.data(), buffer.size());
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;  // wait for more
  if (n <= 0) {  // end of input (or an error, which ends it too): every request gets it
    ended_ = true;
    answer(std::exchange(carry_, {}), true);
    while (!requests_.empty()) answer({}, true);
    return;
  }
  std::string bytes = std::exchange(carry_, {});
  bytes.append(buffer.data(), static_cast<std::size_t>(n));
  if (const auto text = utf8TextPrefix(bytes); text && *text < bytes.size()) {
    carry_ = bytes.substr(*text);
    bytes.resize(*text);
    if (bytes.empty()) return;  // only the start of a character: wait for its end
  }
  answer(std::move(bytes), false);
}

// Answers the oldest request; stops watching stdin when none is left.
void StdinStream::answer(std::string bytes, bool eof) {
  auto reply = std::move(requests_.front().reply);
  requests_.pop_front();
  if (requests_.empty()) source_.stop();
  if (utf8TextPrefix(bytes) == bytes.size()) return reply(StdinReadResult{std::move(bytes), false, eof});
  reply(StdinReadResult{support::base64Encode(bytes), true, eof});
}

}  // namespace asyncode::cli
