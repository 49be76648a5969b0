#include "clients/cli/console.h"

#include <unistd.h>

#include "clients/cli/terminal.h"

namespace asyncode::cli {
namespace {

constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kReset = "\x1b[0m";

int fdOf(Stream s) { return s == Stream::out ? STDOUT_FILENO : STDERR_FILENO; }

}  // namespace

Console::Console(uv_loop_t* loop)
    : flusher_(uv_check_init, loop),
      color_{false, isTerminal(STDERR_FILENO)},
      sameTerminal_(isTerminal(STDOUT_FILENO) && isTerminal(STDERR_FILENO)) {
  flusher_->data = this;
}

void Console::write(Stream stream, std::string_view text) { add(Piece{stream, std::string(text)}); }

void Console::note(std::string_view text) { add(Piece{Stream::err, std::string(text), true}); }

void Console::add(Piece piece) {
  if (piece.text.empty()) return;
  if (view_ && view_->onScreen()) {
    if (held_.empty()) {
      uv_check_start(flusher_.get(), [](uv_check_t* c) {
        if (auto* self = static_cast<Console*>(c->data)) self->flush();
      });
    }
    if (!held_.empty() && held_.back().stream == piece.stream && held_.back().plain == piece.plain) {
      held_.back().text.append(piece.text);
    } else {
      held_.push_back(std::move(piece));
    }
    return;
  }
  flush();
  writeNow(piece);
}

void Console::flush() {
  uv_check_stop(flusher_.get());
  if (held_.empty()) return;
  auto pieces = std::move(held_);
  held_.clear();
  const bool redraw = view_ && view_->onScreen();
  if (redraw) view_->hide();
  for (const auto& piece : pieces) writeNow(piece);
  if (redraw) {
    finishLine(Stream::out);  // the prompt starts a line of its own
    view_->show();
  }
}

void Console::finishLine(Stream stream) {
  const std::size_t i = index(stream);
  if (!lineStart_[i] && isTerminal(fdOf(stream))) writeNow(Piece{stream, "\n", true});
}

void Console::writeNow(const Piece& piece) {
  const std::size_t i = index(piece.stream);
  const std::string_view text = piece.text;
  if (broken_[i] || text.empty()) return;
  bool ok;
  if (color_[i] && !piece.plain) {
    std::string colored;
    colored.reserve(text.size() + kRed.size() + kReset.size());
    colored.append(kRed).append(text).append(kReset);
    ok = writeAll(fdOf(piece.stream), colored);
  } else {
    ok = writeAll(fdOf(piece.stream), text);
  }
  broken_[i] = !ok;
  const bool atStart = text.back() == '\n';
  lineStart_[i] = atStart;
  if (sameTerminal_) lineStart_[1 - i] = atStart;
}

}  // namespace asyncode::cli
