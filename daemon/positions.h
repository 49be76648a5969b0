// Positions in the client's unit (revision 1: initialize's positionEncoding). The engine counts
// code points, as Python's string indices do; the client may count UTF-16 code units (VS Code)
// or UTF-8 bytes (Neovim). The supervisor converts the positions that refer to a request's own
// text (complete's and inspect's cursor, complete's range, compile's SyntaxErrorInfo) on the way
// in and out; positions in tracebacks refer to files only the worker reads, so an exec carries
// the encoding to its worker (engine.py converts there).
//
// A position inside a character (between the two halves of a UTF-16 surrogate pair, or inside
// a UTF-8 sequence) is refused with -32602: it means the client counts in another unit than it
// declared. A position past the end of the text is taken as the end, as in revision 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/protocol.h"

namespace asyncode::daemon {

using protocol::PositionEncoding;

// The code-point index of `offset` units into `text` (UTF-8); past the end: the end; nullopt
// when `offset` falls inside a character.
std::optional<std::int64_t> codePointsOf(std::string_view text, std::int64_t offset, PositionEncoding unit);
// The units before code point `index` of `text`; beyond the end, each missing code point
// counts one unit (a column just past a line's end stays just past it).
std::int64_t unitsOf(std::string_view text, std::int64_t index, PositionEncoding unit);
// Line `line` (from 1) of `code`, as CPython's tokenizer splits lines ("\n", "\r\n", "\r");
// empty past the last line.
std::string_view lineOf(std::string_view code, std::int64_t line);

// complete and inspect: the cursor, from the client's unit to code points (throws
// RpcException InvalidParams when it falls inside a character).
std::int64_t cursorIn(const std::string& code, std::int64_t cursor, PositionEncoding unit);
// complete's answer: cursorStart and cursorEnd in the client's unit.
void positionsOut(protocol::CompleteResult& r, const std::string& code, PositionEncoding unit);
// compile's answer: the SyntaxErrorInfo's columns in the client's unit.
void positionsOut(protocol::CompileResult& r, const std::string& code, PositionEncoding unit);

}  // namespace asyncode::daemon
