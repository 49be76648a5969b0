#include "clients/cli/input_source.h"

#include <fcntl.h>
#include <unistd.h>

#include "clients/cli/terminal.h"

namespace asyncode::cli {

InputSource::InputSource(uv_loop_t* loop, int fd) : fd_(fd), terminal_(cli::isTerminal(fd)) {
  if (terminal_) {
    if (const char* name = ::ttyname(fd)) {
      own_ = support::UniqueFd(::open(name, O_RDONLY | O_NOCTTY | O_CLOEXEC));
      if (own_) fd_ = own_.get();
    }
  }
  if (!own_) savedFlags_ = ::fcntl(fd_, F_GETFL);
  auto* poll = new uv_poll_t{};
  if (uv_poll_init(loop, poll, fd_) == 0) {
    poll_ = rpc::UvHandle<uv_poll_t>::adopt(poll);
    poll_->data = this;
  } else {
    delete poll;  // never initialized: nothing to close
    idle_ = rpc::UvHandle<uv_idle_t>(uv_idle_init, loop);
    idle_->data = this;
  }
}

InputSource::~InputSource() {
  stop();
  if (savedFlags_ >= 0) ::fcntl(fd_, F_SETFL, savedFlags_);
}

void InputSource::start(std::function<void()> onReadable) {
  onReadable_ = std::move(onReadable);
  started_ = true;
  if (poll_) {
    uv_poll_start(poll_.get(), UV_READABLE | UV_DISCONNECT, [](uv_poll_t* p, int, int) {
      if (auto* self = static_cast<InputSource*>(p->data)) self->notify();
    });
  } else {
    uv_idle_start(idle_.get(), [](uv_idle_t* i) {
      if (auto* self = static_cast<InputSource*>(i->data)) self->notify();
    });
  }
}

void InputSource::notify() {
  if (!started_ || !onReadable_) return;
  auto reader = onReadable_;  // it may stop or replace itself
  reader();
}

void InputSource::stop() {
  started_ = false;
  if (poll_) uv_poll_stop(poll_.get());
  if (idle_) uv_idle_stop(idle_.get());
}

}  // namespace asyncode::cli
