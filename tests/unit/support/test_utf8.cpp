// Utf8Decoder and toValidUtf8: output bytes to valid text, across reads.
#include <catch2/catch.hpp>

#include <string>

#include "support/utf8.h"

using asyncode::support::toValidUtf8;
using asyncode::support::Utf8Decoder;

namespace {
const std::string R = "\xEF\xBF\xBD";  // U+FFFD
}

TEST_CASE("Valid UTF-8 passes through unchanged", "[utf8]") {
  const std::string text = GENERATE(as<std::string>{},
                                    "",
                                    "plain ascii\n\t\r",
                                    std::string("nul\0inside", 10),
                                    "\xC2\x80 \xDF\xBF",                  // U+0080, U+07FF
                                    "\xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF",  // U+0800 U+D7FF U+E000 U+FFFF
                                    "\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF",  // U+10000, U+10FFFF
                                    "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CAPTURE(text);
  Utf8Decoder d;
  CHECK(d.decode(text) == text);
  CHECK_FALSE(d.pending());
  CHECK(toValidUtf8(text) == text);
}

TEST_CASE("A character split across reads is held back and kept whole", "[utf8]") {
  const std::string text = "a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80" "d";
  SECTION("split in two at every byte") {
    for (std::size_t i = 0; i <= text.size(); ++i) {
      CAPTURE(i);
      Utf8Decoder d;
      std::string out = d.decode(text.substr(0, i));
      const bool insideChar = i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
      CHECK(d.pending() == insideChar);
      out += d.decode(text.substr(i));
      CHECK(out == text);
      CHECK_FALSE(d.pending());
    }
  }
  SECTION("one byte at a time") {
    Utf8Decoder d;
    std::string out;
    for (char c : text) out += d.decode(std::string(1, c));
    CHECK(out == text);
  }
  SECTION("the held bytes are not given out early") {
    Utf8Decoder d;
    CHECK(d.decode("x\xF0\x9F") == "x");
    CHECK(d.pending());
    CHECK(d.decode("\x98") == "");
    CHECK(d.decode("\x80y") == "\xF0\x9F\x98\x80y");
  }
}

TEST_CASE("Bytes that are not UTF-8 become U+FFFD, one per byte", "[utf8]") {
  struct Row {
    std::string in;
    std::string out;
  };
  const Row row = GENERATE(values<Row>({
      {"\x80", R},                                  // a lone continuation byte
      {"a\xBF" "b", "a" + R + "b"},
      {"\xFF", R},
      {"\xFE", R},
      {"\xF5\x80\x80\x80", R + R + R + R},          // above U+10FFFF by its lead byte
      {"\xF4\x90\x80\x80", R + R + R + R},          // U+110000
      {"\xC0\xAF", R + R},                          // overlong '/'
      {"\xC1\xBF", R + R},                          // overlong U+007F
      {"\xE0\x80\xAF", R + R + R},                  // overlong '/' in three bytes
      {"\xE0\x9F\xBF", R + R + R},                  // overlong U+07FF
      {"\xF0\x8F\xBF\xBF", R + R + R + R},          // overlong U+FFFF
      {"\xED\xA0\x80", R + R + R},                  // surrogate U+D800
      {"\xED\xBF\xBF", R + R + R},                  // surrogate U+DFFF
      {"\xC3(", R + "("},                           // a lead byte without its continuation
      {"\xE2\x82(", R + R + "("},
      {"\xC3\xA9\xA9", "\xC3\xA9" + R},             // one continuation too many
  }));
  CAPTURE(row.in);
  CHECK(toValidUtf8(row.in) == row.out);
  Utf8Decoder d;
  CHECK(d.decode(row.in) + d.decode("", true) == row.out);
  CHECK_FALSE(d.pending());
}

TEST_CASE("An invalid start is not held back even at the end of a read", "[utf8]") {
  Utf8Decoder d;
  CHECK(d.decode("\xE0\x80") == R + R);  // cannot start a valid character: replaced at once
  CHECK_FALSE(d.pending());
  CHECK(d.decode("\xED\xA0") == R + R);  // a surrogate's start
  CHECK_FALSE(d.pending());
  CHECK(d.decode("\xF4\x90") == R + R);
  CHECK_FALSE(d.pending());
}

TEST_CASE("A final decode flushes an incomplete character as U+FFFD", "[utf8]") {
  Utf8Decoder d;
  CHECK(d.decode("ok\xE2\x82") == "ok");
  CHECK(d.pending());
  SECTION("with no more bytes") { CHECK(d.decode("", true) == R + R); }
  SECTION("with bytes that do not complete it") { CHECK(d.decode("!", true) == R + R + "!"); }
  SECTION("with the byte that completes it") { CHECK(d.decode("\xAC", true) == "\xE2\x82\xAC"); }
  CHECK_FALSE(d.pending());
  CHECK(toValidUtf8("end\xF0\x9F\x98") == "end" + R + R + R);
}

TEST_CASE("A held character followed by a broken one is replaced across the boundary", "[utf8]") {
  Utf8Decoder d;
  CHECK(d.decode("\xE2\x82") == "");
  CHECK(d.decode("x") == R + R + "x");
  CHECK_FALSE(d.pending());
}
