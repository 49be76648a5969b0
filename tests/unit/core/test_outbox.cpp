// Outbox: output chunks joined and split, the take() budget, back-pressure and wake-ups.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/timerfd.h>

#include "core/outbox.h"

using namespace asyncode::core;
using namespace std::chrono_literals;

namespace {

OwnerPtr owner(const std::string& tag) { return std::make_shared<const Owner>(Owner{tag, 1}); }

const OutputEvent& output(const OutEvent& e) {
  REQUIRE(std::holds_alternative<OutputEvent>(e));
  return std::get<OutputEvent>(e);
}

std::vector<OutEvent> takeAll(Outbox& box) { return box.take(static_cast<std::size_t>(-1)); }

}  // namespace

TEST_CASE("Consecutive writes of one stream and owner join into one chunk", "[outbox]") {
  Outbox box;
  const OwnerPtr a = owner("1");
  box.write(Stream::Stdout, a, "hello ");
  box.write(Stream::Stdout, a, "world");
  box.write(Stream::Stdout, a, "");
  const auto events = takeAll(box);
  REQUIRE(events.size() == 1);
  CHECK(output(events[0]).text == "hello world");
  CHECK(output(events[0]).stream == Stream::Stdout);
  CHECK(output(events[0]).owner == a);
  CHECK(box.empty());
}

TEST_CASE("A change of stream, owner or event starts a new chunk", "[outbox]") {
  Outbox box;
  const OwnerPtr a = owner("1");
  const OwnerPtr sameTagOtherOwner = owner("1");
  box.write(Stream::Stdout, a, "1");
  box.write(Stream::Stderr, a, "2");
  box.write(Stream::Stderr, sameTagOtherOwner, "3");  // owners compare by identity
  box.write(Stream::Stderr, nullptr, "4");
  box.write(Stream::Stderr, nullptr, "5");  // two unowned writes join
  box.push(InputCancelledEvent{7});
  box.write(Stream::Stderr, nullptr, "6");
  const auto events = takeAll(box);
  REQUIRE(events.size() == 6);
  CHECK(output(events[0]).text == "1");
  CHECK(output(events[1]).text == "2");
  CHECK(output(events[1]).stream == Stream::Stderr);
  CHECK(output(events[2]).text == "3");
  CHECK(output(events[2]).owner == sameTagOtherOwner);
  CHECK(output(events[3]).text == "45");
  CHECK(output(events[3]).owner == nullptr);
  REQUIRE(std::holds_alternative<InputCancelledEvent>(events[4]));
  CHECK(std::get<InputCancelledEvent>(events[4]).inputId == 7);
  CHECK(output(events[5]).text == "6");
}

TEST_CASE("Output is split at kChunk bytes", "[outbox]") {
  Outbox box;
  const OwnerPtr a = owner("1");
  SECTION("in one write") {
    box.write(Stream::Stdout, a, std::string(Outbox::kChunk * 2 + 10, 'x'));
    const auto events = takeAll(box);
    REQUIRE(events.size() == 3);
    CHECK(output(events[0]).text.size() == Outbox::kChunk);
    CHECK(output(events[1]).text.size() == Outbox::kChunk);
    CHECK(output(events[2]).text == std::string(10, 'x'));
  }
  SECTION("across writes: a full chunk is topped up, then a new one starts") {
    box.write(Stream::Stdout, a, std::string(Outbox::kChunk - 3, 'x'));
    box.write(Stream::Stdout, a, "abcdef");
    const auto events = takeAll(box);
    REQUIRE(events.size() == 2);
    CHECK(output(events[0]).text == std::string(Outbox::kChunk - 3, 'x') + "abc");
    CHECK(output(events[1]).text == "def");
  }
}

TEST_CASE("A chunk boundary at a character's start splits there", "[outbox]") {
  Outbox box;
  box.write(Stream::Stdout, nullptr, std::string(Outbox::kChunk, 'x') + "\xC3\xA9");
  const auto events = takeAll(box);
  REQUIRE(events.size() == 2);
  CHECK(output(events[0]).text == std::string(Outbox::kChunk, 'x'));
  CHECK(output(events[1]).text == "\xC3\xA9");
}

// Diagnosis: write() fills the current chunk up to kChunk in a loop. When the rest of the chunk
// ends inside a character, utf8Prefix() backs up to an empty prefix and then returns `max`
// instead of 0, so the loop appends the character's first bytes to the chunk and the rest to
// the next one: both output events then hold invalid UTF-8 (shown as U+FFFD by the client).
TEST_CASE("A chunk boundary inside a UTF-8 character moves the whole character to the next chunk",
          "[outbox]") {
  const std::string euro = "\xE2\x82\xAC";
  SECTION("within one write") {
    Outbox box;
    box.write(Stream::Stdout, nullptr, std::string(Outbox::kChunk - 1, 'x') + euro + "y");
    const auto events = takeAll(box);
    REQUIRE(events.size() == 2);
    CHECK(output(events[0]).text == std::string(Outbox::kChunk - 1, 'x'));
    CHECK(output(events[1]).text == euro + "y");
  }
  SECTION("joining a later write") {
    Outbox box;
    box.write(Stream::Stdout, nullptr, std::string(Outbox::kChunk - 2, 'x'));
    box.write(Stream::Stdout, nullptr, euro);
    const auto events = takeAll(box);
    REQUIRE(events.size() == 2);
    CHECK(output(events[0]).text == std::string(Outbox::kChunk - 2, 'x'));
    CHECK(output(events[1]).text == euro);
  }
}

TEST_CASE("utf8Prefix backs up to the start of a character", "[outbox]") {
  struct Row {
    std::string text;
    std::size_t max;
    std::size_t expected;
  };
  const Row row = GENERATE(values<Row>({
      {"abc", 5, 3},
      {"abc", 3, 3},
      {"abc", 2, 2},
      {"abc", 0, 0},
      {"", 0, 0},
      {"a\xC3\xA9", 2, 1},
      {"a\xC3\xA9", 3, 3},
      {"ab\xE2\x82\xAC", 3, 2},
      {"ab\xE2\x82\xAC", 4, 2},
      {"ab\xE2\x82\xAC" "c", 5, 5},
      {"a\xF0\x9F\x98\x80", 4, 1},
      {"a\xF0\x9F\x98\x80", 5, 5},
  }));
  CAPTURE(row.text, row.max);
  CHECK(utf8Prefix(row.text, row.max) == row.expected);
}

TEST_CASE("utf8Prefix gives an empty prefix when the first character does not fit", "[outbox]") {
  // Documented: "the longest prefix ... no longer than max bytes that ends on a UTF-8
  // boundary". For "é" and max 1 that is the empty prefix; the code returns 1 (half a char).
  CHECK(utf8Prefix("\xC3\xA9", 1) == 0);
  CHECK(utf8Prefix("\xE2\x82\xAC", 2) == 0);
}

TEST_CASE("take() stops once its output budget is spent", "[outbox]") {
  Outbox box;
  box.write(Stream::Stdout, nullptr, std::string(10, 'a'));
  box.write(Stream::Stderr, nullptr, std::string(10, 'b'));
  box.push(InputCancelledEvent{1});
  box.write(Stream::Stdout, nullptr, std::string(10, 'c'));

  SECTION("a budget inside the second chunk takes it whole, then stops") {
    const auto first = box.take(15);
    REQUIRE(first.size() == 2);
    CHECK(output(first[1]).text == std::string(10, 'b'));
    const auto rest = takeAll(box);
    REQUIRE(rest.size() == 2);
    CHECK(std::holds_alternative<InputCancelledEvent>(rest[0]));
    CHECK(output(rest[1]).text == std::string(10, 'c'));
  }
  SECTION("a budget of exactly one chunk takes one") {
    CHECK(box.take(10).size() == 1);
    CHECK(box.take(20).size() == 3);  // other events cost nothing
    CHECK(box.empty());
  }
  SECTION("a budget of zero takes nothing") {
    CHECK(box.take(0).empty());
    CHECK_FALSE(box.empty());
  }
}

TEST_CASE("Events other than output are taken without limit", "[outbox]") {
  Outbox box;
  for (int i = 0; i < 5; ++i) box.push(InputCancelledEvent{static_cast<std::uint64_t>(i)});
  const auto events = box.take(1);
  REQUIRE(events.size() == 5);
  CHECK(std::get<InputCancelledEvent>(events[4]).inputId == 4);
}

TEST_CASE("hasRoom and waitForRoom count output bytes against kCapacity", "[outbox]") {
  Outbox box;
  CHECK(box.hasRoom());
  box.write(Stream::Stdout, nullptr, std::string(Outbox::kCapacity - 1, 'x'));
  CHECK(box.hasRoom());
  CHECK(box.waitForRoom(0ms));
  box.push(DisplayEvent{nullptr, {{"text/plain", std::string(100, 'd'), false}}, std::nullopt, false, {}, 0});  // displays do not count
  CHECK(box.hasRoom());
  box.write(Stream::Stdout, nullptr, "x");
  CHECK_FALSE(box.hasRoom());
  CHECK_FALSE(box.waitForRoom(1ms));
  box.take(Outbox::kChunk);
  CHECK(box.hasRoom());
  CHECK(box.waitForRoom(0ms));
}

TEST_CASE("A writer waiting for room wakes when the reader takes", "[outbox]") {
  Outbox box;
  box.write(Stream::Stdout, nullptr, std::string(Outbox::kCapacity, 'x'));
  REQUIRE_FALSE(box.hasRoom());
  auto waiter = std::async(std::launch::async, [&] { return box.waitForRoom(10s); });
  CHECK(waiter.wait_for(20ms) == std::future_status::timeout);  // it waits while full
  box.take(1);
  REQUIRE(waiter.wait_for(5s) == std::future_status::ready);
  CHECK(waiter.get());
}

TEST_CASE("notify runs only when the outbox turns from empty to not empty", "[outbox]") {
  Outbox box;
  int notified = 0;
  box.setNotify([&] { ++notified; });
  box.write(Stream::Stdout, nullptr, "a");
  CHECK(notified == 1);
  box.write(Stream::Stdout, nullptr, "b");
  box.push(InputCancelledEvent{});
  box.write(Stream::Stderr, nullptr, "c");
  CHECK(notified == 1);
  takeAll(box);
  box.push(ReadyEvent{{"asyncio"}});
  CHECK(notified == 2);
  box.take(0);  // takes nothing: still not empty
  box.write(Stream::Stdout, nullptr, "d");
  CHECK(notified == 2);
  CHECK(takeAll(box).size() == 2);
  CHECK(box.empty());
}

TEST_CASE("An empty write to an empty outbox does not notify", "[outbox]") {
  // write() computes "was empty" before appending and notifies whether or not it appended.
  Outbox box;
  int notified = 0;
  box.setNotify([&] { ++notified; });
  box.write(Stream::Stdout, nullptr, "");
  CHECK(box.empty());
  CHECK(notified == 0);
}

TEST_CASE("A write split in several chunks is delivered only with its last chunk", "[outbox]") {
  asyncode::core::Outbox box;
  const std::string big(asyncode::core::Outbox::kChunk * 2 + 10, 'x');
  box.write(asyncode::core::Stream::Stdout, nullptr, "small");
  box.write(asyncode::core::Stream::Stdout, nullptr, big);
  const auto events = box.take(std::size_t(-1));
  REQUIRE(events.size() == 3);
  std::vector<std::uint64_t> seqs;
  for (const auto& e : events) seqs.push_back(std::get<asyncode::core::OutputEvent>(e).seq);
  // the first chunk completes the first write only; the second completes none; the third the big one
  CHECK(seqs == std::vector<std::uint64_t>{1, 0, 2});
  CHECK(box.appended() == 2);
  box.markDelivered(1);
  CHECK_FALSE(box.waitDelivered(2, std::chrono::milliseconds(1)));
  box.markDelivered(2);
  CHECK(box.waitDelivered(2, std::chrono::milliseconds(1)));
}

TEST_CASE("An exec's start wakes no reader until the exec appends something, and then goes first", "[outbox]") {
  Outbox box;
  int notified = 0;
  box.setNotify([&] { ++notified; });
  const OwnerPtr a = owner("1");
  box.startExec(a);
  CHECK(notified == 0);
  CHECK(box.empty());
  box.write(Stream::Stdout, a, "x");
  CHECK(notified == 1);
  const auto events = takeAll(box);
  REQUIRE(events.size() == 2);
  REQUIRE(std::holds_alternative<ExecStartEvent>(events[0]));
  CHECK(std::get<ExecStartEvent>(events[0]).owner == a);
  CHECK(output(events[1]).text == "x");
  box.endExec();  // already sent: nothing more
  CHECK(box.empty());
}

TEST_CASE("An exec that appends nothing leaves no start in the outbox", "[outbox]") {
  Outbox box;
  int notified = 0;
  box.setNotify([&] { ++notified; });
  box.startExec(owner("1"));
  box.endExec();
  box.push(InputCancelledEvent{3});  // what comes later finds no start of the ended exec
  const auto events = takeAll(box);
  REQUIRE(events.size() == 1);
  CHECK(std::holds_alternative<InputCancelledEvent>(events[0]));
  CHECK(notified == 1);
}

TEST_CASE("A start held for kStartHeld is released by the timer even when the exec writes nothing", "[outbox]") {
  Outbox box;
  int notified = 0;
  box.setNotify([&] { ++notified; });
  REQUIRE(box.startTimerFd() >= 0);
  const OwnerPtr a = owner("1");
  box.startExec(a);
  pollfd p{box.startTimerFd(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10000) == 1);  // the timer fires (an event, not a sleep)
  box.releaseHeldStart();
  CHECK(notified == 1);
  auto events = takeAll(box);
  REQUIRE(events.size() == 1);
  REQUIRE(std::holds_alternative<ExecStartEvent>(events[0]));
  CHECK(std::get<ExecStartEvent>(events[0]).owner == a);
  box.endExec();
  box.releaseHeldStart();  // nothing held any more
  CHECK(takeAll(box).empty());
}

TEST_CASE("An exec that ends before kStartHeld leaves the timer nothing to release", "[outbox]") {
  Outbox box;
  int notified = 0;
  box.setNotify([&] { ++notified; });
  box.startExec(owner("1"));
  box.endExec();
  pollfd p{box.startTimerFd(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10000) == 1);  // left armed: it fires, and finds nothing
  box.releaseHeldStart();
  CHECK(takeAll(box).empty());
  CHECK(notified == 0);
}

namespace {
std::chrono::nanoseconds timerLeft(const Outbox& box) {
  itimerspec t{};
  REQUIRE(::timerfd_gettime(box.startTimerFd(), &t) == 0);
  return std::chrono::seconds(t.it_value.tv_sec) + std::chrono::nanoseconds(t.it_value.tv_nsec);
}
}  // namespace

TEST_CASE("Execs that start while the timer is armed do not arm it again", "[outbox]") {
  Outbox box;
  const auto t0 = std::chrono::steady_clock::now();
  box.startExec(owner("1"));
  const auto first = timerLeft(box);
  REQUIRE(first > 0ns);
  box.endExec();
  std::this_thread::sleep_for(300us);  // a gap that a timer armed again would not show
  box.startExec(owner("2"));
  const auto second = timerLeft(box);
  if (std::chrono::steady_clock::now() - t0 < first)  // it has not fired in between
    CHECK(second < first - 200us);                       // left as it was: 300 µs less
  box.endExec();
}

TEST_CASE("A start that comes while the timer is armed is released kStartHeld after it", "[outbox]") {
  Outbox box;
  int notified = 0;
  box.setNotify([&] { ++notified; });
  box.startExec(owner("1"));  // arms the timer
  box.endExec();
  const OwnerPtr b = owner("2");
  const auto since = std::chrono::steady_clock::now();
  box.startExec(b);  // finds it armed: the timer fires early for b and waits out b's rest
  std::vector<OutEvent> events;
  for (int fired = 0; events.empty() && fired < 5; ++fired) {
    pollfd p{box.startTimerFd(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 10000) == 1);
    box.releaseHeldStart();
    events = takeAll(box);
  }
  CHECK(std::chrono::steady_clock::now() - since >= Outbox::kStartHeld);
  REQUIRE(events.size() == 1);
  REQUIRE(std::holds_alternative<ExecStartEvent>(events[0]));
  CHECK(std::get<ExecStartEvent>(events[0]).owner == b);
  CHECK(notified == 1);
  box.endExec();
}
