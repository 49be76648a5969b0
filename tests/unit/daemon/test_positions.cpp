// Positions in the client's unit (revision 1): code points to UTF-16 units and UTF-8 bytes and
// back, a position inside a character refused, lines split as CPython's tokenizer splits them.
#include <catch2/catch.hpp>

#include "daemon/positions.h"

using asyncode::daemon::codePointsOf;
using asyncode::daemon::cursorIn;
using asyncode::daemon::lineOf;
using asyncode::daemon::unitsOf;
using asyncode::protocol::PositionEncoding;

namespace {
// "'😀é' + x": the emoji is 1 code point, 2 UTF-16 units, 4 bytes; é is 1, 1, 2.
const std::string kText = "'\xF0\x9F\x98\x80\xC3\xA9' + x";
}  // namespace

TEST_CASE("Code points become units of each encoding", "[positions]") {
  const auto [unit, expected] = GENERATE(table<PositionEncoding, std::vector<std::int64_t>>({
      {PositionEncoding::Utf_32, {0, 1, 2, 3, 4, 8}},
      {PositionEncoding::Utf_16, {0, 1, 3, 4, 5, 9}},
      {PositionEncoding::Utf_8, {0, 1, 5, 7, 8, 12}},
  }));
  const std::vector<std::int64_t> indexes{0, 1, 2, 3, 4, 8};
  for (std::size_t i = 0; i < indexes.size(); ++i) {
    CHECK(unitsOf(kText, indexes[i], unit) == expected[i]);
    CHECK(codePointsOf(kText, expected[i], unit) == indexes[i]);
  }
  CHECK(unitsOf(kText, 10, unit) == expected.back() + 2);  // past the end: one unit each
}

TEST_CASE("A position inside a character is no position", "[positions]") {
  CHECK_FALSE(codePointsOf(kText, 2, PositionEncoding::Utf_16).has_value());  // between the surrogates
  for (int offset : {2, 3, 4}) CHECK_FALSE(codePointsOf(kText, offset, PositionEncoding::Utf_8).has_value());
  CHECK_FALSE(codePointsOf(kText, 6, PositionEncoding::Utf_8).has_value());  // inside é
  CHECK(codePointsOf(kText, 99, PositionEncoding::Utf_16) == 8);              // past the end: the end
  CHECK_THROWS_WITH(cursorIn(kText, 2, PositionEncoding::Utf_16), Catch::Contains("U+1F600"));
  CHECK(cursorIn(kText, 3, PositionEncoding::Utf_16) == 2);
}

TEST_CASE("Lines split at \\n, \\r\\n and \\r", "[positions]") {
  const std::string code = "a\r\nbb\rccc\nd";
  CHECK(lineOf(code, 1) == "a");
  CHECK(lineOf(code, 2) == "bb");
  CHECK(lineOf(code, 3) == "ccc");
  CHECK(lineOf(code, 4) == "d");
  CHECK(lineOf(code, 5).empty());
}
