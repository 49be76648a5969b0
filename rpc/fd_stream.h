// One file descriptor read and written through a libuv loop, whatever it is: a pipe, a
// socket, a terminal, or a regular file (which libuv cannot poll: it is read a chunk per
// loop turn and written synchronously, as writes to a file do not block). Its callbacks
// never run inside the call that caused them: a file's onWritten, and any onWriteError,
// come on a later turn of the loop, so code that writes may be called from those callbacks.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "rpc/uv_handle.h"

namespace asyncode::rpc {

class FdStream {
 public:
  using DataFn = std::function<void(std::string_view data)>;
  using EndFn = std::function<void(int status)>;  // 0 at end of input, a negative uv error otherwise
  using WrittenFn = std::function<void()>;        // after each completed write

  FdStream(uv_loop_t* loop, int fd);
  ~FdStream();
  FdStream(const FdStream&) = delete;
  FdStream& operator=(const FdStream&) = delete;

  void startReading(DataFn onData, EndFn onEnd);
  void pauseReading();
  void resumeReading();
  // Reads what is available right now (even while paused), without waiting.
  void readAvailable();

  // Queues `data`; never blocks. A write error is reported once through onWriteError.
  void write(std::string data);
  void setOnWritten(WrittenFn fn) { onWritten_ = std::move(fn); }
  void setOnWriteError(EndFn fn) { onWriteError_ = std::move(fn); }
  [[nodiscard]] std::size_t pendingBytes() const { return pending_; }
  [[nodiscard]] bool writeFailed() const { return writeFailed_; }

  [[nodiscard]] int fd() const { return fd_; }

 private:
  enum class Kind { Stream, File };
  static void onAlloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void onIdle(uv_idle_t* idle);
  static void onNotify(uv_idle_t* idle);
  void notifyLater();
  void readFileChunk();
  void startPolling();
  void stopPolling();
  void failWrite(int status);
  void end(int status);

  int fd_;
  Kind kind_ = Kind::Stream;
  UvHandle<uv_pipe_t> pipe_;
  UvHandle<uv_tty_t> tty_;
  UvHandle<uv_idle_t> idle_;    // file mode: one read per loop turn
  UvHandle<uv_idle_t> notify_;  // runs onWritten / onWriteError on the next turn
  uv_stream_t* stream_ = nullptr;
  DataFn onData_;
  EndFn onEnd_;
  WrittenFn onWritten_;
  EndFn onWriteError_;
  bool reading_ = false;
  bool paused_ = false;
  bool ended_ = false;
  bool writeFailed_ = false;
  bool writtenDue_ = false;
  int writeErrorDue_ = 0;
  std::size_t pending_ = 0;
  std::unique_ptr<char[]> buffer_;
  static constexpr std::size_t kBufferSize = 64 * 1024;
};

}  // namespace asyncode::rpc
