#include "clients/cli/repl.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>

#include "clients/cli/backend_hint.h"
#include "clients/cli/system_exit.h"
#include "clients/cli/terminal.h"

namespace asyncode::cli {
namespace {

constexpr const char* kPrompt = ">>> ";
constexpr const char* kContinuation = "... ";
constexpr std::string_view kWorkerDied = "WorkerDied";

// The terminal echoed the key (^C, ^\) after what the code printed: output goes on below it.
bool terminalEchoesKeys() {
  termios t{};
  return ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &t) == 0 && (t.c_lflag & ECHO) && (t.c_lflag & ECHOCTL);
}

bool isBlank(std::string_view s) { return s.find_first_not_of(" \t\r\f\v") == std::string_view::npos; }

// Nothing to run: blank lines and comments only (codeop's test).
bool isEmptyStatement(const std::string& code) {
  std::size_t start = 0;
  while (start <= code.size()) {
    const std::size_t end = std::min(code.find('\n', start), code.size());
    const std::string_view line = std::string_view(code).substr(start, end - start);
    const std::size_t first = line.find_first_not_of(" \t\r\f\v");
    if (first != std::string_view::npos && line[first] != '#') return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

std::string historyFile() {
  if (const char* env = std::getenv("ASYNCODE_HISTORY")) return env;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.asyncode_history";
  return {};
}

Repl::Repl(uv_loop_t* loop, const SessionOptions& session)
    : client_(loop, session),
      stdin_(loop, STDIN_FILENO),
      editor_(stdin_.isTerminal() && isTerminal(STDOUT_FILENO) ? std::make_unique<LineEditor>(loop, stdin_, historyFile())
                                                               : nullptr),
      reader_(loop, stdin_),
      prompter_(editor_ ? static_cast<Prompter*>(editor_.get()) : &reader_),
      inputs_(client_.link(),
              [this](bool password) -> Prompter* { return password ? &reader_ : prompter_; },
              InputRequests::Hooks{[this] { yieldPrompt(); }, [this] { restorePrompt(); }}) {
  client_.console().setPromptView(prompter_);
  client_.setOnStatus([this](const StatusParams& s) {
    if (s.state == SessionState::Dead && s.reason == protocol::StatusReason::Detached) {
      client_.error("the program this prompt was attached to has exited");
      return client_.leave(1);
    }
    // While an exec runs, its own error (WorkerDied) says it.
    if (s.state == SessionState::Dead && state_ != State::Running)
      client_.error("the session's Python process died; it was restarted, with an empty namespace");
  });
  client_.onSignal(SIGINT, [this] { onInterruptKey(); });
  client_.onSignal(SIGQUIT, [this] { onRestartKey(); });
  client_.onSignal(SIGWINCH, [this] {
    if (editor_) editor_->resize();
  });
  client_.onSignal(SIGCONT, [this] {
    if (editor_) editor_->redraw();
  });
  for (int sig : {SIGTERM, SIGHUP}) client_.onSignal(sig, [this, sig] { client_.leave(128 + sig); });
  client_.setOnLeave([this] {
    // Whatever is being asked goes (a fresh line below it): nothing more is read.
    prompter_->abandon();
    reader_.abandon();
  });
}

int Repl::run() {
  client_.link().connect([this](Answer<DaemonLink::Ready> ready) { onConnected(std::move(ready)); });
  return client_.run();
}

void Repl::onConnected(Answer<DaemonLink::Ready> ready) {
  if (client_.leaving()) return;  // the daemon ended (and said so)
  if (!ready) {
    client_.error(ready.error.message);
    return client_.leave(1);
  }
  const auto& server = ready->server;
  backend_ = ready->backend;
  std::string banner = "asyncode " ASYNCODE_VERSION " (" + server.serverInfo.name + " " + server.serverInfo.version +
                       "), Python " + server.python.version + ", " + ready->backend + " session\n";
  if (ready->attachedPid) {
    banner = "asyncode " ASYNCODE_VERSION ": attached to process " + std::to_string(*ready->attachedPid) + " (its " +
             ready->backend + " loop and its globals)\n" +
             "Top-level await runs in the program's loop; Ctrl-C interrupts your code, never the program.\n" +
             "Tab completes, Ctrl-D detaches (the program runs on).\n";
    client_.console().note(banner);
    return prompt();
  }
  if (ready->backend == "trio")
    banner += "Top-level await works; nursery.start_soon(fn) runs a task between statements.\n";
  else
    banner += "Top-level await works; tasks go on running between statements.\n";
  banner += "Tab completes, Ctrl-C interrupts, Ctrl-D leaves.\n";
  client_.console().note(banner);
  prompt();
}

void Repl::prompt() {
  state_ = State::Prompting;
  if (client_.leaving() || inputs_.asking()) return;  // restorePrompt() asks once input() is answered
  Question q;
  q.prompt = lines_.empty() ? kPrompt : kContinuation;
  q.prefill = lines_.empty() ? "" : indent_;
  q.prefillIsIndent = true;
  if (yielded_) {
    q.prefill = *std::exchange(yielded_, std::nullopt);
    q.prefillIsIndent = false;
  }
  q.complete = [this](const std::string& line, std::size_t point, std::function<void(Completion)> done) {
    complete(line, point, std::move(done));
  };
  q.pasteAsBlock = true;
  q.history = HistoryKind::python;
  q.promptFd = editor_ ? STDOUT_FILENO : STDERR_FILENO;  // as Python, when it cannot edit
  client_.console().finishLine(Stream::out);
  prompter_->ask(std::move(q), [this](std::optional<std::string> line) { onLine(std::move(line)); });
}

void Repl::onLine(std::optional<std::string> line) {
  if (!line) {  // Ctrl-D
    if (lines_.empty()) {
      if (!editor_) client_.console().note("\n");  // the editor has ended its line itself
      return client_.leave(0);
    }
    line = std::string();  // at `... ` it ends the statement, as an empty line does (Python 3.11)
  }
  if (line->find('\n') != std::string::npos) {
    addBlock(*line);
  } else {
    // A blank line ends a block whatever indent it was given (the prompt offered one).
    lines_.push_back(!lines_.empty() && isBlank(*line) ? std::string() : std::move(*line));
  }
  if (isEmptyStatement(statement())) {
    if (editor_) editor_->addHistory(HistoryKind::python, historyEntry());
    lines_.clear();
    block_ = false;
    return prompt();
  }
  compile(Mode::Interactive);
}

void Repl::addBlock(std::string text) {
  // Lines of a paste or of a history entry, as they came; blank ones are empty, and the
  // block's end (a newline after its last line) is one empty line.
  block_ = true;
  std::erase(text, '\r');
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string line = text.substr(start, end - start);
    lines_.push_back(isBlank(line) ? std::string() : std::move(line));
    start = end + 1;
  }
  while (lines_.size() > 1 && lines_.back().empty() && lines_[lines_.size() - 2].empty()) lines_.pop_back();
}

void Repl::compile(Mode mode) {
  state_ = State::Compiling;
  const std::uint64_t generation = ++compileGeneration_;
  client_.link().call(methods::compile, CompileParams{statement(), mode, client_.link().session()},
                      [this, generation, mode](Answer<CompileResult> r) {
                        if (generation == compileGeneration_ && state_ == State::Compiling) onCompiled(mode, std::move(r));
                      });
}

void Repl::onCompiled(Mode mode, Answer<CompileResult> result) {
  if (!result) {
    client_.error(result.error.message);
    lines_.clear();
    block_ = false;
    return prompt();
  }
  switch (result->status) {
    case CompileStatus::Incomplete:
      indent_ = result->indent.value_or("");
      return prompt();
    case CompileStatus::Complete:
      // A cell whose last line is indented may go on (IPython's rule): an empty line ends it.
      if (mode == Mode::Cell && !lines_.back().empty() && (lines_.back()[0] == ' ' || lines_.back()[0] == '\t')) {
        indent_ = lines_.back().substr(0, lines_.back().find_first_not_of(" \t"));
        return prompt();
      }
      return execute(mode);
    case CompileStatus::Invalid:
      // Several statements at once are not one interactive statement: they are a cell.
      if (mode == Mode::Interactive && block_) return compile(Mode::Cell);
      // Else running it reports the SyntaxError as Python would.
      return execute(mode);
  }
}

void Repl::execute(Mode mode) {
  state_ = State::Running;
  interrupts_ = 0;
  restartNoticed_ = false;
  if (editor_) editor_->addHistory(HistoryKind::python, historyEntry());
  ExecParams exec;
  exec.code = statement();
  // Interactive: the daemon echoes expression values itself; a cell answers its last one.
  exec.mode = mode;
  exec.session = client_.link().session();
  lines_.clear();
  block_ = false;
  client_.link().call(methods::exec, exec, [this](Answer<ExecResult> r) { onExecuted(std::move(r)); });
}

void Repl::onExecuted(Answer<ExecResult> result) {
  if (client_.leaving()) return;
  auto& console = client_.console();
  if (!result) {
    client_.error(result.error.message);
    return prompt();
  }
  if (const auto text = plainText(result->result)) console.out(*text + "\n");
  if (const auto& error = result->error) {
    if (result->status == ExecStatus::Error && isSystemExit(*error)) {
      const ExitRequest exit = exitRequestOf(*error);
      if (!exit.message.empty()) {
        console.finishLine(Stream::err);
        console.err(exit.message + "\n");
      }
      return client_.leave(exit.code);
    }
    console.finishLine(Stream::err);
    console.err(error->formatted);
    if (error->type == kWorkerDied) noticeRestart();
    if (auto hint = backendHint(backend_, *error)) client_.error(*hint);
  }
  prompt();
}

void Repl::onInterruptKey() {
  if (client_.leaving()) return;
  if (inputs_.asking()) return inputs_.interrupt();
  switch (state_) {
    case State::Starting:
      return client_.leave(128 + SIGINT);
    case State::Prompting:
    case State::Compiling:
      // As Python: the statement typed so far is dropped.
      prompter_->interrupt();
      ++compileGeneration_;
      lines_.clear();
      block_ = false;
      yielded_.reset();
      client_.console().finishLine(Stream::err);
      client_.console().err("KeyboardInterrupt\n");
      return prompt();
    case State::Running:
      return interrupt(false);
  }
}

void Repl::onRestartKey() {
  // Only code that runs can be stopped this way; at the prompt the key does nothing.
  if (client_.leaving() || (state_ != State::Running && !inputs_.asking())) return;
  interrupt(true);
}

void Repl::interrupt(bool force) {
  // Each Ctrl-C is one interrupt: it acts once, and code that catches it goes on running.
  if (terminalEchoesKeys()) client_.console().note("\n");
  if (!force && ++interrupts_ == 2) {
    client_.console().finishLine(Stream::err);
    client_.console().note("asyncode: the code is still running; Ctrl-C interrupts it again, Ctrl-\\ restarts the "
                           "session (its variables are lost)\n");
  }
  InterruptParams params;
  params.session = client_.link().session();
  params.force = force;
  client_.link().call(methods::interrupt, params, [this](Answer<InterruptResult> r) {
    if (r && r->how == protocol::InterruptHow::Restarted) noticeRestart();
  });
}

void Repl::noticeRestart() {
  if (std::exchange(restartNoticed_, true) || client_.leaving()) return;
  client_.console().finishLine(Stream::err);
  client_.console().note("asyncode: the session was restarted: its variables are gone\n");
}

void Repl::complete(const std::string& line, std::size_t point, std::function<void(Completion)> done) {
  // The statement's earlier lines give the context; the cursor is on its last line.
  std::string before;
  for (const auto& l : lines_) before += l + "\n";
  const std::size_t beforeLength = codePoints(before);
  CompleteParams params;
  params.code = before + line;
  params.cursor = static_cast<std::int64_t>(beforeLength + codePoints(std::string_view(line).substr(0, point)));
  params.session = client_.link().session();
  client_.link().call(methods::complete, params, [line, beforeLength, done = std::move(done)](Answer<CompleteResult> r) {
    Completion c;
    if (r && r->cursorStart >= static_cast<std::int64_t>(beforeLength)) {
      c.start = byteOffset(line, static_cast<std::size_t>(r->cursorStart) - beforeLength);
      c.matches = matchTexts(*r);
    }
    done(std::move(c));
  });
}

std::string Repl::statement() const {
  std::string code;
  for (std::size_t i = 0; i < lines_.size(); ++i) code += (i ? "\n" : "") + lines_[i];
  return code;
}

std::string Repl::historyEntry() const {
  std::size_t n = lines_.size();
  while (n > 0 && lines_[n - 1].empty()) --n;
  std::string entry;
  for (std::size_t i = 0; i < n; ++i) entry += (i ? "\n" : "") + lines_[i];
  return entry;
}

void Repl::yieldPrompt() {
  if (state_ == State::Prompting && prompter_->asking()) yielded_ = prompter_->withdraw();
}

void Repl::restorePrompt() {
  if (state_ == State::Prompting && !prompter_->asking()) prompt();
}

}  // namespace asyncode::cli
