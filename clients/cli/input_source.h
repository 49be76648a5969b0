// Standard input watched by the loop, for one reader at a time (the line editor, or a
// plain line reader). A terminal is read through a descriptor of its own: the loop makes
// what it watches non-blocking, which must not change the terminal for the processes that
// share it (our own stdout and stderr are the same terminal, often).
#pragma once

#include <uv.h>

#include <functional>

#include "support/unique_fd.h"
#include "rpc/uv_handle.h"

namespace asyncode::cli {

class InputSource {
 public:
  InputSource(uv_loop_t* loop, int fd);
  InputSource(const InputSource&) = delete;
  InputSource& operator=(const InputSource&) = delete;
  ~InputSource();

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] bool isTerminal() const { return terminal_; }

  // `onReadable` runs whenever input can be read without blocking (at end of input too),
  // until stop(). A later start() replaces the reader.
  void start(std::function<void()> onReadable);
  void stop();
  [[nodiscard]] bool started() const { return started_; }

 private:
  void notify();

  support::UniqueFd own_;  // the terminal, opened again
  int fd_;
  bool terminal_;
  int savedFlags_ = -1;              // of a shared descriptor, restored at the end
  rpc::UvHandle<uv_poll_t> poll_;    // pipes and terminals
  rpc::UvHandle<uv_idle_t> idle_;    // what cannot be polled (regular files): always readable
  std::function<void()> onReadable_;
  bool started_ = false;
};

}  // namespace asyncode::cli
