// Line editing and history with libedit, through its readline-compatible callback
// interface: the loop tells libedit when the terminal has a key to read
// (rl_callback_read_char), so that output can be printed while the user types.
//
// libedit's readline interface keeps its state in globals and calls back plain functions
// (the line handler, the Tab key): this class is the one adapter to them. Only one
// LineEditor may exist; its callbacks reach it through one static pointer, and nothing
// else in the client touches libedit.
#pragma once

#include <uv.h>

#include <cstdio>
#include <memory>
#include <string>

#include "clients/cli/input_source.h"
#include "clients/cli/prompter.h"
#include "rpc/uv_handle.h"

namespace asyncode::cli {

class LineEditor : public Prompter {
 public:
  // `in` must be a terminal, and stdout too. History is read from `historyFile` (may be
  // empty: none) and written back when the editor goes.
  LineEditor(uv_loop_t* loop, InputSource& in, std::string historyFile);
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;
  ~LineEditor() override;

  void ask(Question question, AnswerFn onAnswer) override;
  void abandon() override;
  std::string withdraw() override;
  [[nodiscard]] bool asking() const override { return asking_; }

  [[nodiscard]] bool onScreen() const override { return asking_ && !hidden_; }
  void hide() override;
  void show() override;

  // What Tab asks when the question wants completion.
  void setCompleter(CompleteFn completer) { completer_ = std::move(completer); }
  void addHistory(const std::string& line);
  // The terminal changed size (SIGWINCH).
  void resize();
  // The process was continued after a stop (Ctrl-Z, fg): the terminal's mode was reset.
  void redraw();

 private:
  static void onLine(char* line);  // libedit's line handler
  static int onTab(int count, int key);

  void onReadable();
  void startTab();
  void finishTab(std::uint64_t generation, const Completion& completion);
  void listMatches(const std::vector<std::string>& matches);
  void insert(const std::string& text);
  void syncFromLibedit();
  // The cursor's row in the edited text, counted from the prompt's row.
  [[nodiscard]] int cursorRow() const;
  [[nodiscard]] int lastRow() const;
  void resume();
  [[nodiscard]] bool typedAhead() const;

  static LineEditor* instance_;

  InputSource& in_;
  std::string historyFile_;
  std::unique_ptr<FILE, int (*)(FILE*)> stream_{nullptr, &std::fclose};  // libedit's rl_instream
  rpc::UvHandle<uv_timer_t> tabTimeout_;
  Question question_;
  AnswerFn onAnswer_;
  std::optional<std::optional<std::string>> answer_;  // set by onLine, delivered after it
  CompleteFn completer_;
  std::uint64_t tabGeneration_ = 0;
  bool completing_ = false;
  bool asking_ = false;
  bool hidden_ = false;
  std::string line_;       // what libedit holds (as of the last key), and the cursor in it
  std::size_t point_ = 0;  // bytes
  std::string lastHistory_;
};

}  // namespace asyncode::cli
