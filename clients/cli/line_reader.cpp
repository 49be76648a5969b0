#include "clients/cli/line_reader.h"

#include <unistd.h>

#include <cerrno>

namespace asyncode::cli {

LineReader::LineReader(uv_loop_t* loop, InputSource& in) : in_(in), soon_(uv_timer_init, loop) {
  soon_->data = this;
}

void LineReader::ask(Question question, AnswerFn onAnswer) {
  onAnswer_ = std::move(onAnswer);
  // Echo goes off before the prompt shows: what is typed once it shows is not echoed.
  if (question.password && in_.isTerminal()) echoOff_ = std::make_unique<EchoOff>(in_.fd());
  writeAll(question.promptFd, question.prompt);
  if (buffer_.find('\n') != std::string::npos || ended_) {
    // Read before (a pipe gives many lines at once): answered from the loop all the same.
    uv_timer_start(soon_.get(), [](uv_timer_t* t) {
      if (auto* self = static_cast<LineReader*>(t->data)) self->onReadable();
    }, 0, 0);
    return;
  }
  in_.start([this] { onReadable(); });
}

void LineReader::abandon() {
  if (!asking()) return;
  uv_timer_stop(soon_.get());
  in_.stop();
  echoOff_.reset();
  onAnswer_ = nullptr;
  writeAll(STDOUT_FILENO, "\n");
}

std::string LineReader::withdraw() {
  // The prompt stays on screen: plain text cannot be taken back.
  uv_timer_stop(soon_.get());
  in_.stop();
  echoOff_.reset();
  onAnswer_ = nullptr;
  writeAll(STDOUT_FILENO, "\n");
  return {};
}

void LineReader::onReadable() {
  if (!asking()) return;
  if (deliver()) return;
  if (ended_) return finish(std::nullopt);
  char chunk[4096];
  const ssize_t n = ::read(in_.fd(), chunk, sizeof chunk);
  if (n > 0) {
    buffer_.append(chunk, static_cast<std::size_t>(n));
    deliver();
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    // A terminal's Ctrl-D ends this line only; a pipe or a file has ended for good.
    if (!in_.isTerminal()) ended_ = true;
    if (!buffer_.empty()) {
      buffer_ += '\n';  // the last line had no newline
      deliver();
    } else {
      finish(std::nullopt);
    }
  }
}

bool LineReader::deliver() {
  if (!asking()) return false;
  const auto nl = buffer_.find('\n');
  if (nl == std::string::npos) return false;
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  finish(std::move(line));
  return true;
}

void LineReader::finish(std::optional<std::string> line) {
  in_.stop();
  if (echoOff_) {
    echoOff_.reset();
    writeAll(STDOUT_FILENO, "\n");  // the Enter that ended the password was not echoed either
  }
  if (auto fn = std::exchange(onAnswer_, nullptr)) fn(std::move(line));
}

}  // namespace asyncode::cli
