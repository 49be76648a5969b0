// Connection and Peer over a socketpair, driven by a real libuv loop.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rpc/connection.h"
#include "rpc/peer.h"

using namespace asyncode::rpc;

namespace {

// A loop that outlives everything built on it: declare it first. Its destructor lets the
// handles closed by the objects under test finish closing, then closes the loop.
struct Loop {
  uv_loop_t loop{};
  Loop() { REQUIRE(uv_loop_init(&loop) == 0); }
  ~Loop() {
    uv_walk(&loop, [](uv_handle_t* h, void*) { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  uv_loop_t* get() { return &loop; }

  // Turns the loop until `done` (true) or a time limit (false). Never blocks for long: a
  // short repeating timer wakes each turn.
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    uv_timer_start(&timer, [](uv_timer_t*) {}, 2, 2);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(&loop, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
    uv_run(&loop, UV_RUN_NOWAIT);  // runs the timer's close
    return done();
  }
};

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0); }
  ~SocketPair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  // Hands an end to an object that closes it (libuv closes the descriptors it opened).
  int give(int i) { return std::exchange(fds[i], -1); }
};

// The test's own end of a link: raw bytes out, decoded bodies in. Non-blocking.
struct RawEnd {
  int fd;
  FrameDecoder decoder;
  std::vector<std::string> bodies;
  std::vector<FrameError> errors;

  explicit RawEnd(int f) : fd(f) { REQUIRE(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) == 0); }

  void write(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      REQUIRE(n > 0);
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Reads what has arrived; returns the number of bodies decoded so far.
  std::size_t drain() {
    char buf[4096];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      decoder.feed(
          std::string_view(buf, static_cast<std::size_t>(n)),
          [this](std::string&& b) { bodies.push_back(std::move(b)); },
          [this](const FrameError& e) { errors.push_back(e); });
    }
    return bodies.size();
  }
  Json body(std::size_t i) const { return Json::parse(bodies.at(i)); }
};

// Bytes written to `fd`'s peer and not read yet.
int unread(int fd) {
  int n = -1;
  REQUIRE(::ioctl(fd, FIONREAD, &n) == 0);
  return n;
}

struct ConnectionEvents {
  std::vector<std::string> bodies;
  std::vector<FrameError> errors;
  std::vector<int> closed;
  Connection::Handlers handlers() {
    return {[this](std::string& b) { bodies.push_back(b); },
            [this](const FrameError& e) { errors.push_back(e); },
            [this](int status) { closed.push_back(status); }};
  }
};

FrameLimits maxBody(std::size_t n) {
  FrameLimits l;
  l.maxBody = n;
  return l;
}

// A started Connection on one end of a socketpair, and the test's raw end of it, for
// TEST_CASE_METHOD. Members are declared in the order they must be built (and are destroyed in
// reverse). MaxBody 0: the default limits.
template <std::size_t MaxBody = 0>
struct ConnectionOverSocket {
  Loop loop;
  SocketPair sp;
  int connFd = sp.fds[0];
  ConnectionEvents ev;
  Connection conn;
  RawEnd raw;

  ConnectionOverSocket()
      : conn(loop.get(), sp.give(0), connFd, MaxBody ? maxBody(MaxBody) : FrameLimits{}, ev.handlers()),
        raw(sp.fds[1]) {
    conn.start();
  }
};

}  // namespace

TEST_CASE_METHOD(ConnectionOverSocket<>, "Frames split at every byte boundary arrive whole over a socket", "[connection]") {

  const std::string a = R"({"jsonrpc":"2.0","method":"a","params":{"text":"caf\u00e9"}})";
  const std::string b = "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"\xE2\x82\xAC\"}";
  const std::string stream = encodeFrame(a) + encodeFrame(b);
  for (std::size_t i = 1; i < stream.size(); ++i) {
    CAPTURE(i);
    const std::size_t before = ev.bodies.size();
    raw.write(std::string_view(stream).substr(0, i));
    REQUIRE(loop.runUntil([&] { return unread(connFd) == 0; }));  // the first piece is read alone
    raw.write(std::string_view(stream).substr(i));
    REQUIRE(loop.runUntil([&] { return ev.bodies.size() == before + 2; }));
    CHECK(ev.bodies[before] == a);
    CHECK(ev.bodies[before + 1] == b);
  }
  CHECK(ev.errors.empty());
  CHECK(ev.closed.empty());
}

TEST_CASE_METHOD(ConnectionOverSocket<8>, "A connection writes whole frames and reports the end of input once", "[connection]") {

  conn.send("{\"a\":1}");
  conn.sendFramed(encodeFrame("[2]"));
  REQUIRE(loop.runUntil([&] { return raw.drain() == 2; }));
  CHECK(raw.bodies == std::vector<std::string>{"{\"a\":1}", "[2]"});
  CHECK(conn.pendingBytes() == 0);

  raw.write(encodeFrame("123456789") + "Bogus\r\n\r\n" + encodeFrame("ok"));
  REQUIRE(loop.runUntil([&] { return ev.bodies.size() == 1; }));
  CHECK(ev.bodies == std::vector<std::string>{"ok"});
  REQUIRE(ev.errors.size() == 2);
  CHECK(ev.errors[0].kind == FrameError::Kind::TooLarge);
  CHECK(ev.errors[1].kind == FrameError::Kind::BadHeader);

  ::close(sp.give(1));
  REQUIRE(loop.runUntil([&] { return !ev.closed.empty(); }));
  CHECK(conn.closed());
  loop.runUntil([] { return false; }, std::chrono::milliseconds(20));
  CHECK(ev.closed == std::vector<int>{0});
}

TEST_CASE_METHOD(ConnectionOverSocket<>, "Frames sent while a connection is held go out together, in order, when the last hold ends", "[connection]") {

  conn.hold();
  conn.send("[1]");
  conn.hold();  // nested: only the outermost release writes
  conn.send("[2]");
  conn.release();
  conn.sendFramed(encodeFrame("[3]"));
  CHECK(conn.pendingBytes() == 3 * encodeFrame("[1]").size());  // held bytes count as pending
  loop.runUntil([] { return false; }, std::chrono::milliseconds(20));
  CHECK(unread(sp.fds[1]) == 0);
  conn.release();
  REQUIRE(loop.runUntil([&] { return raw.drain() == 3; }));
  CHECK(raw.bodies == std::vector<std::string>{"[1]", "[2]", "[3]"});
  CHECK(conn.pendingBytes() == 0);

  conn.release();  // an unmatched release changes nothing
  conn.send("[4]");
  REQUIRE(loop.runUntil([&] { return raw.drain() == 4; }));
  CHECK(raw.body(3) == Json::array({4}));
}

TEST_CASE("Two peers match responses to requests by id", "[peer]") {
  Loop loop;
  SocketPair sp;
  const int fa = sp.fds[0], fb = sp.fds[1];
  Peer a(loop.get(), sp.give(0), fa, FrameLimits{});
  Peer b(loop.get(), sp.give(1), fb, FrameLimits{});
  b.dispatcher().onRequest("add", [](const Json& p, ReplyOnce reply) { reply(p.at(0).get<int>() + p.at(1).get<int>()); });
  std::vector<ReplyOnce> held;
  b.dispatcher().onRequest("hold", [&](const Json&, ReplyOnce reply) { held.push_back(std::move(reply)); });
  std::vector<Json> notes;
  b.dispatcher().onNotification("note", [&](const Json& p) { notes.push_back(p); });
  a.start();
  b.start();

  SECTION("answers in order") {
    std::vector<std::pair<Json, Json>> got;  // (id, result)
    const Id first = a.request("add", Json::array({1, 2}), [&](Response&& r) { got.emplace_back(r.id, *r.result); });
    const Id second = a.request("add", Json::array({3, 4}), [&](Response&& r) { got.emplace_back(r.id, *r.result); });
    CHECK(first == 1);
    CHECK(second == 2);
    CHECK(a.pendingRequests() == 2);
    REQUIRE(loop.runUntil([&] { return got.size() == 2; }));
    CHECK(got == std::vector<std::pair<Json, Json>>{{1, 3}, {2, 7}});
    CHECK(a.pendingRequests() == 0);
  }
  SECTION("answers out of order reach the right callbacks") {
    std::optional<Json> r1, r2;
    a.request("hold", Json::object(), [&](Response&& r) { r1 = *r.result; });
    a.request("hold", Json::object(), [&](Response&& r) { r2 = *r.result; });
    REQUIRE(loop.runUntil([&] { return held.size() == 2; }));
    held[1](Json("second"));
    REQUIRE(loop.runUntil([&] { return r2.has_value(); }));
    CHECK_FALSE(r1.has_value());
    held[0](Json("first"));
    REQUIRE(loop.runUntil([&] { return r1.has_value(); }));
    CHECK(*r1 == "first");
    CHECK(*r2 == "second");
  }
  SECTION("errors come back as error responses") {
    std::optional<Response> resp;
    a.request("missing", nullptr, [&](Response&& r) { resp = std::move(r); });
    REQUIRE(loop.runUntil([&] { return resp.has_value(); }));
    CHECK_FALSE(resp->result.has_value());
    REQUIRE(resp->error.has_value());
    CHECK(resp->error->code == ErrorCode::MethodNotFound);
    CHECK(resp->error->message == "method not found: missing");
  }
  SECTION("notifications are delivered and never answered") {
    a.notify("note", Json{{"n", 1}});
    a.notify("unknown", nullptr);
    a.notify("note", Json{{"n", 2}});
    REQUIRE(loop.runUntil([&] { return notes.size() == 2; }));
    CHECK(notes == std::vector<Json>{Json{{"n", 1}}, Json{{"n", 2}}});
  }
  SECTION("a forgotten request's answer goes to the stray handler") {
    std::vector<Json> stray;
    a.setOnStrayResponse([&](const Response& r) { stray.push_back(r.id); });
    bool called = false;
    const Id id = a.request("add", Json::array({1, 1}), [&](Response&&) { called = true; });
    a.forget(id);
    CHECK(a.pendingRequests() == 0);
    REQUIRE(loop.runUntil([&] { return stray.size() == 1; }));
    CHECK(stray[0] == id);
    CHECK_FALSE(called);
  }
}

TEST_CASE("Pending requests fail with InternalError when the link closes", "[peer]") {
  Loop loop;
  SocketPair sp;
  const int fa = sp.fds[0];
  Peer a(loop.get(), sp.give(0), fa, FrameLimits{});
  RawEnd raw(sp.fds[1]);
  std::vector<std::string> order;
  std::vector<Response> failed;
  a.setOnClosed([&](int status) { order.push_back("closed " + std::to_string(status)); });
  a.start();

  a.request("one", nullptr, [&](Response&& r) { order.push_back("one"); failed.push_back(std::move(r)); });
  a.request("two", nullptr, [&](Response&& r) { order.push_back("two"); failed.push_back(std::move(r)); });
  REQUIRE(loop.runUntil([&] { return raw.drain() == 2; }));  // read, so the close is a clean end
  CHECK(raw.body(0)["method"] == "one");
  CHECK(a.pendingRequests() == 2);

  ::close(sp.give(1));
  REQUIRE(loop.runUntil([&] { return a.closed(); }));
  CHECK(order == std::vector<std::string>{"one", "two", "closed 0"});
  REQUIRE(failed.size() == 2);
  for (std::size_t i = 0; i < failed.size(); ++i) {
    CHECK(failed[i].id == static_cast<int>(i + 1));
    CHECK_FALSE(failed[i].result.has_value());
    REQUIRE(failed[i].error.has_value());
    CHECK(failed[i].error->code == ErrorCode::InternalError);
    CHECK(failed[i].error->message == "the connection closed");
  }
  CHECK(a.pendingRequests() == 0);

  std::optional<Response> late;
  const Id id = a.request("three", nullptr, [&](Response&& r) { late = std::move(r); });
  REQUIRE(late.has_value());  // answered at once
  CHECK(late->id == id);
  REQUIRE(late->error.has_value());
  CHECK(late->error->code == ErrorCode::InternalError);
  CHECK(late->error->message == "the connection is closed");
  CHECK(a.pendingRequests() == 0);
}

TEST_CASE("A peer answers unreadable input with errors and keeps serving", "[peer]") {
  Loop loop;
  SocketPair sp;
  const int fa = sp.fds[0];
  Peer a(loop.get(), sp.give(0), fa, maxBody(64));
  a.dispatcher().onRequest("echo", [](const Json& p, ReplyOnce reply) { reply(p); });
  RawEnd raw(sp.fds[1]);
  a.start();

  SECTION("a body over the limit") {
    raw.write(encodeFrame(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":[")" + std::string(200, 'x') + "\"]}"));
    raw.write(encodeFrame(R"({"jsonrpc":"2.0","id":2,"method":"echo","params":["ok"]})"));
    REQUIRE(loop.runUntil([&] { return raw.drain() == 2; }));
    CHECK(raw.body(0) == Json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,
          "message":"message of 254 bytes exceeds the limit of 64 bytes"}})"));
    CHECK(raw.body(1) == Json::parse(R"({"jsonrpc":"2.0","id":2,"result":["ok"]})"));
  }
  SECTION("a header without Content-Length") {
    raw.write("Content-Type: x\r\n\r\n");
    raw.write(encodeFrame(R"({"jsonrpc":"2.0","id":3,"method":"echo","params":{}})"));
    REQUIRE(loop.runUntil([&] { return raw.drain() == 2; }));
    CHECK(raw.body(0) == Json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,
          "message":"frame header without Content-Length: Content-Type: x"}})"));
    CHECK(raw.body(1)["id"] == 3);
  }
  SECTION("bad JSON, a batch and a bad version") {
    raw.write(encodeFrame("{not json"));
    raw.write(encodeFrame(R"([{"jsonrpc":"2.0","id":4,"method":"echo"}])"));
    raw.write(encodeFrame(R"({"jsonrpc":"1.0","id":5,"method":"echo"})"));
    raw.write(encodeFrame(R"({"jsonrpc":"2.0","id":"six","method":"echo","params":[6]})"));
    REQUIRE(loop.runUntil([&] { return raw.drain() == 4; }));
    CHECK(raw.body(0)["error"]["code"] == -32700);
    CHECK(raw.body(0)["id"].is_null());
    CHECK(raw.body(1) == Json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,
          "message":"batch requests are not supported"}})"));
    CHECK(raw.body(2) == Json::parse(R"({"jsonrpc":"2.0","id":5,"error":{"code":-32600,
          "message":"jsonrpc must be \"2.0\""}})"));
    CHECK(raw.body(3) == Json::parse(R"({"jsonrpc":"2.0","id":"six","result":[6]})"));
  }
  SECTION("a custom bad-message handler replaces the default answer") {
    std::vector<BadMessage> bad;
    a.setOnBadMessage([&](const BadMessage& m) { bad.push_back(m); });
    raw.write(encodeFrame("nope"));
    raw.write(encodeFrame(std::string(65, ' ')));
    raw.write(encodeFrame(R"({"jsonrpc":"2.0","id":7,"method":"echo","params":[]})"));
    REQUIRE(loop.runUntil([&] { return raw.drain() == 1; }));
    CHECK(raw.body(0)["id"] == 7);
    REQUIRE(bad.size() == 2);
    CHECK(bad[0].error.code == ErrorCode::ParseError);
    CHECK(bad[1].error.code == ErrorCode::InvalidRequest);
    CHECK(bad[1].error.message == "message of 65 bytes exceeds the limit of 64 bytes");
  }
  SECTION("responses nobody asked for go to the stray handler") {
    std::vector<Json> stray;
    a.setOnStrayResponse([&](const Response& r) { stray.push_back(r.id); });
    raw.write(encodeFrame(R"({"jsonrpc":"2.0","id":99,"result":1})"));
    raw.write(encodeFrame(R"({"jsonrpc":"2.0","id":"1","result":1})"));
    REQUIRE(loop.runUntil([&] { return stray.size() == 2; }));
    CHECK(stray == std::vector<Json>{99, "1"});
  }
}
