// Line editing with GNU readline, through its callback interface: the loop tells readline
// when the terminal has a key to read (rl_callback_read_char), so that output can be printed
// while the user types (rl_clear_visible_line, then rl_forced_update_display). readline brings
// Ctrl-R (reverse-i-search), Ctrl-O (operate-and-get-next), bracketed paste (a paste arrives
// as one piece of text, newlines and all), lines and blocks of any length, and ~/.inputrc.
//
// readline keeps its state in globals and calls back plain functions (the line handler, the
// keys bound here): this class is the one adapter to them (with Histories, its history
// lists). Only one LineEditor may exist; its callbacks reach it through one static pointer,
// and nothing else in the client touches readline.
#pragma once

#include <uv.h>

#include <cstdio>
#include <memory>
#include <string>

#include "clients/cli/history.h"
#include "clients/cli/input_source.h"
#include "clients/cli/prompter.h"
#include "rpc/uv_handle.h"

namespace asyncode::cli {

class LineEditor : public Prompter {
 public:
  // `in` must be a terminal, and stdout too. The Python history is read from `historyFile`
  // (may be empty: none) and written back when the editor goes.
  LineEditor(uv_loop_t* loop, InputSource& in, std::string historyFile);
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;
  ~LineEditor() override;

  void ask(Question question, AnswerFn onAnswer) override;
  void abandon() override;
  void interrupt() override;
  std::string withdraw() override;
  [[nodiscard]] bool asking() const override { return asking_; }

  [[nodiscard]] bool onScreen() const override { return asking_ && !hidden_ && !confirming_; }
  void hide() override;
  void show() override;
  [[nodiscard]] std::uint64_t placement() const override { return placement_; }

  // Adds an entry (a statement, of one line or several) to a history.
  void addHistory(HistoryKind kind, const std::string& entry) { histories_.add(kind, entry); }
  // The terminal changed size (SIGWINCH).
  void resize();
  // The process was continued after a stop (Ctrl-Z, fg): the terminal's mode was reset.
  void redraw();

 private:
  static void onLine(char* line);    // readline's line handler
  static int onTab(int count, int key);
  static int onEndOfInput(int count, int key);  // Ctrl-D on a line that is not empty
  static int onPaste(int count, int key);       // the start of a bracketed paste

  void install();
  void onReadable();
  void startTab();
  void finishTab(std::uint64_t generation, const Completion& completion);
  void offerMatches(std::vector<std::string> matches);
  void onConfirmKey();
  void listMatches(std::vector<std::string> matches);
  void insert(const std::string& text);
  [[nodiscard]] std::string text() const;
  // Leaves the line where it is on screen, the cursor after its end, `mark` written there
  // and a new line begun; readline lets go of the terminal.
  void end(std::string_view mark);
  void release();
  void resume();
  [[nodiscard]] bool typedAhead() const;

  static LineEditor* instance_;

  InputSource& in_;
  Histories histories_;
  std::unique_ptr<FILE, int (*)(FILE*)> stream_{nullptr, &std::fclose};  // readline's rl_instream
  rpc::UvHandle<uv_timer_t> tabTimeout_;
  std::uint64_t completionTimeoutMs_;
  Question question_;
  AnswerFn onAnswer_;
  std::optional<std::optional<std::string>> answer_;  // set by onLine, delivered after it
  std::uint64_t tabGeneration_ = 0;
  std::uint64_t placement_ = 0;
  std::vector<std::string> offered_;  // matches waiting for "Display all N possibilities?"
  bool completing_ = false;
  bool confirming_ = false;
  bool asking_ = false;
  bool hidden_ = false;
  bool endOfInputKey_ = false;  // Ctrl-D ended the line (onEndOfInput)
  bool pasteBrackets_ = true;   // what ~/.inputrc says of enable-bracketed-paste
};

}  // namespace asyncode::cli
