#include "core/outbox.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdint>
#include <type_traits>
#include <utility>

namespace asyncode::core {

void Outbox::setNotify(std::function<void()> notify) {
  std::lock_guard lock(mu_);
  notify_ = std::move(notify);
}

void Outbox::wake(bool needed) {
  if (needed && notify_) notify_();
}

void Outbox::releaseStartLocked() {
  if (pendingStart_) events_.emplace_back(std::in_place_type<ExecStartEvent>, ExecStartEvent{std::move(pendingStart_), 0});
  pendingStart_.reset();
}

Outbox::Outbox() : startTimer_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {}

// One timerfd_settime: no other thread runs for it.
void Outbox::armStartTimer(std::chrono::microseconds after) {
  if (!startTimer_) return;
  itimerspec t{};
  t.it_value.tv_sec = static_cast<time_t>(after.count() / 1000000);
  t.it_value.tv_nsec = static_cast<long>(after.count() % 1000000) * 1000;
  ::timerfd_settime(startTimer_.get(), 0, &t, nullptr);
}

void Outbox::startExec(OwnerPtr owner) {
  bool arm = false;
  {
    std::lock_guard lock(mu_);
    pendingStart_ = std::move(owner);
    pendingSince_ = Clock::now();
    // Armed already (by an earlier exec): it fires sooner, and then waits out this one's rest.
    arm = timerDue_ < pendingSince_;
    if (arm) timerDue_ = pendingSince_ + kStartHeld;
  }
  if (arm) armStartTimer(kStartHeld);
}

void Outbox::endExec() {
  std::lock_guard lock(mu_);
  pendingStart_.reset();  // the timer, left armed, finds nothing to release
}

void Outbox::releaseHeldStart() {
  if (startTimer_) {
    std::uint64_t expirations = 0;
    [[maybe_unused]] const ssize_t n = ::read(startTimer_.get(), &expirations, sizeof expirations);
  }
  bool needed = false;
  std::chrono::microseconds rest{0};
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    if (timerDue_ <= now) timerDue_ = Clock::time_point::min();  // fired (not re-armed since)
    if (!pendingStart_) return;
    const auto held = std::chrono::duration_cast<std::chrono::microseconds>(now - pendingSince_);
    if (held < kStartHeld) {  // an exec that started after the timer was armed
      if (timerDue_ == Clock::time_point::min()) {
        rest = kStartHeld - held;
        timerDue_ = now + rest;
      }
    } else {
      needed = !std::exchange(readerAwake_, true);
      releaseStartLocked();
    }
  }
  if (rest.count() > 0) return armStartTimer(rest);
  wake(needed);
}

void Outbox::write(Stream stream, const OwnerPtr& owner, std::string_view text) {
  if (text.empty()) return;
  bool needed = false;
  {
    std::lock_guard lock(mu_);
    needed = !std::exchange(readerAwake_, true);
    releaseStartLocked();
    ++appended_;
    while (!text.empty()) {
      auto* last = events_.empty() ? nullptr : std::get_if<OutputEvent>(&events_.back());
      std::size_t n = last && last->stream == stream && last->owner == owner && last->text.size() < kChunk
                          ? utf8Prefix(text, kChunk - last->text.size())
                          : 0;
      if (n == 0) {  // a new chunk: another owner or stream, or the next character does not fit
        events_.emplace_back(std::in_place_type<OutputEvent>, OutputEvent{stream, owner, {}, 0});
        last = &std::get<OutputEvent>(events_.back());
        n = utf8Prefix(text, kChunk);
        if (n == 0) n = text.size() < kChunk ? text.size() : kChunk;  // not UTF-8 at all: cut anyway
      }
      last->text.append(text.substr(0, n));
      outputBytes_ += n;
      text.remove_prefix(n);
      // Delivering this chunk completes this write only when it holds the write's end;
      // an earlier chunk of a write split in several must not say it was delivered.
      if (text.empty()) last->seq = appended_;
    }
  }
  wake(needed);
}

void Outbox::push(OutEvent event) {
  bool needed = false;
  {
    std::lock_guard lock(mu_);
    needed = !std::exchange(readerAwake_, true);
    releaseStartLocked();
    // What travels in the output frames counts for flush(), as output does; an exec's start
    // does not (an exec that writes nothing answers without waiting for the reader: the
    // supervisor says execStart before the answer when the frame has not come by then).
    std::visit(
        [this](auto& e) {
          if constexpr (requires { e.seq; })
            if constexpr (!std::is_same_v<std::decay_t<decltype(e)>, ExecStartEvent>) e.seq = ++appended_;
        },
        event);
    events_.push_back(std::move(event));
  }
  wake(needed);
}

bool Outbox::waitForRoom(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return room_.wait_for(lock, timeout, [this] { return outputBytes_ < kCapacity; });
}

bool Outbox::hasRoom() const {
  std::lock_guard lock(mu_);
  return outputBytes_ < kCapacity;
}

std::vector<OutEvent> Outbox::take(std::size_t maxOutputBytes) {
  std::vector<OutEvent> out;
  {
    std::lock_guard lock(mu_);
    std::size_t taken = 0;
    while (!events_.empty() && taken < maxOutputBytes) {
      if (auto* o = std::get_if<OutputEvent>(&events_.front())) {
        taken += o->text.size();
        outputBytes_ -= o->text.size();
      }
      out.push_back(std::move(events_.front()));
      events_.pop_front();
    }
    if (events_.empty()) readerAwake_ = false;
  }
  room_.notify_all();
  return out;
}

std::uint64_t Outbox::appended() const {
  std::lock_guard lock(mu_);
  return appended_;
}

void Outbox::markDelivered(std::uint64_t seq) {
  {
    std::lock_guard lock(mu_);
    if (seq <= deliveredSeq_) return;
    deliveredSeq_ = seq;
  }
  delivered_.notify_all();
}

bool Outbox::waitDelivered(std::uint64_t seq, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return delivered_.wait_for(lock, timeout, [&] { return deliveredSeq_ >= seq; });
}

bool Outbox::empty() const {
  std::lock_guard lock(mu_);
  return events_.empty();
}

}  // namespace asyncode::core
