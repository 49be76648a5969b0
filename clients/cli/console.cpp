#include "clients/cli/console.h"

#include <unistd.h>

#include "clients/cli/terminal.h"

namespace asyncode::cli {
namespace {

constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kReset = "\x1b[0m";
constexpr std::size_t kMaxOpenLine = 16 * 1024;  // a longer unfinished line is not written again

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
  const bool reopen = redraw && cutForPrompt_ && *cutForPrompt_ == view_->placement();
  if (redraw) view_->hide();
  if (reopen) reopenLine();
  cutForPrompt_.reset();
  cutLine_.clear();
  for (const auto& piece : pieces) writeNow(piece);
  if (redraw) {
    if (!lineStart_[index(Stream::out)] && isTerminal(STDOUT_FILENO)) {
      if (openLineKnown_) cutLine_ = openLine_;
      finishLine(Stream::out);  // the prompt starts a line of its own
      cutForPrompt_ = view_->placement();
    }
    view_->show();
  }
}

void Console::reopenLine() {
  if (cutLine_.empty()) return;
  std::string text;
  for (const auto& p : cutLine_) text += p.text;
  const int rows = screenRows(text, terminalColumns(STDOUT_FILENO));
  if (rows + 1 >= terminalRows(STDOUT_FILENO)) return;  // part of it may have scrolled away
  // From the prompt's first row, where hide() left the cursor, up to the line's first row.
  if (!writeAll(STDOUT_FILENO, "\x1b[" + std::to_string(rows) + "A\r\x1b[J")) return;
  for (const auto& p : cutLine_) emit(p);
  openLine_ = std::move(cutLine_);
  openLineBytes_ = text.size();
  openLineKnown_ = true;
  for (auto& start : lineStart_) start = false;
}

void Console::finishLine(Stream stream) {
  const std::size_t i = index(stream);
  if (!lineStart_[i] && isTerminal(fdOf(stream))) writeNow(Piece{stream, "\n", true});
}

bool Console::onScreen(Stream s) const { return s == Stream::out ? isTerminal(STDOUT_FILENO) : sameTerminal_; }

bool Console::emit(const Piece& piece) {
  const std::string_view text = piece.text;
  if (!color_[index(piece.stream)] || piece.plain) return writeAll(fdOf(piece.stream), text);
  std::string colored;
  colored.reserve(text.size() + kRed.size() + kReset.size());
  colored.append(kRed).append(text).append(kReset);
  return writeAll(fdOf(piece.stream), colored);
}

void Console::writeNow(const Piece& piece) {
  const std::size_t i = index(piece.stream);
  const std::string_view text = piece.text;
  if (broken_[i] || text.empty()) return;
  broken_[i] = !emit(piece);
  const bool atStart = text.back() == '\n';
  lineStart_[i] = atStart;
  if (sameTerminal_) lineStart_[1 - i] = atStart;
  if (!onScreen(piece.stream)) return;
  // What the screen's last line holds, to write it again should it go on.
  if (const auto nl = text.rfind('\n'); nl != std::string_view::npos) {
    openLine_.clear();
    openLineBytes_ = 0;
    openLineKnown_ = true;
    if (nl + 1 < text.size()) {
      openLine_.push_back(Piece{piece.stream, std::string(text.substr(nl + 1)), piece.plain});
      openLineBytes_ = text.size() - nl - 1;
    }
  } else if (openLineKnown_) {
    openLine_.push_back(piece);
    openLineBytes_ += text.size();
  }
  if (openLineBytes_ > kMaxOpenLine) {
    openLine_.clear();
    openLineKnown_ = false;
  }
}

}  // namespace asyncode::cli
