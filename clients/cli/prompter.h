// Asking the user for one line: the prompt, the line editor and the plain reader behind
// one interface, so that the prompt and input() work the same with or without a terminal.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace asyncode::cli {

// A prompt that may be on screen while output arrives: the console takes it off the
// screen, writes, and draws it again.
class PromptView {
 public:
  virtual ~PromptView() = default;
  // True while the prompt and the line being typed are drawn (and redrawable).
  [[nodiscard]] virtual bool onScreen() const = 0;
  // Erases the prompt and the line; the cursor is left at column 0 where the prompt began.
  virtual void hide() = 0;
  // Draws them again, the cursor where it was in the line.
  virtual void show() = 0;
  // Changes whenever the prompt is drawn somewhere new by anyone but hide()/show() (a new
  // question, a list of completions printed above it): text printed right above it before
  // is still right above it only while this stays the same.
  [[nodiscard]] virtual std::uint64_t placement() const { return 0; }
};

// Completion of the line being edited: the matches replace line[start, point).
struct Completion {
  std::size_t start = 0;  // byte offset in the line
  std::vector<std::string> matches;
};
using CompleteFn = std::function<void(const std::string& line, std::size_t point, std::function<void(Completion)> done)>;

// The history a question's answers go to: Up, Ctrl-R and Ctrl-O look there. Each kind of
// question has its own, so that pdb's commands never come up at the Python prompt.
enum class HistoryKind { none, python, input, pdb };

struct Question {
  std::string prompt;
  std::string prefill;               // what the line starts with, ready to edit
  bool prefillIsIndent = false;      // an automatic indent: left out when a paste is arriving,
                                     // and Ctrl-D on a line holding only it is end of input
  bool password = false;             // typed without echo
  CompleteFn complete;               // what Tab completes with (Python, pdb's commands;
                                     // Tab on a blank line indents); none: Tab does nothing
  // A paste is one answer, its newlines included (the Python prompt, with a terminal that
  // brackets pastes); else a paste answers this question with its first line and the next
  // questions with the next lines, as typed lines would.
  bool pasteAsBlock = false;
  HistoryKind history = HistoryKind::none;
  bool rememberAnswer = false;       // the editor adds the answer to `history` itself
  int promptFd = STDOUT_FILENO;      // where a plain reader writes the prompt
};

// The line typed, or nothing at end of input (Ctrl-D on an empty line, end of a pipe).
using AnswerFn = std::function<void(std::optional<std::string> line)>;

class Prompter : public PromptView {
 public:
  // Shows `question` and reads a line; `onAnswer` runs once, later, from the loop.
  virtual void ask(Question question, AnswerFn onAnswer) = 0;
  // Drops the question (the program is leaving, or the daemon withdrew it): the cursor goes
  // to a fresh line below what was typed and `onAnswer` never runs.
  virtual void abandon() = 0;
  // Ctrl-C: as abandon(), and "^C" is shown where the line ended, as a terminal shows it.
  virtual void interrupt() { abandon(); }
  // Takes the question off the screen, to be asked again later (another question comes
  // first), and returns what was typed so far; `onAnswer` never runs.
  virtual std::string withdraw() = 0;
  [[nodiscard]] virtual bool asking() const = 0;
};

}  // namespace asyncode::cli
