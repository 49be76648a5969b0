// A framed JSON-RPC connection over one duplex descriptor (a socket) or two (stdin and
// stdout), driven by a libuv loop. All calls happen on the loop's thread; a message is
// written as one buffer (header and body together), so frames never interleave.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "rpc/fd_stream.h"
#include "rpc/framing.h"
#include "rpc/jsonrpc.h"
#include "rpc/timer.h"
#include "rpc/transport.h"

namespace asyncode::rpc {

class Connection final : public Transport {
 public:
  using Handlers = Transport::Handlers;

  Connection(uv_loop_t* loop, int inFd, int outFd, FrameLimits limits, Handlers handlers = {});
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void setHandlers(Handlers handlers) override { handlers_ = std::move(handlers); }
  // Starts reading (separate from construction, so handlers may refer to the owner).
  void start() override;

  // Frames `body` and queues it.
  void send(std::string_view body) override;
  // Queues bytes that are already framed.
  void sendFramed(std::string frame);

  // While held (calls nest), frames are gathered and go out together, in order, as one write
  // when the outermost hold is released: the reader wakes once for what belongs together.
  void hold() override { ++holds_; }
  void release() override;

  [[nodiscard]] std::size_t pendingBytes() const override { return out_->pendingBytes() + held_.size(); }
  void setOnWritten(std::function<void()> fn) override { out_->setOnWritten(std::move(fn)); }

  void pauseReading() override {
    in_->pauseReading();
    paused_ = true;
    stall_.stop();  // no progress is expected while nothing is read
  }
  void readAvailable() override { in_->readAvailable(); }
  void resumeReading() override {
    in_->resumeReading();
    paused_ = false;
    watchStall();
  }
  [[nodiscard]] bool closed() const override { return closed_; }
  [[nodiscard]] bool canWrite() const override { return !out_->writeFailed(); }

 private:
  void onData(std::string_view data);
  void watchStall();
  void close(int status);

  std::unique_ptr<FdStream> inOwned_;
  std::unique_ptr<FdStream> outOwned_;
  FdStream* in_;
  FdStream* out_;
  FrameLimits limits_;
  FrameDecoder decoder_;
  Timer stall_;
  bool paused_ = false;
  Handlers handlers_;
  int holds_ = 0;
  std::string held_;
  bool closed_ = false;
};

}  // namespace asyncode::rpc
