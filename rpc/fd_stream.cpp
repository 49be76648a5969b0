#include "rpc/fd_stream.h"

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace asyncode::rpc {

FdStream::FdStream(uv_loop_t* loop, int fd) : fd_(fd), buffer_(new char[kBufferSize]) {
  switch (uv_guess_handle(fd)) {
    case UV_TTY: {
      tty_ = UvHandle<uv_tty_t>(uv_tty_init, loop, fd, 0);
      stream_ = tty_.stream();
      break;
    }
    case UV_NAMED_PIPE:
    case UV_TCP: {
      pipe_ = UvHandle<uv_pipe_t>(uv_pipe_init, loop, 0);
      if (const int rc = uv_pipe_open(pipe_.get(), fd); rc != 0) throwUv("uv_pipe_open", rc);
      stream_ = pipe_.stream();
      break;
    }
    case UV_FILE: {
      kind_ = Kind::File;
      idle_ = UvHandle<uv_idle_t>(uv_idle_init, loop);
      idle_->data = this;
      break;
    }
    default:
      throw std::runtime_error("file descriptor " + std::to_string(fd) + " is not usable");
  }
  if (stream_) stream_->data = this;
  notify_ = UvHandle<uv_idle_t>(uv_idle_init, loop);
  notify_->data = this;
}

FdStream::~FdStream() = default;  // the handles close themselves; due callbacks see no owner

void FdStream::startReading(DataFn onData, EndFn onEnd) {
  onData_ = std::move(onData);
  onEnd_ = std::move(onEnd);
  reading_ = true;
  if (!paused_) startPolling();
}

void FdStream::pauseReading() {
  if (paused_) return;
  paused_ = true;
  if (reading_) stopPolling();
}

void FdStream::resumeReading() {
  if (!paused_) return;
  paused_ = false;
  if (reading_ && !ended_) startPolling();
}

void FdStream::startPolling() {
  if (ended_) return;
  if (kind_ == Kind::File) {
    uv_idle_start(idle_.get(), &FdStream::onIdle);
    return;
  }
  if (const int rc = uv_read_start(stream_, &FdStream::onAlloc, &FdStream::onRead); rc != 0 && rc != UV_EALREADY)
    end(rc);
}

void FdStream::stopPolling() {
  if (kind_ == Kind::File) {
    if (idle_) uv_idle_stop(idle_.get());
  } else if (stream_) {
    uv_read_stop(stream_);
  }
}

void FdStream::onAlloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* self = static_cast<FdStream*>(h->data);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(self->buffer_.get(), static_cast<unsigned>(kBufferSize));
}

void FdStream::onRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<FdStream*>(s->data);
  if (!self) return;
  if (n > 0) {
    self->onData_(std::string_view(buf->base, static_cast<std::size_t>(n)));
  } else if (n == UV_EOF) {
    self->end(0);
  } else if (n < 0) {
    self->end(static_cast<int>(n));
  }
}

void FdStream::onIdle(uv_idle_t* idle) {
  if (auto* self = static_cast<FdStream*>(idle->data)) self->readFileChunk();
}

void FdStream::readFileChunk() {
  const ssize_t n = ::read(fd_, buffer_.get(), kBufferSize);
  if (n > 0) {
    onData_(std::string_view(buffer_.get(), static_cast<std::size_t>(n)));
  } else if (n == 0) {
    end(0);
  } else if (errno != EINTR && errno != EAGAIN) {
    end(-errno);
  }
}

void FdStream::readAvailable() {
  if (ended_ || !reading_) return;
  if (kind_ == Kind::File) return readFileChunk();
  while (!ended_) {
    const ssize_t n = ::read(fd_, buffer_.get(), kBufferSize);
    if (n > 0) {
      onData_(std::string_view(buffer_.get(), static_cast<std::size_t>(n)));
    } else if (n == 0) {
      end(0);
    } else if (errno == EINTR) {
      continue;
    } else {
      if (errno != EAGAIN) end(-errno);
      return;
    }
  }
}

void FdStream::end(int status) {
  if (ended_) return;
  ended_ = true;
  stopPolling();
  if (onEnd_) onEnd_(status);
}

void FdStream::write(std::string data) {
  if (writeFailed_ || data.empty()) return;
  if (kind_ == Kind::File) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return failWrite(-errno);
      }
      off += static_cast<std::size_t>(n);
    }
    writtenDue_ = true;
    return notifyLater();
  }
  struct Request {
    uv_write_t req;
    std::string data;
  };
  auto* r = new Request{{}, std::move(data)};
  r->req.data = r;
  const std::size_t size = r->data.size();
  uv_buf_t buf = uv_buf_init(r->data.data(), static_cast<unsigned>(size));
  pending_ += size;
  const int rc = uv_write(&r->req, stream_, &buf, 1, [](uv_write_t* req, int status) {
    auto* request = static_cast<Request*>(req->data);
    auto* self = static_cast<FdStream*>(req->handle->data);
    const std::size_t written = request->data.size();
    delete request;
    if (!self) return;
    self->pending_ -= written;
    if (status < 0) {
      self->failWrite(status);
    } else if (self->onWritten_) {
      self->onWritten_();
    }
  });
  if (rc != 0) {
    pending_ -= size;
    delete r;
    failWrite(rc);
  }
}

void FdStream::failWrite(int status) {
  if (writeFailed_) return;
  writeFailed_ = true;
  writeErrorDue_ = status;
  notifyLater();
}

void FdStream::notifyLater() { uv_idle_start(notify_.get(), &FdStream::onNotify); }

void FdStream::onNotify(uv_idle_t* idle) {
  uv_idle_stop(idle);
  auto* self = static_cast<FdStream*>(idle->data);
  if (!self) return;
  if (const int status = std::exchange(self->writeErrorDue_, 0); status != 0) {
    if (self->onWriteError_) self->onWriteError_(status);
    return;
  }
  if (std::exchange(self->writtenDue_, false) && self->onWritten_) self->onWritten_();
}

}  // namespace asyncode::rpc
