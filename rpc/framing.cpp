#include "rpc/framing.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace asyncode::rpc {
namespace {

constexpr std::string_view kTerminator = "\r\n\r\n";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
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
  while (!data.empty()) {
    switch (state_) {
      case State::Header: {
        // A header block is at most maxHeader bytes before its "\r\n\r\n"; header_ holds
        // at most maxHeader + 3 bytes while the terminator has not been seen.
        const std::size_t old = header_.size();
        const std::size_t room = limits_.maxHeader + kTerminator.size() - old;
        const std::size_t take = std::min(data.size(), room);
        header_.append(data.substr(0, take));
        const std::size_t scanFrom = old >= 3 ? old - 3 : 0;
        const std::size_t pos = header_.find(kTerminator, scanFrom);
        auto overflow = [&] {
          if (!headerOverflowReported_) {
            onError({FrameError::Kind::BadHeader, "frame header longer than " + std::to_string(limits_.maxHeader) +
                                                      " bytes: " + printable(header_)});
            headerOverflowReported_ = true;
          }
        };
        if (pos == std::string::npos) {
          data.remove_prefix(take);
          if (header_.size() >= limits_.maxHeader + kTerminator.size()) {
            overflow();
            header_.erase(0, header_.size() - 3);  // keep what may be the start of "\r\n\r\n"
          }
          break;
        }
        data.remove_prefix(pos + kTerminator.size() - old);
        if (pos > limits_.maxHeader) overflow();
        header_.resize(pos);
        std::string block = std::move(header_);
        header_.clear();
        if (headerOverflowReported_) {
          headerOverflowReported_ = false;  // an oversized block, or its tail: reported once
          break;
        }
        if (block.find_first_not_of("\r\n \t") == std::string::npos) break;  // blank lines between frames
        finishHeader(block, onError);
        if (state_ == State::Body && remaining_ == 0) {
          state_ = State::Header;
          onBody(std::string{});
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
          std::string body = std::move(body_);
          body_ = std::string{};
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

void FrameDecoder::finishHeader(std::string_view block, const ErrorFn& onError) {
  std::optional<std::size_t> length;
  std::size_t start = 0;
  while (start <= block.size()) {
    std::size_t end = block.find("\r\n", start);
    if (end == std::string_view::npos) end = block.size();
    std::string_view line = block.substr(start, end - start);
    start = end + 2;
    if (trim(line).empty()) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      onError({FrameError::Kind::BadHeader, "malformed frame header line: " + printable(line)});
      return;
    }
    if (!equalsIgnoreCase(trim(line.substr(0, colon)), "Content-Length")) continue;
    const std::string_view value = trim(line.substr(colon + 1));
    std::size_t n = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size()) {
      onError({FrameError::Kind::BadHeader, "invalid Content-Length: " + printable(value)});
      return;
    }
    if (length && *length != n) {
      onError({FrameError::Kind::BadHeader, "conflicting Content-Length headers"});
      return;
    }
    length = n;
  }
  if (!length) {
    onError({FrameError::Kind::BadHeader, "frame header without Content-Length: " + printable(block)});
    return;
  }
  if (*length > limits_.maxBody) {
    onError({FrameError::Kind::TooLarge, "message of " + std::to_string(*length) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(limits_.maxBody) + " bytes"});
    state_ = State::Skip;
    remaining_ = *length;
    return;
  }
  state_ = State::Body;
  remaining_ = *length;
  body_.reserve(std::min<std::size_t>(*length, std::size_t{1} << 20));
}

std::string encodeFrame(std::string_view body) {
  std::string out = "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n\r\n";
  out += body;
  return out;
}

}  // namespace asyncode::rpc
