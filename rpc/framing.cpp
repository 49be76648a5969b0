#include "rpc/framing.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

namespace asyncode::rpc {
namespace {

constexpr std::string_view kContentLength = "content-length";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(x) == lower(y);
         });
}

// Where "Content-Length" (any case) starts in `s` at or after `from`, or npos.
std::size_t findContentLength(std::string_view s, std::size_t from = 0) {
  if (s.size() < kContentLength.size()) return std::string_view::npos;
  for (std::size_t i = from; i + kContentLength.size() <= s.size(); ++i) {
    if (lower(s[i]) == 'c' && equalsIgnoreCase(s.substr(i, kContentLength.size()), kContentLength)) return i;
  }
  return std::string_view::npos;
}

// An RFC 7230 token: what a header field's name is made of.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// "Name: value" (blanks around the name allowed) with a token name: a header field line,
// or the start of one when `partial`.
bool looksLikeHeader(std::string_view line, bool partial = false) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return partial && std::all_of(line.begin(), line.end(), [](char c) {
                                           return isTokenChar(c) || c == ' ' || c == '\t';
                                         });
  const std::string_view name = trim(line.substr(0, colon));
  return !name.empty() && std::all_of(name.begin(), name.end(), isTokenChar);
}

std::string printable(std::string_view s, std::size_t max = 60) {
  std::string out;
  for (char c : s.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace

void FrameDecoder::feed(std::string_view data, const BodyFn& onBody, const ErrorFn& onError) {
  // Bytes to read again after a body turned out to hold the next frame's header.
  std::string again;
  while (!data.empty()) {
    switch (state_) {
      case State::Header: {
        const std::size_t nl = data.find('\n');
        const std::size_t take = nl == std::string_view::npos ? data.size() : nl + 1;
        line_.append(data.substr(0, take));
        data.remove_prefix(take);
        if (nl == std::string_view::npos) {
          checkPartialLine(onError);
        } else {
          line_.pop_back();  // the '\n'
          std::string line = std::exchange(line_, {});
          onLine(line, onBody, onError);
        }
        break;
      }
      case State::Body: {
        const std::size_t take = std::min(remaining_, data.size());
        body_.append(data.substr(0, take));
        data.remove_prefix(take);
        remaining_ -= take;
        if (remaining_ == 0) {
          state_ = State::Header;
          std::string body = std::exchange(body_, {});
          if (std::string rest = splitEmbeddedFrame(body); !rest.empty()) {
            // The body was shorter than declared: the rest is the next frame, read again
            // before the bytes that follow it.
            rest.append(data);
            again = std::move(rest);
            data = again;
          }
          afterBody_ = true;
          onBody(std::move(body));
        }
        break;
      }
      case State::Skip: {
        const std::size_t take = std::min(remaining_, data.size());
        data.remove_prefix(take);
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::Header;
        break;
      }
    }
  }
}

// A body that is not a JSON message but holds, after a '}', a "Content-Length" header or
// the start of one: the frame declared more bytes than it had, and its body swallowed the
// start of the next frame. `body` keeps what precedes that header; the rest is returned.
std::string FrameDecoder::splitEmbeddedFrame(std::string& body) {
  const std::size_t last = body.find_last_not_of(" \t\r\n");
  if (last == std::string::npos) return {};
  if (body[last] == '}' && (findContentLength(body) == std::string::npos || nlohmann::json::accept(body))) return {};
  // Where a header starts after a '}' and blanks: "Content-Length", or its beginning cut by
  // the body's end.
  const auto headerAt = [&](std::size_t at) {
    const std::string_view rest = std::string_view(body).substr(at);
    const std::size_t n = std::min(rest.size(), kContentLength.size());
    return n > 0 && equalsIgnoreCase(rest.substr(0, n), kContentLength.substr(0, n));
  };
  for (std::size_t brace = body.find('}'); brace != std::string::npos; brace = body.find('}', brace + 1)) {
    const std::size_t at = body.find_first_not_of(" \t\r\n", brace + 1);
    if (at == std::string::npos) break;
    if (!headerAt(at)) continue;
    std::string rest = body.substr(at);
    body.resize(at);
    return rest;
  }
  return {};
}

bool FrameDecoder::fits(std::string_view line) const {
  return blockBytes_ + (seenHeader_ ? 2 : 0) + line.size() <= limits_.maxHeader;
}

// A line over the header limit: reported once (a log line only for junk right after a
// body, which is the tail of that body's frame), and its header block dropped.
void FrameDecoder::overflow(std::string_view line, const ErrorFn& onError) {
  if (!overflowReported_) {
    const bool junk = !seenHeader_ && !looksLikeHeader(line, true);
    if (junk && afterBody_) {
      skipped(line, onError);
    } else {
      onError({FrameError::Kind::BadHeader, "frame header longer than " + std::to_string(limits_.maxHeader) +
                                                " bytes: " + printable(blockText_ + std::string(line))});
    }
    overflowReported_ = true;
  }
  resetBlock();
}

// The line being read has no end yet. Past the header limit only its last bytes are
// kept, where a "Content-Length" may still begin: memory stays bounded, and what is kept
// does not depend on how the bytes were split.
void FrameDecoder::checkPartialLine(const ErrorFn& onError) {
  if (!overflowReported_) {
    std::string_view content = line_;
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);  // perhaps the line's end
    if (content.empty() || fits(content)) return;
    overflow(content, onError);
  }
  const std::size_t window = limits_.maxHeader + 1;
  if (line_.size() > window) line_.erase(0, line_.size() - window);
}

void FrameDecoder::onLine(std::string_view line, const BodyFn& onBody, const ErrorFn& onError) {
  const auto stripCr = [](std::string_view s) { return !s.empty() && s.back() == '\r' ? s.substr(0, s.size() - 1) : s; };
  std::string_view content = stripCr(line);
  bool tooLong = std::exchange(overflowReported_, false);
  if (!tooLong && !content.empty() && !fits(content)) {
    overflow(content, onError);
    overflowReported_ = false;
    tooLong = true;
  }
  if (tooLong) {  // read on from a "Content-Length" among its last bytes, if there is one
    const std::size_t window = limits_.maxHeader + 1;
    const std::string_view last = stripCr(line.substr(line.size() > window ? line.size() - window : 0));
    const std::size_t at = findContentLength(last);
    if (at == std::string_view::npos) return;
    content = last.substr(at);
  }
  if (content.empty()) {
    if (seenHeader_) endBlock(onBody, onError);
    return;  // blank lines between frames, or after a dropped line
  }
  if (!seenHeader_ && !looksLikeHeader(content)) {
    // Not a header: the tail of a frame whose length was wrong, or junk. Read on from a
    // "Content-Length" on the same line; report a whole junk line.
    const std::size_t at = findContentLength(content);
    if (at == std::string_view::npos) {
      onError({FrameError::Kind::BadHeader, "malformed frame header line: " + printable(content)});
      afterBody_ = false;
      return;
    }
    skipped(content.substr(0, at), onError);
    content.remove_prefix(at);
  }
  afterBody_ = false;
  if (blockText_.size() <= 60) blockText_ += std::string(seenHeader_ ? "\r\n" : "") + std::string(content);
  blockBytes_ += (seenHeader_ ? 2 : 0) + content.size();
  seenHeader_ = true;
  if (!blockError_.empty()) return;
  if (!looksLikeHeader(content)) {
    blockError_ = "malformed frame header line: " + printable(content);
    return;
  }
  const std::size_t colon = content.find(':');
  if (!equalsIgnoreCase(trim(content.substr(0, colon)), "Content-Length")) return;
  const std::string_view value = trim(content.substr(colon + 1));
  std::size_t n = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size()) {
    blockError_ = "invalid Content-Length: " + printable(value);
  } else if (length_ && *length_ != n) {
    blockError_ = "conflicting Content-Length headers";
  } else {
    length_ = n;
  }
}

void FrameDecoder::skipped(std::string_view bytes, const ErrorFn& onError) {
  if (bytes.empty()) return;
  onError({FrameError::Kind::Skipped, std::to_string(bytes.size()) +
                                          " bytes before a frame header skipped: " + printable(bytes)});
}

// An empty line ends a header block: the body follows, or the block is reported and dropped.
void FrameDecoder::endBlock(const BodyFn& onBody, const ErrorFn& onError) {
  const std::optional<std::size_t> length = length_;
  const std::string error = !blockError_.empty() ? blockError_
                            : !length            ? "frame header without Content-Length: " + printable(blockText_)
                                                 : std::string();
  resetBlock();
  if (!error.empty()) return onError({FrameError::Kind::BadHeader, error});
  if (*length > limits_.maxBody) {
    onError({FrameError::Kind::TooLarge, "message of " + std::to_string(*length) + " bytes exceeds the limit of " +
                                             std::to_string(limits_.maxBody) + " bytes"});
    state_ = State::Skip;
    remaining_ = *length;
    return;
  }
  if (*length == 0) {
    afterBody_ = true;
    return onBody(std::string{});
  }
  state_ = State::Body;
  remaining_ = *length;
  body_.reserve(std::min<std::size_t>(*length, std::size_t{1} << 20));
}

void FrameDecoder::resetBlock() {
  seenHeader_ = false;
  length_.reset();
  blockBytes_ = 0;
  blockText_.clear();
  blockError_.clear();
}

std::string encodeFrame(std::string_view body) {
  std::string out = "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n\r\n";
  out += body;
  return out;
}

}  // namespace asyncode::rpc
