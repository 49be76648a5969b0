#include "rpc/connection.h"

#include <utility>

namespace asyncode::rpc {

Connection::Connection(uv_loop_t* loop, int inFd, int outFd, FrameLimits limits, Handlers handlers)
    : limits_(limits), decoder_(limits), stall_(loop), handlers_(std::move(handlers)) {
  inOwned_ = std::make_unique<FdStream>(loop, inFd);
  in_ = inOwned_.get();
  if (outFd == inFd) {
    out_ = in_;
  } else {
    outOwned_ = std::make_unique<FdStream>(loop, outFd);
    out_ = outOwned_.get();
  }
  out_->setOnWriteError([this](int status) { close(status); });
}

void Connection::start() {
  in_->startReading([this](std::string_view data) { onData(data); },
                    [this](int status) { close(status); });
}

void Connection::onData(std::string_view data) {
  decoder_.feed(
      data,
      [this](std::string&& body) { handlers_.onBody(body); },
      [this](const FrameError& e) { handlers_.onFrameError(e); });
  watchStall();
}

void Connection::watchStall() {
  if (limits_.stallMs == 0 || closed_) return;
  if (decoder_.idle() || paused_) return stall_.stop();
  stall_.once(limits_.stallMs, [this] {
    const std::size_t held = decoder_.buffered();
    decoder_ = FrameDecoder(limits_);
    if (handlers_.onFrameError)
      handlers_.onFrameError(FrameError{FrameError::Kind::BadHeader,
                                        "a frame stopped half-way (" + std::to_string(held) + " bytes of it held for " +
                                            std::to_string(limits_.stallMs) + " ms)"});
  });
}

void Connection::send(std::string_view body) { sendFramed(encodeFrame(body)); }

void Connection::sendFramed(std::string frame) {
  if (out_->writeFailed()) return;
  if (holds_ == 0) return out_->write(std::move(frame));
  if (held_.empty()) {
    held_ = std::move(frame);
  } else {
    held_ += frame;
  }
}

void Connection::release() {
  if (holds_ == 0 || --holds_ > 0 || held_.empty()) return;
  std::string batch = std::exchange(held_, {});
  if (!out_->writeFailed()) out_->write(std::move(batch));
}

void Connection::close(int status) {
  if (closed_) return;
  closed_ = true;
  if (handlers_.onClosed) handlers_.onClosed(status);
}

}  // namespace asyncode::rpc
