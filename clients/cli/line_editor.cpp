#include "clients/cli/line_editor.h"

// libedit's readline emulation; its header needs stdio's FILE first.
#include <editline/readline.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "clients/cli/terminal.h"

namespace asyncode::cli {
namespace {

constexpr int kHistorySize = 2000;
constexpr std::uint64_t kCompletionTimeoutMs = 3000;
constexpr std::size_t kMaxListed = 200;
constexpr const char* kIndent = "    ";

std::string upSequence(int rows) { return rows > 0 ? "\x1b[" + std::to_string(rows) + "A" : ""; }
std::string downSequence(int rows) { return rows > 0 ? "\x1b[" + std::to_string(rows) + "B" : ""; }

// Back to the start of the prompt `rows` lines up, and clear from there to the end of the screen.
// (Built by appending: GCC 12 at -O3 reports a false -Wrestrict for `"\r" + std::string`.)
std::string eraseFromPrompt(int rows) {
  std::string s = "\r";
  s += upSequence(rows);
  s += "\x1b[J";
  return s;
}

bool isContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The longest prefix that all of `words` share, cut at a character boundary.
std::string commonPrefix(const std::vector<std::string>& words) {
  std::string prefix = words.front();
  for (const auto& w : words) {
    std::size_t n = 0;
    while (n < prefix.size() && n < w.size() && prefix[n] == w[n]) ++n;
    prefix.resize(n);
  }
  while (!prefix.empty() && prefix.size() < words.front().size() && isContinuationByte(words.front()[prefix.size()]))
    prefix.pop_back();
  return prefix;
}

}  // namespace

LineEditor* LineEditor::instance_ = nullptr;

LineEditor::LineEditor(uv_loop_t* loop, InputSource& in, std::string historyFile)
    : in_(in), historyFile_(std::move(historyFile)), tabTimeout_(uv_timer_init, loop) {
  if (instance_) throw std::logic_error("libedit's readline interface has one state: one LineEditor at a time");
  instance_ = this;
  tabTimeout_->data = this;

  // libedit reads rl_instream's descriptor itself: the terminal the loop watches.
  stream_.reset(::fdopen(::fcntl(in.fd(), F_DUPFD_CLOEXEC, 0), "r"));
  rl_instream = stream_.get();
  rl_outstream = stdout;
  rl_readline_name = "asyncode";  // for ~/.editrc
  // Signals stay with the loop (uv_signal): libedit must not install handlers of its own.
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  rl_initialize();
  // Tab belongs to the asynchronous completion below; libedit's own completion (also
  // reached by Ctrl-D on a non-empty line) must not complete file names instead.
  rl_attempted_completion_function = [](const char*, int, int) -> char** {
    rl_attempted_completion_over = 1;
    return nullptr;
  };
  rl_add_defun("asyncode-complete", &LineEditor::onTab, '\t');

  using_history();
  stifle_history(kHistorySize);
  if (!historyFile_.empty()) read_history(historyFile_.c_str());
}

LineEditor::~LineEditor() {
  in_.stop();
  rl_callback_handler_remove();  // the terminal back to its own mode
  if (!historyFile_.empty()) write_history(historyFile_.c_str());
  rl_instream = nullptr;
  instance_ = nullptr;
}

void LineEditor::ask(Question question, AnswerFn onAnswer) {
  // libedit draws a one-line prompt; what comes before a newline in it is plain text.
  if (const auto nl = question.prompt.rfind('\n'); nl != std::string::npos) {
    writeAll(STDOUT_FILENO, question.prompt.substr(0, nl + 1));
    question.prompt.erase(0, nl + 1);
  }
  question_ = std::move(question);
  onAnswer_ = std::move(onAnswer);
  answer_.reset();
  asking_ = true;
  hidden_ = false;
  completing_ = false;
  line_.clear();
  point_ = 0;
  rl_callback_handler_install(question_.prompt.c_str(), &LineEditor::onLine);  // draws the prompt
  // Keys already waiting are a paste arriving: its lines bring their own indentation.
  if (!question_.prefill.empty() && !(question_.prefillIsIndent && typedAhead())) insert(question_.prefill);
  in_.start([this] { onReadable(); });
}

bool LineEditor::typedAhead() const {
  int pending = 0;
  return ::ioctl(in_.fd(), FIONREAD, &pending) == 0 && pending > 0;
}

void LineEditor::abandon() {
  if (!asking_) return;
  in_.stop();
  completing_ = false;
  uv_timer_stop(tabTimeout_.get());
  if (!hidden_) writeAll(STDOUT_FILENO, downSequence(lastRow() - cursorRow()) + "\r\n");
  asking_ = false;
  hidden_ = false;
  onAnswer_ = nullptr;
  rl_callback_handler_remove();
}

std::string LineEditor::withdraw() {
  if (!asking_) return {};
  hide();
  in_.stop();
  completing_ = false;
  uv_timer_stop(tabTimeout_.get());
  asking_ = false;
  hidden_ = false;
  onAnswer_ = nullptr;
  rl_callback_handler_remove();
  return line_;
}

void LineEditor::hide() {
  if (!onScreen()) return;
  writeAll(STDOUT_FILENO, eraseFromPrompt(cursorRow()));
  hidden_ = true;
}

void LineEditor::show() {
  if (!asking_ || !hidden_) return;
  hidden_ = false;
  // libedit redraws its whole line from the cursor, which hide() left where it began.
  rl_forced_update_display();
}

void LineEditor::addHistory(const std::string& line) {
  if (line.find_first_not_of(" \t") == std::string::npos || line == lastHistory_) return;
  add_history(line.c_str());
  lastHistory_ = line;
}

void LineEditor::resize() { rl_resize_terminal(); }

void LineEditor::redraw() {
  if (!asking_) return;
  const std::string keep = line_;
  in_.stop();
  rl_callback_handler_remove();
  rl_callback_handler_install(question_.prompt.c_str(), &LineEditor::onLine);
  line_.clear();
  point_ = 0;
  hidden_ = false;
  if (!keep.empty()) insert(keep);
  if (!completing_) in_.start([this] { onReadable(); });
}

void LineEditor::onLine(char* line) {
  std::optional<std::string> value;
  if (line) {
    value = std::string(line);
    std::free(line);
  }
  LineEditor* self = instance_;
  if (!self || !self->asking_) return;
  if (!value) {
    // libedit has drawn the Ctrl-D as "^D" in the line: leave the prompt alone on its
    // line instead, as Python does.
    writeAll(STDOUT_FILENO, eraseFromPrompt(self->cursorRow()) + self->question_.prompt + "\n");
  }
  self->asking_ = false;
  self->completing_ = false;
  self->in_.stop();
  // Delivered once libedit has returned: the answer may well ask the next question.
  self->answer_ = std::move(value);
}

int LineEditor::onTab(int, int) {
  if (instance_ && instance_->asking_) instance_->startTab();
  return 0;
}

void LineEditor::onReadable() {
  rl_callback_read_char();
  if (answer_) {
    std::optional<std::string> answer = std::move(*answer_);
    answer_.reset();
    if (auto fn = std::exchange(onAnswer_, nullptr)) fn(std::move(answer));
    return;
  }
  if (asking_) syncFromLibedit();
}

void LineEditor::syncFromLibedit() {
  // libedit brings rl_line_buffer, rl_point and rl_end up to date after each key.
  line_ = rl_line_buffer ? std::string(rl_line_buffer, static_cast<std::size_t>(std::max(rl_end, 0))) : std::string();
  point_ = std::min(static_cast<std::size_t>(std::max(rl_point, 0)), line_.size());
}

void LineEditor::startTab() {
  syncFromLibedit();
  const std::string before = line_.substr(0, point_);
  if (!question_.completion) return;
  if (!completer_ || before.find_first_not_of(" \t") == std::string::npos) return insert(kIndent);
  // The answer comes through the loop; keys typed meanwhile wait in the terminal.
  completing_ = true;
  in_.stop();
  const std::uint64_t generation = ++tabGeneration_;
  uv_timer_start(tabTimeout_.get(), [](uv_timer_t* t) {
    auto* self = static_cast<LineEditor*>(t->data);
    if (!self || !self->completing_) return;
    self->completing_ = false;
    self->resume();
  }, kCompletionTimeoutMs, 0);
  completer_(line_, point_, [this, generation](Completion c) { finishTab(generation, c); });
}

void LineEditor::finishTab(std::uint64_t generation, const Completion& completion) {
  if (generation != tabGeneration_ || !completing_) return;
  completing_ = false;
  uv_timer_stop(tabTimeout_.get());
  if (!asking_) return;
  if (completion.start <= point_) {
    const std::string word = line_.substr(completion.start, point_ - completion.start);
    std::vector<std::string> candidates;
    for (const auto& m : completion.matches) {
      if (m.starts_with(word) && std::find(candidates.begin(), candidates.end(), m) == candidates.end())
        candidates.push_back(m);
    }
    if (candidates.size() == 1) {
      insert(candidates.front().substr(word.size()));
    } else if (candidates.size() > 1) {
      const std::string prefix = commonPrefix(candidates);
      if (prefix.size() > word.size()) {
        insert(prefix.substr(word.size()));
      } else {
        listMatches(candidates);
      }
    }
  }
  resume();
}

void LineEditor::listMatches(const std::vector<std::string>& matches) {
  std::vector<std::string> sorted = matches;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t shown = std::min(sorted.size(), kMaxListed);
  std::size_t widest = 0;
  for (std::size_t i = 0; i < shown; ++i) widest = std::max(widest, displayWidth(sorted[i]));
  const std::size_t columnWidth = widest + 2;
  const std::size_t perRow = std::max<std::size_t>(1, static_cast<std::size_t>(terminalColumns(STDOUT_FILENO)) / columnWidth);
  const std::size_t rows = (shown + perRow - 1) / perRow;
  std::string text;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < perRow; ++c) {
      const std::size_t i = c * rows + r;  // down the columns, as shells list
      if (i >= shown) break;
      text += sorted[i];
      if (c + 1 < perRow && (c + 1) * rows + r < shown) text += std::string(columnWidth - displayWidth(sorted[i]), ' ');
    }
    text += '\n';
  }
  if (shown < sorted.size()) {
    text += '(';
    text += std::to_string(sorted.size() - shown);
    text += " more)\n";
  }
  hide();
  writeAll(STDOUT_FILENO, text);
  show();
}

void LineEditor::insert(const std::string& text) {
  if (text.empty()) return;
  const bool shown = onScreen();
  if (shown) hide();
  rl_insert_text(text.c_str());
  line_.insert(point_, text);
  point_ += text.size();
  if (shown) show();
}

void LineEditor::resume() {
  if (asking_ && !completing_) in_.start([this] { onReadable(); });
}

int LineEditor::cursorRow() const {
  const int columns = terminalColumns(STDOUT_FILENO);
  const std::size_t width = displayWidth(question_.prompt) + displayWidth(std::string_view(line_).substr(0, point_));
  return static_cast<int>(width / static_cast<std::size_t>(columns));
}

int LineEditor::lastRow() const {
  const int columns = terminalColumns(STDOUT_FILENO);
  const std::size_t width = displayWidth(question_.prompt) + displayWidth(line_);
  return static_cast<int>(width / static_cast<std::size_t>(columns));
}

}  // namespace asyncode::cli
