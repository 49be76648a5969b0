// The interactive prompt: `>>> ` and `... ` (whether a statement goes on is the daemon's
// `compile` in interactive mode; a continuation line starts with the indent it suggests),
// each statement run as an interactive exec, its output streaming, errors printed as
// Python prints them. A block of several lines given at once (a paste, an entry of the
// history) is read as IPython reads a cell: a single statement runs as typed, several run
// as one cell. Ctrl-C interrupts running code once or clears the line; Ctrl-\ restarts a
// session whose code does not stop; Ctrl-D or exit() leaves. Output of background tasks is
// printed above the line being typed.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "clients/cli/client.h"
#include "clients/cli/input_requests.h"
#include "clients/cli/input_source.h"
#include "clients/cli/line_editor.h"
#include "clients/cli/line_reader.h"
#include "clients/cli/options.h"

namespace asyncode::cli {

// Where history is kept: $ASYNCODE_HISTORY, else ~/.asyncode_history (empty: nowhere).
std::string historyFile();

class Repl {
 public:
  Repl(uv_loop_t* loop, const SessionOptions& session);
  Repl(const Repl&) = delete;
  Repl& operator=(const Repl&) = delete;

  // Runs the prompt until the user leaves; the exit status.
  int run();

 private:
  enum class State {
    Starting,   // the daemon is being initialized
    Prompting,  // a line is wanted (the prompt is on screen, unless input() took it)
    Compiling,  // is the statement complete?
    Running,    // an exec runs
  };

  void onConnected(Answer<DaemonLink::Ready> ready);
  void prompt();
  void onLine(std::optional<std::string> line);
  void compile(Mode mode);
  void onCompiled(Mode mode, Answer<CompileResult> result);
  void execute(Mode mode);
  void onExecuted(Answer<ExecResult> result);
  void onInterruptKey();
  void onRestartKey();
  void interrupt(bool force);
  void noticeRestart();
  void addBlock(std::string text);
  void complete(const std::string& line, std::size_t point, std::function<void(Completion)> done);
  [[nodiscard]] std::string statement() const;
  [[nodiscard]] std::string historyEntry() const;  // the statement, its trailing empty lines left out
  // input() in user code takes the screen from the prompt, and gives it back.
  void yieldPrompt();
  void restorePrompt();

  Client client_;
  InputSource stdin_;
  std::unique_ptr<LineEditor> editor_;  // when stdin and stdout are terminals
  LineReader reader_;                   // else; and for passwords (no echo)
  Prompter* prompter_;                  // editor_ or reader_
  InputRequests inputs_;
  State state_ = State::Starting;
  std::string backend_;  // the session's
  std::vector<std::string> lines_;  // the statement typed so far
  bool block_ = false;              // lines of it came at once (a paste, the history)
  std::string indent_;              // what its next line starts with
  int interrupts_ = 0;              // Ctrl-Cs sent to the running statement
  bool restartNoticed_ = false;     // the user was told the session restarted under it
  std::optional<std::string> yielded_;  // typed at the prompt when input() took the screen
  std::uint64_t compileGeneration_ = 0;
};

}  // namespace asyncode::cli
