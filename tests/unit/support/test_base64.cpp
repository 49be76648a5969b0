// base64Encode / base64Decode: the bytes of a stdin stream (stdin/read's base64) round-trip.
#include <catch2/catch.hpp>

#include <string>

#include "support/base64.h"

using asyncode::support::base64Decode;
using asyncode::support::base64Encode;

TEST_CASE("base64 is RFC 4648's, with padding", "[base64]") {
  CHECK(base64Encode("") == "");
  CHECK(base64Encode("f") == "Zg==");
  CHECK(base64Encode("fo") == "Zm8=");
  CHECK(base64Encode("foo") == "Zm9v");
  CHECK(base64Encode("foobar") == "Zm9vYmFy");
  CHECK(base64Encode(std::string("\xff\xfe\0", 3)) == "//4A");
}

TEST_CASE("every byte round-trips", "[base64]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n : {0u, 1u, 2u, 3u, 255u, 256u}) {
    const std::string bytes = all.substr(0, n);
    const auto back = base64Decode(base64Encode(bytes));
    REQUIRE(back);
    CHECK(*back == bytes);
  }
}

TEST_CASE("what is not base64 is refused", "[base64]") {
  CHECK_FALSE(base64Decode("Zg="));     // not a multiple of 4
  CHECK_FALSE(base64Decode("Z!=="));    // outside the alphabet
  CHECK_FALSE(base64Decode("Zg==Zg==")); // padding inside
  CHECK_FALSE(base64Decode("Z=g="));    // a character after padding
  CHECK_FALSE(base64Decode("===="));
}
