// Asking the user for one line: the prompt, the line editor and the plain reader behind
// one interface, so that the prompt and input() work the same with or without a terminal.
#pragma once

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
};

struct Question {
  std::string prompt;
  std::string prefill;               // what the line starts with, ready to edit
  bool prefillIsIndent = false;      // an automatic indent: left out when a paste is arriving
  bool password = false;             // typed without echo
  bool completion = false;           // Tab completes Python (else it indents)
  int promptFd = STDOUT_FILENO;      // where a plain reader writes the prompt
};

// The line typed, or nothing at end of input (Ctrl-D on an empty line, end of a pipe).
using AnswerFn = std::function<void(std::optional<std::string> line)>;

// Completion of the line being edited: the matches replace line[start, point).
struct Completion {
  std::size_t start = 0;  // byte offset in the line
  std::vector<std::string> matches;
};
using CompleteFn = std::function<void(const std::string& line, std::size_t point, std::function<void(Completion)> done)>;

class Prompter : public PromptView {
 public:
  // Shows `question` and reads a line; `onAnswer` runs once, later, from the loop.
  virtual void ask(Question question, AnswerFn onAnswer) = 0;
  // Drops the question (Ctrl-C): the cursor goes to a fresh line below what was typed and
  // `onAnswer` never runs.
  virtual void abandon() = 0;
  // Takes the question off the screen, to be asked again later (another question comes
  // first), and returns what was typed so far; `onAnswer` never runs.
  virtual std::string withdraw() = 0;
  [[nodiscard]] virtual bool asking() const = 0;
};

}  // namespace asyncode::cli
