#include "clients/cli/line_editor.h"

// GNU readline; its headers need stdio's FILE first.
#include <readline/readline.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "clients/cli/terminal.h"

namespace asyncode::cli {
namespace {

constexpr std::uint64_t kCompletionTimeoutMs = 3000;

// How long Tab waits for the session's answer: ASYNCODE_COMPLETION_TIMEOUT_MS, or 3 s.
// (A sanitizer build on a busy machine can take longer than that to import jedi.)
std::uint64_t completionTimeoutMs() {
  const char* env = std::getenv("ASYNCODE_COMPLETION_TIMEOUT_MS");
  if (!env || !*env) return kCompletionTimeoutMs;
  char* end = nullptr;
  const unsigned long long ms = std::strtoull(env, &end, 10);
  return (*end == '\0' && ms > 0) ? ms : kCompletionTimeoutMs;
}
constexpr const char* kIndent = "    ";
constexpr char kEndOfInputKey = 0x04;  // Ctrl-D
constexpr const char* kPasteStart = "\x1b[200~";  // what a terminal sends before a paste

bool isContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
bool isBlank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

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

// The name a completion ends with: after its last dot.
std::string_view nameOf(std::string_view text) {
  const auto dot = text.rfind('.');
  return dot == std::string_view::npos ? text : text.substr(dot + 1);
}

// Names starting with `_` are left out until a `_` is typed, and `__` names until `__` is
// (rlcompleter's rule); when that leaves nothing, they are offered after all.
std::vector<std::string> withoutPrivateNames(std::vector<std::string> matches, std::string_view typed) {
  const std::string_view name = nameOf(typed);
  std::string_view hidden = name.empty() ? "_" : name == "_" ? "__" : "";
  while (!hidden.empty()) {
    std::vector<std::string> kept;
    for (const auto& m : matches)
      if (!nameOf(m).starts_with(hidden)) kept.push_back(m);
    if (!kept.empty()) return kept;
    hidden = hidden == "_" ? "__" : "";
  }
  return matches;
}

void flushOutput() { std::fflush(rl_outstream ? rl_outstream : stdout); }

}  // namespace

LineEditor* LineEditor::instance_ = nullptr;

LineEditor::LineEditor(uv_loop_t* loop, InputSource& in, std::string historyFile)
    : in_(in), histories_(std::move(historyFile)), tabTimeout_(uv_timer_init, loop),
      completionTimeoutMs_(completionTimeoutMs()) {
  if (instance_) throw std::logic_error("readline has one state: one LineEditor at a time");
  instance_ = this;
  tabTimeout_->data = this;

  // readline reads rl_instream's descriptor itself: the terminal the loop watches.
  stream_.reset(::fdopen(::fcntl(in.fd(), F_DUPFD_CLOEXEC, 0), "r"));
  rl_instream = stream_.get();
  rl_outstream = stdout;
  rl_readline_name = "asyncode";  // for `$if asyncode` in ~/.inputrc
  // Signals stay with the loop (uv_signal): readline must not install handlers of its own,
  // nor set LINES and COLUMNS in the environment that user code's processes inherit.
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  rl_change_environment = 0;
  // Tab belongs to the asynchronous completion below; readline's own completion (M-?, M-*)
  // must not complete file names instead.
  rl_attempted_completion_function = [](const char*, int, int) -> char** {
    rl_attempted_completion_over = 1;
    return nullptr;
  };
  // While readline has the terminal, Ctrl-C must not make the terminal drop the keys it
  // holds: the loop may have been told they are there, and readline would then wait in
  // read() for keys that never come, with the loop (and Ctrl-C's handler) stopped. The
  // keys are dropped here instead, from the loop (interrupt()).
  rl_prep_term_function = [](int meta) {
    rl_prep_terminal(meta);
    termios t{};
    const int fd = rl_instream ? ::fileno(rl_instream) : -1;
    if (fd >= 0 && ::tcgetattr(fd, &t) == 0) {
      t.c_lflag |= NOFLSH;
      ::tcsetattr(fd, TCSANOW, &t);
    }
  };
  rl_initialize();  // reads ~/.inputrc
  const char* brackets = rl_variable_value("enable-bracketed-paste");
  pasteBrackets_ = brackets && std::string_view(brackets) == "on";
  rl_bind_key('\t', &LineEditor::onTab);
  rl_bind_key(kEndOfInputKey, &LineEditor::onEndOfInput);
  rl_bind_keyseq(kPasteStart, &LineEditor::onPaste);
}

LineEditor::~LineEditor() {
  in_.stop();
  rl_callback_handler_remove();  // the terminal back to its own mode
  // Keys typed ahead or a paste not read yet belong to this prompt, never to the shell
  // that gets the terminal back.
  ::tcflush(in_.fd(), TCIFLUSH);
  rl_instream = nullptr;
  instance_ = nullptr;
}

void LineEditor::ask(Question question, AnswerFn onAnswer) {
  // readline draws a one-line prompt; what comes before a newline in it is plain text.
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
  confirming_ = false;
  endOfInputKey_ = false;
  ++placement_;
  install();
  // Keys already waiting are a paste arriving: its lines bring their own indentation.
  // A line already there came back through Ctrl-O (operate-and-get-next).
  if (rl_end == 0 && !question_.prefill.empty() && !(question_.prefillIsIndent && typedAhead()))
    insert(question_.prefill);
  flushOutput();
  in_.start([this] { onReadable(); });
}

void LineEditor::install() {
  histories_.use(question_.history);
  // A paste is one answer only where the answer may be a block; input() reads it line by
  // line, as a terminal gives pasted lines to a program.
  rl_variable_bind("enable-bracketed-paste", question_.pasteAsBlock && pasteBrackets_ ? "on" : "off");
  rl_callback_handler_install(question_.prompt.c_str(), &LineEditor::onLine);  // draws the prompt
}

bool LineEditor::typedAhead() const {
  int pending = 0;
  return ::ioctl(in_.fd(), FIONREAD, &pending) == 0 && pending > 0;
}

std::string LineEditor::text() const {
  return rl_line_buffer ? std::string(rl_line_buffer, static_cast<std::size_t>(std::max(rl_end, 0))) : std::string();
}

void LineEditor::release() {
  in_.stop();
  completing_ = false;
  uv_timer_stop(tabTimeout_.get());
  rl_free_undo_list();
  rl_callback_handler_remove();
  flushOutput();
  asking_ = false;
  hidden_ = false;
  onAnswer_ = nullptr;
  ++placement_;
}

void LineEditor::end(std::string_view mark) {
  if (!asking_) return;
  // A reverse search or a half-typed key sequence ends first: its line is drawn back as the
  // line being typed.
  rl_callback_sigcleanup();
  if (confirming_) {
    confirming_ = false;
    offered_.clear();
    writeAll(STDOUT_FILENO, "\r\n");
  } else if (!hidden_) {
    rl_point = rl_end;
    rl_redisplay();
    flushOutput();
    std::string tail(mark);
    tail += "\r\n";
    writeAll(STDOUT_FILENO, tail);
  }
  release();
}

void LineEditor::abandon() { end(""); }

void LineEditor::interrupt() {
  end("^C");
  ::tcflush(in_.fd(), TCIFLUSH);  // what was typed ahead goes with the line, as a terminal drops it
}

std::string LineEditor::withdraw() {
  if (!asking_) return {};
  rl_callback_sigcleanup();
  std::string typed = text();
  if (confirming_) {
    confirming_ = false;
    offered_.clear();
    writeAll(STDOUT_FILENO, "\r\x1b[K");
  } else {
    hide();
  }
  release();
  return typed;
}

void LineEditor::hide() {
  if (!onScreen()) return;
  rl_clear_visible_line();  // the cursor ends where the prompt began
  flushOutput();
  hidden_ = true;
}

void LineEditor::show() {
  if (!asking_ || !hidden_) return;
  hidden_ = false;
  rl_forced_update_display();
  flushOutput();
}

void LineEditor::resize() {
  if (onScreen()) {
    rl_resize_terminal();
    flushOutput();
  } else {
    rl_reset_screen_size();
  }
}

void LineEditor::redraw() {
  if (!asking_ || confirming_) return;
  const std::string keep = text();
  const int point = rl_point;
  in_.stop();
  rl_callback_handler_remove();
  install();
  if (!keep.empty()) rl_insert_text(keep.c_str());
  rl_point = std::min(point, rl_end);
  hidden_ = false;
  ++placement_;
  rl_redisplay();
  flushOutput();
  if (!completing_) in_.start([this] { onReadable(); });
}

void LineEditor::onLine(char* line) {
  std::optional<std::string> value;
  if (line) {
    value = std::string(line);
    std::free(line);
  }
  // Else readline draws the prompt again at once: the next question is ours to ask.
  rl_callback_handler_remove();
  const bool endOfInput = std::exchange(rl_eof_found, 0) != 0;  // readline leaves it set
  LineEditor* self = instance_;
  if (!self || !self->asking_) return;
  if (std::exchange(self->endOfInputKey_, false)) value.reset();
  const bool newLineBegun = endOfInput && self->question_.pasteAsBlock && self->pasteBrackets_;
  if (!value && !newLineBegun) {
    // End of input leaves the prompt on its line, as Python does (readline has begun a new
    // line itself when it had bracketed pastes to switch off).
    writeAll(STDOUT_FILENO, "\r\n");
  }
  if (value && self->question_.rememberAnswer && !self->question_.password)
    self->histories_.add(self->question_.history, *value);
  self->asking_ = false;
  self->completing_ = false;
  self->in_.stop();
  ++self->placement_;
  // Delivered once readline has returned: the answer may well ask the next question.
  self->answer_ = std::move(value);
}

int LineEditor::onTab(int, int) {
  if (instance_ && instance_->asking_) instance_->startTab();
  return 0;
}

int LineEditor::onEndOfInput(int count, int key) {
  // An empty line's Ctrl-D is end of input before it gets here; so is a line holding only
  // the indent the prompt offered (as Python, which offers none, sees an empty line).
  LineEditor* self = instance_;
  if (self && self->asking_ && (rl_end == 0 || (self->question_.prefillIsIndent && isBlank(self->text())))) {
    rl_point = rl_end;
    rl_redisplay();
    self->endOfInputKey_ = true;
    rl_done = 1;
    return 0;
  }
  return rl_delete(count, key);
}

int LineEditor::onPaste(int count, int key) {
  // A paste brings its own indentation: the indent the prompt offered goes first.
  LineEditor* self = instance_;
  if (self && self->asking_ && self->question_.prefillIsIndent && rl_end > 0 && isBlank(self->text())) {
    rl_delete_text(0, rl_end);
    rl_point = 0;
  }
  return rl_bracketed_paste_begin(count, key);
}

void LineEditor::onReadable() {
  // readline reads with read(), which waits: only when a key is there (or the terminal hung
  // up) may it be called, else the loop would stop until the next key.
  pollfd p{in_.fd(), POLLIN, 0};
  int pending = 0;
  if (::ioctl(in_.fd(), FIONREAD, &pending) != 0 || pending == 0) {
    if (::poll(&p, 1, 0) != 1 || (p.revents & (POLLHUP | POLLERR)) == 0) return;
  }
  rl_callback_read_char();
  // readline makes the descriptor blocking when a read of it found nothing (the rest of a
  // paste on its way); the plain reader of passwords relies on it not blocking.
  if (const int flags = ::fcntl(in_.fd(), F_GETFL); flags >= 0 && (flags & O_NONBLOCK) == 0)
    ::fcntl(in_.fd(), F_SETFL, flags | O_NONBLOCK);
  flushOutput();
  if (answer_) {
    std::optional<std::string> answer = std::move(*answer_);
    answer_.reset();
    if (auto fn = std::exchange(onAnswer_, nullptr)) fn(std::move(answer));
  }
}

void LineEditor::startTab() {
  if (!question_.complete) return;
  const std::string line = text();
  const std::size_t point = std::min(static_cast<std::size_t>(std::max(rl_point, 0)), line.size());
  const std::size_t lineStart = point == 0 ? 0 : line.rfind('\n', point - 1) + 1;  // npos + 1 == 0
  if (isBlank(std::string_view(line).substr(lineStart, point - lineStart))) return insert(kIndent);
  // The answer comes through the loop; keys typed meanwhile wait in the terminal.
  completing_ = true;
  in_.stop();
  const std::uint64_t generation = ++tabGeneration_;
  uv_timer_start(tabTimeout_.get(), [](uv_timer_t* t) {
    auto* self = static_cast<LineEditor*>(t->data);
    if (!self || !self->completing_) return;
    self->completing_ = false;
    self->resume();
  }, completionTimeoutMs_, 0);
  question_.complete(line, point, [this, generation](Completion c) { finishTab(generation, c); });
}

void LineEditor::finishTab(std::uint64_t generation, const Completion& completion) {
  if (generation != tabGeneration_ || !completing_) return;
  completing_ = false;
  uv_timer_stop(tabTimeout_.get());
  if (!asking_) return;
  const std::string line = text();
  const std::size_t point = std::min(static_cast<std::size_t>(std::max(rl_point, 0)), line.size());
  if (completion.start <= point) {
    const std::string word = line.substr(completion.start, point - completion.start);
    std::vector<std::string> candidates;
    for (const auto& m : completion.matches) {
      if (m.starts_with(word) && std::find(candidates.begin(), candidates.end(), m) == candidates.end())
        candidates.push_back(m);
    }
    candidates = withoutPrivateNames(std::move(candidates), word);
    if (candidates.size() == 1) {
      insert(candidates.front().substr(word.size()));
    } else if (candidates.size() > 1) {
      const std::string prefix = commonPrefix(candidates);
      if (prefix.size() > word.size()) {
        insert(prefix.substr(word.size()));
      } else {
        return offerMatches(std::move(candidates));
      }
    }
  }
  resume();
}

void LineEditor::offerMatches(std::vector<std::string> matches) {
  // As readline asks (completion-query-items, 100 unless ~/.inputrc says otherwise).
  if (rl_completion_query_items <= 0 || matches.size() < static_cast<std::size_t>(rl_completion_query_items)) {
    listMatches(std::move(matches));
    return resume();
  }
  hide();
  writeAll(STDOUT_FILENO, "Display all " + std::to_string(matches.size()) + " possibilities? (y or n)");
  offered_ = std::move(matches);
  confirming_ = true;
  ++placement_;
  in_.start([this] { onConfirmKey(); });
}

void LineEditor::onConfirmKey() {
  char key = 0;
  const ssize_t n = ::read(in_.fd(), &key, 1);
  if (n < 0) return;  // nothing after all (EAGAIN)
  const bool yes = n == 1 && (key == 'y' || key == 'Y' || key == ' ');
  const bool no = n == 0 || key == 'n' || key == 'N' || key == 0x7f || key == 0x07 || key == 0x1b || key == 0x03 ||
                  key == kEndOfInputKey;
  if (!yes && !no) {
    writeAll(STDOUT_FILENO, "\a");
    return;
  }
  in_.stop();
  confirming_ = false;
  std::vector<std::string> matches = std::move(offered_);
  offered_.clear();
  // The question's line goes; the prompt is drawn below the list, or where it was.
  writeAll(STDOUT_FILENO, "\r\x1b[K");
  if (yes) listMatches(std::move(matches));
  show();
  resume();
}

void LineEditor::listMatches(std::vector<std::string> matches) {
  std::sort(matches.begin(), matches.end());
  std::size_t widest = 0;
  for (const auto& m : matches) widest = std::max(widest, displayWidth(m));
  const std::size_t columnWidth = widest + 2;
  const std::size_t perRow = std::max<std::size_t>(1, static_cast<std::size_t>(terminalColumns(STDOUT_FILENO)) / columnWidth);
  const std::size_t rows = (matches.size() + perRow - 1) / perRow;
  std::string list;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < perRow; ++c) {
      const std::size_t i = c * rows + r;  // down the columns, as shells list
      if (i >= matches.size()) break;
      list += matches[i];
      if (c + 1 < perRow && (c + 1) * rows + r < matches.size())
        list += std::string(columnWidth - displayWidth(matches[i]), ' ');
    }
    list += '\n';
  }
  const bool shown = onScreen();
  hide();
  writeAll(STDOUT_FILENO, list);
  ++placement_;
  if (shown) show();
}

void LineEditor::insert(const std::string& text) {
  if (text.empty()) return;
  rl_insert_text(text.c_str());
  if (onScreen()) {
    rl_redisplay();
    flushOutput();
  }
}

void LineEditor::resume() {
  if (asking_ && !completing_ && !confirming_) in_.start([this] { onReadable(); });
}

}  // namespace asyncode::cli
