#include "daemon/positions.h"

#include <spdlog/fmt/fmt.h>

#include "rpc/jsonrpc.h"

namespace asyncode::daemon {
namespace {

// Bytes of the UTF-8 sequence that `lead` starts (text from JSON is valid UTF-8; a stray byte
// counts as one character).
std::size_t sequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

std::int64_t unitsOfCharacter(std::size_t bytes, PositionEncoding unit) {
  switch (unit) {
    case PositionEncoding::Utf_8: return static_cast<std::int64_t>(bytes);
    case PositionEncoding::Utf_16: return bytes == 4 ? 2 : 1;  // beyond the BMP: a surrogate pair
    case PositionEncoding::Utf_32: break;
  }
  return 1;
}

std::uint32_t codePointAt(std::string_view text, std::size_t i, std::size_t n) {
  const auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(text[i + k])); };
  switch (n) {
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    case 4: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    default: return b(0);
  }
}

}  // namespace

std::optional<std::int64_t> codePointsOf(std::string_view text, std::int64_t offset, PositionEncoding unit) {
  if (unit == PositionEncoding::Utf_32 || offset <= 0) return offset;
  std::int64_t units = 0;
  std::int64_t index = 0;
  for (std::size_t i = 0; i < text.size() && units < offset;) {
    const std::size_t n = std::min(sequenceLength(static_cast<unsigned char>(text[i])), text.size() - i);
    units += unitsOfCharacter(n, unit);
    ++index;
    i += n;
  }
  if (units > offset) return std::nullopt;
  return index;  // at `offset`, or the end of a shorter text
}

std::int64_t unitsOf(std::string_view text, std::int64_t index, PositionEncoding unit) {
  if (unit == PositionEncoding::Utf_32 || index <= 0) return index;
  std::int64_t units = 0;
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < text.size() && seen < index; ++seen) {
    const std::size_t n = std::min(sequenceLength(static_cast<unsigned char>(text[i])), text.size() - i);
    units += unitsOfCharacter(n, unit);
    i += n;
  }
  return units + (index - seen);
}

std::string_view lineOf(std::string_view code, std::int64_t line) {
  std::size_t start = 0;
  for (std::int64_t l = 1; l < line; ++l) {
    const std::size_t end = code.find_first_of("\r\n", start);
    if (end == std::string_view::npos) return {};
    start = end + ((code[end] == '\r' && end + 1 < code.size() && code[end + 1] == '\n') ? 2 : 1);
  }
  const std::size_t end = code.find_first_of("\r\n", start);
  return code.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

std::int64_t cursorIn(const std::string& code, std::int64_t cursor, PositionEncoding unit) {
  if (auto index = codePointsOf(code, cursor, unit)) return *index;
  // Name the character it falls in: the client counts in another unit than it said.
  std::int64_t units = 0;
  for (std::size_t i = 0; i < code.size();) {
    const std::size_t n = std::min(sequenceLength(static_cast<unsigned char>(code[i])), code.size() - i);
    const std::int64_t next = units + unitsOfCharacter(n, unit);
    if (next > cursor)
      throw rpc::RpcException(
          rpc::ErrorCode::InvalidParams,
          fmt::format("params.cursor: {} falls inside the character U+{:04X} ({} units {} to {}); positions "
                      "are in {} units, as initialize's positionEncoding says",
                      cursor, codePointAt(code, i, n), protocol::toString(unit), units, next, protocol::toString(unit)));
    units = next;
    i += n;
  }
  return cursor;  // not reached: codePointsOf fails only inside a character
}

void positionsOut(protocol::CompleteResult& r, const std::string& code, PositionEncoding unit) {
  if (unit == PositionEncoding::Utf_32) return;
  r.cursorStart = unitsOf(code, r.cursorStart, unit);
  r.cursorEnd = unitsOf(code, r.cursorEnd, unit);
}

void positionsOut(protocol::CompileResult& r, const std::string& code, PositionEncoding unit) {
  if (unit == PositionEncoding::Utf_32 || !r.error) return;
  auto& e = *r.error;
  e.column = unitsOf(lineOf(code, e.line), e.column, unit);
  if (e.endColumn) e.endColumn = unitsOf(lineOf(code, e.endLine.value_or(e.line)), *e.endColumn, unit);
}

}  // namespace asyncode::daemon
