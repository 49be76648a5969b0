#include "daemon/stdin_feed.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/worker_handle.h"
#include "support/base64.h"

namespace asyncode::daemon {

StdinFeed::StdinFeed(uv_loop_t* loop, rpc::Peer& client, std::string session)
    : loop_(loop), client_(client), session_(std::move(session)) {}

StdinFeed::~StdinFeed() { detach(); }

void StdinFeed::attach(WorkerHandle& worker) {
  detach();
  worker_ = &worker;
  if (const int fd = worker.stdinFd(); fd >= 0) {
    poll_ = rpc::UvHandle<uv_poll_t>(uv_poll_init, loop_, fd);
    poll_->data = this;
  }
  pump();
}

// Before the worker's end of the pipe is closed: the poll handle on it goes first.
void StdinFeed::detach() {
  stopPolling();
  poll_.reset();
  worker_ = nullptr;
}

void StdinFeed::stopPolling() {
  if (!poll_ || !polling_) return;
  uv_poll_stop(poll_.get());
  polling_ = false;
}

// Writes what the pipe takes; asks for more once everything is in; closes at the end.
void StdinFeed::pump() {
  if (!worker_ || !poll_) return;
  const int fd = worker_->stdinFd();
  if (fd < 0) return;
  while (offset_ < pending_.size()) {
    const ssize_t n = ::write(fd, pending_.data() + offset_, pending_.size() - offset_);
    if (n > 0) {
      offset_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      waitWritable();
      return ask();  // the window may still have room
    }
    // EPIPE: the worker closed its stdin or is dying; its death (detach) brings the next one.
    spdlog::debug("session {}: stdin pipe: {}", session_, n < 0 ? std::strerror(errno) : "short write");
    return;
  }
  pending_.clear();
  offset_ = 0;
  stopPolling();
  if (!eof_) return ask();
  // The end: requests still out were asked before it was known; their answers are dropped.
  poll_.reset();
  worker_->closeStdin();
}

void StdinFeed::waitWritable() {
  if (polling_) return;
  polling_ = uv_poll_start(poll_.get(), UV_WRITABLE, &StdinFeed::onWritable) == 0;
}

void StdinFeed::onWritable(uv_poll_t* poll, int status, int) {
  auto* self = static_cast<StdinFeed*>(poll->data);
  if (!self) return;
  if (status < 0) return self->stopPolling();  // the worker is going: its end (detach) follows
  self->pump();
}

void StdinFeed::ask() {
  while (!eof_ && reads_.size() < kInFlight && !client_.closed() && client_.canWrite()) {
    // What the feed holds, with what the requests out and this one may bring, stays in kWindow.
    if (pending_.size() - offset_ + (reads_.size() + 1) * kChunk > kWindow) break;
    const std::uint64_t number = nextRead_++;
    reads_.push_back(Read{number, false, std::nullopt, false});
    const protocol::StdinReadParams params{session_, static_cast<std::int64_t>(kChunk)};
    client_.call(protocol::methods::stdinRead, params,
                 [weak = weak_from_this(), number](rpc::Answer<protocol::StdinReadResult> a) {
                   if (auto self = weak.lock()) self->onAnswer(number, std::move(a));
                 });
  }
}

void StdinFeed::onAnswer(std::uint64_t number, rpc::Answer<protocol::StdinReadResult> a) {
  const auto it = std::find_if(reads_.begin(), reads_.end(), [&](const Read& r) { return r.number == number; });
  if (it == reads_.end()) return;
  it->answered = true;
  if (!a) {
    spdlog::info("session {}: stdin/read failed ({}): the stream ends", session_, a.error.message);
  } else if (!a->base64) {
    it->bytes = std::move(a->data);
  } else if (auto decoded = support::base64Decode(a->data)) {
    it->bytes = std::move(*decoded);
  } else {
    spdlog::error("session {}: stdin/read answered base64 data that is not base64; the session's stdin is closed",
                  session_);
  }
  if (it->bytes && it->bytes->size() > kChunk) {
    spdlog::error("session {}: stdin/read answered more bytes than its maxBytes; the session's stdin is closed",
                  session_);
    it->bytes.reset();
  }
  if (a) it->eof = a->eof;
  collect();
}

// The answers at the front, in the order they were asked for, go to the pipe's queue.
void StdinFeed::collect() {
  while (!reads_.empty() && reads_.front().answered) {
    Read read = std::move(reads_.front());
    reads_.pop_front();
    if (eof_) continue;  // after the end: nothing more goes in
    if (!read.bytes) {   // an error answer (or a broken one) ends the stream
      eof_ = true;
      continue;
    }
    if (offset_ > 0) {
      pending_.erase(0, offset_);
      offset_ = 0;
    }
    pending_ += *read.bytes;
    eof_ = read.eof;
  }
  pump();
}

}  // namespace asyncode::daemon
