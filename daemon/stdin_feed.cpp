#include "daemon/stdin_feed.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

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
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return waitWritable();
    // EPIPE: the worker closed its stdin or is dying; its death (detach) brings the next one.
    spdlog::debug("session {}: stdin pipe: {}", session_, n < 0 ? std::strerror(errno) : "short write");
    return;
  }
  pending_.clear();
  offset_ = 0;
  stopPolling();
  if (!eof_) return ask();
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
  if (asking_ || eof_ || client_.closed() || !client_.canWrite()) return;
  asking_ = true;
  const protocol::StdinReadParams params{session_, static_cast<std::int64_t>(kChunk)};
  client_.call(protocol::methods::stdinRead, params,
               [weak = weak_from_this()](rpc::Answer<protocol::StdinReadResult> a) {
                 if (auto self = weak.lock()) self->onAnswer(std::move(a));
               });
}

void StdinFeed::onAnswer(rpc::Answer<protocol::StdinReadResult> a) {
  asking_ = false;
  if (!a) {
    spdlog::info("session {}: stdin/read failed ({}): the stream ends", session_, a.error.message);
    return finish(nullptr);
  }
  std::string bytes;
  if (a->base64) {
    auto decoded = support::base64Decode(a->data);
    if (!decoded) return finish("stdin/read answered base64 data that is not base64");
    bytes = std::move(*decoded);
  } else {
    bytes = a->data;
  }
  if (bytes.size() > kChunk)
    return finish("stdin/read answered more bytes than its maxBytes: the daemon does not hold more");
  pending_ = std::move(bytes);
  offset_ = 0;
  eof_ = a->eof;
  pump();
}

// The stream ends here (with an error, when `why` says one): what is pending still goes in.
void StdinFeed::finish(const char* why) {
  if (why) spdlog::error("session {}: {}; the session's stdin is closed", session_, why);
  eof_ = true;
  pump();
}

}  // namespace asyncode::daemon
