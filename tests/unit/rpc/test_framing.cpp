// FrameDecoder and encodeFrame: the LSP base protocol, fed in pieces of any size.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "rpc/framing.h"

using asyncode::rpc::encodeFrame;
using asyncode::rpc::FrameDecoder;
using asyncode::rpc::FrameError;
using asyncode::rpc::FrameLimits;

namespace {

// Everything a decoder produced, in order.
struct Collected {
  std::vector<std::string> bodies;
  std::vector<FrameError> errors;

  void feed(FrameDecoder& d, std::string_view data) {
    d.feed(
        data, [this](std::string&& body) { bodies.push_back(std::move(body)); },
        [this](const FrameError& e) { errors.push_back(e); });
  }
  void feedBytewise(FrameDecoder& d, std::string_view data) {
    for (std::size_t i = 0; i < data.size(); ++i) feed(d, data.substr(i, 1));
  }
};

FrameLimits limits(std::size_t maxBody, std::size_t maxHeader = 8192) {
  FrameLimits l;
  l.maxBody = maxBody;
  l.maxHeader = maxHeader;
  return l;
}

}  // namespace

TEST_CASE("encodeFrame writes a Content-Length header counting bytes, then the body", "[framing]") {
  CHECK(encodeFrame("{}") == "Content-Length: 2\r\n\r\n{}");
  CHECK(encodeFrame("") == "Content-Length: 0\r\n\r\n");
  CHECK(encodeFrame("\"\xC3\xA9\"") == "Content-Length: 4\r\n\r\n\"\xC3\xA9\"");  // "é" is two bytes
}

TEST_CASE("A frame fed whole yields its body and leaves the decoder idle", "[framing]") {
  FrameDecoder d;
  Collected c;
  CHECK(d.idle());
  c.feed(d, encodeFrame(R"({"jsonrpc":"2.0"})"));
  REQUIRE(c.bodies == std::vector<std::string>{R"({"jsonrpc":"2.0"})"});
  CHECK(c.errors.empty());
  CHECK(d.idle());
  CHECK(d.buffered() == 0);
}

TEST_CASE("Two frames split at every byte boundary arrive whole and in order", "[framing]") {
  const std::string first = R"x({"id":1,"method":"exec","params":{"code":"print('\u00e9')"}})x";
  const std::string second = "{\"id\":2,\"text\":\"\xE2\x82\xAC\"}";
  const std::string stream = "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
                             "content-length: " + std::to_string(first.size()) + "\r\n\r\n" + first +
                             encodeFrame(second);
  const std::vector<std::string> expected{first, second};

  SECTION("in two pieces") {
    for (std::size_t i = 0; i <= stream.size(); ++i) {
      CAPTURE(i);
      FrameDecoder d;
      Collected c;
      c.feed(d, std::string_view(stream).substr(0, i));
      c.feed(d, std::string_view(stream).substr(i));
      CHECK(c.bodies == expected);
      CHECK(c.errors.empty());
      CHECK(d.idle());
    }
  }
  SECTION("one byte at a time") {
    FrameDecoder d;
    Collected c;
    c.feedBytewise(d, stream);
    CHECK(c.bodies == expected);
    CHECK(c.errors.empty());
  }
  SECTION("in three pieces") {
    for (std::size_t i = 0; i <= stream.size(); i += 7) {
      for (std::size_t j = i; j <= stream.size(); j += 5) {
        CAPTURE(i, j);
        FrameDecoder d;
        Collected c;
        c.feed(d, std::string_view(stream).substr(0, i));
        c.feed(d, std::string_view(stream).substr(i, j - i));
        c.feed(d, std::string_view(stream).substr(j));
        REQUIRE(c.bodies == expected);
        REQUIRE(c.errors.empty());
      }
    }
  }
}

TEST_CASE("The decoder reports partial frames as buffered and not idle", "[framing]") {
  FrameDecoder d;
  Collected c;
  c.feed(d, "Content-Len");
  CHECK_FALSE(d.idle());
  CHECK(d.buffered() == 11);
  c.feed(d, "gth: 5\r\n\r\nab");
  CHECK_FALSE(d.idle());
  CHECK(d.buffered() == 2);  // the header is parsed; two bytes of body are held
  CHECK(c.bodies.empty());
  c.feed(d, "cde");
  CHECK(d.idle());
  CHECK(c.bodies == std::vector<std::string>{"abcde"});
}

TEST_CASE("Header names match case-insensitively and values may carry blanks", "[framing]") {
  const std::string header = GENERATE(as<std::string>{},
                                      "Content-Length: 3",
                                      "content-length: 3",
                                      "CONTENT-LENGTH: 3",
                                      "cOnTeNt-LeNgTh: 3",
                                      "Content-Length:3",
                                      "Content-Length:   3   ",
                                      "Content-Length :3",
                                      "Content-Length:\t3\t",
                                      "  Content-Length: 3");
  CAPTURE(header);
  FrameDecoder d;
  Collected c;
  c.feed(d, header + "\r\n\r\nabc" + encodeFrame("next"));
  CHECK(c.errors.empty());
  CHECK(c.bodies == std::vector<std::string>{"abc", "next"});
}

TEST_CASE("Unknown header fields are ignored wherever they stand", "[framing]") {
  const std::string block = GENERATE(as<std::string>{},
                                     "Content-Type: application/json\r\nContent-Length: 2",
                                     "Content-Length: 2\r\nContent-Type: application/json",
                                     "X-Trace: a:b:c\r\nContent-Length: 2\r\nX-Empty:",
                                     "Content-Length: 2\r\nContent-Length: 2");  // repeated, equal
  CAPTURE(block);
  FrameDecoder d;
  Collected c;
  c.feed(d, block + "\r\n\r\n{}");
  CHECK(c.errors.empty());
  CHECK(c.bodies == std::vector<std::string>{"{}"});
}

TEST_CASE("A zero-length body is delivered as an empty body at once", "[framing]") {
  FrameDecoder d;
  Collected c;
  c.feed(d, "Content-Length: 0\r\n\r\n");
  CHECK(c.bodies == std::vector<std::string>{""});
  CHECK(d.idle());
}

TEST_CASE("One empty line between frames is tolerated", "[framing]") {
  FrameDecoder d;
  Collected c;
  c.feed(d, encodeFrame("a") + "\r\n" + encodeFrame("b"));
  CHECK(c.errors.empty());
  CHECK(c.bodies == std::vector<std::string>{"a", "b"});
}

TEST_CASE("Several empty lines between frames are tolerated without an error", "[framing]") {
  // framing.h: "empty lines between frames are tolerated". Two CRLFs form an empty header
  // block, which is reported as BadHeader ("frame header without Content-Length: "), and a
  // Peer answers that with a ParseError.
  FrameDecoder d;
  Collected c;
  c.feed(d, encodeFrame("a") + "\r\n\r\n" + encodeFrame("b"));
  CHECK(c.bodies == std::vector<std::string>{"a", "b"});
  CHECK(c.errors.empty());
}

TEST_CASE("A Content-Length above maxBody is refused as TooLarge, its body skipped", "[framing]") {
  FrameDecoder d(limits(10));
  Collected c;
  const std::string big(11, 'x');
  const std::string stream = encodeFrame(big) + encodeFrame("0123456789") + encodeFrame("ok");

  const bool bytewise = GENERATE(false, true);
  CAPTURE(bytewise);
  if (bytewise) {
    c.feedBytewise(d, stream);
  } else {
    c.feed(d, stream);
  }

  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].kind == FrameError::Kind::TooLarge);
  CHECK(c.errors[0].message == "message of 11 bytes exceeds the limit of 10 bytes");
  CHECK(c.bodies == std::vector<std::string>{"0123456789", "ok"});  // exactly maxBody is fine
  CHECK(d.idle());
}

TEST_CASE("A skipped body is never buffered", "[framing]") {
  FrameDecoder d(limits(4));
  Collected c;
  c.feed(d, "Content-Length: 1000\r\n\r\n");
  c.feed(d, std::string(600, 'y'));
  CHECK(d.buffered() == 0);
  CHECK_FALSE(d.idle());
  c.feed(d, std::string(400, 'y') + encodeFrame("{}"));
  CHECK(c.bodies == std::vector<std::string>{"{}"});
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].kind == FrameError::Kind::TooLarge);
}

TEST_CASE("A header block without a usable Content-Length is dropped and the next frame read",
          "[framing]") {
  struct Row {
    std::string block;
    std::string message;
  };
  const Row row = GENERATE(values<Row>({
      {"Content-Type: text/plain", "frame header without Content-Length: Content-Type: text/plain"},
      {"Content-Length: abc", "invalid Content-Length: abc"},
      {"Content-Length: -1", "invalid Content-Length: -1"},
      {"Content-Length: +5", "invalid Content-Length: +5"},
      {"Content-Length: 0x10", "invalid Content-Length: 0x10"},
      {"Content-Length: 12abc", "invalid Content-Length: 12abc"},
      {"Content-Length: 1 2", "invalid Content-Length: 1 2"},
      {"Content-Length:", "invalid Content-Length: "},
      {"Content-Length: 99999999999999999999999", "invalid Content-Length: 99999999999999999999999"},
      {"Content-Length: 2\r\nContent-Length: 3", "conflicting Content-Length headers"},
      {"garbage", "malformed frame header line: garbage"},
      {"Content-Length: 2\r\n\x01\xff", "malformed frame header line: \\x01\\xff"},
  }));
  CAPTURE(row.block);
  FrameDecoder d;
  Collected c;
  c.feed(d, row.block + "\r\n\r\n" + encodeFrame("[1]"));
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].kind == FrameError::Kind::BadHeader);
  CHECK(c.errors[0].message == row.message);
  CHECK(c.bodies == std::vector<std::string>{"[1]"});
  CHECK(d.idle());
}

TEST_CASE("A header longer than maxHeader is reported once and the decoder recovers", "[framing]") {
  FrameDecoder d(limits(1024, 32));
  Collected c;
  const std::string noise(100, 'X');
  const std::string stream = noise + "\r\n\r\n" + encodeFrame("{}");

  const int how = GENERATE(0, 1, 2);  // whole, one byte at a time, the noise first
  CAPTURE(how);
  if (how == 0) {
    c.feed(d, stream);
  } else if (how == 1) {
    c.feedBytewise(d, stream);
  } else {
    c.feed(d, noise);
    CHECK(d.buffered() <= 36);  // never more than maxHeader plus a terminator
    c.feed(d, stream.substr(noise.size()));
  }

  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].kind == FrameError::Kind::BadHeader);
  CHECK(c.errors[0].message.rfind("frame header longer than 32 bytes: XXXX", 0) == 0);
  CHECK(c.bodies == std::vector<std::string>{"{}"});
  CHECK(d.idle());
}

TEST_CASE("An endless header stays bounded in memory", "[framing]") {
  FrameDecoder d(limits(1024, 64));
  Collected c;
  for (int i = 0; i < 1000; ++i) c.feed(d, std::string(100, 'h'));
  CHECK(d.buffered() <= 68);
  CHECK(c.errors.size() == 1);
  CHECK(c.bodies.empty());
}

TEST_CASE("A header block of exactly maxHeader bytes is accepted fed whole", "[framing]") {
  // "Content-Length: 2\r\nX: " is 22 bytes; pad the unknown header to 32.
  const std::string block = "Content-Length: 2\r\nX: " + std::string(10, 'p');
  REQUIRE(block.size() == 32);
  FrameDecoder d(limits(1024, 32));
  Collected c;
  c.feed(d, block + "\r\n\r\n{}");
  CHECK(c.errors.empty());
  CHECK(c.bodies == std::vector<std::string>{"{}"});

  SECTION("and one byte more is too long") {
    FrameDecoder d2(limits(1024, 32));
    Collected c2;
    c2.feed(d2, block + "p\r\n\r\n{}");
    REQUIRE(c2.errors.size() == 1);
    CHECK(c2.errors[0].kind == FrameError::Kind::BadHeader);
  }
}

TEST_CASE("The maxHeader limit does not depend on how the header is split", "[framing]") {
  // The same bytes fed whole or in any two pieces: a block of maxHeader bytes is read, one of
  // maxHeader + 1 bytes is refused once, and the frame after it is read either way.
  const std::size_t size = GENERATE(std::size_t{32}, std::size_t{33});
  const std::string block = "Content-Length: 0\r\nX: " + std::string(size - 22, 'p');  // no body to misread
  REQUIRE(block.size() == size);
  const std::string stream = block + "\r\n\r\n" + encodeFrame("[]");
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    CAPTURE(size, i);
    FrameDecoder d(limits(1024, 32));
    Collected c;
    c.feed(d, std::string_view(stream).substr(0, i));
    c.feed(d, std::string_view(stream).substr(i));
    if (size == 32) {
      CHECK(c.errors.empty());
      CHECK(c.bodies == std::vector<std::string>{"", "[]"});
    } else {
      REQUIRE(c.errors.size() == 1);
      CHECK(c.errors[0].kind == FrameError::Kind::BadHeader);
      CHECK(c.bodies == std::vector<std::string>{"[]"});
    }
  }
}

// ---- a bad frame never desynchronises the reader (one bad frame, then every later one works)
TEST_CASE("Header lines may end in LF alone", "[framing][resync]") {
  const std::string stream = GENERATE(as<std::string>{}, "Content-Length: 2\n\n{}", "Content-Length: 2\r\n\n{}",
                                      "Content-Type: x\nContent-Length: 2\n\n{}");
  CAPTURE(stream);
  FrameDecoder d;
  Collected c;
  c.feed(d, stream + encodeFrame("[1]"));
  CHECK(c.errors.empty());
  CHECK(c.bodies == std::vector<std::string>{"{}", "[1]"});
  CHECK(d.idle());
}

TEST_CASE("A body longer than its Content-Length: its tail is skipped up to the next header", "[framing][resync]") {
  // A length counted in characters instead of bytes: "é" is two bytes, counted once.
  const std::string body = R"({"jsonrpc":"2.0","id":1,"method":"exec","params":{"code":"'é'"}})";
  const std::string stream = "Content-Length: " + std::to_string(body.size() - 1) + "\r\n\r\n" + body +
                             encodeFrame(R"({"id":2})");
  const bool bytewise = GENERATE(false, true);
  CAPTURE(bytewise);
  FrameDecoder d;
  Collected c;
  bytewise ? c.feedBytewise(d, stream) : c.feed(d, stream);
  REQUIRE(c.bodies.size() == 2);
  CHECK(c.bodies[0] == body.substr(0, body.size() - 1));  // answered as a parse error by its reader
  CHECK(c.bodies[1] == R"({"id":2})");
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].kind == FrameError::Kind::Skipped);  // the tail: logged, not answered again
  CHECK(d.idle());
}

TEST_CASE("A body shorter than its Content-Length: the next frame inside it is read again", "[framing][resync]") {
  const std::string first = R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"text":"Content-Length: 3"}})";
  const std::string second = R"({"jsonrpc":"2.0","id":2,"method":"m"})";
  const std::string third = R"({"jsonrpc":"2.0","id":3,"method":"m"})";
  // The first frame declares 10 bytes more than it has: it swallows the start of the second.
  const std::string stream = "Content-Length: " + std::to_string(first.size() + 10) + "\r\n\r\n" + first +
                             encodeFrame(second) + encodeFrame(third);
  const bool bytewise = GENERATE(false, true);
  CAPTURE(bytewise);
  FrameDecoder d;
  Collected c;
  bytewise ? c.feedBytewise(d, stream) : c.feed(d, stream);
  CHECK(c.bodies == std::vector<std::string>{first, second, third});
  CHECK(c.errors.empty());
  CHECK(d.idle());
}

TEST_CASE("A valid body that mentions Content-Length is delivered whole", "[framing][resync]") {
  const std::string body = R"x({"code":"print('Content-Length: 12\r\n')"})x";
  FrameDecoder d;
  Collected c;
  c.feed(d, encodeFrame(body) + encodeFrame("{}"));
  CHECK(c.bodies == std::vector<std::string>{body, "{}"});
  CHECK(c.errors.empty());
}

TEST_CASE("Junk before a header is reported once and the frame after it is read", "[framing][resync]") {
  const std::string junk = GENERATE(as<std::string>{}, "hello\r\n", "{\"jsonrpc\":\"2.0\",\"id\":1}\n", "\x01\x02\r\n");
  CAPTURE(junk);
  FrameDecoder d;
  Collected c;
  c.feed(d, junk + encodeFrame("{}"));
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].kind == FrameError::Kind::BadHeader);
  CHECK(c.bodies == std::vector<std::string>{"{}"});
}

TEST_CASE("After a malformed header, its body is skipped and the next frame read", "[framing][resync]") {
  const std::string stream = "Content-Length: twelve\r\n\r\n" + std::string(R"({"id":1,"method":"m"})") +
                             encodeFrame(R"({"id":2})");
  FrameDecoder d;
  Collected c;
  c.feed(d, stream);
  REQUIRE(c.errors.size() == 2);
  CHECK(c.errors[0].kind == FrameError::Kind::BadHeader);
  CHECK(c.errors[1].kind == FrameError::Kind::Skipped);
  CHECK(c.bodies == std::vector<std::string>{R"({"id":2})"});
}

TEST_CASE("An over-long body tail after a frame is skipped without a second report", "[framing][resync]") {
  FrameDecoder d(limits(1 << 20, 64));
  Collected c;
  const std::string body = "{\"text\":\"" + std::string(1000, 'a') + "\"}";
  c.feed(d, "Content-Length: 10\r\n\r\n" + body + encodeFrame("{}"));
  REQUIRE(c.bodies.size() == 2);
  CHECK(c.bodies[1] == "{}");
  for (const auto& e : c.errors) CHECK(e.kind == FrameError::Kind::Skipped);
  CHECK(d.buffered() == 0);
}
