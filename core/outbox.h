// What the engine has to say besides the answers of its jobs (those go on the lane), in
// order: output chunks, displays, input requests, readiness. Any thread appends; the daemon's
// I/O thread takes. Output is bounded: a writer waits for room rather than letting memory grow
// when the reader is slow.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/types.h"
#include "support/unique_fd.h"
#include "support/utf8.h"

namespace asyncode::core {

enum class Stream { Stdout = 1, Stderr = 2 };

struct OutputEvent {
  Stream stream = Stream::Stdout;
  OwnerPtr owner;  // null: output no exec owns (a thread started by user code)
  std::string text;
  std::uint64_t seq = 0;  // the outbox's count of appends, up to the last one joined here
};
struct DisplayEvent {
  OwnerPtr owner;
  MimeBundle data;
  std::optional<std::string> displayId;  // display(obj, display_id=...)
  bool update = false;                   // update_display(): replaces the display named displayId
  std::string metadata;                  // JSON text of an object, or empty
  std::uint64_t seq = 0;
};
struct ClearOutputEvent {  // clear_output(wait)
  OwnerPtr owner;
  bool wait = false;
  std::uint64_t seq = 0;
};
struct ExecStartEvent {  // an exec left the queue: in order with what it writes
  OwnerPtr owner;
  std::uint64_t seq = 0;
};
struct TaskErrorEvent {  // an exception escaped a task that an exec started
  OwnerPtr owner;
  ErrorInfo error;
  std::uint64_t seq = 0;
};
struct InputRequestEvent {
  std::uint64_t inputId = 0;
  OwnerPtr owner;
  std::string prompt;
  InputKind kind = InputKind::Input;
};
struct InputCancelledEvent {  // the input() call stopped waiting (interrupted)
  std::uint64_t inputId = 0;
};
struct ReadyEvent {  // the engine has started and takes jobs
  std::vector<std::string> backends;  // event-loop libraries importable here
};
using OutEvent = std::variant<OutputEvent, DisplayEvent, ClearOutputEvent, ExecStartEvent, TaskErrorEvent,
                               InputRequestEvent, InputCancelledEvent, ReadyEvent>;

class Outbox {
 public:
  static constexpr std::size_t kChunk = 64 * 1024;      // the largest output event
  static constexpr std::size_t kCapacity = 512 * 1024;  // output bytes held before writers wait

  // `notify` runs (on the appending thread) when something is appended and the reader is
  // not awake already: the reader counts as awake from a notify until a take() empties
  // the outbox.
  void setNotify(std::function<void()> notify);

  // Appends output, joining it to the previous chunk of the same stream and owner.
  // Never blocks: writers call waitForRoom() first.
  void write(Stream stream, const OwnerPtr& owner, std::string_view text);
  void push(OutEvent event);

  // An exec's start: held back until something else is appended (it then goes first, so it
  // keeps its place before what the exec writes), until kStartHeld has passed (startTimerFd()
  // turns readable: the reader calls releaseHeldStart()), or dropped by endExec() when the
  // exec ended first having written nothing (the supervisor says execStart before the
  // answer). A trivial exec thus wakes no reader while it runs (the timer, firing later, finds
  // nothing to send), and a long silent one is still said to run.
  // The timer is armed by an exec that finds it idle and never disarmed: when it fires, the
  // exec running then (if any) is released or waited for the rest of its kStartHeld, so a
  // run of short execs costs one timerfd_settime per kStartHeld, not two per exec.
  static constexpr std::chrono::microseconds kStartHeld{2000};
  Outbox();
  void startExec(OwnerPtr owner);
  void endExec();
  [[nodiscard]] int startTimerFd() const { return startTimer_.get(); }
  void releaseHeldStart();

  // Waits until output bytes held are below capacity, or until `timeout`. True when there
  // is room. Call without the GIL.
  bool waitForRoom(std::chrono::milliseconds timeout);
  [[nodiscard]] bool hasRoom() const;

  // Takes events from the front, at most about `maxOutputBytes` of output.
  std::vector<OutEvent> take(std::size_t maxOutputBytes);
  [[nodiscard]] bool empty() const;

  // flush(): output and displays appended so far are counted; the reader says when it
  // has delivered up to a count, and a writer can wait for that.
  [[nodiscard]] std::uint64_t appended() const;
  void markDelivered(std::uint64_t seq);
  bool waitDelivered(std::uint64_t seq, std::chrono::milliseconds timeout);

 private:
  void wake(bool needed);
  void releaseStartLocked();

  mutable std::mutex mu_;
  std::condition_variable room_;
  std::condition_variable delivered_;
  std::uint64_t appended_ = 0;
  std::uint64_t deliveredSeq_ = 0;
  bool readerAwake_ = false;
  std::deque<OutEvent> events_;
  std::size_t outputBytes_ = 0;
  using Clock = std::chrono::steady_clock;
  OwnerPtr pendingStart_;  // startExec()'s owner, until something follows it or endExec()
  Clock::time_point pendingSince_;  // when startExec() was called
  support::UniqueFd startTimer_;  // a timerfd, armed by startExec() or releaseHeldStart()
  Clock::time_point timerDue_ = Clock::time_point::min();  // when it fires; min: not armed
  void armStartTimer(std::chrono::microseconds after);
  std::function<void()> notify_;
};

using support::utf8Prefix;

}  // namespace asyncode::core
