#include "rpc/framing.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

namespace asyncode::rpc {
namespace {

constexpr std::string_view kContentLength = "content-length";
// What is kept of an over-long line: enough to find a "Content-Length" that straddles a cut.
constexpr std::size_t kKeepOnOverflow = kContentLength.size() + 1;

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

// The line being read has no end yet: it may not grow past the header limit.
void FrameDecoder::checkPartialLine(const ErrorFn& onError) {
  const std::size_t separator = seenHeader_ ? 2 : 0;
  // A '\r' at the end may be the line's end: it does not count.
  const auto content = [&] { return line_.size() - (!line_.empty() && line_.back() == '\r' ? 1 : 0); };
  if (content() == 0 || blockBytes_ + separator + content() <= limits_.maxHeader) return;
  if (const std::size_t at = findContentLength(line_, 1); at != std::string::npos && !seenHeader_) {
    skipped(std::string_view(line_).substr(0, at), onError);
    line_.erase(0, at);
    if (blockBytes_ + separator + content() <= limits_.maxHeader) return;
  }
  if (!overflowReported_) {
    const bool junk = !seenHeader_ && !looksLikeHeader(line_, true);
    if (junk && afterBody_) {
      skipped(line_, onError);
    } else {
      onError({FrameError::Kind::BadHeader, "frame header longer than " + std::to_string(limits_.maxHeader) +
                                                " bytes: " + printable(blockText_ + line_)});
    }
    overflowReported_ = true;
  }
  resetBlock();
  line_.erase(0, line_.size() - std::min(line_.size(), kKeepOnOverflow));
}

void FrameDecoder::onLine(std::string_view line, const BodyFn& onBody, const ErrorFn& onError) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (overflowReported_) {  // the end of an over-long line: one error was enough
    overflowReported_ = false;
    const std::size_t at = findContentLength(line);
    if (at == std::string_view::npos) return;
    line.remove_prefix(at);
  }
  if (line.empty()) {
    if (seenHeader_) endBlock(onBody, onError);
    return;  // blank lines between frames, or after a dropped line
  }
  if (!seenHeader_ && !looksLikeHeader(line)) {
    // Not a header: the tail of a frame whose length was wrong, or junk. Read on from a
    // "Content-Length" on the same line; report a whole junk line.
    const std::size_t at = findContentLength(line);
    if (at == std::string_view::npos) {
      if (line.size() <= limits_.maxHeader) {
        onError({FrameError::Kind::BadHeader, "malformed frame header line: " + printable(line)});
      } else if (afterBody_) {
        skipped(line, onError);
      } else {
        onError({FrameError::Kind::BadHeader, "frame header longer than " + std::to_string(limits_.maxHeader) +
                                                  " bytes: " + printable(line)});
      }
      afterBody_ = false;
      return;
    }
    skipped(line.substr(0, at), onError);
    line.remove_prefix(at);
  }
  afterBody_ = false;
  blockBytes_ += (seenHeader_ ? 2 : 0) + line.size();
  if (blockText_.size() <= 60) blockText_ += std::string(seenHeader_ ? "\r\n" : "") + std::string(line);
  if (blockBytes_ > limits_.maxHeader) {
    onError({FrameError::Kind::BadHeader, "frame header longer than " + std::to_string(limits_.maxHeader) +
                                              " bytes: " + printable(blockText_)});
    resetBlock();
    return;
  }
  seenHeader_ = true;
  if (!blockError_.empty()) return;
  if (!looksLikeHeader(line)) {
    blockError_ = "malformed frame header line: " + printable(line);
    return;
  }
  const std::size_t colon = line.find(':');
  if (!equalsIgnoreCase(trim(line.substr(0, colon)), "Content-Length")) return;
  const std::string_view value = trim(line.substr(colon + 1));
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
